//! OVS-DPDK's userspace datapath as a peer (`--peer ovs-ct`): Debian's
//! `openvswitch-switch-dpdk`, started privately (its own database, run directory, sockets
//! and PID files under the case's directory, never the system service), a `netdev` bridge
//! with `ct(commit)` on every IP packet, on the same capture and forwarding core as
//! testpmd and svcard. Its rate is read from the sink port's counters, its connection
//! count from its conntrack.
//!
//! A `net_pcap` port replaying its capture (`infinite_rx`) must hold the whole capture in
//! its mempool. OVS's shared pool is 256 Ki mbufs at most; with per-port pools
//! (`per-port-memory`) OVS sizes a port's pool from the receive queues *requested*
//! (`n_rxq` × `n_rxq_desc`, plus 16 Ki), while the port opens only the one queue the
//! device has. So the input port asks for as many queues of 4,096 descriptors as its
//! capture needs ([`pool_rxqs`]) and holds it whole, like testpmd's and svcard's pools:
//! the same capture on the same single port, not a split.
//!
//! The pieces that need no running OVS (the commands, the counter parsing, ending by PID)
//! are plain functions; [`Ovs`] starts the daemons and ends each by the PID its PID file
//! names when it drops, whatever happened.

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The vswitchd Debian installs for DPDK (an alternative of `ovs-vswitchd`).
pub const VSWITCHD_DPDK: &str = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk";
/// The database schema.
pub const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";
/// Receive descriptors OVS is asked for per (requested) queue: its largest
/// (`NIC_PORT_MAX_Q_SIZE`).
pub const RXQ_DESC: u64 = 4096;
/// Transmit descriptors of an input port (it never transmits, and OVS counts every
/// transmit ring into the port's pool).
pub const INPUT_TXQ_DESC: u64 = 64;
/// OVS's reserve in every per-port pool (`MIN_NB_MBUF`).
pub const POOL_RESERVE: u64 = 16_384;
/// The largest pool OVS can name (its pool names carry the count in 7 digits).
pub const MAX_POOL_MBUFS: u64 = 9_999_999;
/// Bytes of one of OVS's mbufs in memory: its buffer (2,176 bytes at the default MTU), the
/// `dp_packet` around the mbuf and the pool's header take more than half a 4 KiB page, and
/// the pool does not let an object cross a page, so each takes a page of its own (measured:
/// 9.2 GB resident for a pool of 2.15 M). On 2 MiB pages about 2.5 KiB.
pub const OVS_MBUF_BYTES_4K: u64 = 4096;
/// The same on hugepages.
pub const OVS_MBUF_BYTES_HUGE: u64 = 2560;

/// The receive queues to request of an input port so that its pool holds `frames` (OVS's
/// reserve is left for the frames in flight).
#[must_use]
pub fn pool_rxqs(frames: u64) -> u64 {
    frames.div_ceil(RXQ_DESC).max(1)
}

/// The mbufs of the pools of one input port holding `frames` and of the sink, as OVS
/// computes them (`dpdk_calculate_mbufs`: receive rings, a transmit ring per core and one
/// more, a burst per requested queue up to 128, the reserve), on a host of `cores`
/// logical cores: (input port, sink).
#[must_use]
pub fn pool_mbufs(frames: u64, cores: u64) -> (u64, u64) {
    let txqs = cores + 1;
    let rxqs = pool_rxqs(frames);
    let input = rxqs * RXQ_DESC + txqs * INPUT_TXQ_DESC + rxqs.min(128) * 32 + POOL_RESERVE;
    let sink = 2048 + txqs * 2048 + 32 + POOL_RESERVE;
    (input, sink)
}

/// EAL memory (MB) OVS needs for an input port holding `frames` and the sink, with
/// `mbuf_bytes` a mbuf, and 1 GB for the rest (the capture's ring, tables, heap).
#[must_use]
pub fn memory_mb(frames: u64, cores: u64, mbuf_bytes: u64) -> u64 {
    let (input, sink) = pool_mbufs(frames, cores);
    ((input + sink) * mbuf_bytes).div_ceil(1 << 20) + 1024
}
/// What the bench tells the user when OVS is missing.
pub const OVS_MISSING: &str = "OVS-DPDK is not installed (Debian: apt-get install \
     openvswitch-switch-dpdk; svcard's CI installs it with its packages)";

