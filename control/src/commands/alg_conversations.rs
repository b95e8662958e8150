//! `show services alg conversations`: the resource manager's conversations per member
//! interface and ALG. Layout: [`crate::show::alg`].

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{message, Out, Outcome};
use super::selectors::{ResolveError, ALG_APP_PROTOCOLS};
use crate::gateway::rm::AlgConversations;
use crate::show::alg::{alg_elem, ConvLayout, ConversationsText};
use crate::show::model::Elem;
use svcard_config::WorkerId;

/// `show services alg conversations …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowAlgConversations {
    /// `brief` (the default layout, marked in the request).
    pub brief: bool,
    /// `extensive`.
    pub extensive: bool,
    /// `application-protocol P`.
    pub application_protocol: Option<&'static str>,
    /// `interface I`.
    pub interface: Option<String>,
}

/// The options of `show services alg conversations`.
pub static OPTIONS: &[&[OptSpec]] = &[&[
    opt(
        "application-protocol",
        "Application protocol name",
        Arg::Keyword(ALG_APP_PROTOCOLS),
        0,
    ),
    opt("brief", "Display brief output", Arg::Flag, 1),
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt("interface", "Name of services interface", Arg::Name, 0),
]];

/// The command from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<ShowAlgConversations, CliError> {
    let mut c = ShowAlgConversations::default();
    for (spec, v, _) in opts {
        match (spec.word, v) {
            ("brief", _) => c.brief = true,
            ("extensive", _) => c.extensive = true,
            ("application-protocol", Value::Keyword(k)) => {
                c.application_protocol = Some(k);
            }
            ("interface", Value::Name(n)) => c.interface = Some(n),
            _ => {}
        }
    }
    Ok(c)
}

/// The request RPC.
#[must_use]
pub fn request(s: &ShowAlgConversations) -> Elem {
    let mut e = Elem::new("get-service-msp-alg-conversation-information");
    if let Some(i) = &s.interface {
        e.push(Elem::leaf("interface", i));
    }
    if let Some(a) = s.application_protocol {
        e.push(Elem::leaf("application-protocol", a));
    }
    if s.extensive {
        e.push(Elem::new("extensive"));
    }
    if s.brief {
        e.push(Elem::new("brief"));
    }
    e
}

/// Runs the command.
///
/// # Errors
/// An interface that is not a member interface; the client went away.
pub fn show(ctx: &Context, s: &ShowAlgConversations, out: &mut Out<'_>) -> Outcome {
    let n = ctx.control.workers.len();
    let worker = match &s.interface {
        None => None,
        Some(i) if *i == ctx.config().card.bundle => None,
        Some(i) => Some(
            WorkerId::all(n)
                .find(|&w| ctx.config().member_interface(w) == *i)
                .ok_or_else(|| message(ResolveError::Interface(i.clone())))?,
        ),
    };
    // A snapshot: the book stays locked only while it is copied.
    let books: Vec<AlgConversations> = ctx
        .control
        .conversations
        .lock()
        .map(|b| {
            b.algs
                .iter()
                .filter(|a| worker.is_none_or(|w| w == a.worker))
                .filter(|a| {
                    s.application_protocol
                        .is_none_or(|p| crate::show::alg::alg_matches(a.alg, p))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let layout = if s.extensive {
        ConvLayout::Extensive
    } else if s.application_protocol.is_some() {
        ConvLayout::Indented
    } else {
        ConvLayout::Flat
    };
    let text = ConversationsText {
        layout,
        interface_given: s.interface.is_some(),
    };
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-msp-alg-conversation-information").attr(
            "junos:style",
            if s.extensive { "extensive" } else { "brief" },
        ))?;
    }
    let mut last = None;
    for a in &books {
        if last != Some(a.worker) {
            last = Some(a.worker);
            let iface = ctx.config().member_interface(a.worker);
            match out {
                Out::Text(w) => text.interface(*w, &iface)?,
                Out::Tree(t) => t.elem(&Elem::leaf("interface-name", iface))?,
            }
        }
        match out {
            Out::Text(w) => text.alg(*w, a)?,
            Out::Tree(t) => t.elem(&alg_elem(a, s.extensive))?,
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
