//! Fuzz target: the SQLNet ALG (TNS packets, Redirect and Data connect descriptors) and
//! its parsers. Seeds: `seeds/sqlnet/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Sqlnet, data);
    harness::parsers(data);
});
