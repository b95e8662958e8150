//! The `tcp-session` knobs with real Linux TCP: `curl` fetches 300 KiB, sent over 3 s by a
//! small Python server, through svcard (DPDK, `net_af_packet` by default), and while the
//! transfer runs a raw socket in the client namespace spoofs five RSTs on the connection's
//! tuple with sequence numbers far from its window. Under each knob the test checks the
//! transfer (byte-identical), svcard's counters, and whether the session is still
//! established once the RSTs have gone by. Linux's own segments (window scaling, SACK,
//! timestamps, delayed ACKs, retransmissions) must never be counted out of window. Needs
//! root (network namespaces).

#![cfg(feature = "dpdk")]

mod common;
use common::netns::{compare, figure, need, Rig, PYTHON};
use std::time::Duration;

/// The spoofer: `python3 -c SPOOF src dst sport dport flags seq...` sends one segment per
/// sequence number (20-byte header, no payload, checksum over the pseudo-header), 50 ms
/// apart.
const SPOOF: &str = r#"
import socket, struct, sys, time
src, dst = sys.argv[1], sys.argv[2]
sport, dport, flags = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for seq in sys.argv[6:]:
    h = struct.pack('!HHIIBBHHH', sport, dport, int(seq), 0, 5 << 4, flags, 0, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(h))
    c = csum(pseudo + h)
    h = h[:16] + struct.pack('!H', c) + h[18:]
    s.sendto(h, (dst, 0))
    time.sleep(0.05)
"#;

/// Far from any window the download opens (the client sends nothing but ACKs).
const SPOOFED_SEQS: [&str; 5] = ["1", "1073741824", "2147483648", "3221225472", "2147483647"];

const CLIENT_PORT: u16 = 41000;

/// Bytes the slow server sends: `i % 251` for each offset `i`.
const SLOW_BYTES: usize = 300 * 1024;

/// An HTTP server that answers one request with [`SLOW_BYTES`] in 4 KiB pieces 40 ms
/// apart (3 s): the connection stays open, whatever the socket buffers hold, while the
/// spoofed segments go by.
const SLOW_SERVER: &str = r#"
import socket, sys, time
n = 300 * 1024
body = bytes(i % 251 for i in range(n))
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(1)
c, _ = s.accept()
c.recv(65536)
c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
for i in range(0, n, 4096):
    c.sendall(body[i:i + 4096])
    time.sleep(0.04)
c.close()
"#;

struct Seen {
    /// tcp_out_of_window, its drops, tcp_rst_sequence_drops, tcp_non_syn_drops,
    /// tcp_strict_syn_drops.
    counters: [u64; 5],
    /// The `Timeout:` of the download's session just after the spoofed segments (the
    /// download still running).
    timeout: Option<u32>,
    /// What `show security flow session` said then.
    shown: String,
    failures: Vec<String>,
}

