//! The `[offload]` table and each service set's `[service-set.offload]` policy, with its
//! per-application overrides.

use crate::app::Application;
use crate::offload::{ModelSettings, Offload, OffloadBackendKind, OffloadTrigger, MODEL_PRESETS};
use crate::ServiceSetOffload;

use super::reader::*;

/// The keys of a policy (a service set's, or one application's).
const POLICY_KEYS: &[&str] = &[
    "policy",
    "packets",
    "bytes",
    "packets-per-second",
    "bytes-per-second",
    "window-ms",
];

/// Default `window-ms` of `rate-above`.
const DEFAULT_WINDOW_MS: u32 = 100;

/// Reads a policy from `t`: `policy` and the one threshold it takes.
fn trigger(t: &Tab<'_, '_>) -> R<OffloadTrigger> {
    let (word, span) = match t.string("policy")? {
        Some(p) => p,
        None => return Err(t.err(&t.span, "policy", "missing required field")),
    };
    // Each threshold belongs to one policy: a threshold the policy does not take is an
    // error at its own line (a typo for another policy, most likely).
    let takes: &[&str] = match word {
        "never" | "established" => &[],
        "after-packets" => &["packets"],
        "after-bytes" => &["bytes"],
        "rate-above" => &["packets-per-second", "bytes-per-second", "window-ms"],
        _ => {
            return Err(t.err(
                &span,
                "policy",
                format!(
                    "'{word}' is not an offload policy (never, established, after-packets, \
                     after-bytes or rate-above)"
                ),
            ))
        }
    };
    for key in &POLICY_KEYS[1..] {
        if let Some(v) = t.get(key) {
            if !takes.contains(key) {
                return Err(t.err(&v.span(), key, format!("policy '{word}' takes no '{key}'")));
            }
        }
    }
    let need = |key: &str| -> R<u64> {
        match t.int(key, 1, i64::MAX)? {
            Some(n) => Ok(n as u64),
            None => Err(t.err(&span, key, format!("policy '{word}' needs '{key}'"))),
        }
    };
    Ok(match word {
        "never" => OffloadTrigger::Never,
        "established" => OffloadTrigger::Established,
        "after-packets" => OffloadTrigger::AfterPackets(need("packets")?),
        "after-bytes" => OffloadTrigger::AfterBytes(need("bytes")?),
        _ => {
            let window_ms = t
                .seconds("window-ms", 1, 60_000)?
                .unwrap_or(DEFAULT_WINDOW_MS);
            match (t.get("packets-per-second"), t.get("bytes-per-second")) {
                (Some(_), None) => OffloadTrigger::PacketRate {
                    per_second: need("packets-per-second")?,
                    window_ms,
                },
                (None, Some(_)) => OffloadTrigger::ByteRate {
                    per_second: need("bytes-per-second")?,
                    window_ms,
                },
                (Some(_), Some(v)) => {
                    return Err(t.err(
                        &v.span(),
                        "bytes-per-second",
                        "rate-above takes packets-per-second or bytes-per-second, not both",
                    ))
                }
                (None, None) => {
                    return Err(t.err(
                        &span,
                        "packets-per-second",
                        "policy 'rate-above' needs 'packets-per-second' or 'bytes-per-second'",
                    ))
                }
            }
        }
    })
}

/// A service set's `[service-set.offload]` table (none: never).
pub(super) fn service_set(
    src: &Src<'_>,
    ss: &Tab<'_, '_>,
    applications: &[Application],
) -> R<ServiceSetOffload> {
    let mut keys = POLICY_KEYS.to_vec();
    keys.push("application");
    let Some(t) = ss.table("offload", &keys)? else {
        return Ok(ServiceSetOffload::default());
    };
    let policy = trigger(&t)?;
    let mut app_keys = POLICY_KEYS.to_vec();
    app_keys.push("name");
    let mut overrides: Vec<(u16, OffloadTrigger)> = Vec::new();
    for a in t.tables("application", &app_keys)? {
        let (name, span) = a.req_word("name")?;
        let Some(i) = applications.iter().position(|x| x.name == name) else {
            return Err(src.err(
                &span,
                &a.field("name"),
                format!("unknown application '{name}'"),
            ));
        };
        let i = u16::try_from(i).unwrap_or(crate::NONE);
        if overrides.iter().any(|(x, _)| *x == i) {
            return Err(src.err(
                &span,
                &a.field("name"),
                format!("application '{name}' has two offload policies"),
            ));
        }
        overrides.push((i, trigger(&a)?));
    }
    Ok(ServiceSetOffload {
        policy,
        applications: overrides,
    })
}

/// The `[offload]` table.
pub(super) fn offload(src: &Src<'_>, root: &Tab<'_, '_>) -> R<Offload> {
    let mut o = Offload::default();
    let Some(t) = root.table(
        "offload",
        &[
            "backend",
            "max-sessions",
            "insert-budget",
            "counter-interval-ms",
            "model",
        ],
    )?
    else {
        return Ok(o);
    };
    if let Some((s, span)) = t.string("backend")? {
        o.backend = match s {
            "model" => OffloadBackendKind::Model,
            "rte-flow" => OffloadBackendKind::RteFlow,
            _ => {
                return Err(t.err(
                    &span,
                    "backend",
                    format!("'{s}' is not an offload backend (model or rte-flow)"),
                ))
            }
        };
    }
    o.max_sessions = t.seconds("max-sessions", 1, i64::from(u32::MAX))?;
    o.insert_budget = t.seconds("insert-budget", 1, i64::from(u32::MAX))?;
    if let Some(n) = t.seconds("counter-interval-ms", 10, 60_000)? {
        o.counter_interval_ms = n;
    }
    if let Some(m) = t.table(
        "model",
        &[
            "preset",
            "capacity",
            "insert-rate",
            "remove-rate",
            "insert-latency-us",
            "refuse-every",
        ],
    )? {
        if let Some((name, span)) = m.string("preset")? {
            o.model = ModelSettings::preset(name).ok_or_else(|| {
                let names: Vec<&str> = MODEL_PRESETS.iter().map(|p| p.name).collect();
                src.err(
                    &span,
                    &m.field("preset"),
                    format!("'{name}' is not a NIC model preset ({})", names.join(", ")),
                )
            })?;
        }
        let ms = &mut o.model;
        // Capacity up to 16M rules: the model keeps a 40-byte counter cell per rule.
        if let Some(n) = m.seconds("capacity", 1, 1 << 24)? {
            ms.capacity = n;
        }
        if let Some(n) = m.seconds("insert-rate", 1, i64::from(u32::MAX))? {
            ms.insert_rate = n;
        }
        if let Some(n) = m.seconds("remove-rate", 1, i64::from(u32::MAX))? {
            ms.remove_rate = n;
        }
        if let Some(n) = m.seconds("insert-latency-us", 0, 10_000_000)? {
            ms.insert_latency_us = n;
        }
        if let Some(n) = m.seconds("refuse-every", 0, i64::from(u32::MAX))? {
            ms.refuse_every = n;
        }
    }
    Ok(o)
}
