//! Fuzz target: the talk ALG (CTL_MSG / CTL_RESPONSE) and the talk parsers.
//! Seeds: `seeds/talk/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Talk, data);
    harness::parsers(data);
});
