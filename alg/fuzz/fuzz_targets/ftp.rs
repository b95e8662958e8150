//! Fuzz target: the FTP ALG (PORT, EPRT, 227, 229) over split, retransmitted and out-of-order segments, and the FTP line parsers.
//! Seeds: `seeds/ftp/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Ftp, data);
    harness::parsers(data);
});
