//! `show services alg conversations`: the resource manager's conversation book rendered in
//! the seed's layouts (reply root `service-msp-alg-conversation-information`).
//!
//! Three text layouts, as the seed shows them:
//! * flat (no option, `brief`, `interface`): every line at the left margin;
//! * indented (`application-protocol P`): each ALG prints its conversations with its own
//!   indentation (on a Junos card every ALG plugin prints its own records; the seed's
//!   samples differ per ALG and are reproduced per ALG, see [`AlgStyle`]);
//! * extensive: groups, parent session IDs, resources and child session IDs.
//!
//! With `interface I` the `Interface name:` line is replaced by an empty line, as in the
//! seed's interface sample.

use core::fmt::{self, Write};

use svcard_config::AlgKind;

use super::model::Elem;
use super::names::protocol_name;
use crate::gateway::rm::{AlgConversations, ConvFlow, ConvSession, Conversation};

/// How an ALG prints its conversations in the indented layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgStyle {
    /// `ALG : … State : active ` ends with a space.
    pub trailing_space: bool,
    /// Indentation of `Child session :` lines.
    pub child: usize,
    /// Indentation of a child's flow lines.
    pub child_flow: usize,
    /// Under `application-protocol`, `Parent session status:` is printed (the RTSP,
    /// RSH, SQL and TALK samples have none; the default layout always prints it).
    pub status: bool,
}

impl AlgStyle {
    /// The style of an ALG (from the seed's samples).
    #[must_use]
    pub fn of(alg: AlgKind) -> Self {
        let (trailing_space, child, child_flow) = match alg {
            AlgKind::Dns
            | AlgKind::Rpc
            | AlgKind::RpcPortmap
            | AlgKind::DceRpc
            | AlgKind::DceRpcPortmap => (false, 6, 8),
            AlgKind::IkeEspNat | AlgKind::H323 => (false, 4, 6),
            AlgKind::Pptp | AlgKind::Ftp => (true, 6, 8),
            AlgKind::Sip => (true, 4, 8),
            _ => (true, 4, 6),
        };
        let status = !matches!(
            alg,
            AlgKind::Rtsp | AlgKind::Rsh | AlgKind::Sqlnet | AlgKind::Talk
        );
        Self {
            trailing_space,
            child,
            child_flow,
            status,
        }
    }
}

/// Which layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvLayout {
    /// Default and `brief`.
    Flat,
    /// `application-protocol P`.
    Indented,
    /// `extensive`.
    Extensive,
}

/// The protocol as the conversation lines print it: `TCP`, `UDP`, `GRE`, or the number.
#[must_use]
pub fn conv_protocol(p: u8) -> String {
    protocol_name(p).map_or_else(|| p.to_string(), str::to_ascii_uppercase)
}

struct Flow<'a>(&'a ConvFlow);

impl fmt::Display for Flow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConvFlow { src, dst } = self.0;
        write!(
            f,
            "{{{}:{} -> {}:{}}}",
            src.addr, src.port, dst.addr, dst.port
        )
    }
}

fn line<W: Write + ?Sized>(w: &mut W, ind: usize, args: fmt::Arguments<'_>) -> fmt::Result {
    write!(w, "{:ind$}", "")?;
    w.write_fmt(args)?;
    w.write_char('\n')
}

fn flows<W: Write + ?Sized>(w: &mut W, ind: usize, s: &ConvSession) -> fmt::Result {
    line(w, ind, format_args!("Forward Flow : {}", Flow(&s.forward)))?;
    if let Some(r) = &s.reverse {
        line(w, ind, format_args!("Reverse Flow : {}", Flow(r)))?;
    }
    Ok(())
}

/// Renders the conversation book as Junos text.
#[derive(Debug, Clone, Copy)]
pub struct ConversationsText {
    /// Layout.
    pub layout: ConvLayout,
    /// An `interface` filter was given: the interface header is an empty line.
    pub interface_given: bool,
}

impl ConversationsText {
    /// Starts an interface's records.
    ///
    /// # Errors
    /// The writer's.
    pub fn interface<W: Write + ?Sized>(&self, w: &mut W, name: &str) -> fmt::Result {
        if self.interface_given {
            w.write_char('\n')
        } else {
            writeln!(w, "Interface name: {name}")
        }
    }

