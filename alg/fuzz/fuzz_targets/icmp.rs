//! Fuzz target: the ICMP quote parser, the traceroute ALG (probes with TTLs, ICMP answers)
//! and, through the harness, the traceroute flow fed with arbitrary datagrams.
//! Seeds: `seeds/icmp/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::traceroute(data);
    harness::drive(AlgKind::Traceroute, data);
    harness::parsers(data);
});
