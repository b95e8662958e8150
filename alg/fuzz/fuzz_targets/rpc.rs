//! Fuzz target: the portmapper ALG (GETPORT, GETADDR) over UDP and TCP record marking, and the RPC parsers.
//! Seeds: `seeds/rpc/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::RpcPortmap, data);
    harness::parsers(data);
});
