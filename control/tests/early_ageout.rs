//! Early age-out (`[aging]`, Junos `security flow aging early-ageout / high-watermark /
//! low-watermark`): when a worker's table fills to the high watermark, sessions idle for the
//! early age-out go, whatever their own timeout, until use falls to the low watermark (and
//! no further); a session that keeps seeing packets stays.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::stats::{Counter, Gauge};

const MS: u64 = 1_000_000;

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    svcard_perf::frames::udp(
        ip("10.0.0.1"),
        sport,
        ip("192.0.2.1"),
        dport,
        &[1; 18],
        true,
    )
}

#[test]
fn early_ageout_starts_at_the_high_watermark_and_stops_at_the_low_one() {
    let dir = Dir::new("early-ageout");
    // 180 flows of one packet each in the first 180 ms, then silence; one flow with a packet
    // every 100 ms for 4 s.
    let mut client: Vec<Record> = (0..180u16)
        .map(|i| Record {
            ts_ns: u64::from(i) * MS,
            data: udp(10_000 + i, 9000),
        })
        .collect();
    client.extend((0..41u64).map(|i| Record {
        ts_ns: i * 100 * MS,
        data: udp(4000, 7777),
    }));
    client.sort_by_key(|r| r.ts_ns);
    let rest = "[limits]\nmax-sessions-per-worker = 200\n\
                [timeouts]\nudp = 60\n\
                [aging]\nearly-ageout = 1\nhigh-watermark = 60\nlow-watermark = 30\n\
                [[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, true);
    assert!(engine.wait_idle(Duration::from_secs(30)));
    let card = engine.stats().card();
    let cap = card.gauge(Gauge::Capacity);
    assert!(
        181 * 100 >= 60 * cap,
        "the flows reach the high watermark of {cap}"
    );
    assert_eq!(card.get(Counter::EarlyAgeoutStarts), 1, "{card:?}");
    // Idle sessions went until use fell to the low watermark (30 % of the table), and no
    // further: the other idle ones keep their 60 s timeout.
    let low = 30 * cap / 100;
    assert_eq!(
        card.gauge(Gauge::EarlyAgeout),
        0,
        "stopped at the low watermark"
    );
    assert_eq!(card.gauge(Gauge::Sessions), low);
    assert_eq!(
        card.get(Counter::SessionsEarlyAgedOut),
        181 - low,
        "{card:?}"
    );
    assert_eq!(card.get(Counter::SessionsIdleExpired), 181 - low);
    // The flow that kept sending is still there, every packet on its session.
    let out = engine.query("show security flow session destination-port 7777");
    assert!(out.contains("Pkts: 41,"), "{out}");
}

#[test]
fn the_watermarks_are_checked() {
    let e = svcard_config::Config::from_toml_str(
        "[aging]\nhigh-watermark = 50\nlow-watermark = 70\n",
        "t.toml".as_ref(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("low-watermark 70 is above high-watermark 50"),
        "{e}"
    );
    assert!(e.contains("t.toml:"), "{e}");
}
