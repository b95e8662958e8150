//! Network-namespace rig for end-to-end tests with real clients and servers.
//!
//! ```text
//!  ns c (client)                       root namespace                      ns s (server)
//!  10.99.N.1/24  ici ══ veth ══ ec ─ svcard ge-0/0/0.0 ⇄ ge-0/0/1.0 ─ es ══ veth ══ ics  10.99.N.2/24
//!  fd00:99:N::1/64                   (DPDK, one worker, bump in the wire)              fd00:99:N::2/64
//! ```
//!
//! Only addresses inside the two namespaces a rig creates are used. Every process a test
//! starts runs in its own PID namespace (`unshare --pid --fork --kill-child`) and is ended
//! by its PID on drop, which takes every process it forked (daemons included) with it;
//! namespaces, veths and `/etc/netns/<ns>` are deleted on drop, also when a test fails.
//! A rig holds a process-wide lock for its whole life: rigs run one at a time (the machine
//! has two cores and svcard's worker busy-polls one of them).
//!
//! svcard's ports are DPDK virtual devices on the root-side veths: by default
//! `net_af_packet,qpairs=1` (one RX and one TX queue: the worker's; svcard then sends the
//! control core's ALG packets through the worker). `SVCARD_E2E_VDEV` picks another:
//! `af_packet:Q` (`qpairs=Q`) or `pcap` (`net_pcap`, `rx_iface_in=` one RX queue and two
//! `tx_iface=` TX queues, so the control core has its own TX queue). With `af_packet:2`
//! and one worker, the worker polls both RX queues: the af_packet PMD opens all Q sockets at
//! probe time in one `PACKET_FANOUT_HASH` group, so every queue gets flows
//! (`rig_af_packet_two_queues_one_worker`).
#![allow(dead_code)]

use super::Shows as _;
use super::{Svcard, TempDir};
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Debian package of each tool the rigs and the tests use (what `ci/install-deps.sh`
/// installs).
const PACKAGES: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("ethtool", "ethtool"),
    ("unshare", "util-linux"),
    ("taskset", "util-linux"),
    ("sh", "dash"),
    ("ping", "iputils-ping"),
    ("curl", "curl"),
    ("python3", "python3"),
    ("in.tftpd", "tftpd-hpa"),
    ("tftp", "tftp-hpa"),
    ("dnsmasq", "dnsmasq-base"),
    ("dig", "bind9-dnsutils"),
    ("rpcbind", "rpcbind"),
    ("rpcinfo", "rpcbind"),
    ("rpc.rstatd", "rstatd"),
    ("rup", "rstat-client"),
    ("in.rshd", "rsh-redone-server"),
    ("inetd", "openbsd-inetd"),
    ("netkit-rsh", "rsh-client"),
    ("traceroute", "traceroute"),
    ("turnserver", "coturn"),
    ("turnutils_natdiscovery", "coturn"),
];

/// The Debian Python (its `python3-*` packages), not whatever `python3` is first in PATH.
pub const PYTHON: &str = "/usr/bin/python3";

/// Absolute path of a tool, searched in PATH and the sbin directories. Panics with the
/// package to install when it is missing: CI installs everything with
/// `ci/install-deps.sh`, so a missing tool is a bug, not a skip.
pub fn tool(name: &str) -> PathBuf {
    if name.starts_with('/') {
        let p = PathBuf::from(name);
        assert!(p.exists(), "e2e: {name} is missing; run ci/install-deps.sh");
        return p;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
    for d in dirs.filter(|d| !d.is_empty()) {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return p;
        }
    }
    let pkg = PACKAGES
        .iter()
        .find(|(t, _)| *t == name)
        .map_or("?", |(_, p)| p);
    panic!("e2e: `{name}` not found (Debian package {pkg}); run ci/install-deps.sh");
}