/// One download under `knobs` (the `[tcp-session]` table's lines), with the spoofed RSTs
/// and, when `non_syn` is set, one bare ACK with data on a connection that never began.
fn download(n: u8, knobs: &str, non_syn: bool) -> Seen {
    need(&["curl", PYTHON]);
    let mut rig = Rig::new(n, &format!("tcp{n}"));
    rig.start(&format!(
        "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         default-action = \"accept\"\n[tcp-session]\n{knobs}\n"
    ));
    let (c4, s4) = (rig.client_ip().to_string(), rig.server_ip().to_string());
    let mut http = rig.server("http", &format!("exec {PYTHON} -c '{SLOW_SERVER}' {s4}"));
    rig.wait_listening(&mut http, "tcp", 8080, 1);
    let body: Vec<u8> = (0..SLOW_BYTES).map(|i| (i % 251) as u8).collect();
    let file = rig.dir.path("got");
    let url = format!("http://{s4}:8080/data.bin");
    let port = CLIENT_PORT.to_string();
    let curl = rig.spawn_client(&[
        "curl",
        "-sS",
        "-m",
        "30",
        "--local-port",
        &port,
        "-o",
        &file.display().to_string(),
        &url,
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let mut failures = Vec::new();
    let mut argv = vec![PYTHON, "-c", SPOOF, &c4, &s4, &port, "8080", "4"];
    argv.extend(SPOOFED_SEQS);
    let o = rig.client(&argv, Duration::from_secs(5));
    if !o.ok() {
        failures.push(format!("the spoofer failed: {}", o.report()));
    }
    if non_syn {
        let o = rig.client(
            &[
                PYTHON, "-c", SPOOF, &c4, &s4, "41001", "8080", "16", "12345",
            ],
            Duration::from_secs(5),
        );
        if !o.ok() {
            failures.push(format!("the spoofer failed: {}", o.report()));
        }
    }
    // While the download runs: is its session still established?
    let shown = rig.show(&format!(
        "show security flow session source-port {CLIENT_PORT}"
    ));
    let timeout = shown
        .lines()
        .filter_map(|l| l.split("Timeout: ").nth(1))
        .find_map(|t| t.split(',').next()?.trim().parse().ok());
    if timeout.is_none() {
        failures.push(format!("no session of port {CLIENT_PORT} shown:\n{shown}"));
    }
    let o = curl.finish(Duration::from_secs(35));
    let got = std::fs::read(&file).unwrap_or_default();
    if let Some(d) = compare(&body, &got) {
        failures.push(format!("GET {url} through svcard: {d}: {}", o.report()));
    }
    let stats = rig.show("show svcard statistics");
    let counters = [
        "tcp_out_of_window",
        "tcp_out_of_window_drops",
        "tcp_rst_sequence_drops",
        "tcp_non_syn_drops",
        "tcp_strict_syn_drops",
    ]
    .map(|f| figure(&stats, f));
    drop(http);
    Seen {
        counters,
        timeout,
        shown,
        failures,
    }
}

/// The rig's closed and closing timeouts are 30 s; established is 1800.
fn established(t: Option<u32>) -> bool {
    t.is_some_and(|t| t > 30)
}

fn expect(name: &str, seen: &Seen, counters: [u64; 5], established_at_end: bool) {
    let mut failures = seen.failures.clone();
    if seen.counters != counters {
        failures.push(format!(
            "counters (out of window, dropped, RST sequence, non-SYN, strict SYN): {:?}, \
             expected {counters:?}",
            seen.counters
        ));
    }
    if established(seen.timeout) != established_at_end {
        failures.push(format!(
            "the session's timeout is {:?}: expected it {}:\n{}",
            seen.timeout,
            if established_at_end {
                "established"
            } else {
                "closed"
            },
            seen.shown
        ));
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

#[test]
fn by_default_spoofed_rsts_are_dropped_and_the_download_goes_on() {
    let seen = download(80, "", false);
    expect("default", &seen, [5, 5, 0, 0, 0], true);
}

#[test]
fn out_of_window_pass_forwards_the_rsts_and_they_close_nothing() {
    let seen = download(81, "out-of-window = \"pass\"", false);
    expect("out-of-window pass", &seen, [5, 0, 0, 0, 0], true);
}

#[test]
fn no_sequence_check_lets_a_spoofed_rst_close_the_session() {
    // The server's kernel ignores the RSTs (RFC 5961: outside its window); svcard, not
    // checking, takes the first as the end of the connection. The download still completes
    // (a closed session keeps forwarding until its closed timeout).
    let seen = download(82, "no-sequence-check = true", false);
    expect("no-sequence-check", &seen, [0; 5], false);
}

#[test]
fn rst_sequence_check_and_real_tcp() {
    let seen = download(83, "rst-sequence-check = true", false);
    expect("rst-sequence-check", &seen, [5, 5, 0, 0, 0], true);
}

#[test]
fn strict_syn_check_refuses_a_connection_that_never_began() {
    let seen = download(84, "strict-syn-check = true", true);
    expect("strict-syn-check", &seen, [5, 5, 0, 1, 0], true);
}
