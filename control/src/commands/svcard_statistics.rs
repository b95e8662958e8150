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
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
