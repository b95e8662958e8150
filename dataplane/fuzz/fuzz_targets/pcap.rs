//! Fuzz target: the pcap / pcapng reader (captures given to `pcap-rx`, `svcard gen`'s
//! outputs, the bench's inputs): any bytes give records or an error, never a panic, and
//! what it reads writes back and reads the same.
//! Seeds: `seeds/pcap/` (a pcap and a pcapng capture).
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_dataplane::pcapfile::{parse, Writer};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = parse(data) else {
        return;
    };
    let mut w = Writer::new(Vec::new()).expect("a writer over a Vec");
    for r in &records {
        w.write(r.ts_ns, &r.data).expect("writing to a Vec");
    }
    let bytes = w.finish().expect("finishing to a Vec");
    let again = parse(&bytes).expect("svcard's own pcap reads back");
    assert_eq!(again.len(), records.len());
    for (a, b) in again.iter().zip(&records) {
        assert_eq!(a.data, b.data);
    }
});