/// Whether Debian's OVS-DPDK is installed.
#[must_use]
pub fn installed() -> bool {
    Path::new(VSWITCHD_DPDK).is_file()
}

/// Where a private OVS keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsPaths {
    /// The directory (the run directory, the database and the logs).
    pub dir: PathBuf,
}

impl OvsPaths {
    /// The files under `dir`.
    #[must_use]
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    /// The database file.
    #[must_use]
    pub fn db(&self) -> PathBuf {
        self.file("conf.db")
    }
    /// The database server's socket.
    #[must_use]
    pub fn db_sock(&self) -> PathBuf {
        self.file("db.sock")
    }
    /// The PID files of ovsdb-server and ovs-vswitchd.
    #[must_use]
    pub fn pidfiles(&self) -> [PathBuf; 2] {
        [self.file("ovsdb-server.pid"), self.file("ovs-vswitchd.pid")]
    }
    /// ovs-vswitchd's control socket (for `ovs-appctl -t`).
    #[must_use]
    pub fn vswitchd_ctl(&self) -> PathBuf {
        self.file("ovs-vswitchd.ctl")
    }
    /// The logs of ovsdb-server and ovs-vswitchd.
    #[must_use]
    pub fn logs(&self) -> [PathBuf; 2] {
        [self.file("ovsdb-server.log"), self.file("ovs-vswitchd.log")]
    }
}

/// What the peer forwards: its input ports (each a `net_pcap` replaying a capture) into one
/// sink, on which cores, in how much memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsSetup {
    /// The captures, one input port each.
    pub captures: Vec<PathBuf>,
    /// Frames the largest capture holds: each input port's pool is sized to hold them
    /// ([`pool_rxqs`]).
    pub frames: u64,
    /// The PMD (forwarding) core.
    pub pmd_core: u32,
    /// The core of OVS's other threads.
    pub main_core: u32,
    /// EAL memory in MB on 4 KiB pages (`--no-huge -m`); `None`: hugepages.
    pub no_huge_mb: Option<u64>,
}

pub use super::process::Step;

fn step(prog: &str, args: &[&str]) -> Step {
    (
        prog.to_string(),
        args.iter().map(|a| (*a).to_string()).collect(),
    )
}

