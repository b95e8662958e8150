//! `show services offload statistics` and its `clear`: the offload manager's rule churn,
//! refusals by reason, table occupancy and counter pulls. Layout: [`crate::show::offload`].

use std::sync::atomic::Ordering;

use super::context::Context;
use super::out::{Out, Outcome};
use crate::show::model::Elem;

/// The show request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("get-services-offload-statistics")
}

/// The clear request RPC.
#[must_use]
pub fn clear_request() -> Elem {
    Elem::new("clear-services-offload-statistics")
}

/// Runs the show.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    use crate::show::offload;
    let shared = &ctx.control.offload;
    let enabled = shared.enabled.load(Ordering::Relaxed);
    let st = shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
    match out {
        Out::Text(w) => offload::text(*w, &st, enabled)?,
        Out::Tree(t) => t.elem(&offload::elem(&st, enabled))?,
    }
    Ok(())
}

/// Runs the clear: the manager zeroes its counters at its next poll (levels stay).
///
/// # Errors
/// The client went away.
pub fn clear(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    ctx.control.offload.clear.store(true, Ordering::Release);
    match out {
        Out::Text(w) => writeln!(w, "Services offload statistics cleared")?,
        Out::Tree(t) => t.elem(&Elem::leaf(
            "clear-services-offload-statistics-results",
            "cleared",
        ))?,
    }
    Ok(())
}
