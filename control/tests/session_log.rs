//! Session logs to a real syslog server: rsyslogd on loopback (UDP and TCP) receives the
//! RT_FLOW_SESSION_CREATE, _CLOSE and _DENY messages of the sessions a capture makes,
//! through source NAT; every field the test can know is checked against those sessions
//! (addresses and ports as they arrived and as translated, the NAT rule, protocol, policy,
//! packets and bytes each way, the close reason). rsyslogd is started and ended by PID.

mod common;
use common::{ip, two_ports, Dir};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use svcard_dataplane::pcapfile::Record;
use svcard_perf::frames::{build, L4};

const MS: u64 = 1_000_000;

fn udp(src: &str, sport: u16, dst: &str, dport: u16, len: usize, from_client: bool) -> Vec<u8> {
    build(
        ip(src),
        ip(dst),
        &L4::Udp {
            sport,
            dport,
            payload: vec![7; len],
        },
        60,
        from_client,
    )
}

/// A client's SYN from `src`:`sport` to 192.0.2.1:`dport`.
fn syn(src: &str, sport: u16, dport: u16) -> Vec<u8> {
    build(
        ip(src),
        ip("192.0.2.1"),
        &L4::Tcp {
            sport,
            dport,
            flags: 0x02,
            seq: 1,
            ack: 0,
            payload: Vec::new(),
        },
        60,
        true,
    )
}