/// Checks that every tool is there (see [`tool`]).
pub fn need(tools: &[&str]) {
    for t in tools {
        tool(t);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs a setup command; panics with its output when it fails.
fn sh_ok(args: &[&str]) {
    let o = Command::new(tool(args[0]))
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("e2e: cannot run {args:?}: {e}"));
    assert!(
        o.status.success(),
        "e2e: {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs a teardown command, ignoring failures.
fn sh_quiet(args: &[&str]) {
    let _ = Command::new(tool(args[0]))
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Which DPDK virtual device the ports use (`SVCARD_E2E_VDEV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vdev {
    /// `net_af_packet` with this many queue pairs.
    AfPacket(u16),
    /// `net_pcap` on the interface: one RX queue (inbound frames only), two TX queues.
    Pcap,
}

impl Vdev {
    /// `SVCARD_E2E_VDEV`: `af_packet` (default, one queue pair), `af_packet:Q`, `pcap`.
    pub fn from_env() -> Vdev {
        match std::env::var("SVCARD_E2E_VDEV").as_deref() {
            Err(_) | Ok("" | "af_packet") => Vdev::AfPacket(1),
            Ok("pcap") => Vdev::Pcap,
            Ok(s) => match s.strip_prefix("af_packet:").map(str::parse) {
                Some(Ok(q)) => Vdev::AfPacket(q),
                _ => panic!("SVCARD_E2E_VDEV={s:?}: use af_packet, af_packet:Q or pcap"),
            },
        }
    }

    /// The devargs of port `i` on interface `iface`.
    pub fn devargs(self, i: usize, iface: &str) -> String {
        match self {
            Vdev::Pcap => {
                format!("net_pcap{i},rx_iface_in={iface},tx_iface={iface},tx_iface={iface}")
            }
            Vdev::AfPacket(q) => format!("net_af_packet{i},iface={iface},qpairs={q}"),
        }
    }
}

/// What a client run gave.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit status; `None` when the run was killed at its timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// `exit 0`, `exit 28`, `killed at the 5.0 s timeout`.
    pub fn how(&self) -> String {
        match self.status {
            None => format!("killed at its {:.1} s timeout", self.elapsed.as_secs_f64()),
            Some(s) => match s.code() {
                Some(c) => format!("exit {c} after {:.1} s", self.elapsed.as_secs_f64()),
                None => format!("{s}"),
            },
        }
    }

    /// The run for a failure message: how it ended and the tail of its output.
    pub fn report(&self) -> String {
        format!(
            "{}\n  stdout: {}\n  stderr: {}",
            self.how(),
            tail(&self.stdout, 12),
            tail(&self.stderr, 25)
        )
    }
}

/// The last `n` lines of `s`, indented for a failure message.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut t = lines[start..].join("\n    ");
    if start > 0 {
        t = format!("[…]\n    {t}");
    }
    if t.is_empty() {
        "(empty)".into()
    } else {
        t
    }
}

/// A process started in a namespace (in its own PID namespace), killed by its PID on drop.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: Option<PathBuf>,
    out: Option<std::thread::JoinHandle<String>>,
    err: Option<std::thread::JoinHandle<String>>,
    started: Instant,
}

impl Proc {
    fn spawn(name: &str, ns: &str, argv: &[String], log: Option<PathBuf>) -> Proc {
        let mut cmd = Command::new(tool("ip"));
        cmd.args(["netns", "exec", ns])
            .arg(tool("taskset"))
            .args(["-c", "0"])
            .arg(tool("unshare"))
            .args([
                "--pid",
                "--fork",
                "--kill-child",
                "--mount",
                "--propagation",
                "private",
            ])
            .args(argv)
            .stdin(Stdio::null());
        if let Some(l) = &log {
            let f = std::fs::File::create(l).unwrap();
            cmd.stdout(f.try_clone().unwrap()).stderr(f);
        } else {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("e2e: cannot start {name} {argv:?}: {e}"));
        let reader = |r: Option<Box<dyn Read + Send>>| {
            r.map(|mut r| {
                std::thread::spawn(move || {
                    let mut v = Vec::new();
                    let _ = r.read_to_end(&mut v);
                    String::from_utf8_lossy(&v).into_owned()
                })
            })
        };
        let out = reader(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let err = reader(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        Proc {
            name: name.to_string(),
            child: Some(child),
            log,
            out,
            err,
            started: Instant::now(),
        }
    }

    /// Waits for the process to end by itself, at most until `timeout` after its start;
    /// kills it then.
    pub fn finish(mut self, timeout: Duration) -> Out {
        let mut child = self.child.take().unwrap();
        let deadline = self.started + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("e2e: waiting for {}: {e}", self.name),
            }
        };
        let elapsed = self.started.elapsed();
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        Out {
            status,
            stdout: join(self.out.take()),
            stderr: join(self.err.take()),
            elapsed,
        }
    }

    /// The process has ended (it should not have, for a server).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL to unshare: --kill-child kills the PID namespace's init, and with it
            // every process of the namespace.
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Two namespaces, two veth pairs and (once started) svcard between them.
pub struct Rig {
    pub n: u8,
    pub client_ns: String,
    pub server_ns: String,
    /// Root-side veths: svcard's ports ge-0/0/0.0 (client side) and ge-0/0/1.0.
    pub client_dev: String,
    pub server_dev: String,
    /// Namespace-side veths.
    pub client_if: String,
    pub server_if: String,
    pub dir: TempDir,
    pub vdev: Vdev,
    svcard: Option<Svcard>,
    tag: String,
    _serial: MutexGuard<'static, ()>,
}

impl Rig {
    /// Builds rig number `n` (1-254: its addresses are 10.99.n.0/24 and fd00:99:n::/64);
    /// every test uses its own `n`.
    pub fn new(n: u8, tag: &str) -> Rig {
        Rig::with_vdev(n, tag, Vdev::from_env())
    }

    /// [`Rig::new`] with the ports on `vdev`.
    pub fn with_vdev(n: u8, tag: &str, vdev: Vdev) -> Rig {
        assert!((1..=254).contains(&n));
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            is_root(),
            "e2e: these tests create network namespaces and need root"
        );
        need(&["ip", "ss", "ethtool", "unshare", "taskset", "sh"]);
        let p = std::process::id() % 100_000;
        let rig = Rig {
            n,
            client_ns: format!("e2e{p}-{n}c"),
            server_ns: format!("e2e{p}-{n}s"),
            client_dev: format!("e{p}x{n}c"),
            server_dev: format!("e{p}x{n}s"),
            client_if: format!("i{p}x{n}c"),
            server_if: format!("i{p}x{n}s"),
            dir: TempDir::new(&format!("e2e-{tag}")),
            vdev,
            svcard: None,
            tag: format!("e2e{p}x{n}"),
            _serial: serial,
        };
        rig.teardown_net();
        rig.setup_net();
        rig
    }

    pub fn client_ip(&self) -> IpAddr {
        format!("10.99.{}.1", self.n).parse().unwrap()
    }
    pub fn server_ip(&self) -> IpAddr {
        format!("10.99.{}.2", self.n).parse().unwrap()
    }
    pub fn client_ip6(&self) -> IpAddr {
        format!("fd00:99:{}::1", self.n).parse().unwrap()
    }
    pub fn server_ip6(&self) -> IpAddr {
        format!("fd00:99:{}::2", self.n).parse().unwrap()
    }

    fn setup_net(&self) {
        for (ns, dev, inner, host) in [
            (&self.client_ns, &self.client_dev, &self.client_if, 1),
            (&self.server_ns, &self.server_dev, &self.server_if, 2),
        ] {
            let n = self.n;
            sh_ok(&["ip", "netns", "add", ns]);
            sh_ok(&[
                "ip", "link", "add", dev, "type", "veth", "peer", "name", inner, "netns", ns,
            ]);
            // No address on the root side and no IPv6 there: the root namespace never
            // talks on these links, svcard owns them.
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
            // Offloads off on both ends: the namespace computes every checksum (TCP through
            // a packet socket stalls otherwise) and no frame above 1514 bytes is built.
            let off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"];
            let mut a = vec!["ethtool", "-K", dev.as_str()];
            a.extend(off);
            sh_ok(&a);
            let mut a = vec!["ip", "netns", "exec", ns.as_str(), "ethtool", "-K", inner];
            a.extend(off);
            sh_ok(&a);
            let v4 = format!("10.99.{n}.{host}/24");
            let v6 = format!("fd00:99:{n}::{host}/64");
            sh_ok(&["ip", "-n", ns, "addr", "add", &v4, "dev", inner]);
            sh_ok(&["ip", "-n", ns, "addr", "add", &v6, "dev", inner, "nodad"]);
            sh_ok(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            sh_ok(&["ip", "-n", ns, "link", "set", inner, "up"]);
            sh_ok(&["ip", "link", "set", dev, "up"]);
            // Name service inside the namespace (`ip netns exec` mounts these over /etc):
            // the two hosts by name, and a resolver that goes nowhere.
            let etc = PathBuf::from("/etc/netns").join(ns);
            std::fs::create_dir_all(&etc).unwrap();
            std::fs::write(
                etc.join("hosts"),
                format!(
                    "127.0.0.1 localhost\n::1 localhost\n10.99.{n}.{host} e2e-self\n\
                     10.99.{n}.1 e2e-client\n10.99.{n}.2 e2e-server\n\
                     fd00:99:{n}::1 e2e-client\nfd00:99:{n}::2 e2e-server\n"
                ),
            )
            .unwrap();
            std::fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        }
    }

    fn teardown_net(&self) {
        for (ns, dev) in [
            (&self.client_ns, &self.client_dev),
            (&self.server_ns, &self.server_dev),
        ] {
            sh_quiet(&["ip", "netns", "del", ns]);
            sh_quiet(&["ip", "link", "del", dev]);
            let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(ns));
        }
        // Only if empty: other namespaces may have theirs there.
        let _ = std::fs::remove_dir("/etc/netns");
    }

    /// The svcard configuration: one worker on core 1, the two ports paired, closing TCP
    /// sessions kept 30 s so the show commands still find them after a client is done,
    /// then `policy` (a `[[service-set]]` with its rules and any `[alg.*]` tables).
    pub fn config_text(&self, policy: &str) -> String {
        format!(
            r#"[workers]
count = 1
[dpdk]
eal-args = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry", "--file-prefix", "{tag}", "-l", "0-1", "--log-level=lib.eal:error"]
mbufs = 8191
mbuf-cache = 64
[[port]]
name = "ge-0/0/0.0"
dpdk = "{c}"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
dpdk = "{s}"
peer = "ge-0/0/0.0"
[timeouts]
tcp-closing = 30
tcp-closed = 30
{policy}
"#,
            tag = self.tag,
            c = self.vdev.devargs(0, &self.client_dev),
            s = self.vdev.devargs(1, &self.server_dev),
        )
    }

    /// Starts svcard (`run --backend dpdk --hold`) on `policy` and waits until frames
    /// cross it (ARP / neighbour discovery between the namespaces resolves).
    pub fn start(&mut self, policy: &str) {
        assert!(self.svcard.is_none(), "svcard already started");
        let cfg = self.dir.path("svcard.toml");
        std::fs::write(&cfg, self.config_text(policy)).unwrap();
        let sv = Svcard::start(&self.dir, &cfg, &["--backend", "dpdk", "--hold"]);
        self.svcard = Some(sv);
        self.wait_l2();
    }

    /// Waits until the client has the server's link-layer address: ARP is not IP and
    /// crosses svcard untouched, so this shows svcard forwards. (The ping that starts ARP
    /// may itself be discarded by the policy.)
    fn wait_l2(&self) {
        let t0 = Instant::now();
        let ip = self.server_ip().to_string();
        loop {
            let o = Command::new(tool("ip"))
                .args(["-n", &self.client_ns, "-4", "neigh", "show", &ip])
                .output()
                .unwrap();
            let s = String::from_utf8_lossy(&o.stdout).into_owned();
            if s.contains("lladdr") && !s.contains("FAILED") {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "e2e: the client never resolved {ip} through svcard (ARP does not cross)\nsvcard log:\n{}",
                self.svcard().log_text()
            );
            let _ = self.client(
                &["ping", "-c", "1", "-W", "1", "-q", &ip],
                Duration::from_millis(1500),
            );
        }
    }

    /// Stops svcard and gives its log (with its per-port statistics at stop).
    #[allow(dead_code)] // not every test binary uses it
    pub fn stop_svcard(&mut self) -> String {
        self.svcard.take().map(Svcard::stop).unwrap_or_default()
    }

    pub fn svcard(&self) -> &Svcard {
        self.svcard.as_ref().expect("svcard not started")
    }

    /// `svcard cli -c CMD`.
    pub fn show(&self, cmd: &str) -> String {
        self.svcard().cli(cmd)
    }

    /// Starts a client in the client namespace (pinned to core 0, away from the worker).
    pub fn spawn_client(&self, argv: &[&str]) -> Proc {
        Proc::spawn(argv[0], &self.client_ns, &self.argv(argv), None)
    }

    /// Runs a client in the client namespace, killed after `timeout`.
    pub fn client(&self, argv: &[&str], timeout: Duration) -> Out {
        self.spawn_client(argv).finish(timeout)
    }

    /// Runs a command in the server namespace (local checks, not through svcard).
    pub fn in_server(&self, argv: &[&str], timeout: Duration) -> Out {
        Proc::spawn(argv[0], &self.server_ns, &self.argv(argv), None).finish(timeout)
    }

    /// Starts a server in the server namespace: `sh -ec SCRIPT` in its own PID and mount
    /// namespaces (so it may mount over /run or /root, and everything it forks dies with
    /// it), output to `<name>.log` in the rig's directory.
    pub fn server(&self, name: &str, script: &str) -> Proc {
        let log = self.dir.path(&format!("{name}.log"));
        let argv = [
            tool("sh").display().to_string(),
            "-ec".to_string(),
            script.to_string(),
        ];
        Proc::spawn(name, &self.server_ns, &argv, Some(log))
    }

    fn argv(&self, argv: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = argv.iter().map(|s| (*s).to_string()).collect();
        v[0] = tool(argv[0]).display().to_string();
        v
    }

    /// Waits until `count` sockets listen on `proto` ("tcp" / "udp") `port` in the server
    /// namespace; panics with the server's log if they do not within 10 s or it exits.
    pub fn wait_listening(&self, server: &mut Proc, proto: &str, port: u16, count: usize) {
        let flag = if proto == "tcp" { "-Hltn" } else { "-Hlun" };
        let t0 = Instant::now();
        loop {
            let o = Command::new(tool("ip"))
                .args(["netns", "exec", &self.server_ns, "ss", flag])
                .arg(format!("sport = :{port}"))
                .output()
                .unwrap();
            if String::from_utf8_lossy(&o.stdout).lines().count() >= count {
                return;
            }
            if let Some(st) = server.exited() {
                panic!(
                    "e2e: server {} exited ({st}) before listening on {proto}/{port}:\n{}",
                    server.name,
                    server.log_text()
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "e2e: server {} does not listen on {proto}/{port} after 10 s:\n{}",
                server.name,
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(sv) = self.svcard.take() {
            let log = sv.stop();
            if std::thread::panicking() {
                eprintln!("--- svcard log ({}):\n{}", self.tag, tail(&log, 40));
            }
        }
        self.teardown_net();
    }
}

/// The value of figure `name` in `show svcard statistics` output, summed over workers.
#[allow(dead_code)] // not every test binary uses it
pub fn figure(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == name).then(|| w.next()?.parse::<u64>().ok())?
        })
        .sum()
}

/// `len` bytes of a fixed pseudo-random pattern (xorshift64*), the same on every run.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// `None` when `got` is `want`, else what differs.
pub fn compare(want: &[u8], got: &[u8]) -> Option<String> {
    if want == got {
        return None;
    }
    let first = want.iter().zip(got).position(|(a, b)| a != b);
    Some(match first {
        Some(i) => format!(
            "{} bytes received of {}, first difference at byte {i}",
            got.len(),
            want.len()
        ),
        None => format!("{} bytes received of {}", got.len(), want.len()),
    })
}

/// The service set of the ALG tests: both ports, everything discarded but the sessions of
/// `apps` (catalogue names); `alg_off` switches that ALG off.
#[allow(dead_code)] // not every test binary uses it
pub fn only_apps(apps: &[&str], alg_off: Option<&str>) -> String {
    let apps: Vec<String> = apps.iter().map(|a| format!("\"{a}\"")).collect();
    let mut p = format!(
        "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         default-action = \"discard\"\n\
         [[service-set.rule]]\nname = \"control\"\napplication = [{}]\naction = \"accept\"\n",
        apps.join(", ")
    );
    if let Some(a) = alg_off {
        p.push_str(&format!("[alg.{a}]\nenabled = false\n"));
    }
    p
}

/// The number at the end of the line of `show services alg statistics` that starts with
/// `label`.
#[allow(dead_code)] // not every test binary uses it
pub fn alg_stat(stats: &str, label: &str) -> Option<u64> {
    stats
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}
