//! The SIP ALG end to end: SIPp (Debian `sip-tester`) as user agent client and server in
//! two network namespaces, svcard on DPDK between them (see `common::netns`).
//!
//! The client makes calls whose INVITE offers an RTP port of the call's own
//! (`[auto_media_port]`), then streams SIPp's packaged G.711 capture to the port the
//! server's answer named; the server (`-sn uas -rtp_echo`) echoes every RTP packet back.
//! Captures taken with `dumpcap` in both namespaces are the oracle: per call, the RTP the
//! server received and the echo the client received. The policy accepts the SIP
//! signalling and discards everything else:
//! * ALG on: every call's media crosses both ways; after the calls svcard's books are
//!   empty again (every pinhole matched or withdrawn, every media session closed with its
//!   BYE, no call left in the ALG's table);
//! * ALG off (`[alg.sip] enabled = false`): the calls are set up and torn down (the
//!   signalling passes) but not one RTP packet reaches the server.
//!
//! `sip_calls_per_second` (ignored; run it on a release build) measures how many calls a
//! second the control core sustains with every SIP message handed off to it.
//!
//! Needs root and the packages of `ci/install-deps.sh`.
#![cfg(feature = "dpdk")]

mod common;

use common::netns::{alg_stat, need, only_apps, tail, Proc, Rig};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The server's RTP echo port (SIPp's `-mp`).
const ECHO: u16 = 6000;
/// Packets in SIPp's `g711a.pcap`.
const STREAM: usize = 51;
const UAC: &str = include_str!("scripts/sip/uac-rtp.xml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn sipp(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
}

fn policy(alg_on: bool) -> String {
    only_apps(&["junos-sip", "junos-sip-tcp"], (!alg_on).then_some("sip"))
}

/// A `dumpcap` of the UDP (not SIP) frames on `iface`, stopped by a file.
struct Capture {
    proc: Proc,
    file: PathBuf,
    stop: PathBuf,
}

impl Capture {
    fn start(rig: &Rig, server_side: bool, name: &str) -> Capture {
        let file = rig.dir.path(&format!("{name}.pcapng"));
        let stop = rig.dir.path(&format!("{name}.stop"));
        let iface = if server_side {
            &rig.server_if
        } else {
            &rig.client_if
        };
        let script = format!(
            "dumpcap -q -i {iface} -f 'udp and not port 5060' -w {f} & p=$!; \
             while [ ! -e {s} ]; do sleep 0.1; done; kill -INT $p; wait $p",
            f = file.display(),
            s = stop.display()
        );
        let proc = if server_side {
            rig.server(name, &script)
        } else {
            rig.spawn_client(&["sh", "-c", &script])
        };
        // dumpcap creates its file once it captures.
        let t0 = Instant::now();
        while !file.exists() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(file.exists(), "dumpcap on {iface} did not start");
        Capture { proc, file, stop }
    }

    /// Stops the capture; (source, source port, destination port) per UDP frame.
    fn finish(self) -> Vec<(IpAddr, u16, u16)> {
        std::fs::write(&self.stop, b"").unwrap();
        let out = self.proc.finish(Duration::from_secs(60));
        assert!(out.ok(), "dumpcap: {}", out.report());
        frames(&self.file)
    }
}

