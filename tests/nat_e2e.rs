//! Source NAT with real hosts: a client namespace and a server namespace with svcard (DPDK,
//! `net_af_packet` by default) between them; the client's sessions leave with the pool's
//! address. `curl` fetches 3 MiB from Python's HTTP server, byte-identical, and `ping`
//! gets its replies; the server's own log sees only the pool's address, never the client's;
//! svcard's views show the pool and the translated reverse wing.
//!
//! The server reaches the pool's address as a host on its link: a route and a permanent
//! neighbour entry to the client's MAC (svcard is a bump in the wire, and nobody answers
//! ARP for a pool address). Needs root (network namespaces); one worker.

#![cfg(feature = "dpdk")]

mod common;
use common::netns::{compare, need, pattern, tail, Rig, PYTHON};
use std::process::Command;
use std::time::Duration;

const POOL: &str = "198.51.100.7";

fn nat_policy(client: &str) -> String {
    format!(
        r#"[[nat.pool]]
name = "public"
address = "{POOL}/32"
[[nat.rule]]
name = "inside"
match-direction = "input"
source = ["{client}/32"]
translation-type = "napt-44"
pool = "public"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
nat-rules = ["inside"]
default-action = "accept"
"#
    )
}

fn mac_of(ns: &str, dev: &str) -> String {
    let o = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", dev])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    let at = s.find("link/ether ").expect("a MAC") + "link/ether ".len();
    s[at..at + 17].to_string()
}

