//! Fuzzes the operator command grammar: parsing, `?` help and error rendering must never
//! panic, whatever the show server receives.
//!
//! `cargo +nightly fuzz run command_grammar` (from `control/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_control::show::{help, parse, render_error};

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
