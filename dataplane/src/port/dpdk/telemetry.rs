//! svcard's own commands in DPDK's telemetry (`rte_telemetry`): beside `/ethdev/stats`,
//! `dpdk-telemetry.py` (or any client of the telemetry socket) reads `/svcard/counters`,
//! `/svcard/sessions`, `/svcard/drops` and `/svcard/workers`. What each returns comes from a
//! [`TelemetrySource`] the program registers once its engine runs; DPDK's telemetry thread
//! calls in, never a worker.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::{Arc, Mutex};

use dpdk_sys as sys;

/// The commands, with their help.
pub const COMMANDS: [(&str, &str); 4] = [
    (
        "/svcard/counters",
        "Every counter of svcard's registry, summed over the workers.",
    ),
    (
        "/svcard/sessions",
        "Sessions now: in use, valid, pending, invalidated, other, capacity, offloaded.",
    ),
    (
        "/svcard/drops",
        "Frames dropped as malformed, by reason, summed over the workers.",
    ),
    (
        "/svcard/workers",
        "Per worker: packets in and out, polls, busy polls, sessions. Parameter: a worker \
         number for all its counters.",
    ),
];

/// What the commands read.
pub trait TelemetrySource: Send + Sync {
    /// The (name, value) pairs of command `cmd` with parameter `params` (empty when none).
    /// Names may hold letters, digits, `_` and `/` only (others are replaced by `_`).
    fn dict(&self, cmd: &str, params: &str) -> Vec<(String, u64)>;
}

/// The source the callbacks read (the latest registered: one engine per process runs at a
/// time).
static SOURCE: Mutex<Option<Arc<dyn TelemetrySource>>> = Mutex::new(None);

/// DPDK's limit on a dictionary's entries (`RTE_TEL_MAX_DICT_ENTRIES`).
const MAX_ENTRIES: usize = 256;

/// A name as telemetry accepts it.
fn sanitize(name: &str) -> CString {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '/' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    CString::new(s).unwrap_or_default()
}

unsafe extern "C" fn callback(
    cmd: *const c_char,
    params: *const c_char,
    d: *mut sys::rte_tel_data,
) -> c_int {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: DPDK's telemetry thread passes the registered command and the
            // request's parameters as NUL-terminated strings (parameters may be null, tested
            // above) that live for the call.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let (cmd, params) = (text(cmd), text(params));
    let source = SOURCE.lock().ok().and_then(|s| s.clone());
    let pairs = source.map_or_else(Vec::new, |s| s.dict(&cmd, params.trim()));
    // SAFETY: `d` is the data structure DPDK hands every callback, valid for the call.
    if unsafe { sys::rte_tel_data_start_dict(d) } != 0 {
        return -1;
    }
    for (k, v) in pairs.iter().take(MAX_ENTRIES) {
        let key = sanitize(k);
        // SAFETY: `d` was started as a dictionary above; `key` is NUL-terminated and
        // outlives the call, which copies it.
        unsafe { sys::rte_tel_data_add_dict_u64(d, key.as_ptr(), *v) };
    }
    0
}

/// Registers svcard's commands with the EAL's telemetry (the EAL must be up; with
/// `--no-telemetry` nobody will call them) and makes `source` what they read. Registering
/// again (another engine in the same process) replaces the source.
///
/// # Errors
/// DPDK refused a command (other than as already registered).
pub fn register(source: Arc<dyn TelemetrySource>) -> Result<(), String> {
    let first = {
        let mut s = SOURCE
            .lock()
            .map_err(|_| "telemetry source lock poisoned")?;
        let first = s.is_none();
        *s = Some(source);
        first
    };
    if !first {
        return Ok(());
    }
    for (cmd, help) in COMMANDS {
        let (c, h) = (sanitize(cmd), CString::new(help).unwrap_or_default());
        // SAFETY: both strings are NUL-terminated; DPDK copies them; `callback` is an
        // `extern "C"` function with the signature `telemetry_cb` names, valid for the life
        // of the process.
        let rc = unsafe { sys::rte_telemetry_register_cmd(c.as_ptr(), Some(callback), h.as_ptr()) };
        if rc != 0 {
            return Err(format!("rte_telemetry_register_cmd({cmd}): {rc}"));
        }
    }
    Ok(())
}
