//! Shared harness for end-to-end tests: start the real svcard binary on a configuration in
//! a temporary directory, ask it show commands through `svcard cli`, end it by its PID.
#![allow(dead_code)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use svcard_dataplane::pcapfile::{self, Record};

pub const BIN: &str = env!("CARGO_BIN_EXE_svcard");

/// A TCP segment frame from the client side, addresses as text
/// ([`svcard_perf::frames::tcp`]).
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
) -> Vec<u8> {
    svcard_perf::frames::tcp(ip(src), sport, ip(dst), dport, flags, seq, ack, data, true)
}

/// A UDP frame from the client side carrying 18 bytes of `tag`, addresses as text.
pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, tag: u8) -> Vec<u8> {
    svcard_perf::frames::udp(ip(src), sport, ip(dst), dport, &[tag; 18], true)
}

/// An Ethernet + IPv4 frame of protocol `proto` carrying `payload` (for what has no ports).
pub fn ipv4(src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    let (s, d): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        (src.parse().unwrap(), dst.parse().unwrap());
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&s.octets());
    h.extend_from_slice(&d.octets());
    let sum = h
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = !u16::try_from((sum & 0xffff) + (sum >> 16)).unwrap();
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// An address written in a test.
pub fn ip(s: &str) -> std::net::IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("test address {s:?}: {e}"))
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "svcard-test-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ (std::ptr::addr_of!(tag) as usize as u128)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a running svcard answers, in a process or in-process.
pub trait Shows {
    /// What it logged (a process) or its figures so far (in-process).
    fn log_text(&self) -> String;

    /// The output of one command line.
    fn cli(&self, cmd: &str) -> String;

    /// Polls `cmd` until `pred` holds on its output (or fails after `secs`).
    fn wait_for(&self, cmd: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let out = self.cli(cmd);
            if pred(&out) {
                return out;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "timed out waiting on {cmd:?}; last output:\n{out}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The engine in this process (no binary, no socket): started on a configuration's pcap
/// ports, asked show commands directly, stopped with the exit lines `svcard run` prints.
pub struct InProcess {
    engine: Option<svcard_control::engine::Engine>,
    sink: Option<svcard_dataplane::port::pcap::PcapSink>,
}

impl InProcess {
    /// Starts the engine on `config` (replayed as fast as the workers go, like `--fast`;
    /// it keeps running after the replay, like `--hold`).
    pub fn start(config: &Path) -> InProcess {
        InProcess::start_with(config, false)
    }

    /// [`start`](Self::start), replaying at the captures' own pace when `pace` (as
    /// `svcard run` does without `--fast`).
    pub fn start_with(config: &Path, pace: bool) -> InProcess {
        InProcess::start_opts(
            config,
            pace,
            svcard_control::engine::EngineOptions::default(),
        )
    }

    /// [`start_with`](Self::start_with) with engine options of the test's own.
    pub fn start_opts(
        config: &Path,
        pace: bool,
        engine_opts: svcard_control::engine::EngineOptions,
    ) -> InProcess {
        use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions};
        let config = std::sync::Arc::new(
            svcard_config::Config::load(config).unwrap_or_else(|e| panic!("{e}")),
        );
        let opts = PcapOptions { pace, repeat: 1 };
        let (queues, control, sink) = PcapBackend::for_config(&config, opts)
            .expect("open the pcap ports")
            .into_parts();
        let engine = svcard_control::engine::Engine::start(&config, queues, control, engine_opts)
            .expect("start the engine");
        InProcess {
            engine: Some(engine),
            sink: Some(sink),
        }
    }

    /// Runs `config` at its captures' pace until the replay has ended and everything it
    /// started has settled (as `svcard run` without `--hold`); returns the exit lines, the
    /// output captures written.
    pub fn run_to_end(config: &Path) -> String {
        let sv = InProcess::start_with(config, true);
        assert!(
            sv.engine
                .as_ref()
                .expect("running")
                .wait_idle(Duration::from_secs(30)),
            "the replay ends"
        );
        sv.stop()
    }

    /// Stops the engine and the writer; returns the exit lines (`worker N: name=value …`).
    pub fn stop(mut self) -> String {
        let stats = self
            .engine
            .take()
            .expect("running")
            .shutdown()
            .expect("shutdown");
        if let Some(s) = self.sink.take() {
            s.finish().expect("write the output captures");
        }
        stats
            .workers
            .iter()
            .enumerate()
            .map(|(w, st)| format!("worker {w}: {}\n", svcard_dataplane::stats::fields(st)))
            .collect()
    }
}

impl Shows for InProcess {
    fn log_text(&self) -> String {
        let e = self.engine.as_ref().expect("running");
        svcard_dataplane::stats::fields(&e.stats().card())
    }

    fn cli(&self, cmd: &str) -> String {
        self.engine.as_ref().expect("running").query(cmd)
    }
}

/// A running svcard, ended (SIGTERM, then SIGKILL) on drop.
pub struct Svcard {
    pub child: Option<Child>,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Svcard {
    /// Starts `svcard run --config CONFIG --socket SOCKET EXTRA…` and waits for its socket.
    pub fn start(dir: &TempDir, config: &Path, extra: &[&str]) -> Svcard {
        let socket = dir.path("svcard.sock");
        let log = dir.path("svcard.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("run")
            .arg("--config")
            .arg(config)
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start svcard");
        let s = Svcard {
            child: Some(child),
            socket,
            log,
        };
        let t0 = Instant::now();
        while !s.socket.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "svcard did not open its socket: {}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Shows for Svcard {
    fn log_text(&self) -> String {
        Svcard::log_text(self)
    }

    /// `svcard cli -c CMD` against this instance.
    fn cli(&self, cmd: &str) -> String {
        let o = Command::new(BIN)
            .arg("cli")
            .arg("--socket")
            .arg(&self.socket)
            .arg("-c")
            .arg(cmd)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "cli {cmd:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Svcard {
    /// SIGTERM, wait for the exit, return the log.
    pub fn stop(mut self) -> String {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let t0 = Instant::now();
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if t0.elapsed() > Duration::from_secs(15) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.log_text()
    }
}

impl Drop for Svcard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `svcard run` to completion (replay ends, process exits) and returns its output.
pub fn run_to_end(config: &Path, socket: &Path, extra: &[&str]) -> Output {
    let o = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--socket")
        .arg(socket)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "svcard run failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let recs: Vec<Record> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| Record {
            ts_ns: 1_000_000_000 + i as u64 * 1_000_000,
            data: f.clone(),
        })
        .collect();
    svcard_perf::write_pcap(path, &recs).unwrap();
}

pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    pcapfile::read_file(path)
        .unwrap()
        .into_iter()
        .map(|r| r.data)
        .collect()
}

/// Session IDs listed in a `show security flow session` output, with their section's PIC.
pub fn sessions_by_pic(out: &str) -> Vec<(u32, u32)> {
    let mut pic = u32::MAX;
    let mut v = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Flow Sessions on FPC") {
            let p = rest
                .split(" PIC")
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(':');
            pic = p.parse().unwrap();
        } else if let Some(rest) = line.strip_prefix("Session ID: ") {
            let id: u32 = rest.split(',').next().unwrap().parse().unwrap();
            v.push((pic, id));
        }
    }
    v
}

/// The numbers after `label: ` in every line that has it.
pub fn field_values(out: &str, label: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.split_once(&format!("{label}: ")).map(|(_, r)| r))
        .map(|r| {
            r.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}
