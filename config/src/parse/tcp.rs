//! `[tcp-session]` (the card's TCP checks) and `[service-set.tcp-session]` (a service set's,
//! over the card's).

use crate::tcp::{OutOfWindow, TcpSession};

use super::reader::*;

/// The keys of a `tcp-session` table.
const KEYS: &[&str] = &[
    "no-syn-check",
    "strict-syn-check",
    "no-sequence-check",
    "rst-sequence-check",
    "out-of-window",
];

/// Reads the `tcp-session` table of `parent` (the root or a service set) over `base`.
pub(super) fn tcp_session(parent: &Tab<'_, '_>, base: TcpSession) -> R<TcpSession> {
    let Some(t) = parent.table("tcp-session", KEYS)? else {
        return Ok(base);
    };
    let mut s = base;
    let no_syn = t.boolean("no-syn-check")?;
    let strict = t.boolean("strict-syn-check")?;
    if let Some(b) = strict {
        s.strict_syn_check = b;
        if b {
            // Strict checking needs the SYN: it turns mid-stream pickup off unless that is
            // asked for here, which Junos refuses.
            s.no_syn_check = false;
        }
    }
    if let Some(b) = no_syn {
        if b && s.strict_syn_check {
            let v = t.get("no-syn-check").map_or(t.span.clone(), |v| v.span());
            return Err(t.err(
                &v,
                "no-syn-check",
                "no-syn-check cannot be set with strict-syn-check (a session that may start \
                 mid-stream has no handshake to wait for)",
            ));
        }
        s.no_syn_check = b;
    }
    if let Some(b) = t.boolean("no-sequence-check")? {
        s.no_sequence_check = b;
    }
    if let Some(b) = t.boolean("rst-sequence-check")? {
        s.rst_sequence_check = b;
    }
    if let Some((w, span)) = t.word("out-of-window")? {
        s.out_of_window = match w {
            "drop" => OutOfWindow::Drop,
            "pass" => OutOfWindow::Pass,
            _ => {
                return Err(t.err(
                    &span,
                    "out-of-window",
                    format!("'{w}' is not an out-of-window action (drop or pass)"),
                ))
            }
        };
    }
    Ok(s)
}
