//! `show services alg statistics [application-protocol P]`: per ALG, what the gateway and
//! the resource manager counted, and `clear services alg statistics [application-protocol
//! P]`, which starts them again (the figures of now, conversations and pinholes active,
//! stay). Layout: [`crate::show::alg_stats`].

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{Out, Outcome};
use super::selectors::ALG_APP_PROTOCOLS;
use crate::show::model::Elem;

/// The options.
pub static OPTIONS: &[&[OptSpec]] = &[&[opt(
    "application-protocol",
    "Application protocol name",
    Arg::Keyword(ALG_APP_PROTOCOLS),
    0,
)]];

/// The command (the application protocol asked for, if any) from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<Option<&'static str>, CliError> {
    let mut app = None;
    for (spec, v, _) in opts {
        if let ("application-protocol", Value::Keyword(k)) = (spec.word, v) {
            app = Some(k);
        }
    }
    Ok(app)
}

/// The request RPC.
#[must_use]
pub fn request(protocol: Option<&'static str>) -> Elem {
    // The RPC and reply names of reference/junos-cli.md (issue 19).
    let mut e = Elem::new("get-service-msp-alg-stats-information");
    if let Some(a) = protocol {
        e.push(Elem::leaf("application-protocol", a));
    }
    e
}

/// The clear's request RPC (Junos's `clear-services-alg-statistics`).
#[must_use]
pub fn clear_request(protocol: Option<&'static str>) -> Elem {
    let mut e = Elem::new("clear-services-alg-statistics");
    if let Some(a) = protocol {
        e.push(Elem::leaf("application-protocol", a));
    }
    e
}

fn published(ctx: &Context) -> crate::gateway::rm::AlgStatistics {
    ctx.control
        .alg_statistics
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default()
}

/// Runs the clear: the counters of the ALG named (of every ALG and the control core's
/// own when none is) start again from zero. Junos answers it with nothing.
///
/// # Errors
/// The client went away.
pub fn clear(ctx: &Context, protocol: Option<&'static str>, _out: &mut Out<'_>) -> Outcome {
    let now = published(ctx);
    let only = protocol.and_then(svcard_config::AlgKind::from_junos_name);
    if protocol.is_some() && only.is_none() {
        return Ok(());
    }
    if let Ok(mut c) = ctx.control.alg_cleared.lock() {
        now.clear_into(&mut c, only);
    }
    Ok(())
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, protocol: Option<&'static str>, out: &mut Out<'_>) -> Outcome {
    use crate::show::alg_stats::{self, AlgBlock};
    let cleared = ctx
        .control
        .alg_cleared
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let st = published(ctx).since(&cleared);
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-msp-alg-stats-information"))?;
    }
    let mut first = true;
    for k in svcard_config::AlgKind::ALL {
        if !k.has_engine() {
            continue;
        }
        if protocol.is_some_and(|p| p != k.junos_name()) {
            continue;
        }
        let b = AlgBlock {
            name: k.display_name(),
            protocol: k.junos_name(),
            enabled: ctx.config().algs[k].enabled,
            row: &st.rows[k as usize],
        };
        match out {
            Out::Text(w) => {
                if !first {
                    writeln!(w)?;
                }
                alg_stats::text(*w, &b)?;
            }
            Out::Tree(t) => t.elem(&alg_stats::elem(&b))?,
        }
        first = false;
    }
    if protocol.is_none() {
        match out {
            Out::Text(w) => {
                writeln!(w)?;
                alg_stats::gateway_text(*w, &st)?;
            }
            Out::Tree(t) => t.elem(&alg_stats::gateway_elem(&st))?,
        }
    }
    if first && protocol.is_some() {
        if let Out::Text(w) = out {
            writeln!(w, "svcard runs no ALG for this application protocol")?;
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
