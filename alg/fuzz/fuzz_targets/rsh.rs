//! Fuzz target: the rsh / rexec / rlogin ALGs (stderr port field) over split segments.
//! Seeds: `seeds/rsh/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_alg::{harness, AlgKind};

fuzz_target!(|data: &[u8]| {
    harness::drive(AlgKind::Rsh, data);
    harness::drive(AlgKind::Rexec, data);
    harness::drive(AlgKind::Rlogin, data);
    harness::parsers(data);
});
