//! Golden tests of `show services sessions` (MS-MPC / AMS): the seed pages show no sample
//! body, so the layouts of `reference/junos-cli.md` are the golden files
//! (`services-brief.txt`, `services-count.txt`, copied from it); `services-extensive.txt`
//! and `services-terse.txt` are svcard's layouts built from the same rules (regenerate with
//! `SVCARD_BLESS=1`). The flags word of the sample (0x200000) is printed as given.

use std::net::IpAddr;

use svcard_control::show::model::FlowDirection;
use svcard_control::show::services::ServicesLevel;
use svcard_control::show::services::{
    count_line, CountRow, MspFlow, MspSession, ServicesText, COUNT_HEADER,
};

fn golden(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("SVCARD_BLESS").is_some()
        && !matches!(name, "services-brief.txt" | "services-count.txt")
    {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(got, want, "{name}\n--- got ---\n{got}");
}

fn flow(src: &str, sp: u16, dst: &str, dp: u16, dir: FlowDirection, frames: u64) -> MspFlow {
    MspFlow {
        protocol: 6,
        source_address: src.parse::<IpAddr>().unwrap(),
        source_port: sp,
        destination_address: dst.parse::<IpAddr>().unwrap(),
        destination_port: dp,
        state: "Watch",
        direction: dir,
        frames,
        bytes: frames * 60,
        timeout: 30,
    }
}

fn sample() -> MspSession<'static> {
    MspSession {
        service_set: "ss1",
        session_id: 33_554_433,
        alg: "ftp",
        flags: 0x20_0000,
        ip_action: false,
        offload: false,
        asymmetric: false,
        flows: [
            flow("10.1.1.2", 1024, "20.1.1.2", 21, FlowDirection::In, 1234),
            flow("20.1.1.2", 21, "10.1.1.2", 1024, FlowDirection::Out, 1100),
        ],
        offload_info: None,
        nat_info: None,
    }
}

fn render(level: ServicesLevel) -> String {
    let t = ServicesText { level };
    let mut s = String::new();
    t.interface(&mut s, "ms-2/2/0").unwrap();
    t.session(&mut s, &sample()).unwrap();
    s
}

#[test]
fn brief_and_default_sample() {
    golden("services-brief.txt", &render(ServicesLevel::Default));
    golden("services-brief.txt", &render(ServicesLevel::Brief));
    // Column 7 is the frame count, as operators' awk scripts read it.
    for l in render(ServicesLevel::Brief)
        .lines()
        .filter(|l| l.contains("Watch"))
    {
        let cols: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(cols.len(), 7);
        assert!(cols[6] == "1234" || cols[6] == "1100");
    }
}

#[test]
fn extensive_and_terse() {
    golden("services-extensive.txt", &render(ServicesLevel::Extensive));
    golden("services-terse.txt", &render(ServicesLevel::Terse));
}

#[test]
fn count_sample() {
    let mut s = format!("{COUNT_HEADER}\n");
    count_line(
        &mut s,
        &CountRow {
            interface: "vms-1/0/0",
            service_set: "PIC1_0",
            valid: 23_151_274,
            invalid: 0,
            pending: 0,
            other: 0,
        },
    )
    .unwrap();
    golden("services-count.txt", &s);
}

#[test]
fn icmp_flows_print_no_ports() {
    let mut s = sample();
    for f in &mut s.flows {
        f.protocol = 1;
        f.state = "Forward";
    }
    let mut out = String::new();
    ServicesText {
        level: ServicesLevel::Terse,
    }
    .session(&mut out, &s)
    .unwrap();
    assert_eq!(
        out,
        "ICMP        10.1.1.2        ->   20.1.1.2        Forward  I          1234\n\
         ICMP        20.1.1.2        ->   10.1.1.2        Forward  O          1100\n"
    );
}
