//! The IKE ALG end to end: strongSwan's charon in two network namespaces, svcard on DPDK
//! between them (see `common::netns`), bringing up an IKEv2 tunnel between two inner
//! addresses and pinging across it.
//!
//! This kernel has no ESP transform (no loadable modules, `esp4` is not built in), so
//! charon runs its userspace IPsec (`kernel-libipsec`, a TUN device), which carries ESP
//! UDP-encapsulated on port 4500 (`encap = yes`: NAT traversal, RFC 3948). The policy
//! accepts IKE (UDP 500) and discards the rest:
//! * ALG on: the IKE_SA_INIT answer's NAT_DETECTION notifications make the ALG open the
//!   4500 flow; IKE_AUTH and the ESP in UDP cross it; the ping gets its answers.
//! * ALG off (`[alg.ike-esp-nat] enabled = false`): IKE_AUTH on 4500 is discarded, the
//!   tunnel never comes up, the ping gets nothing.
//!
//! Plain ESP (protocol 50), opened after IKE_AUTH, is covered by the ALG's unit tests.
//!
//! Needs root and the packages of `ci/install-deps.sh`.
#![cfg(feature = "dpdk")]

mod common;

use common::netns::{alg_stat, need, only_apps, tail, Proc, Rig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CHARON: &str = "/usr/lib/ipsec/charon";

fn policy(alg_on: bool) -> String {
    only_apps(&["junos-ike"], (!alg_on).then_some("ike-esp-nat"))
}

/// One peer's charon configuration in `dir`: its strongswan.conf (userspace IPsec, its
/// own VICI socket, quick retransmissions) and swanctl.conf (a PSK tunnel between the
/// inner addresses, UDP encapsulation forced).
fn peer_config(dir: &Path, local: &str, remote: &str, inner: (&str, &str)) -> PathBuf {
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("strongswan.conf"),
        format!(
            "charon {{\n  load_modular = no\n  load = random nonce aes sha1 sha2 hmac kdf gmp \
             curve25519 pem pkcs1 x509 revocation constraints pubkey kernel-libipsec \
             kernel-netlink socket-default vici updown\n  retransmit_tries = 2\n  \
             retransmit_timeout = 1.0\n  retransmit_base = 1.0\n  plugins {{\n    vici {{ socket = \
             unix://{d}/run/charon.vici }}\n  }}\n  filelog {{\n    log {{\n      path = \
             {d}/charon.log\n      default = 1\n      ike = 2\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let conf = dir.join("swanctl.conf");
    std::fs::write(
        &conf,
        format!(
            "connections {{\n  t {{\n    version = 2\n    local_addrs = {local}\n    remote_addrs = \
             {remote}\n    encap = yes\n    proposals = aes128-sha256-curve25519\n    local {{\n      \
             auth = psk\n      id = {local}\n    }}\n    remote {{\n      auth = psk\n      id = \
             {remote}\n    }}\n    children {{\n      c {{\n        local_ts = {}/32\n        \
             remote_ts = {}/32\n        mode = tunnel\n        esp_proposals = aes128-sha256\n      \
             }}\n    }}\n  }}\n}}\nsecrets {{\n  ike-1 {{\n    id-a = {local}\n    id-b = {remote}\n    \
             secret = \"svcard-e2e-psk\"\n  }}\n}}\n",
            inner.0, inner.1
        ),
    )
    .unwrap();
    dir.to_path_buf()
}

/// The charon of one peer (its own /run, so the two PID files do not meet).
fn charon(rig: &Rig, server: bool, dir: &Path) -> Proc {
    let script = format!(
        "mount -t tmpfs none /run; export STRONGSWAN_CONF={}/strongswan.conf; exec {CHARON}",
        dir.display()
    );
    let p = if server {
        rig.server("charon", &script)
    } else {
        rig.spawn_client(&["sh", "-ec", &script])
    };
    let sock = dir.join("run/charon.vici");
    let t0 = Instant::now();
    while !sock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "charon did not start: {}",
            std::fs::read_to_string(dir.join("charon.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p
}

fn swanctl(ns: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "swanctl"])
        .args(args)
        .arg("--uri")
        .arg(format!("unix://{}/run/charon.vici", dir.display()))
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn ike(n: u8, alg_on: bool) {
    need(&["swanctl", "ping"]);
    assert!(
        Path::new(CHARON).exists(),
        "e2e: {CHARON} is missing (strongswan-charon)"
    );
    let mut rig = Rig::new(n, &format!("ike{n}"));
    rig.start(&policy(alg_on));
    let (c, s) = (rig.client_ip().to_string(), rig.server_ip().to_string());
    let (ic, is) = (format!("10.201.{n}.1"), format!("10.201.{n}.2"));
    for (ns, a) in [(&rig.client_ns, &ic), (&rig.server_ns, &is)] {
        let o = Command::new("ip")
            .args(["-n", ns, "addr", "add", &format!("{a}/32"), "dev", "lo"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let cdir = peer_config(&rig.dir.path("client-ike"), &c, &s, (&ic, &is));
    let sdir = peer_config(&rig.dir.path("server-ike"), &s, &c, (&is, &ic));
    let _srv = charon(&rig, true, &sdir);
    let _cli = charon(&rig, false, &cdir);
    for (ns, dir) in [(&rig.server_ns, &sdir), (&rig.client_ns, &cdir)] {
        let conf = dir.join("swanctl.conf").display().to_string();
        let (ok, out) = swanctl(ns, dir, &["--load-all", "--file", &conf]);
        assert!(ok, "swanctl --load-all: {out}");
    }
    let (up, how) = swanctl(
        &rig.client_ns,
        &cdir,
        &["--initiate", "--child", "c", "--timeout", "20"],
    );
    let ping = rig.client(
        &["ping", "-c", "5", "-i", "0.2", "-W", "1", "-I", &ic, &is],
        Duration::from_secs(15),
    );
    let received = ping
        .stdout
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let stats = rig.show("show services alg statistics application-protocol ike-esp-nat");
    let mut failures = Vec::new();
    if alg_on {
        if !up {
            failures.push(format!(
                "the tunnel did not come up through the ALG: {}",
                tail(&how, 15)
            ));
        }
        if received != 5 {
            failures.push(format!(
                "{received} of 5 pings crossed the tunnel: {}",
                ping.report()
            ));
        }
        if alg_stat(&stats, "Pinholes matched").unwrap_or(0) < 1 {
            failures.push(format!("the NAT-T pinhole was not used:\n{stats}"));
        }
        let sessions = rig.show("show security flow session");
        if !sessions.contains("/4500;udp") {
            failures.push(format!("no session on UDP 4500:\n{sessions}"));
        }
    } else {
        if up || received > 0 {
            failures.push(format!(
                "with the IKE ALG off the tunnel came up ({up}) and {received} pings crossed"
            ));
        }
        if alg_stat(&stats, "Pinholes opened").unwrap_or(0) != 0 {
            failures.push(format!("the ALG is off but opened pinholes:\n{stats}"));
        }
    }
    if !failures.is_empty() {
        let log = rig.stop_svcard();
        panic!(
            "IKE (ALG {}):\n{}\nclient charon:\n{}\nsvcard log tail:\n{}",
            if alg_on { "on" } else { "off" },
            failures.join("\n"),
            tail(
                &std::fs::read_to_string(cdir.join("charon.log")).unwrap_or_default(),
                25
            ),
            tail(&log, 30)
        );
    }
}

#[test]
fn ike_alg_on_brings_up_a_nat_t_tunnel() {
    ike(66, true);
}

#[test]
fn ike_alg_off_keeps_the_tunnel_down() {
    ike(67, false);
}
