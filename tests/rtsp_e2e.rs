//! The RTSP ALG end to end: GStreamer's RTSP server (`tests/scripts/rtsp_server.py`, on
//! gst-rtsp-server) and GStreamer's RTSP client (`gst-launch-1.0 rtspsrc
//! protocols=udp`) in two network namespaces, svcard on DPDK between them (see
//! `common::netns`). The policy accepts the RTSP control connection and discards the rest.
//! * ALG on: the client plays 200 buffers of the stream received over UDP (the pinholes
//!   SETUP's answer opened), then tears the session down: the ALG withdraws what is left
//!   and closes the media sessions; its books are empty again.
//! * ALG off (`[alg.rtsp] enabled = false`): the client gets no UDP packet and fails.
//!
//! Needs root and the packages of `ci/install-deps.sh`.
#![cfg(feature = "dpdk")]

mod common;

use common::netns::{alg_stat, need, only_apps, tail, Rig, PYTHON};
use std::time::{Duration, Instant};

const SERVER: &str = include_str!("scripts/rtsp_server.py");

fn policy(alg_on: bool) -> String {
    only_apps(&["junos-rtsp"], (!alg_on).then_some("rtsp"))
}

fn rtsp(n: u8, alg_on: bool) {
    need(&["gst-launch-1.0"]);
    let mut rig = Rig::new(n, &format!("rtsp{n}"));
    let script = rig.dir.path("rtsp_server.py");
    std::fs::write(&script, SERVER).unwrap();
    rig.start(&policy(alg_on));
    let s = rig.server_ip();
    let mut srv = rig.server(
        "rtsp-server",
        &format!("exec {PYTHON} {} {s} 554", script.display()),
    );
    rig.wait_listening(&mut srv, "tcp", 554, 1);
    let url = format!("location=rtsp://{s}:554/test");
    let client = rig.client(
        &[
            "gst-launch-1.0",
            "rtspsrc",
            &url,
            "protocols=udp",
            "timeout=3000000",
            "!",
            "rtpL16depay",
            "!",
            "fakesink",
            "num-buffers=200",
        ],
        Duration::from_secs(if alg_on { 30 } else { 15 }),
    );
    let mut failures = Vec::new();
    if alg_on {
        // The 200 buffers arrived: the pipeline reached its end of stream. (Its shutdown,
        // PAUSE then TEARDOWN, may race the server's close and exit 1 after that.)
        if !client.stdout.contains("Got EOS from element") {
            failures.push(format!(
                "the client did not play the stream through the ALG's pinholes: {}",
                client.report()
            ));
        }
        // The TEARDOWN went through: the books are empty.
        let t0 = Instant::now();
        let mut stats;
        loop {
            stats = rig.show("show services alg statistics application-protocol rtsp");
            if alg_stat(&stats, "Media sessions torn down") == Some(1)
                || t0.elapsed() > Duration::from_secs(10)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let opened = alg_stat(&stats, "Pinholes opened").unwrap_or(0);
        let matched = alg_stat(&stats, "Pinholes matched").unwrap_or(0);
        let withdrawn = alg_stat(&stats, "Pinholes withdrawn").unwrap_or(0);
        let checks = [
            (
                "one session set up",
                alg_stat(&stats, "Media sessions set up") == Some(1),
            ),
            (
                "and torn down",
                alg_stat(&stats, "Media sessions torn down") == Some(1),
            ),
            ("4 pinholes (RTP, RTCP, both ways)", opened == 4),
            ("the stream matched one", matched >= 1),
            (
                "every pinhole matched or withdrawn",
                matched + withdrawn == opened,
            ),
            (
                "no pinhole left",
                alg_stat(&stats, "Pinholes active") == Some(0),
            ),
            (
                "the media sessions closed with the TEARDOWN",
                alg_stat(&stats, "Child sessions closed by the ALG") == Some(matched),
            ),
        ];
        for (what, good) in checks {
            if !good {
                failures.push(format!("{what}:\n{stats}"));
            }
        }
    } else if client.ok() || client.stdout.contains("Got EOS from element") {
        failures.push("the client played the stream with the RTSP ALG off".to_string());
    }
    if !failures.is_empty() {
        let log = rig.stop_svcard();
        panic!(
            "RTSP (ALG {}):\n{}\nserver log:\n{}\nsvcard log tail:\n{}",
            if alg_on { "on" } else { "off" },
            failures.join("\n"),
            tail(&srv.log_text(), 20),
            tail(&log, 30)
        );
    }
}

#[test]
fn rtsp_alg_on_plays_over_udp() {
    rtsp(64, true);
}

#[test]
fn rtsp_alg_off_blocks_the_media() {
    rtsp(65, false);
}