/// The commands that bring the peer up, in order: create the database, start its server,
/// configure DPDK (cores, memory), start ovs-vswitchd, make the bridge and its ports, and
/// the flows (`ct(commit)` then out to the sink, for every IP packet of every input port).
#[must_use]
pub fn start_steps(p: &OvsPaths, s: &OvsSetup) -> Vec<Step> {
    let db = p.db().display().to_string();
    let remote = format!("unix:{}", p.db_sock().display());
    let punix = format!("--remote=punix:{}", p.db_sock().display());
    let [dbpid, vspid] = p.pidfiles().map(|f| f.display().to_string());
    let [dblog, vslog] = p.logs().map(|f| f.display().to_string());
    let ctl = p.vswitchd_ctl().display().to_string();
    let db_ctl = p.file("ovsdb-server.ctl").display().to_string();
    let vsctl = |args: &[&str]| -> Step {
        let mut a = vec![format!("--db={remote}")];
        a.extend(args.iter().map(|x| (*x).to_string()));
        ("ovs-vsctl".to_string(), a)
    };
    let iface = |name: &str, devargs: &str, options: &[String]| {
        let mut a = vec![
            "add-port".to_string(),
            "br0".into(),
            name.into(),
            "--".into(),
            "set".into(),
            "Interface".into(),
            name.into(),
            "type=dpdk".into(),
            format!("options:dpdk-devargs={devargs}"),
        ];
        a.extend_from_slice(options);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        vsctl(&a)
    };
    // The input ports' pools hold their capture: as many queues requested as that needs
    // (the device opens its one), the largest rings, short transmit rings.
    let input_options = [
        format!("options:n_rxq={}", pool_rxqs(s.frames)),
        format!("options:n_rxq_desc={RXQ_DESC}"),
        format!("options:n_txq_desc={INPUT_TXQ_DESC}"),
    ];
    // A file prefix of its own, so that it never meets another DPDK program's files. On 4
    // KiB pages `--legacy-mem` too: OVS adds `--in-memory` unless it is given, and the EAL
    // refuses `--in-memory` with `--no-huge` (which is legacy memory).
    let prefix = format!(
        "--file-prefix=ovs{}",
        p.dir
            .file_name()
            .map(|n| n
                .to_string_lossy()
                .replace(|c: char| !c.is_ascii_alphanumeric(), ""))
            .unwrap_or_default()
    );
    let extra = match s.no_huge_mb {
        Some(mb) => format!("--no-huge --legacy-mem -m {mb} --no-pci {prefix}"),
        None => format!("--no-pci {prefix}"),
    };
    let mut v = vec![
        step("ovsdb-tool", &["create", &db, SCHEMA]),
        step(
            "ovsdb-server",
            &[
                &db,
                &punix,
                &format!("--pidfile={dbpid}"),
                &format!("--log-file={dblog}"),
                &format!("--unixctl={db_ctl}"),
                "--detach",
            ],
        ),
        vsctl(&["--no-wait", "init"]),
        vsctl(&[
            "--no-wait",
            "set",
            "Open_vSwitch",
            ".",
            "other_config:dpdk-init=true",
            &format!("other_config:dpdk-lcore-mask={:#x}", 1u64 << s.main_core),
            &format!("other_config:pmd-cpu-mask={:#x}", 1u64 << s.pmd_core),
            &format!("other_config:dpdk-extra=\"{extra}\""),
            "other_config:per-port-memory=true",
        ]),
        step(
            VSWITCHD_DPDK,
            &[
                &remote,
                &format!("--pidfile={vspid}"),
                &format!("--log-file={vslog}"),
                &format!("--unixctl={ctl}"),
                "--detach",
            ],
        ),
        vsctl(&[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ]),
    ];
    for (i, cap) in s.captures.iter().enumerate() {
        v.push(iface(
            &format!("in{i}"),
            &format!("net_pcap{i},rx_pcap={},infinite_rx=1", cap.display()),
            &input_options,
        ));
    }
    v.push(iface("sink", "net_null0,no-rx=1", &[]));
    v.push(step("ovs-ofctl", &["del-flows", "br0"]));
    for i in 0..s.captures.len() {
        v.push(step(
            "ovs-ofctl",
            &[
                "add-flow",
                "br0",
                &format!("in_port=in{i},ip,actions=ct(commit),output:sink"),
            ],
        ));
    }
    v
}

/// The packets a port sent, from `ovs-ofctl dump-ports BRIDGE PORT` (read from the datapath
/// when asked: the database's statistics are refreshed only every 5 s):
/// `port  "sink": rx pkts=0, … \n tx pkts=123, bytes=…`.
#[must_use]
pub fn parse_dump_ports_tx(s: &str) -> Option<u64> {
    let tx = s.lines().find_map(|l| l.trim().strip_prefix("tx pkts="))?;
    tx.split(',').next()?.trim().parse().ok()
}

