//! VLAN units: a port's 802.1Q VLANs are interfaces of their own (`ge-0/0/1.100`), each in
//! its own service set; the VLAN is part of the session key, so the same address pair on
//! two VLANs (and untagged) makes separate sessions, each shown on its unit and selected by
//! it.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::pcapfile::Record;
use svcard_perf::frames::{build, tag_vlan, L4};

fn frame(vlan: Option<u16>) -> Vec<u8> {
    let mut f = build(
        ip("192.0.2.1"),
        ip("10.0.0.1"),
        &L4::Udp {
            sport: 5353,
            dport: 9000,
            payload: vec![1; 10],
        },
        60,
        false,
    );
    if let Some(v) = vlan {
        tag_vlan(&mut f, v);
    }
    f
}

#[test]
fn the_same_addresses_on_two_vlans_are_two_sessions_on_two_units() {
    let dir = Dir::new("vlan-units");
    let mut server = Vec::new();
    for (i, vlan) in [Some(100), Some(100), Some(100), Some(200), Some(200), None]
        .into_iter()
        .enumerate()
    {
        server.push(Record {
            ts_ns: i as u64,
            data: frame(vlan),
        });
    }
    // Keys right after the [[port]] tables belong to the last one, ge-0/0/1.0.
    let rest = "vlan-units = [100, 200]\n\
                [[service-set]]\nname = \"ss-a\"\nports = [\"ge-0/0/1.100\"]\n\
                default-action = \"accept\"\n\
                [[service-set]]\nname = \"ss-b\"\nports = [\"ge-0/0/1.200\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &[], &server, rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let all = engine.query("show security flow session");
    assert!(all.contains("Total sessions: 3"), "{all}");
    assert!(all.contains("If: ge-0/0/1.100, Pkts: 3,"), "{all}");
    assert!(all.contains("If: ge-0/0/1.200, Pkts: 2,"), "{all}");
    assert!(all.contains("If: ge-0/0/1.0, Pkts: 1,"), "{all}");
    // Each unit's sessions are its service set's.
    let services = engine.query("show services sessions");
    for (set, n) in [("ss-a", 1), ("ss-b", 1), ("N/A", 1)] {
        assert_eq!(
            services.matches(&format!("Service Set: {set},")).count(),
            n,
            "{set}: {services}"
        );
    }
    // An interface filter on a unit selects its sessions only.
    let unit = engine.query("show security flow session interface ge-0/0/1.200");
    assert!(unit.contains("Total sessions: 1"), "{unit}");
    assert!(unit.contains("If: ge-0/0/1.200,"), "{unit}");
    let unit = engine.query("show services sessions interface ge-0/0/1.100");
    assert_eq!(unit.matches("Service Set: ").count(), 1, "{unit}");
    assert!(unit.contains("Service Set: ss-a,"), "{unit}");
}

#[test]
fn vlan_units_in_the_configuration_are_checked() {
    let dir = Dir::new("vlan-units-config");
    let base = |units: &str, members: &str| {
        format!(
            "[[port]]\nname = \"ge-0/0/0.0\"\npcap-tx = \"{0}/a.pcap\"\npeer = \"ge-0/0/1.0\"\n\
             vlan-units = {units}\n\
             [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"{0}/b.pcap\"\npeer = \"ge-0/0/0.0\"\n\
             [[service-set]]\nname = \"s\"\nports = {members}\n",
            dir.0.display()
        )
    };
    let parse = |t: String| svcard_config::Config::from_toml_str(&t, "t.toml".as_ref());
    let ok = parse(base("[7]", "[\"ge-0/0/0.7\"]")).unwrap();
    assert_eq!(ok.unit_index("ge-0/0/0.7"), Some((0, 7)));
    assert_eq!(ok.interface_service_set(0, 7), 0);
    assert_eq!(ok.interface_service_set(0, 8), svcard_config::NONE);
    for (units, members, says) in [
        ("[0]", "[]", "out of range"),
        ("[4095]", "[]", "out of range"),
        ("[7, 7]", "[]", "VLAN 7 is listed twice"),
        ("[7]", "[\"ge-0/0/0.8\"]", "unknown port 'ge-0/0/0.8'"),
    ] {
        let e = parse(base(units, members)).unwrap_err().to_string();
        assert!(e.contains(says), "{units} {members}: {e}");
        assert!(e.contains("t.toml:"), "file and line: {e}");
    }
}