fn at(ms: u64, data: Vec<u8>) -> Record {
    Record {
        ts_ns: ms * MS,
        data,
    }
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// rsyslogd in the foreground, writing each message's raw text to `received.log`.
struct Rsyslog {
    child: Child,
    out: std::path::PathBuf,
}

impl Rsyslog {
    fn start(dir: &Dir, udp: u16, tcp: u16) -> Rsyslog {
        let out = dir.0.join("received.log");
        let conf = dir.0.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{d}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="raw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="{o}" template="raw")
"#,
                d = dir.0.display(),
                o = out.display()
            ),
        )
        .unwrap();
        let child = Command::new("rsyslogd")
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.0.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd (Debian rsyslog; ci/install-deps.sh installs it)");
        // Listening when a probe message comes back.
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t0 = Instant::now();
        loop {
            let _ = probe.send_to(b"<14>1 - - probe - - - ready", ("127.0.0.1", udp));
            std::thread::sleep(Duration::from_millis(100));
            if std::fs::read_to_string(&out).is_ok_and(|s| s.contains("ready")) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "rsyslogd did not start"
            );
        }
        Rsyslog { child, out }
    }

    /// The RT_FLOW messages received, once `want` have arrived (or 10 s passed).
    fn messages(&self, want: usize) -> Vec<String> {
        self.messages_of("RT_FLOW_SESSION", want)
    }

    /// The messages holding `what` received, once `want` have arrived (or 10 s passed).
    fn messages_of(&self, what: &str, want: usize) -> Vec<String> {
        let t0 = Instant::now();
        loop {
            let got: Vec<String> = std::fs::read_to_string(&self.out)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(what))
                .map(str::to_string)
                .collect();
            if got.len() >= want || t0.elapsed() > Duration::from_secs(10) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The structured data of a message, as key → value.
fn fields(msg: &str) -> HashMap<String, String> {
    let sd = &msg[msg.find('[').unwrap() + 1..msg.rfind(']').unwrap()];
    let mut m = HashMap::new();
    let mut rest = sd.split_once(' ').map_or("", |x| x.1);
    while let Some((k, v)) = rest.split_once("=\"") {
        let end = v.find('"').unwrap();
        m.insert(k.trim().to_string(), v[..end].to_string());
        rest = &v[end + 1..];
    }
    m
}

fn run(tcp: bool) {
    let dir = Dir::new(if tcp { "log-tcp" } else { "log-udp" });
    let (up, tp) = (free_port(), free_port());
    let rs = Rsyslog::start(&dir, up, tp);
    let host = if tcp { tp } else { up };
    let rest = format!(
        r#"
[timeouts]
udp = 1
[log]
host = "127.0.0.1:{host}"
transport = "{}"
hostname = "card-1"
[[nat.pool]]
name = "public"
address = "198.51.100.7"
port-low = 40000
port-high = 40000
[[nat.rule]]
name = "inside"
source = ["10.0.0.0/8"]
translation-type = "napt-44"
pool = "public"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
nat-rules = ["inside"]
default-action = "accept"
[[service-set.rule]]
name = "no-telnet"
protocol = "tcp"
destination-port = 23
action = "discard"
"#,
        if tcp { "tcp" } else { "udp" }
    );
    let client = vec![
        at(0, udp("10.0.0.1", 5000, "192.0.2.1", 53, 30, true)),
        at(2, udp("10.0.0.1", 5000, "192.0.2.1", 53, 40, true)),
        at(4, syn("10.0.0.9", 6000, 23)),
    ];
    let server = vec![at(
        20,
        udp("192.0.2.1", 53, "198.51.100.7", 40000, 100, false),
    )];
    let (engine, _sink) = two_ports(&dir, 1, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    // The UDP session idles out (1 s) and is logged closed.
    let msgs = rs.messages(3);
    let stats = engine.log_stats().unwrap();
    let shown = engine.query("show svcard statistics");
    let sent: u64 = shown
        .lines()
        .find(|l| l.trim_start().starts_with("session_logs_sent"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(sent >= 3, "{shown}");
    drop(engine);
    let by = |id: &str| {
        msgs.iter()
            .filter(|m| m.contains(id))
            .map(|m| (m.clone(), fields(m)))
            .collect::<Vec<_>>()
    };
    let create = by("RT_FLOW_SESSION_CREATE ");
    let close = by("RT_FLOW_SESSION_CLOSE ");
    let deny = by("RT_FLOW_SESSION_DENY ");
    // The discarded flow is denied, not created.
    assert_eq!(
        (create.len(), close.len(), deny.len()),
        (1, 1, 1),
        "{msgs:#?}"
    );
    assert!(
        stats.sent.load(std::sync::atomic::Ordering::Relaxed) >= 3,
        "{stats:?}"
    );
    for (m, _) in create.iter().chain(&close).chain(&deny) {
        assert!(m.starts_with("<14>1 20"), "{m}");
        assert!(m.contains(" card-1 RT_FLOW - RT_FLOW_SESSION_"), "{m}");
        assert!(m.contains("[junos@2636.1.1.1.2.25 "), "{m}");
    }
    let (_, c) = &close[0];
    for (k, v) in [
        ("reason", "idle Timeout"),
        ("source-address", "10.0.0.1"),
        ("source-port", "5000"),
        ("destination-address", "192.0.2.1"),
        ("destination-port", "53"),
        ("service-name", "junos-dns-udp"),
        ("nat-source-address", "198.51.100.7"),
        ("nat-source-port", "40000"),
        ("nat-destination-address", "192.0.2.1"),
        ("nat-destination-port", "53"),
        ("src-nat-rule-type", "source rule"),
        ("src-nat-rule-name", "inside"),
        ("protocol-id", "17"),
        ("policy-name", "default-policy"),
        ("source-zone-name", "ss1"),
        ("packets-from-client", "2"),
        // IP bytes: 20 + 8 + payload, per packet.
        ("bytes-from-client", &(28 * 2 + 30 + 40).to_string()),
        ("packets-from-server", "1"),
        ("bytes-from-server", "128"),
        ("packet-incoming-interface", "ge-0/0/0.0"),
    ] {
        assert_eq!(c.get(k).map(String::as_str), Some(v), "{k} in {c:?}");
    }
    let udp_create = create
        .iter()
        .find(|(_, f)| f["protocol-id"] == "17")
        .expect("the UDP session's create");
    assert_eq!(udp_create.1["nat-source-port"], "40000");
    assert_eq!(udp_create.1["session-id-32"], c["session-id-32"]);
    let (_, d) = &deny[0];
    for (k, v) in [
        ("source-address", "10.0.0.9"),
        ("destination-port", "23"),
        ("protocol-id", "6"),
        ("policy-name", "no-telnet"),
    ] {
        assert_eq!(d.get(k).map(String::as_str), Some(v), "{k} in {d:?}");
    }
}

#[test]
fn rt_flow_messages_reach_rsyslog_over_udp() {
    run(false);
}

#[test]
fn rt_flow_messages_reach_rsyslog_over_tcp() {
    run(true);
}

/// A service set's own switches (`[service-set.log]`) over the card's, and the ALG-only
/// filter put in force by a reload while traffic runs: first only denies are logged, then
/// only the sessions of an ALG.
#[test]
fn service_set_switches_and_the_alg_only_filter_follow_a_reload() {
    let dir = Dir::new("log-switches");
    let (up, tp) = (free_port(), free_port());
    let rs = Rsyslog::start(&dir, up, tp);
    let config = |ss_log: &str| {
        format!(
            r#"
[log]
host = "127.0.0.1:{up}"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
[service-set.log]
{ss_log}
[[service-set.rule]]
name = "no-telnet"
protocol = "tcp"
destination-port = 23
action = "discard"
"#
        )
    };
    // Before the reload (~0.8 s): DNS (accepted), telnet (denied). After it (from 2 s): FTP
    // (its ALG watches it), UDP to 9999 (accepted, no ALG), telnet again (denied).
    let client = vec![
        at(0, udp("10.0.0.1", 5000, "192.0.2.1", 53, 30, true)),
        at(10, syn("10.0.0.2", 6000, 23)),
        at(2000, syn("10.0.0.3", 6001, 21)),
        at(2010, udp("10.0.0.4", 5001, "192.0.2.1", 9999, 30, true)),
        at(2020, syn("10.0.0.5", 6002, 23)),
    ];
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], &config("events = [\"deny\"]"), true);
    std::thread::sleep(Duration::from_millis(800));
    common::write_config(&dir, 1, &config("alg-only = true"));
    let r = engine.query("request system configuration reload");
    assert!(r.contains("changed: service-set 'ss1' log"), "{r}");
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let _ = rs.messages(2);
    // Anything that should not have been logged has had time to arrive too.
    std::thread::sleep(Duration::from_millis(500));
    let msgs = rs.messages(0);
    drop(engine);
    let summary: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            let kind = m
                .split_whitespace()
                .find(|w| w.starts_with("RT_FLOW_SESSION_"))
                .unwrap_or("")
                .to_string();
            (kind, fields(m)["source-address"].clone())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("RT_FLOW_SESSION_DENY".to_string(), "10.0.0.2".to_string()),
            ("RT_FLOW_SESSION_CREATE".to_string(), "10.0.0.3".to_string()),
        ],
        "{msgs:#?}"
    );
}

