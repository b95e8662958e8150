//! Fuzz target: the PPTP ALG (control messages, calls, GRE openings) and its parser.
//! Seeds: `seeds/pptp/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Pptp, data);
    harness::parsers(data);
});
