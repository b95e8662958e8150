//! Fuzz target: the DNS ALG over UDP and TCP (length-prefixed, split messages) and the message parser.
//! Seeds: `seeds/dns/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Dns, data);
    harness::parsers(data);
});
