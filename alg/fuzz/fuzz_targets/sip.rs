//! Fuzz target: the SIP ALG (messages over UDP and TCP, SDP, dialogs, timers) and the
//! SIP and SDP parsers. Seeds: `seeds/sip/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Sip, data);
    harness::parsers(data);
});