/// The last number on the first line of `text` that holds `label` (0: none).
fn last_number(text: &str, label: &str) -> u64 {
    text.lines()
        .find(|l| l.contains(label))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

fn ip_ok(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The pool's address, as the server's link neighbour at the client's MAC: svcard is a
/// bump in the wire and nobody answers ARP for a pool address.
fn pool_reachable(rig: &Rig) {
    let mac = mac_of(&rig.client_ns, &rig.client_if);
    ip_ok(&[
        "-n",
        &rig.server_ns,
        "route",
        "add",
        &format!("{POOL}/32"),
        "dev",
        &rig.server_if,
    ]);
    ip_ok(&[
        "-n",
        &rig.server_ns,
        "neigh",
        "replace",
        POOL,
        "lladdr",
        &mac,
        "dev",
        &rig.server_if,
        "nud",
        "permanent",
    ]);
}

#[test]
fn rig_nat_curl_and_ping_reach_the_server_from_the_pool_address() {
    need(&["ping", "curl", PYTHON]);
    let mut rig = Rig::new(71, "nat");
    let (c4, s4) = (rig.client_ip(), rig.server_ip());
    let www = rig.dir.path("www");
    std::fs::create_dir_all(&www).unwrap();
    let body = pattern(3 << 20, 7);
    std::fs::write(www.join("data.bin"), &body).unwrap();
    rig.start(&nat_policy(&c4.to_string()));
    pool_reachable(&rig);
    let mut http = rig.server(
        "http",
        &format!(
            "cd {w}\nexec {PYTHON} -m http.server -b {s4} 8080",
            w = www.display()
        ),
    );
    rig.wait_listening(&mut http, "tcp", 8080, 1);
    let mut failures = Vec::new();
    let o = rig.client(
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", &s4.to_string()],
        Duration::from_secs(8),
    );
    if !o.ok() || !o.stdout.contains("3 received") {
        failures.push(format!("ping {s4} through NAT failed: {}", o.report()));
    }
    let file = rig.dir.path("got");
    let url = format!("http://{s4}:8080/data.bin");
    for _ in 0..2 {
        let o = rig.client(
            &[
                "curl",
                "-sS",
                "-m",
                "20",
                "-o",
                &file.display().to_string(),
                &url,
            ],
            Duration::from_secs(25),
        );
        let got = std::fs::read(&file).unwrap_or_default();
        if let Some(d) = compare(&body, &got) {
            failures.push(format!("HTTP GET {url} through NAT: {d}: {}", o.report()));
        }
    }
    // The server's access log names its peers: only the pool's address.
    let log = http.log_text();
    let gets: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("GET /data.bin"))
        .collect();
    if gets.len() != 2 || !gets.iter().all(|l| l.starts_with(&format!("{POOL} "))) {
        failures.push(format!("the server saw other peers than {POOL}:\n{log}"));
    }
    if log.contains(&c4.to_string()) {
        failures.push(format!("the server saw the private address {c4}:\n{log}"));
    }
    let out = rig.show("show security flow session destination-port 8080 extensive");
    if !out.contains("Source NAT pool: public,") || !out.contains(&format!("--> {POOL}/")) {
        failures.push(format!("the views do not show the translation:\n{out}"));
    }
    let icmp = rig.show("show security flow session protocol icmp");
    if !icmp.contains(&format!("--> {POOL}/")) {
        failures.push(format!("the ping's session is not translated:\n{icmp}"));
    }
    let stats = rig.show("show svcard statistics");
    let translated = last_number(&stats, "nat_sessions_translated");
    if translated < 3 {
        failures.push(format!(
            "nat_sessions_translated {translated}, expected 3 or more (ping, two GETs):\n{stats}"
        ));
    }
    drop(http);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The NAT's behaviour as an independent tool sees it: coturn's `turnutils_natdiscovery`
/// (RFC 5780 mapping and filtering discovery) against `turnserver` on two addresses in the
/// server namespace, the client translated by svcard. Returns the tool's report.
fn natdiscovery(rig: &mut Rig, policy: &str) -> String {
    let s4 = rig.server_ip();
    let alt = format!("10.99.{}.3", rig.n);
    rig.start(policy);
    ip_ok(&[
        "-n",
        &rig.server_ns,
        "addr",
        "add",
        &format!("{alt}/24"),
        "dev",
        &rig.server_if,
    ]);
    pool_reachable(rig);
    let mut stun = rig.server(
        "turnserver",
        &format!(
            "exec turnserver -n --no-cli --no-tls --no-dtls --no-auth --log-file stdout \
             --simple-log -L {s4} -L {alt} --listening-port 3478 --no-tcp-relay"
        ),
    );
    rig.wait_listening(&mut stun, "udp", 3478, 2);
    let o = rig.client(
        &["turnutils_natdiscovery", "-m", "-f", &s4.to_string()],
        Duration::from_secs(30),
    );
    drop(stun);
    format!("{}\n{}", o.stdout, o.stderr)
}

#[test]
fn rig_nat_behaviour_address_and_port_dependent_by_default() {
    need(&["turnserver", "turnutils_natdiscovery"]);
    let mut rig = Rig::new(72, "natdisc");
    let c4 = rig.client_ip().to_string();
    let report = natdiscovery(&mut rig, &nat_policy(&c4));
    assert!(
        report.contains("Address and Port Dependent Mapping"),
        "{report}"
    );
    assert!(
        report.contains("Address and Port Dependent Filtering"),
        "{report}"
    );
}

#[test]
fn rig_nat_behaviour_endpoint_independent_when_configured() {
    need(&["turnserver", "turnutils_natdiscovery"]);
    let mut rig = Rig::new(73, "nateim");
    let c4 = rig.client_ip().to_string();
    let policy = nat_policy(&c4).replace(
        "pool = \"public\"\n[[service-set]]",
        "pool = \"public\"\nmapping-type = \"endpoint-independent\"\n\
         filtering-type = \"endpoint-independent\"\n[[service-set]]",
    );
    assert!(policy.contains("filtering-type"), "{policy}");
    let report = natdiscovery(&mut rig, &policy);
    assert!(
        report.contains("NAT with Endpoint Independent Mapping"),
        "{report}"
    );
    assert!(
        report.contains("NAT with Endpoint Independent Filtering"),
        "{report}"
    );
}

/// The FTP ALG through NAT, discard by default: curl fetches three files over one control
/// connection in each mode from pyftpdlib (which refuses a `PORT` / `EPRT` naming another
/// host than its peer). Active mode works only if svcard writes the pool's address and an
/// ALG port into each `PORT` / `EPRT` (the texts change length: the rest of the control
/// connection is sequence-adjusted) and lets the server's data connection in to it;
/// passive mode only if the client's data connection matches its pinhole and is then
/// translated. Every file is byte-identical; the server sees only the pool's address.
#[test]
fn rig_nat_ftp_active_and_passive_through_the_alg() {
    need(&["curl", PYTHON]);
    let mut rig = Rig::new(74, "natftp");
    let (c4, s4) = (rig.client_ip(), rig.server_ip());
    let root = rig.dir.path("ftp");
    std::fs::create_dir_all(&root).unwrap();
    let names = ["a.bin", "bb.bin", "ccc.bin"];
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| pattern((1 << 20) + 4099 * i, 30 + i as u64))
        .collect();
    for (n, b) in names.iter().zip(&bodies) {
        std::fs::write(root.join(n), b).unwrap();
    }
    let policy = nat_policy(&c4.to_string()).replace(
        "default-action = \"accept\"\n",
        "default-action = \"discard\"\n[[service-set.rule]]\nname = \"control\"\n\
         application = [\"junos-ftp\"]\naction = \"accept\"\n",
    );
    assert!(policy.contains("junos-ftp"), "{policy}");
    rig.start(&policy);
    pool_reachable(&rig);
    let mut srv = rig.server(
        "ftpd",
        &format!(
            "exec {PYTHON} -m pyftpdlib -D -i {s4} -p 21 -d {}",
            root.display()
        ),
    );
    rig.wait_listening(&mut srv, "tcp", 21, 1);
    let modes: [(&str, &[&str]); 4] = [
        ("PORT", &["--ftp-port", "-", "--disable-eprt"]),
        ("EPRT", &["--ftp-port", "-"]),
        ("PASV", &["--ftp-pasv", "--disable-epsv"]),
        ("EPSV", &["--ftp-pasv"]),
    ];
    let mut failures = Vec::new();
    for (cmd, args) in modes {
        let files: Vec<String> = (0..3)
            .map(|i| rig.dir.path(&format!("{cmd}{i}")).display().to_string())
            .collect();
        let urls: Vec<String> = names.iter().map(|n| format!("ftp://{s4}/{n}")).collect();
        let mut argv = vec!["curl", "-sS", "-v", "-m", "40"];
        argv.extend(args);
        for (f, u) in files.iter().zip(&urls) {
            argv.extend(["-o", f.as_str(), u.as_str()]);
        }
        let o = rig.client(&argv, Duration::from_secs(45));
        for (i, f) in files.iter().enumerate() {
            let got = std::fs::read(f).unwrap_or_default();
            if let Some(d) = compare(&bodies[i], &got) {
                failures.push(format!("{cmd} {}: {d}: {}", urls[i], o.report()));
            }
        }
        // One control connection, a data connection command per file.
        let sent = o
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("> {cmd}")))
            .count();
        let reused = o.stderr.contains("Re-using existing connection");
        if sent != 3 || !reused {
            failures.push(format!(
                "{cmd}: {sent} commands sent, connection reused {reused}:\n{}",
                tail(&o.stderr, 40)
            ));
        }
    }
    let log = srv.log_text();
    // The server saw the pool's address in every active command, never the client's.
    let announced: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("<- PORT ") || l.contains("<- EPRT "))
        .collect();
    let pool_port = POOL.replace('.', ",");
    let ok = announced
        .iter()
        .all(|l| l.contains(&format!("PORT {pool_port},")) || l.contains(&format!("|{POOL}|")));
    if announced.len() != 6 || !ok {
        failures.push(format!(
            "the server should see 6 active commands naming {POOL}:\n{}",
            tail(&log, 60)
        ));
    }
    if log.contains(&c4.to_string()) {
        failures.push(format!(
            "the server saw the private address {c4}:\n{}",
            tail(&log, 60)
        ));
    }
    let stats = rig.show("show services alg statistics");
    let rewrites = last_number(&stats, "NAT payload rewrites");
    if rewrites < 6 {
        failures.push(format!(
            "{rewrites} NAT payload rewrites, 6 expected:\n{stats}"
        ));
    }
    drop(srv);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// rsh through NAT with its ALG: netkit rsh against in.rshd under inetd. rshd accepts a
