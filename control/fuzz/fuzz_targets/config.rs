//! Fuzzes the configuration reader: any text gives a configuration or an error that names
//! the file (and, where the text has one, the line), never a panic.
//!
//! `ci/fuzz.sh` builds and runs it on stable; seeds in `control/fuzz/seeds/config/` (the
//! example configuration and tables of each kind).
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_toml_str(text, "fuzz.toml".as_ref()) {
        Ok(c) => {
            // What the dataplane asks of every configuration.
            let _ = c.max_sessions_per_worker();
            for p in 0..c.ports.len() {
                let _ = c.interface_service_set(p, 100);
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
    }
});
