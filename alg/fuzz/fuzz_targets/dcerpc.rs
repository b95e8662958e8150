//! Fuzz target: the MS-RPC endpoint mapper ALG (PDU framing, binds, ept_map answers and
//! their towers) and its parsers. Seeds: `seeds/dcerpc/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::DceRpcPortmap, data);
    harness::parsers(data);
});
