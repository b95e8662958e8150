//! IPFIX flow records to a real collector: nfcapd (Debian nfdump) on loopback receives the
//! records of the sessions a capture makes, and `nfdump -r` reads them back: every flow of
//! every closed session (IPv4 and IPv6, UDP and TCP, both directions) with its packets and
//! IP-layer bytes, summed from the frames' own length fields. One session lives past the
//! active timeout: its records add up to its whole. nfcapd is started and ended by PID.

mod common;
use common::{at, tcp_frame, two_ports, udp_frame, Dir};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The IP packet's length from its own header (IPv4 total length, IPv6 40 + payload).
fn ip_len(frame: &[u8]) -> u64 {
    match frame[14] >> 4 {
        4 => u64::from(u16::from_be_bytes([frame[16], frame[17]])),
        _ => 40 + u64::from(u16::from_be_bytes([frame[18], frame[19]])),
    }
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// An address and port with its separators dropped: nfdump writes `fd00::1` port 6000 as
/// `fd00:1.6000`, the test `fd00::1:6000`.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| *c != ':' && *c != '.').collect()
}

struct Nfcapd {
    child: Child,
    dir: std::path::PathBuf,
}

impl Nfcapd {
    fn start(dir: &Dir, port: u16) -> Nfcapd {
        let d = dir.0.join("flows");
        std::fs::create_dir_all(&d).unwrap();
        let child = Command::new("nfcapd")
            .args([
                "-b",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "3600",
                "-w",
            ])
            .arg(&d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nfcapd (Debian nfdump; ci/install-deps.sh installs it)");
        // Listening once its socket is bound.
        let t0 = Instant::now();
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "nfcapd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nfcapd { child, dir: d }
    }

    /// Ends nfcapd and gives nfdump's lines in `format`, fields trimmed.
    fn lines(mut self, format: &str) -> Vec<String> {
        self.stop();
        let out = Command::new("nfdump")
            .arg("-R")
            .arg(&self.dir)
            .args(["-q", "-N", "-o", format])
            .output()
            .expect("nfdump");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join("|"))
            .collect()
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Ends nfcapd (SIGTERM: it writes its file out) and reads every record back with
    /// nfdump: (source, destination, protocol number) to (packets, bytes, records), summed.
    fn records(mut self) -> HashMap<(String, String, String), (u64, u64, u64)> {
        self.stop();
        let out = Command::new("nfdump")
            .arg("-R")
            .arg(&self.dir)
            .args(["-q", "-N", "-o", "fmt:%sap|%dap|%pr|%pkt|%byt"])
            .output()
            .expect("nfdump");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut m: HashMap<(String, String, String), (u64, u64, u64)> = HashMap::new();
        for l in text.lines() {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            if f.len() < 5 {
                continue;
            }
            let e = m
                .entry((squeeze(f[0]), squeeze(f[1]), f[2].to_string()))
                .or_default();
            e.0 += f[3].parse::<u64>().unwrap_or(0);
            e.1 += f[4].parse::<u64>().unwrap_or(0);
            e.2 += 1;
        }
        m
    }
}

impl Drop for Nfcapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn nfcapd_receives_every_flow_of_every_session_with_its_counts() {
    let dir = Dir::new("ipfix");
    let port = free_port();
    let collector = Nfcapd::start(&dir, port);
    // UDP v4 (3 requests, 2 answers), TCP v4 (handshake, data both ways, FIN), UDP v6,
    // and a UDP v4 session that lives 2.5 s with an active timeout of 1 s.
    let client = vec![
        at(0, udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 30, true)),
        at(10, udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 40, true)),
        at(20, udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 50, true)),
        at(
            30,
            tcp_frame(
                ("10.0.0.2", 40000),
                ("192.0.2.1", 80),
                0x02,
                (1000, 0),
                0,
                true,
            ),
        ),
        at(
            50,
            tcp_frame(
                ("10.0.0.2", 40000),
                ("192.0.2.1", 80),
                0x10,
                (1001, 5001),
                0,
                true,
            ),
        ),
        at(
            60,
            tcp_frame(
                ("10.0.0.2", 40000),
                ("192.0.2.1", 80),
                0x18,
                (1001, 5001),
                200,
                true,
            ),
        ),
        at(80, udp_frame("fd00::1", 6000, "2001:db8::1", 53, 60, true)),
        at(
            100,
            udp_frame("10.0.0.3", 7000, "192.0.2.1", 9000, 100, true),
        ),
        at(
            1300,
            udp_frame("10.0.0.3", 7000, "192.0.2.1", 9000, 100, true),
        ),
        at(
            2500,
            udp_frame("10.0.0.3", 7000, "192.0.2.1", 9000, 100, true),
        ),
    ];
    let server = vec![
        at(15, udp_frame("192.0.2.1", 53, "10.0.0.1", 5000, 300, false)),
        at(25, udp_frame("192.0.2.1", 53, "10.0.0.1", 5000, 400, false)),
        at(
            40,
            tcp_frame(
                ("192.0.2.1", 80),
                ("10.0.0.2", 40000),
                0x12,
                (5000, 1001),
                0,
                false,
            ),
        ),
        at(
            70,
            tcp_frame(
                ("192.0.2.1", 80),
                ("10.0.0.2", 40000),
                0x18,
                (5001, 1201),
                900,
                false,
            ),
        ),
        at(
            90,
            udp_frame("2001:db8::1", 53, "fd00::1", 6000, 500, false),
        ),
        at(
            1400,
            udp_frame("192.0.2.1", 9000, "10.0.0.3", 7000, 20, false),
        ),
    ];
    let mut want: HashMap<(String, String, String), (u64, u64)> = HashMap::new();
    for r in client.iter().chain(&server) {
        let p = match svcard_dataplane::wire::parse(&r.data) {
            svcard_dataplane::wire::Outcome::Ip(p) => p,
            _ => unreachable!(),
        };
        let addr = |a: &[u8; 16], port: u16| -> String {
            let a: std::net::IpAddr = if p.family == 4 {
                std::net::IpAddr::from([a[0], a[1], a[2], a[3]])
            } else {
                std::net::IpAddr::from(*a)
            };
            format!("{a}:{port}")
        };
        let e = want
            .entry((
                squeeze(&addr(&p.src, p.sport)),
                squeeze(&addr(&p.dst, p.dport)),
                p.proto.to_string(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += ip_len(&r.data);
    }
    let rest = format!(
        "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         default-action = \"accept\"\n[ipfix]\ncollector = \"127.0.0.1:{port}\"\n\
         active-timeout = 1\ntemplate-refresh = 1\n"
    );
    let (engine, _sink) = two_ports(&dir, 1, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let _ = engine.query("clear services sessions");
    let t0 = Instant::now();
    while engine.control().ipfix.rows()[0].1 < want.len() as u64 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "records sent: {:?}",
            engine.control().ipfix.rows()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = engine.query("show svcard statistics");
    drop(engine);
    let got = collector.records();
    for (k, (packets, bytes)) in &want {
        let g = got.get(k).map(|g| (g.0, g.1));
        assert_eq!(
            g,
            Some((*packets, *bytes)),
            "{k:?}: all records {got:?}\n{stats}"
        );
    }
    assert_eq!(got.len(), want.len(), "{got:?}");
    // The long-lived session's first flow came in more than one record.
    let long = &got[&(
        squeeze("10.0.0.3:7000"),
        squeeze("192.0.2.1:9000"),
        "17".into(),
    )];
    assert!(
        long.2 >= 2,
        "one record for a session past the active timeout: {long:?}"
    );
    assert!(stats.contains("ipfix_records_sent"), "{stats}");
}

/// A translated session's flows carry their post-NAT addresses and ports (RFC 8158's
/// `postNATSourceIPv4Address` and the rest), which nfdump reads as its translation fields:
/// the flow out leaves from the pool's address and port, the flow back to the private host.
#[test]
fn translated_flows_carry_their_post_nat_endpoints() {
    let dir = Dir::new("ipfix-nat");
    let port = free_port();
    let collector = Nfcapd::start(&dir, port);
    let client = vec![
        at(0, udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 30, true)),
        at(20, udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 30, true)),
    ];
    // The answer to the pool's address and port.
    let server = vec![at(
        10,
        udp_frame("192.0.2.1", 53, "198.51.100.7", 40000, 90, false),
    )];
    let rest = format!(
        "[[nat.pool]]\nname = \"public\"\naddress = \"198.51.100.7\"\nport-low = 40000\n\
         port-high = 40000\n[[nat.rule]]\nname = \"inside\"\nmatch-direction = \"input\"\n\
         source = [\"10.0.0.0/8\"]\ntranslation-type = \"napt-44\"\npool = \"public\"\n\
         [[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         nat-rules = [\"inside\"]\ndefault-action = \"accept\"\n\
         [ipfix]\ncollector = \"127.0.0.1:{port}\"\n"
    );
    let (engine, _sink) = two_ports(&dir, 1, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let _ = engine.query("clear services sessions");
    let t0 = Instant::now();
    while engine.control().ipfix.rows()[0].1 < 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "no records sent");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(engine);
    let lines = collector.lines("fmt:%sap|%dap|%xsap|%xdap|%pkt");
    let out = lines
        .iter()
        .find(|l| l.starts_with("10.0.0.1:5000|") && !l.ends_with("|0"))
        .unwrap_or_else(|| panic!("no flow out: {lines:?}"));
    assert_eq!(
        out, "10.0.0.1:5000|192.0.2.1:53|198.51.100.7:40000|192.0.2.1:53|2",
        "{lines:?}"
    );
    let back = lines
        .iter()
        .find(|l| l.starts_with("192.0.2.1:53|"))
        .unwrap_or_else(|| panic!("no flow back: {lines:?}"));
    assert_eq!(
        back, "192.0.2.1:53|198.51.100.7:40000|192.0.2.1:53|10.0.0.1:5000|1",
        "{lines:?}"
    );
    // The NAT44 session's create and delete events (template 259): the private source,
    // the remote destination and the public source they were given. (nfdump names only
    // NetFlow v9's NAT event values; the encoder's unit test checks ours, 4 and 5.)
    let events: Vec<&String> = lines.iter().filter(|l| l.ends_with("|0")).collect();
    assert_eq!(events.len(), 2, "{lines:?}");
    for e in events {
        assert_eq!(
            e, "10.0.0.1:5000|192.0.2.1:53|198.51.100.7:40000|0.0.0.0:0|0",
            "{lines:?}"
        );
    }
}