/// The connections `ovs-appctl dpctl/ct-stats-show` counts (its `Total:` line).
#[must_use]
pub fn parse_ct_total(s: &str) -> Option<u64> {
    s.lines()
        .find_map(|l| l.trim().strip_prefix("Total:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The PID a PID file names.
#[must_use]
pub fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether process `pid` is alive (a zombie counts as gone).
#[must_use]
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(')')?.1.split_whitespace().next()?.to_string();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

/// Ends process `pid`: SIGTERM, then SIGKILL if it is still there after `grace`.
pub fn end_pid(pid: u32, grace: Duration) {
    let kill = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    };
    kill("-TERM");
    let t0 = Instant::now();
    while alive(pid) && t0.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        kill("-KILL");
    }
}

/// A private OVS, up: its daemons end (by the PIDs their PID files name) when it drops.
#[derive(Debug)]
pub struct Ovs {
    /// Its files.
    pub paths: OvsPaths,
    pids: Vec<u32>,
}

impl Ovs {
    /// Runs the [`start_steps`]; on a failure what was started is ended.
    ///
    /// # Errors
    /// OVS is not installed; a step failed (its output, and the tail of the vswitchd log).
    pub fn start(paths: OvsPaths, setup: &OvsSetup) -> Result<Self> {
        if !installed() {
            bail!("{OVS_MISSING}");
        }
        std::fs::create_dir_all(&paths.dir).with_context(|| paths.dir.display().to_string())?;
        let mut ovs = Ovs {
            paths,
            pids: Vec::new(),
        };
        for (prog, args) in start_steps(&ovs.paths, setup) {
            let o = Command::new(&prog)
                .args(&args)
                .env("OVS_RUNDIR", &ovs.paths.dir)
                .env("OVS_LOGDIR", &ovs.paths.dir)
                .env("OVS_DBDIR", &ovs.paths.dir)
                .output()
                .with_context(|| prog.clone())?;
            // A daemon that detached: its PID from its file at once.
            for f in ovs.paths.pidfiles() {
                if let Some(pid) = read_pid(&f) {
                    if !ovs.pids.contains(&pid) {
                        ovs.pids.push(pid);
                    }
                }
            }
            if !o.status.success() {
                let log = std::fs::read_to_string(&ovs.paths.logs()[1]).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                bail!(
                    "{prog} {}: {}{}\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&o.stderr),
                    String::from_utf8_lossy(&o.stdout),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
        Ok(ovs)
    }

    /// The daemons' PIDs (ovsdb-server first).
    #[must_use]
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// The packets port `port` of the bridge sent, now.
    ///
    /// # Errors
    /// `ovs-ofctl` failed or printed no count.
    pub fn tx_packets(&self, port: &str) -> Result<u64> {
        let o = Command::new("ovs-ofctl")
            .env("OVS_RUNDIR", &self.paths.dir)
            .args(["dump-ports", "br0", port])
            .output()
            .context("ovs-ofctl")?;
        let s = String::from_utf8_lossy(&o.stdout);
        parse_dump_ports_tx(&s).with_context(|| format!("no tx count in: {s}"))
    }

    /// The connections in the datapath's conntrack.
    ///
    /// # Errors
    /// `ovs-appctl` failed or printed no total.
    pub fn conntrack(&self) -> Result<u64> {
        let o = Command::new("ovs-appctl")
            .arg("-t")
            .arg(self.paths.vswitchd_ctl())
            .arg("dpctl/ct-stats-show")
            .output()
            .context("ovs-appctl")?;
        let s = String::from_utf8_lossy(&o.stdout);
        parse_ct_total(&s).with_context(|| format!("no conntrack total in: {s}"))
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        // vswitchd first (it holds the database open), then the database server.
        for pid in self.pids.iter().rev() {
            end_pid(*pid, Duration::from_secs(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(n: usize) -> (OvsPaths, OvsSetup) {
        (
            OvsPaths::new(Path::new("/run/x")),
            OvsSetup {
                captures: (0..n)
                    .map(|i| PathBuf::from(format!("/c/p{i}.pcap")))
                    .collect(),
                frames: 2_000_000,
                pmd_core: 1,
                main_core: 0,
                no_huge_mb: Some(2048),
            },
        )
    }

    /// The daemons run from the case's directory (database, socket, PID files, logs),
    /// DPDK on the given cores and memory, one input port per capture, `ct(commit)` on
    /// each input's IP packets into the sink.
    #[test]
    fn the_steps_keep_everything_private_and_commit_every_ip_packet() {
        let (p, s) = setup(2);
        let steps = start_steps(&p, &s);
        let line = |i: usize| format!("{} {}", steps[i].0, steps[i].1.join(" "));
        assert_eq!(
            line(0),
            format!("ovsdb-tool create /run/x/conf.db {SCHEMA}")
        );
        assert!(line(1).starts_with("ovsdb-server /run/x/conf.db --remote=punix:/run/x/db.sock --pidfile=/run/x/ovsdb-server.pid"), "{}", line(1));
        assert!(line(1).ends_with("--detach"));
        let all: Vec<String> = (0..steps.len()).map(line).collect();
        let text = all.join("\n");
        for want in [
            "other_config:dpdk-init=true",
            "other_config:pmd-cpu-mask=0x2",
            "other_config:dpdk-lcore-mask=0x1",
            "other_config:dpdk-extra=\"--no-huge --legacy-mem -m 2048 --no-pci --file-prefix=ovsx\"",
            "--pidfile=/run/x/ovs-vswitchd.pid",
            "--unixctl=/run/x/ovs-vswitchd.ctl",
            "datapath_type=netdev",
            "other_config:per-port-memory=true",
            // 2 M frames: 489 queues of 4,096 requested, so the port's pool holds them.
            "options:dpdk-devargs=net_pcap0,rx_pcap=/c/p0.pcap,infinite_rx=1 options:n_rxq=489 options:n_rxq_desc=4096 options:n_txq_desc=64",
            "options:dpdk-devargs=net_pcap1,rx_pcap=/c/p1.pcap,infinite_rx=1 options:n_rxq=489",
            "add-flow br0 in_port=in0,ip,actions=ct(commit),output:sink",
            "add-flow br0 in_port=in1,ip,actions=ct(commit),output:sink",
        ] {
            assert!(text.contains(want), "{want}:\n{text}");
        }
        // Every ovs-vsctl talks to the private database, never the system's.
        for l in all.iter().filter(|l| l.starts_with("ovs-vsctl")) {
            assert!(l.starts_with("ovs-vsctl --db=unix:/run/x/db.sock "), "{l}");
        }
        assert!(!text.contains("/var/run/openvswitch"), "{text}");
        // Hugepages: no --no-huge.
        let (p, mut s) = setup(1);
        s.no_huge_mb = None;
        let text: Vec<String> = start_steps(&p, &s)
            .iter()
            .map(|(a, b)| format!("{a} {}", b.join(" ")))
            .collect();
        assert!(!text.join("\n").contains("--no-huge"));
        // The sink keeps OVS's defaults.
        assert!(text
            .iter()
            .any(|l| l.ends_with("options:dpdk-devargs=net_null0,no-rx=1")));
    }

    /// A port's pool holds its capture and OVS's reserve; the memory follows (one 4 KiB page
    /// a mbuf without hugepages: the 2 M-frame pool measured 9.2 GB resident).
    #[test]
    fn pools_are_sized_to_hold_the_capture() {
        assert_eq!(pool_rxqs(1), 1);
        assert_eq!(pool_rxqs(4096), 1);
        assert_eq!(pool_rxqs(4097), 2);
        for frames in [1_000, 200_000, 2_000_000, 4_000_000] {
            let (input, _) = pool_mbufs(frames, 2);
            assert!(input >= frames + POOL_RESERVE, "{frames}: {input}");
            assert!(input < frames + POOL_RESERVE + 2 * RXQ_DESC + 128 * 32 + 1000);
        }
        let mb = memory_mb(2_000_000, 2, OVS_MBUF_BYTES_4K);
        assert!((8_500..10_500).contains(&mb), "{mb}");
        assert!(memory_mb(4_000_000, 2, OVS_MBUF_BYTES_4K) > 16_000);
        assert!(memory_mb(2_000_000, 2, OVS_MBUF_BYTES_HUGE) < mb);
    }

    #[test]
    fn port_counts_and_conntrack_totals_parse() {
        assert_eq!(
            parse_ct_total("Connections Stats:\n    Total: 1000\n      UDP: 1000\n"),
            Some(1000)
        );
        assert_eq!(parse_ct_total("nothing"), None);
        let dump = "OFPST_PORT reply (xid=0x2): 1 ports\n  port  \"sink\": rx pkts=0, bytes=0, drop=0, errs=0, frame=0, over=0, crc=0\n           tx pkts=22033600, bytes=1322016000, drop=0, errs=0, coll=0\n";
        assert_eq!(parse_dump_ports_tx(dump), Some(22_033_600));
        assert_eq!(parse_dump_ports_tx("OFPST_PORT reply"), None);
    }

    /// A process ended by the PID its PID file names: SIGTERM, then SIGKILL for one that
    /// ignores it.
    #[test]
    fn cleanup_ends_processes_by_their_pid_files() {
        let dir = std::env::temp_dir().join(format!("ovs-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut stubborn = Command::new("sh")
            .args(["-c", "trap '' TERM; while :; do sleep 0.1; done"])
            .spawn()
            .unwrap();
        let pidfile = dir.join("x.pid");
        std::fs::write(&pidfile, format!("{}\n", stubborn.id())).unwrap();
        let pid = read_pid(&pidfile).unwrap();
        assert!(alive(pid));
        std::thread::sleep(Duration::from_millis(200)); // the trap is set
        end_pid(pid, Duration::from_millis(300));
        let _ = stubborn.wait();
        assert!(!alive(pid));
        // An Ovs that drops ends what it holds.
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let ovs = Ovs {
            paths: OvsPaths::new(&dir),
            pids: vec![child.id()],
        };
        let pid = child.id();
        drop(ovs);
        let _ = child.wait();
        assert!(!alive(pid));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