/// client only from a privileged port and connects its stderr back only to a privileged
/// port, so the pool preserves the range below 1024 (`port-low = 512`, `preserve-range`):
/// the control connection leaves from a privileged public port, and the stderr port the
/// client announces is rewritten to one of the pool's privileged ALG ports, where rshd's
/// connection comes in to the client. The command's stdout and stderr both arrive; the
/// server sees only the pool's address.
#[test]
fn rig_nat_rsh_stderr_connection_through_the_alg() {
    need(&["inetd", "in.rshd", "netkit-rsh"]);
    let mut rig = Rig::new(75, "natrsh");
    let (c4, s4) = (rig.client_ip(), rig.server_ip());
    let policy = nat_policy(&c4.to_string()).replace(
        "address = \"198.51.100.7/32\"\n",
        "address = \"198.51.100.7/32\"\nport-low = 512\npreserve-range = true\n",
    );
    assert!(policy.contains("preserve-range"), "{policy}");
    rig.start(&policy);
    pool_reachable(&rig);
    // rshd looks its client's address up by name: the pool's address, as the server's
    // name service knows it.
    let hosts = std::path::PathBuf::from("/etc/netns")
        .join(&rig.server_ns)
        .join("hosts");
    let mut h = std::fs::read_to_string(&hosts).unwrap();
    h.push_str(&format!("{POOL} e2e-pool\n"));
    std::fs::write(&hosts, h).unwrap();
    // root may log in from the pool's address (a ~/.rhosts of this mount namespace only).
    let mut srv = rig.server(
        "inetd",
        &format!(
            "mount -t tmpfs -o mode=0700 tmpfs /root\n\
             printf '{POOL} root\\ne2e-pool root\\n' > /root/.rhosts\nchmod 600 /root/.rhosts\n\
             printf 'shell stream tcp nowait root /usr/sbin/in.rshd in.rshd\\n' > /root/inetd.conf\n\
             exec inetd -d /root/inetd.conf"
        ),
    );
    rig.wait_listening(&mut srv, "tcp", 514, 1);
    let o = rig.client(
        &["netkit-rsh", &s4.to_string(), "echo out; echo err >&2"],
        Duration::from_secs(20),
    );
    let mut failures = Vec::new();
    if !(o.ok() && o.stdout.trim() == "out" && o.stderr.trim() == "err") {
        failures.push(format!(
            "rsh {s4} through NAT did not give out/err: {}\n{}\n{}\n{}",
            o.report(),
            tail(&srv.log_text(), 40),
            rig.show("show security flow session"),
            rig.show("show services alg statistics"),
        ));
    }
    let out = rig.show("show security flow session extensive");
    if !out.contains(&format!("--> {POOL}/")) {
        failures.push(format!("no translated session:\n{out}"));
    }
    let stats = rig.show("show services alg statistics");
    if last_number(&stats, "NAT payload rewrites") < 1 {
        failures.push(format!("no NAT payload rewrite:\n{stats}"));
    }
    drop(srv);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
