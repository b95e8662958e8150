//! Fuzz target: the RTSP ALG (messages, Transport headers, interleaved frames, sessions)
//! and its parsers. Seeds: `seeds/rtsp/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Rtsp, data);
    harness::parsers(data);
});
