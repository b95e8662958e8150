//! The MS-RPC endpoint mapper ALG end to end: Samba's RPC server (`samba-dcerpcd` with its
//! `rpcd_*` helpers: the endpoint mapper on TCP 135, the interfaces on ports of their own)
//! and Samba's `rpcclient` in two network namespaces, svcard on DPDK between them (see
//! `common::netns`). `rpcclient ncacn_ip_tcp:SERVER -c srvinfo` asks the endpoint mapper
//! where the srvsvc interface listens (`ept_map`), then connects there. The policy accepts
//! the endpoint mapper's connection (`junos-ms-rpc-tcp`) and discards the rest:
//! * ALG on: the `ept_map` answer opens the interface's port; `srvinfo` answers.
//! * ALG off (`[alg.dce-rpc-portmap] enabled = false`): the mapping crosses, the
//!   connection to the interface's port does not, `srvinfo` fails.
//!
//! Needs root and the packages of `ci/install-deps.sh`.
#![cfg(feature = "dpdk")]

mod common;

use common::netns::{alg_stat, need, only_apps, tail, Rig};
use std::time::Duration;

fn smb_conf(dir: &std::path::Path, addr: &str) -> String {
    let d = dir.display();
    for sub in ["pid", "lock", "state", "cache", "private", "ncalrpc", "log"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    format!(
        "[global]\n  server role = standalone server\n  workgroup = SVTEST\n  interfaces = {addr}\n  \
         bind interfaces only = yes\n  pid directory = {d}/pid\n  lock directory = {d}/lock\n  \
         state directory = {d}/state\n  cache directory = {d}/cache\n  private dir = {d}/private\n  \
         ncalrpc dir = {d}/ncalrpc\n  log file = {d}/log/%m.log\n  log level = 1\n  \
         rpc start on demand helpers = no\n  disable netbios = yes\n"
    )
}

fn msrpc(n: u8, alg_on: bool) {
    need(&["rpcclient"]);
    let dcerpcd = "/usr/libexec/samba/samba-dcerpcd";
    assert!(
        std::path::Path::new(dcerpcd).exists(),
        "e2e: {dcerpcd} is missing (samba)"
    );
    let mut rig = Rig::new(n, &format!("msrpc{n}"));
    rig.start(&only_apps(
        &["junos-ms-rpc-tcp"],
        (!alg_on).then_some("dce-rpc-portmap"),
    ));
    let s = rig.server_ip().to_string();
    let dir = rig.dir.path("samba");
    let conf = dir.join("smb.conf");
    std::fs::write(&conf, smb_conf(&dir, &s)).unwrap();
    let mut srv = rig.server(
        "samba-dcerpcd",
        &format!(
            "exec {dcerpcd} -s {} --foreground --libexec-rpcds --no-process-group",
            conf.display()
        ),
    );
    rig.wait_listening(&mut srv, "tcp", 135, 1);
    let target = format!("ncacn_ip_tcp:{s}");
    let out = rig.client(
        &[
            "rpcclient",
            "-U%",
            "-s",
            "/dev/null",
            &target,
            "-c",
            "srvinfo",
        ],
        Duration::from_secs(if alg_on { 30 } else { 20 }),
    );
    let answered = out.ok() && out.stdout.contains("platform_id");
    let stats = rig.show("show services alg statistics application-protocol dce-rpc-portmap");
    let mut failures = Vec::new();
    if alg_on {
        if !answered {
            failures.push(format!(
                "srvinfo did not reach the interface's port: {}",
                out.report()
            ));
        }
        let checks = [
            (
                "an ept_map request",
                alg_stat(&stats, "Requests").unwrap_or(0) >= 1,
            ),
            (
                "its answer",
                alg_stat(&stats, "Replies matched").unwrap_or(0) >= 1,
            ),
            (
                "a pinhole used",
                alg_stat(&stats, "Pinholes matched").unwrap_or(0) >= 1,
            ),
            (
                "nothing malformed",
                alg_stat(&stats, "Parse errors") == Some(0),
            ),
        ];
        for (what, good) in checks {
            if !good {
                failures.push(format!("{what}:\n{stats}"));
            }
        }
    } else if answered {
        failures.push("srvinfo answered with the endpoint mapper ALG off".to_string());
    }
    if !failures.is_empty() {
        let log = rig.stop_svcard();
        panic!(
            "MS-RPC (ALG {}):\n{}\nserver log:\n{}\nsvcard log tail:\n{}",
            if alg_on { "on" } else { "off" },
            failures.join("\n"),
            tail(&srv.log_text(), 20),
            tail(&log, 30)
        );
    }
}

#[test]
fn msrpc_alg_on_maps_and_connects() {
    msrpc(68, true);
}

#[test]
fn msrpc_alg_off_blocks_the_interface_port() {
    msrpc(69, false);
}
