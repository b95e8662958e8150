//! What the control crate's integration tests share: a scratch directory removed on drop,
//! addresses written as text.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::PathBuf;

/// A temporary directory (`svcard-<tag>-<pid>`), removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("svcard-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An address written in a test.
pub fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("test address {s:?}: {e}"))
}

/// A record of `frame` at `ms` milliseconds.
pub fn at(ms: u64, frame: Vec<u8>) -> svcard_dataplane::pcapfile::Record {
    svcard_dataplane::pcapfile::Record {
        ts_ns: ms * 1_000_000,
        data: frame,
    }
}

/// A UDP frame of `len` payload bytes (padded to 60), client-side MACs when `client`.
pub fn udp_frame(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    len: usize,
    client: bool,
) -> Vec<u8> {
    let l4 = svcard_perf::frames::L4::Udp {
        sport,
        dport,
        payload: vec![7; len],
    };
    svcard_perf::frames::build(ip(src), ip(dst), &l4, 60, client)
}

/// A TCP segment: (source, port) to (destination, port), `flags`, (`seq`, `ack`), `len`
/// payload bytes, client-side MACs when `client`.
pub fn tcp_frame(
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    flags: u8,
    (seq, ack): (u32, u32),
    len: usize,
    client: bool,
) -> Vec<u8> {
    let l4 = svcard_perf::frames::L4::Tcp {
        sport,
        dport,
        flags,
        seq,
        ack,
        payload: vec![b'x'; len],
    };
    svcard_perf::frames::build(ip(src), ip(dst), &l4, 60, client)
}

/// The engine in-process on two pcap ports (`ge-0/0/0.0` the client side, `ge-0/0/1.0` the
/// server side, peers of each other), replaying `client` and `server` (at their pace when
/// `pace`) to `workers` workers; `rest` is the configuration after the ports (service sets,
/// timeouts, offload). Frames leave into `out0.pcap` / `out1.pcap` of `dir`.
pub fn two_ports(
    dir: &Dir,
    workers: u16,
    client: &[svcard_dataplane::pcapfile::Record],
    server: &[svcard_dataplane::pcapfile::Record],
    rest: &str,
    pace: bool,
) -> (
    svcard_control::engine::Engine,
    svcard_dataplane::port::pcap::PcapSink,
) {
    two_ports_with(
        dir,
        workers,
        client,
        server,
        rest,
        pace,
        svcard_control::engine::EngineOptions::default(),
    )
}

/// Writes `dir/svcard.toml` for [`two_ports`]: `workers` workers, the two ports replaying
/// `dir/client.pcap` and `dir/server.pcap`, then `rest`. Returns its path (a reload reads
/// it again).
#[allow(dead_code)] // not every test binary uses it
pub fn write_config(dir: &Dir, workers: u16, rest: &str) -> PathBuf {
    let text = format!(
        r#"
[workers]
count = {workers}
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "{}"
pcap-tx = "{}"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-rx = "{}"
pcap-tx = "{}"
peer = "ge-0/0/0.0"
{rest}
"#,
        dir.0.join("client.pcap").display(),
        dir.0.join("out0.pcap").display(),
        dir.0.join("server.pcap").display(),
        dir.0.join("out1.pcap").display(),
    );
    let path = dir.0.join("svcard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`two_ports`] with engine options (an offload backend of the test's own).
#[allow(dead_code)] // not every test binary uses it
pub fn two_ports_with(
    dir: &Dir,
    workers: u16,
    client: &[svcard_dataplane::pcapfile::Record],
    server: &[svcard_dataplane::pcapfile::Record],
    rest: &str,
    pace: bool,
    opts: svcard_control::engine::EngineOptions,
) -> (
    svcard_control::engine::Engine,
    svcard_dataplane::port::pcap::PcapSink,
) {
    use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions};
    svcard_perf::write_pcap(&dir.0.join("client.pcap"), client).unwrap();
    svcard_perf::write_pcap(&dir.0.join("server.pcap"), server).unwrap();
    let path = write_config(dir, workers, rest);
    let config =
        std::sync::Arc::new(svcard_config::Config::load(&path).unwrap_or_else(|e| panic!("{e}")));
    let pcap = PcapOptions { pace, repeat: 1 };
    let (queues, control, sink) = PcapBackend::for_config(&config, pcap).unwrap().into_parts();
    let engine = svcard_control::engine::Engine::start(&config, queues, control, opts).unwrap();
    (engine, sink)
}
