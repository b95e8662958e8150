//! Fuzzes the operator command grammar: parsing, `?` help and error rendering must never
//! panic, whatever the show server receives.
//!
//! `ci/fuzz.sh` builds and runs it on stable; seeds in `control/fuzz/seeds/command_grammar/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_control::commands::{help, parse, render_error};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match parse(line) {
        Ok(cl) => {
            // Pipes run on any text.
            let _ = cl.pipes.apply("a Forward 1\nb Watch 2\n");
        }
        Err(e) => {
            let _ = render_error(11, line, &e);
        }
    }
    let _ = help(line);
});
