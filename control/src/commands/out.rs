//! Where a command's reply goes, and how a command fails.

use crate::show::tree::TreeOut;

/// Why a command stopped: the client went away, or a message for it (an error in Junos
/// form, printed instead of the reply).
#[derive(Debug)]
pub enum Failure {
    /// The client went away.
    Gone,
    /// Print this and stop.
    Message(String),
}

impl From<std::fmt::Error> for Failure {
    fn from(_: std::fmt::Error) -> Self {
        Failure::Gone
    }
}

/// A [`Failure::Message`] of one line.
pub fn message(m: impl std::fmt::Display) -> Failure {
    Failure::Message(format!("{m}\n"))
}

/// Where a command's reply goes: Junos text, or the reply tree.
#[allow(missing_debug_implementations)]
pub enum Out<'a> {
    /// The Junos text layout.
    Text(&'a mut dyn std::fmt::Write),
    /// The reply tree (`| display xml`, `| display json`).
    Tree(&'a mut dyn TreeOut),
}

/// The result of a command.
pub type Outcome = Result<(), Failure>;
