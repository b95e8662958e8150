//! Fuzz target: the H.323 ALG (TPKT, Q.931 with H.225 in aligned PER, H.245) and its
//! parser. Seeds: `seeds/h323/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::H323, data);
    harness::parsers(data);
});
