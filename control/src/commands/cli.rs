//! `set cli screen-length N | screen-width N` and `show cli`: the interactive shell's own
//! settings, as the Junos CLI's. `svcard cli` keeps them for its session (the pager stops
//! every `screen-length` lines; 0: never) and answers both itself; the server, asked
//! through `svcard cli -c`, only acknowledges (a one-shot command has no session to keep
//! them in, and is never paged).

use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{Out, Outcome};
use crate::show::model::Elem;

/// What `set cli` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCli {
    /// Rows of the screen, 0: no pager.
    ScreenLength(u32),
    /// Columns of the screen.
    ScreenWidth(u32),
}

/// The interactive shell's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CliSettings {
    /// `set cli screen-length` (none: the terminal's rows).
    pub screen_length: Option<u32>,
    /// `set cli screen-width` (none: the terminal's columns).
    pub screen_width: Option<u32>,
    /// The terminal's rows and columns, when there is one.
    pub terminal: Option<(u32, u32)>,
}

/// The options (one of them).
pub static SET_OPTIONS: &[&[OptSpec]] = &[&[
    opt(
        "screen-length",
        "Set number of lines on screen",
        Arg::Number(0, 100_000),
        1,
    ),
    opt(
        "screen-width",
        "Set number of characters on a line",
        Arg::Number(0, 1024),
        1,
    ),
]];

/// The setting from its options.
///
/// # Errors
/// Neither option was given (`set cli` alone).
pub fn build_set(opts: Opts) -> Result<SetCli, CliError> {
    for (spec, v, _) in opts {
        if let Value::Number(n) = v {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            return Ok(match spec.word {
                "screen-width" => SetCli::ScreenWidth(n),
                _ => SetCli::ScreenLength(n),
            });
        }
    }
    // `set cli` alone: the caret after `cli`, as for any command missing its word.
    Err(super::grammar::syntax("set cli".len(), "<command>"))
}

/// The set's request RPC (Junos's `set-cli-screen-length` / `set-cli-screen-width`).
#[must_use]
pub fn set_request(s: SetCli) -> Elem {
    match s {
        SetCli::ScreenLength(n) => {
            let mut e = Elem::new("set-cli-screen-length");
            e.push(Elem::leaf("screen-length", n));
            e
        }
        SetCli::ScreenWidth(n) => {
            let mut e = Elem::new("set-cli-screen-width");
            e.push(Elem::leaf("screen-width", n));
            e
        }
    }
}

/// `show cli`'s request RPC (Junos's `get-cli-information`).
#[must_use]
pub fn show_request() -> Elem {
    Elem::new("get-cli-information")
}

/// The answer to a set, as Junos words it.
///
/// # Errors
/// The client went away.
pub fn set(s: SetCli, out: &mut Out<'_>) -> Outcome {
    match out {
        Out::Text(w) => match s {
            SetCli::ScreenLength(n) => writeln!(w, "Screen length set to {n}")?,
            SetCli::ScreenWidth(n) => writeln!(w, "Screen width set to {n}")?,
        },
        Out::Tree(t) => t.elem(&set_request(s))?,
    }
    Ok(())
}

/// `show cli` for `settings`.
///
/// # Errors
/// The client went away.
pub fn show(settings: &CliSettings, out: &mut Out<'_>) -> Outcome {
    let length = settings
        .screen_length
        .or(settings.terminal.map(|t| t.0))
        .unwrap_or(0);
    let width = settings
        .screen_width
        .or(settings.terminal.map(|t| t.1))
        .unwrap_or(0);
    match out {
        Out::Text(w) => {
            writeln!(w, "CLI complete-on-space set to on")?;
            writeln!(w, "CLI screen-length set to {length}")?;
            writeln!(w, "CLI screen-width set to {width}")?;
            match settings.terminal {
                Some(_) => writeln!(w, "CLI terminal is a terminal: answers are paged")?,
                None => writeln!(w, "CLI has no terminal: answers are not paged")?,
            }
        }
        Out::Tree(t) => {
            let mut e = Elem::new("cli");
            e.push(Elem::leaf("complete-on-space", "on"));
            e.push(Elem::leaf("screen-length", length));
            e.push(Elem::leaf("screen-width", width));
            t.elem(&e)?;
        }
    }
    Ok(())
}
