//! `request system configuration reload`: reads svcard's configuration file again and puts
//! it in force while sessions keep forwarding (the [`crate::reload`] room does the work).
//! svcard keeps its configuration in a file, not a candidate database: this command stands
//! where an operator would `commit` on a Junos device, and answers as a commit does
//! (`commit complete`, or `error: configuration check-out failed` after the reasons).

use super::context::Context;
use super::out::{Failure, Out, Outcome};
use crate::reload::ReloadError;
use crate::show::model::Elem;

/// The request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("request-svcard-configuration-reload")
}

/// Runs the command.
///
/// # Errors
/// No reloader (a context without an engine), a bad file, a change that needs a restart;
/// the client went away.
pub fn run(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let Some(r) = ctx.reloader.as_ref() else {
        return Err(Failure::Message(
            "error: this server cannot reload its configuration\n".into(),
        ));
    };
    let rep = match r.reload() {
        Ok(rep) => rep,
        Err(e) => {
            let mut m = String::new();
            match e {
                ReloadError::Refused(parts) => {
                    for p in &parts.0 {
                        m += &format!("error: {p}\n");
                    }
                }
                other => m += &format!("error: {other}\n"),
            }
            m += "error: configuration check-out failed\n";
            return Err(Failure::Message(m));
        }
    };
    let late: Vec<String> = rep.late.iter().map(|w| w.0.to_string()).collect();
    match out {
        Out::Text(w) => {
            writeln!(
                w,
                "configuration reloaded from {} (generation {})",
                rep.file.display(),
                rep.generation
            )?;
            if rep.changes.is_empty() {
                writeln!(w, "no changes")?;
            }
            for c in &rep.changes {
                writeln!(w, "  changed: {c}")?;
            }
            if !late.is_empty() {
                writeln!(
                    w,
                    "warning: worker(s) {} had not taken it yet; they take it at their next poll",
                    late.join(", ")
                )?;
            }
            writeln!(w, "commit complete")?;
        }
        Out::Tree(t) => {
            let mut e = Elem::new("commit-results");
            e.push(Elem::leaf("file", rep.file.display().to_string()));
            e.push(Elem::leaf("generation", rep.generation));
            for c in &rep.changes {
                e.push(Elem::leaf("change", c));
            }
            for w in &late {
                e.push(Elem::leaf("late-worker", w));
            }
            e.push(Elem::new("commit-success"));
            t.elem(&e)?;
        }
    }
    Ok(())
}
