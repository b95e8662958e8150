//! Fuzz target: the IKE ALG (IKEv1 and IKEv2 headers, the unencrypted payload chain,
//! NAT-T and ESP openings) and its parser. Seeds: `seeds/ike/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::IkeEspNat, data);
    harness::parsers(data);
});
