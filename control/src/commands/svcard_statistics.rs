//! `show svcard statistics`: every figure of the registry per worker (svcard's own view).
//! Layout: [`crate::show::counters`].

use super::context::Context;
use super::out::{Out, Outcome};
use crate::show::model::Elem;

/// The request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("get-svcard-statistics-information")
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    use crate::show::counters;
    if let Out::Tree(t) = out {
        t.open(&Elem::new("svcard-statistics-information"))?;
    }
    for (i, h) in ctx.control.workers.iter().enumerate() {
        let st = h.stats.snapshot();
        let section = ctx
            .section(svcard_config::WorkerId::from_index(i).unwrap_or_default())
            .to_string();
        match out {
            Out::Text(w) => {
                if i > 0 {
                    writeln!(w)?;
                }
                counters::text(*w, &section, &st)?;
            }
            Out::Tree(t) => t.elem(&counters::elem(&section, &st))?,
        }
    }
    // The control core's own figures: the session logger (when `[log]` is on), the IPFIX
    // exporter (when `[ipfix]` is).
    let mut rows: Vec<(&str, u64)> = Vec::new();
    if ctx.config().log.host.is_some() {
        rows.extend(ctx.control.logs.rows());
    }
    if ctx.config().ipfix.collector.is_some() {
        rows.extend(ctx.control.ipfix.rows());
    }
    if !rows.is_empty() {
        match out {
            Out::Text(w) => {
                writeln!(w)?;
                writeln!(w, "Control core:")?;
                for (name, v) in &rows {
                    writeln!(w, "  {name:<63}{v}")?;
                }
            }
            Out::Tree(t) => {
                let mut e = Elem::new("control-core-statistics");
                for (name, v) in &rows {
                    let mut c = Elem::new("counter");
                    c.push(Elem::leaf("name", *name));
                    c.push(Elem::leaf("value", *v));
                    e.push(c);
                }
                t.elem(&e)?;
            }
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
