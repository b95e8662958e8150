//! The Prometheus endpoint: `GET /metrics` gives every counter and gauge in the text
//! exposition format, `promtool check metrics` (Debian `prometheus`) accepts it, and a real
//! Prometheus scraping it on loopback reads back what the workers counted.

mod common;
use common::{ip, two_ports, Dir};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::stats::Counter;

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn body(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Ends the child by its PID on drop.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_endpoint_serves_every_figure_and_prometheus_reads_it() {
    let dir = Dir::new("metrics");
    let client: Vec<Record> = (0..20u16)
        .map(|i| Record {
            ts_ns: u64::from(i),
            data: svcard_perf::frames::udp(
                ip("10.0.0.1"),
                4000 + i,
                ip("192.0.2.1"),
                53,
                &[1; 18],
                true,
            ),
        })
        .collect();
    let rest = "[metrics]\nlisten = \"127.0.0.1:0\"\n\
                [[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let addr = engine.metrics_addr().expect("the endpoint runs");
    let resp = get(addr, "/metrics");
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(
        resp.contains("Content-Type: text/plain; version=0.0.4"),
        "{resp}"
    );
    let text = body(&resp);
    let rx = engine.stats().card().get(Counter::RxPackets);
    assert_eq!(rx, 20);
    assert!(
        text.contains(&format!("svcard_rx_packets_total{{worker=\"0\"}} {rx}\n")),
        "{text}"
    );
    assert!(
        text.contains("svcard_sessions{worker=\"0\"} 20\n"),
        "{text}"
    );
    assert!(
        text.contains("svcard_malformed_drops_total{worker=\"0\",reason=\"truncated_ipv4\"} 0\n")
    );
    assert!(text.contains("# TYPE svcard_busy_loop_duration_seconds histogram\n"));
    // Per service set: the 20 new flows its default action accepted.
    assert!(
        text.contains(
            "svcard_service_set_new_flows_total{worker=\"0\",service_set=\"ss1\",verdict=\"accept\"} 20\n"
        ),
        "{text}"
    );
    for c in Counter::ALL {
        assert!(
            text.contains(&format!("# TYPE svcard_{}_total counter\n", c.name())),
            "{} missing",
            c.name()
        );
    }
    assert!(get(addr, "/nope").starts_with("HTTP/1.1 404"));

    // promtool's linter accepts the exposition.
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian prometheus; ci/install-deps.sh installs it)");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = check.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // A real Prometheus scrapes it every 200 ms and answers a query with what was counted.
    let web = free_port();
    let cfg = dir.0.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 200ms\nscrape_configs:\n  - job_name: svcard\n    \
             static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let prom = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.0.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian prometheus)");
    let _prom = Kill(prom);
    let api: SocketAddr = format!("127.0.0.1:{web}").parse().unwrap();
    let t0 = Instant::now();
    let value = loop {
        if let Ok(mut s) = TcpStream::connect(api) {
            let q = "/api/v1/query?query=svcard_rx_packets_total";
            let _ = write!(
                s,
                "GET {q} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n"
            );
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            // {"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[t,"20"]}]}}
            if let Some(v) = body(&out)
                .split("\"value\":[")
                .nth(1)
                .and_then(|r| r.split('"').nth(1))
            {
                break v.to_string();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "Prometheus never had the figure"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value, rx.to_string());
}