/// Port block allocation: a host's six sessions fill one block of four and take a second
/// (two `RT_SRC_NAT_PBA_ALLOC` messages, the second with 2/2 blocks used); every session
/// left from a port of its host's blocks; when the sessions idle out both blocks go back
/// (two `RT_SRC_NAT_PBA_RELEASE`), and rsyslog received all four.
#[test]
fn port_blocks_are_logged_when_allocated_and_released() {
    let dir = Dir::new("log-pba");
    let (up, tp) = (free_port(), free_port());
    let rs = Rsyslog::start(&dir, up, tp);
    let rest = format!(
        r#"
[timeouts]
udp = 1
[log]
host = "127.0.0.1:{up}"
hostname = "card-1"
[[nat.pool]]
name = "blocks"
address = "198.51.100.7"
port-low = 2000
port-high = 2999
[nat.pool.port-block-allocation]
block-size = 4
maximum-blocks-per-host = 2
[[nat.rule]]
name = "inside"
source = ["10.0.0.0/8"]
translation-type = "napt-44"
pool = "blocks"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
nat-rules = ["inside"]
default-action = "accept"
"#
    );
    let client: Vec<Record> = (0..6u16)
        .map(|i| {
            at(
                u64::from(i),
                udp("10.0.0.1", 5000 + i, "192.0.2.1", 53, 20, true),
            )
        })
        .collect();
    let (engine, sink) = two_ports(&dir, 1, &client, &[], &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let allocs = rs.messages_of("RT_SRC_NAT_PBA_ALLOC", 2);
    assert_eq!(allocs.len(), 2, "{allocs:?}");
    let mut blocks = Vec::new();
    for (k, m) in allocs.iter().enumerate() {
        let f = fields(m);
        assert!(m.contains(" RT_NAT - RT_SRC_NAT_PBA_ALLOC "), "{m}");
        assert_eq!(f["subscriber-address"], "10.0.0.1");
        assert_eq!(f["nat-source-address"], "198.51.100.7");
        assert_eq!(f["blocks-used"], (k + 1).to_string());
        assert_eq!(f["blocks-maximum"], "2");
        assert_eq!(f["source-nat-pool-name"], "blocks");
        let (a, b): (u16, u16) = (
            f["nat-source-port-start"].parse().unwrap(),
            f["nat-source-port-end"].parse().unwrap(),
        );
        assert_eq!(b - a, 3);
        assert!(m.ends_with(&format!(
            "] Subscriber 10.0.0.1 used/maximum [{}/2] blocks, allocates port block [{a}-{b}] \
             from 198.51.100.7 in source pool blocks lsys_id: 0",
            k + 1
        )));
        blocks.push(a..=b);
    }
    // The sessions idle out (1 s): both blocks go back.
    let releases = rs.messages_of("RT_SRC_NAT_PBA_RELEASE", 2);
    assert_eq!(releases.len(), 2, "{releases:?}");
    let mut left: Vec<String> = releases
        .iter()
        .map(|m| fields(m)["blocks-used"].clone())
        .collect();
    left.sort();
    assert_eq!(left, ["0", "1"]);
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 6]);
    let out = svcard_dataplane::pcapfile::read_file(&dir.0.join("out1.pcap")).unwrap();
    for r in &out {
        let svcard_dataplane::wire::Outcome::Ip(p) = svcard_dataplane::wire::parse(&r.data) else {
            panic!("not IP");
        };
        assert!(
            blocks.iter().any(|b| b.contains(&p.sport)),
            "port {} outside the host's blocks {blocks:?}",
            p.sport
        );
    }
    drop(rs);
}
