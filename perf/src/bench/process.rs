//! Running the programs: starting them, reading their lines, ending each by its PID (SIGINT, SIGTERM, SIGKILL), scratch directories, progress lines, and what the machine has (memory, CPU clock).

use anyhow::{bail, Context as _, Result};
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::hugepages::EalMemory;

/// How long a process may take to start (EAL memory, loading the capture) before its first
/// figure.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a process may take to exit after SIGINT before SIGTERM / SIGKILL.
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(20);

/// Finds `prog` (a path, or a name on PATH).
pub(crate) fn find_program(prog: &Path) -> Option<PathBuf> {
    if prog.components().count() > 1 {
        return prog.is_file().then(|| prog.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// The `cpu MHz` of the first processor in /proc/cpuinfo.
#[must_use]
pub fn cpu_mhz() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    s.lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .find_map(|l| l.split(':').nth(1)?.trim().parse().ok())
}

/// The host a run was made on: CPU model, logical cores, kernel release, and the DPDK
/// version pkg-config reports (none where it is not installed).
#[must_use]
pub fn host() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|m| m.trim().to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    let dpdk = std::process::Command::new("pkg-config")
        .args(["--modversion", "libdpdk"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    serde_json::json!({
        "cpu_model": model,
        "cpu_mhz": cpu_mhz(),
        "logical_cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "kernel": kernel,
        "dpdk_version": dpdk,
    })
}

pub(crate) fn command_line(prog: &Path, args: &[String]) -> String {
    let q = |s: &str| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
        {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut v = vec![q(&prog.display().to_string())];
    v.extend(args.iter().map(|a| q(a)));
    v.join(" ")
}

/// One program and its arguments (the peers' set-up steps).
pub type Step = (String, Vec<String>);

pub(crate) fn unique_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "svbench{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process the benchmark started: ended by its PID on drop (SIGINT, SIGTERM, SIGKILL).
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) name: String,
}

impl Proc {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Still running (not yet reaped, so the PID is still ours).
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    pub(crate) fn signal(&mut self, sig: &str) {
        if self.running() {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    pub(crate) fn wait_for(&mut self, d: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + d;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }
    /// Ends the process: SIGINT, then SIGTERM, then SIGKILL.
    pub(crate) fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        for sig in ["INT", "TERM"] {
            self.signal(sig);
            if let Some(s) = self.wait_for(grace) {
                return Some(s);
            }
        }
        eprintln!(
            "svcard bench: {} (pid {}) did not exit: SIGKILL",
            self.name,
            self.pid()
        );
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The work directory: removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct WorkDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl WorkDir {
    pub(crate) fn new(keep: Option<&Path>) -> Result<Self> {
        let (path, keep) = match keep {
            Some(p) => (p.to_path_buf(), true),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                (
                    std::env::temp_dir()
                        .join(format!("svcard-bench-{}-{nanos:x}", std::process::id())),
                    false,
                )
            }
        };
        std::fs::create_dir_all(&path).with_context(|| path.display().to_string())?;
        Ok(Self { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Progress on stderr: one line rewritten in place on a terminal, else one line a second.
#[derive(Debug)]
pub(crate) struct Progress {
    tty: bool,
    open: bool,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            open: false,
        }
    }
    pub(crate) fn show(&mut self, text: &str) {
        if self.tty {
            eprint!("\r\x1b[K{text}");
            self.open = true;
        } else {
            eprintln!("{text}");
        }
    }
    pub(crate) fn end(&mut self) {
        if self.open {
            eprintln!();
            self.open = false;
        }
    }
}

/// Reads a child's stdout on a thread, one line at a time.
pub(crate) fn line_reader(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let out = child.stdout.take().context("child stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("bench-reader".into())
        .spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let l = String::from_utf8_lossy(&buf).trim_end().to_string();
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .context("starting a reader thread")?;
    Ok(rx)
}

/// The last lines of a log file.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub(crate) fn mem_available_mb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(crate::hugepages::meminfo_field(&s, "MemAvailable")? / 1024)
}

/// On 4 KiB pages, that the EAL's `mb` fit in the available memory (hugepages were counted
/// when they were chosen).
pub(crate) fn check_memory(mb: u64, memory: EalMemory, what: &str) -> Result<()> {
    if memory != EalMemory::NoHuge {
        return Ok(());
    }
    if let Some(avail) = mem_available_mb() {
        if mb > avail {
            bail!("{what} needs about {mb} MB of EAL memory (-m) but only {avail} MB is available: use fewer --flows");
        }
    }
    Ok(())
}

pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// MB of memory the kernel says is available (`MemAvailable`).
#[must_use]
pub fn mem_available() -> Option<u64> {
    mem_available_mb()
}

/// Runs `prog args` to its end and returns its output (`None` when `stop` was set first:
/// the process is then ended by its PID).
pub(crate) fn run_until_stopped(
    prog: &Path,
    args: &[String],
    stop: &AtomicBool,
) -> Result<Option<String>> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| prog.display().to_string())?;
    let out = child.stdout.take().context("cli stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(out).read_to_string(&mut s);
        s
    });
    let mut p = Proc {
        child,
        name: "svcard cli".into(),
    };
    loop {
        if let Ok(Some(st)) = p.child.try_wait() {
            let text = reader.join().unwrap_or_default();
            if !st.success() {
                bail!("svcard cli failed ({st})");
            }
            return Ok(Some(text));
        }
        if stop.load(Ordering::Relaxed) {
            p.stop(Duration::from_secs(2));
            let _ = reader.join();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `svcard cli …` (ended by its PID if it hangs) and returns its output.
pub(crate) fn ask(svcard: &Path, args: &[String]) -> Result<String> {
    let mut child = Command::new(svcard)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting svcard cli")?;
    let out = child.stdout.take().context("cli stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(out).read_to_string(&mut s);
        s
    });
    let mut p = Proc {
        child,
        name: "svcard cli".into(),
    };
    let status = p
        .wait_for(Duration::from_secs(15))
        .or_else(|| p.stop(Duration::from_secs(2)));
    let text = reader.join().unwrap_or_default();
    if !status.is_some_and(|s| s.success()) {
        let mut err = String::new();
        if let Some(mut e) = p.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        bail!("svcard cli failed: {}", err.trim());
    }
    Ok(text)
}