fn frames(file: &Path) -> Vec<(IpAddr, u16, u16)> {
    let o = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file)
        .args([
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// The UAS, listening.
fn uas(rig: &Rig, t: Transport) -> Proc {
    let s = rig.server_ip();
    let mut uas = rig.server(
        "uas",
        &format!(
            "exec sipp -sn uas -i {s} -p 5060 -t {} -mi {s} -mp {ECHO} -rtp_echo -nostdin \
             -trace_err -error_file {}",
            t.sipp(),
            rig.dir.path("uas-errors.log").display()
        ),
    );
    let proto = if t == Transport::Tcp { "tcp" } else { "udp" };
    rig.wait_listening(&mut uas, proto, 5060, 1);
    uas
}

/// Runs `calls` calls at `rate` a second from the UAC; its output.
fn uac(rig: &Rig, t: Transport, scenario: &Path, calls: u32, rate: u32) -> common::netns::Out {
    let (c, s) = (rig.client_ip().to_string(), rig.server_ip().to_string());
    let target = format!("{s}:5060");
    let (m, r) = (calls.to_string(), rate.to_string());
    let sc = scenario.display().to_string();
    let limit = (rate * 4).max(10).to_string();
    rig.client(
        &[
            "sipp",
            &target,
            "-sf",
            &sc,
            "-i",
            &c,
            "-p",
            "5060",
            "-t",
            t.sipp(),
            "-mi",
            &c,
            "-m",
            &m,
            "-r",
            &r,
            "-l",
            &limit,
            "-nostdin",
            "-timeout",
            "120",
            "-trace_err",
            "-error_file",
            &rig.dir.path("uac-errors.log").display().to_string(),
        ],
        Duration::from_secs(150),
    )
}

/// `Successful call` and `Failed call` totals of SIPp's final screen.
fn call_totals(stdout: &str) -> (u64, u64) {
    let total = |label: &str| {
        stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split('|').nth(2))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (total("Successful call"), total("Failed call"))
}

fn sip(n: u8, alg_on: bool, t: Transport, calls: u32, rate: u32) {
    need(&["sipp", "dumpcap", "tshark"]);
    assert!(
        Path::new("/usr/share/sip-tester/g711a.pcap").exists(),
        "e2e: sip-tester's g711a.pcap is missing"
    );
    let mut rig = Rig::new(n, &format!("sip{n}"));
    let scenario = rig.dir.path("uac-rtp.xml");
    std::fs::write(&scenario, UAC).unwrap();
    rig.start(&policy(alg_on));
    let (c, s) = (rig.client_ip(), rig.server_ip());
    let _uas = uas(&rig, t);
    let at_server = Capture::start(&rig, true, "server-cap");
    let at_client = Capture::start(&rig, false, "client-cap");
    let out = uac(&rig, t, &scenario, calls, rate);
    // The last echoes are in flight.
    std::thread::sleep(Duration::from_millis(500));
    let (server_frames, client_frames) = (at_server.finish(), at_client.finish());
    let (ok, failed) = call_totals(&out.stdout);
    let mut failures = Vec::new();
    if ok != u64::from(calls) || failed != 0 {
        failures.push(format!(
            "SIPp: {ok} of {calls} calls succeeded, {failed} failed (the signalling must pass \
             either way): {}",
            out.report()
        ));
    }
    // Per call (the client's RTP port): RTP the server received, echoes the client did.
    let mut sent: BTreeMap<u16, usize> = BTreeMap::new();
    let mut echoed: BTreeMap<u16, usize> = BTreeMap::new();
    for (src, sport, dport) in &server_frames {
        if *src == c && *dport == ECHO {
            *sent.entry(*sport).or_default() += 1;
        }
    }
    for (src, sport, dport) in &client_frames {
        if *src == s && *sport == ECHO {
            *echoed.entry(*dport).or_default() += 1;
        }
    }
    let stats = rig.show("show services alg statistics application-protocol sip");
    if alg_on {
        // At least 90 % of each stream, both ways (the first packet may race the ACK).
        let want = STREAM * 9 / 10;
        let short: Vec<String> = sent
            .iter()
            .filter(|(p, k)| **k < want || echoed.get(p).copied().unwrap_or(0) < want)
            .map(|(p, k)| {
                format!(
                    "port {p}: {k} in, {} echoed",
                    echoed.get(p).copied().unwrap_or(0)
                )
            })
            .collect();
        if sent.len() != calls as usize || !short.is_empty() {
            failures.push(format!(
                "every call's media must cross both ways: {} of {calls} calls' RTP reached the \
                 server; short: {short:?}",
                sent.len()
            ));
        }
        // The books are empty again once every BYE is through.
        let t0 = Instant::now();
        let mut stats = stats;
        while alg_stat(&stats, "Calls ended") != Some(u64::from(calls))
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(200));
            stats = rig.show("show services alg statistics application-protocol sip");
        }
        let calls = u64::from(calls);
        let opened = alg_stat(&stats, "Pinholes opened").unwrap_or(0);
        let matched = alg_stat(&stats, "Pinholes matched").unwrap_or(0);
        let withdrawn = alg_stat(&stats, "Pinholes withdrawn").unwrap_or(0);
        let checks = [
            (
                "Calls begun",
                alg_stat(&stats, "Calls begun") == Some(calls),
            ),
            (
                "Calls ended",
                alg_stat(&stats, "Calls ended") == Some(calls),
            ),
            (
                "Pinholes active",
                alg_stat(&stats, "Pinholes active") == Some(0),
            ),
            // RTP and RTCP of the offer and of the answer.
            ("Pinholes opened", opened == 4 * calls),
            ("Pinholes matched", matched >= calls),
            (
                "every pinhole matched or withdrawn",
                matched + withdrawn == opened,
            ),
            (
                "Child sessions closed by the ALG",
                alg_stat(&stats, "Child sessions closed by the ALG") == Some(matched),
            ),
            (
                "Pinholes expired",
                alg_stat(&stats, "Pinholes expired") == Some(0),
            ),
        ];
        for (what, good) in checks {
            if !good {
                failures.push(format!("after {calls} calls, {what} is wrong:\n{stats}"));
            }
        }
        let conv = rig.show("show services alg conversations application-protocol sip extensive");
        if !conv.contains("Number of resources: 0") {
            failures.push(format!(
                "the signalling conversation still holds resources after every BYE:\n{conv}"
            ));
        }
        // The calls' media sessions (not the discarded flows of RTP that came after its
        // call's BYE, which are the policy's, not the ALG's).
        let sessions = rig.show("show security flow session application junos-sip-media");
        let media: Vec<&str> = sessions
            .lines()
            .filter(|l| l.contains(&format!("/{ECHO};udp")))
            .collect();
        if !media.is_empty() {
            failures.push(format!(
                "media sessions left after their calls' BYE: {}",
                media.join(" | ")
            ));
        }
    } else if !sent.is_empty() {
        failures.push(format!(
            "with the SIP ALG off, RTP of {} calls reached the server ({:?})",
            sent.len(),
            sent
        ));
    }
    if !failures.is_empty() {
        let log = rig.stop_svcard();
        panic!(
            "SIP {t:?} (ALG {}):\n{}\nsvcard log tail:\n{}",
            if alg_on { "on" } else { "off" },
            failures.join("\n"),
            tail(&log, 30)
        );
    }
}