    /// One ALG's conversations.
    ///
    /// # Errors
    /// The writer's.
    pub fn alg<W: Write + ?Sized>(&self, w: &mut W, a: &AlgConversations) -> fmt::Result {
        let style = AlgStyle::of(a.alg);
        writeln!(
            w,
            "ALG : {}, State : {}{}",
            a.name,
            a.state.junos_name(),
            if style.trailing_space { " " } else { "" }
        )?;
        let (i2, i4, i6, ic, icf) = match self.layout {
            ConvLayout::Indented => (2, 4, 6, style.child, style.child_flow),
            _ => (0, 0, 0, 0, 0),
        };
        line(
            w,
            i2,
            format_args!("Number of conversations: {}", a.conversations.len()),
        )?;
        for c in &a.conversations {
            if self.layout == ConvLayout::Extensive {
                Self::extensive(w, c)?;
                continue;
            }
            // Every conversation says how its parent stands (the seed's samples print it
            // for each, but for the ALGs whose samples have none), so the list shows as
            // many conversations as it counts.
            if self.layout == ConvLayout::Flat || style.status {
                line(
                    w,
                    i4,
                    format_args!("Parent session status: {}", c.parent_state().junos_name()),
                )?;
            }
            if let Some(p) = &c.parent {
                line(
                    w,
                    i4,
                    format_args!(
                        "Parent session : 1, protocol : {}",
                        conv_protocol(p.protocol)
                    ),
                )?;
                flows(w, i6, p)?;
            }
            for (k, ch) in c.children().enumerate() {
                line(
                    w,
                    ic,
                    format_args!(
                        "Child session : {}, protocol: {}",
                        k + 1,
                        conv_protocol(ch.protocol)
                    ),
                )?;
                flows(w, icf, ch)?;
            }
        }
        Ok(())
    }

    fn extensive<W: Write + ?Sized>(w: &mut W, c: &Conversation) -> fmt::Result {
        writeln!(
            w,
            "Group ID : {}, State : {}",
            c.group_id,
            c.state.junos_name()
        )?;
        writeln!(w, "Parent session state: {}", c.parent_state().junos_name())?;
        if let Some(p) = &c.parent {
            writeln!(
                w,
                "Parent session ID: {}, protocol : {}",
                p.id,
                conv_protocol(p.protocol)
            )?;
            flows(w, 0, p)?;
        }
        writeln!(w, "Number of resources: {}", c.resources.len())?;
        for r in &c.resources {
            writeln!(w, "Resource ID: {}, State: {}", r.id, r.state.junos_name())?;
            writeln!(w, "Number of sessions: {}", r.sessions.len())?;
            for s in &r.sessions {
                writeln!(
                    w,
                    "Child session ID: {}, protocol : {}",
                    s.id,
                    conv_protocol(s.protocol)
                )?;
                flows(w, 0, s)?;
            }
        }
        Ok(())
    }
}

fn flow_elem(name: &'static str, f: &ConvFlow) -> Elem {
    let mut e = Elem::new(name);
    e.push(Elem::leaf("source-address", f.src.addr));
    e.push(Elem::leaf("source-port", f.src.port));
    e.push(Elem::leaf("destination-address", f.dst.addr));
    e.push(Elem::leaf("destination-port", f.dst.port));
    e
}

fn session_elem(name: &'static str, s: &ConvSession, index: Option<usize>) -> Elem {
    let mut e = Elem::new(name);
    if let Some(i) = index {
        e.push(Elem::leaf("session-index", i));
    }
    e.push(Elem::leaf("session-identifier", s.id));
    e.push(Elem::leaf("protocol", conv_protocol(s.protocol)));
    e.push(flow_elem("forward-flow", &s.forward));
    if let Some(r) = &s.reverse {
        e.push(flow_elem("reverse-flow", r));
    }
    e
}

/// The element of one ALG's conversations (`<alg-conversation-set>`).
#[must_use]
pub fn alg_elem(a: &AlgConversations, extensive: bool) -> Elem {
    let mut e = Elem::new("alg-conversation-set");
    e.push(Elem::leaf("alg-name", &a.name));
    e.push(Elem::leaf("alg-state", a.state.junos_name()));
    e.push(Elem::leaf("conversation-count", a.conversations.len()));
    for c in &a.conversations {
        let mut ce = Elem::new("alg-conversation");
        if extensive {
            ce.push(Elem::leaf("group-identifier", c.group_id));
            ce.push(Elem::leaf("group-state", c.state.junos_name()));
        }
        ce.push(Elem::leaf(
            "parent-session-state",
            c.parent_state().junos_name(),
        ));
        if let Some(p) = &c.parent {
            ce.push(session_elem("parent-session", p, Some(1)));
        }
        if extensive {
            ce.push(Elem::leaf("resource-count", c.resources.len()));
            for r in &c.resources {
                let mut re = Elem::new("alg-resource");
                re.push(Elem::leaf("resource-identifier", r.id));
                re.push(Elem::leaf("resource-state", r.state.junos_name()));
                re.push(Elem::leaf("session-count", r.sessions.len()));
                for s in &r.sessions {
                    re.push(session_elem("child-session", s, None));
                }
                ce.push(re);
            }
        } else {
            for (k, s) in c.children().enumerate() {
                ce.push(session_elem("child-session", s, Some(k + 1)));
            }
        }
        e.push(ce);
    }
    e
}

/// True when an ALG's book answers `application-protocol name`.
#[must_use]
pub fn alg_matches(alg: AlgKind, name: &str) -> bool {
    alg.junos_name() == name
}
