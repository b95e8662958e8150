//! `show version`: host name, model and software version.

use super::context::Context;
use super::out::{Out, Outcome};
use crate::show::model::Elem;

/// The request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("get-software-information")
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let host = &ctx.config().card.hostname;
    let version = env!("CARGO_PKG_VERSION");
    match out {
        Out::Text(w) => {
            writeln!(w, "Hostname: {host}")?;
            writeln!(w, "Model: svcard")?;
            writeln!(w, "Junos: svcard-{version}")?;
        }
        Out::Tree(t) => {
            let mut e = Elem::new("software-information");
            e.push(Elem::leaf("host-name", host));
            e.push(Elem::leaf("product-model", "svcard"));
            e.push(Elem::leaf("product-name", "svcard"));
            e.push(Elem::leaf("junos-version", format!("svcard-{version}")));
            t.elem(&e)?;
        }
    }
    Ok(())
}