#[test]
fn sip_alg_100_calls_with_rtp_over_udp() {
    sip(60, true, Transport::Udp, 100, 20);
}

#[test]
fn sip_alg_calls_over_tcp() {
    sip(61, true, Transport::Tcp, 10, 10);
}

#[test]
fn sip_alg_off_blocks_the_media() {
    sip(62, false, Transport::Udp, 10, 10);
}

/// How many calls a second the control core sustains, every SIP message handed off to
/// it: SIPp's embedded `uac` / `uas` scenarios (no media) at rising rates, 5 s each, no
/// retransmission allowed (`-max_retrans 0`): a rate holds when every call succeeds. Prints figures,
/// asserts nothing about time. Run on a release build:
/// `cargo test --release --features dpdk --test sip_e2e -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run by hand on a release build"]
fn sip_calls_per_second() {
    need(&["sipp"]);
    let mut rig = Rig::new(63, "sip-cps");
    rig.start(&policy(true));
    let _uas = {
        let s = rig.server_ip();
        let mut p = rig.server("uas", &format!("exec sipp -sn uas -i {s} -p 5060 -nostdin"));
        rig.wait_listening(&mut p, "udp", 5060, 1);
        p
    };
    let (c, s) = (rig.client_ip().to_string(), rig.server_ip().to_string());
    println!("rate/s  calls     ok  failed  handed-off  wall-s  calls/s");
    for rate in [100u32, 400, 1600, 3200, 6400, 12800] {
        let calls = rate * 5;
        let before = alg_stat(
            &rig.show("show services alg statistics application-protocol sip"),
            "Packets handed off",
        )
        .unwrap_or(0);
        let t0 = Instant::now();
        let (m, r) = (calls.to_string(), rate.to_string());
        let target = format!("{s}:5060");
        // SIPp's PID is the same in every run (its own PID namespace): each run's Call-IDs
        // are made distinct, or the server takes them for calls it has just ended.
        let cid = format!("%u-{rate}-%p@%s");
        let out = rig.client(
            &[
                "sipp",
                "-cid_str",
                &cid,
                &target,
                "-sn",
                "uac",
                "-i",
                &c,
                "-p",
                "5060",
                "-m",
                &m,
                "-r",
                &r,
                "-l",
                "100000",
                "-d",
                "0",
                "-nostdin",
                "-timeout",
                "60",
                "-max_retrans",
                "0",
            ],
            Duration::from_secs(90),
        );
        let wall = t0.elapsed().as_secs_f64();
        let (ok, failed) = call_totals(&out.stdout);
        let after = alg_stat(
            &rig.show("show services alg statistics application-protocol sip"),
            "Packets handed off",
        )
        .unwrap_or(0);
        println!(
            "{rate:>6}  {calls:>5}  {ok:>5}  {failed:>6}  {:>10}  {wall:>6.1}  {:>7.0}",
            after - before,
            ok as f64 / wall
        );
        if failed > 0 {
            break;
        }
    }
}
