//! Fuzz target: the TFTP ALG (RRQ/WRQ datagrams) and the request parser.
//! Seeds: `seeds/tftp/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Tftp, data);
    harness::parsers(data);
});
