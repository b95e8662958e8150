//! The Junos text renderer of `show security flow session`, streaming: sections and
//! sessions are printed as they arrive, nothing is held.
//!
//! Call order per worker: [`FlowSessionText::begin_section`], then
//! [`FlowSessionText::session`] for each session and [`FlowSessionText::end_section`]
//! with the total; or, for `summary`, [`FlowSessionText::counts`] or
//! [`FlowSessionText::summary`], which print the section's trailer themselves. Without
//! `begin_section` the output has no section headers (a card with one PIC).
//!
//! Layouts are Junos' own, spacing included: a blank line before each session inside a
//! section (so the header is followed by a blank line only when sessions follow), a blank
//! line between sections, trailing `, ` on the extensive flow lines.

use core::fmt::{self, Write};
use std::io;

use super::model::{FlowInfo, FlowSession, Level, Section, SessionCounts, SessionsSummary};

/// Renders `show security flow session` replies as Junos text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSessionText {
    level: Level,
    resource_manager: bool,
    /// Anything printed yet (sections after the first are preceded by a blank line).
    started: bool,
    /// Inside a section opened by `begin_section`.
    in_section: bool,
    /// Sessions printed since the section (or the output) began.
    block_sessions: u64,
}

impl FlowSessionText {
    /// A renderer for a level; `resource_manager` selects the resource-manager layout
    /// (resource information and CP session IDs instead of connection tags).
    #[must_use]
    pub fn new(level: Level, resource_manager: bool) -> Self {
        Self {
            level,
            resource_manager,
            started: false,
            in_section: false,
            block_sessions: 0,
        }
    }

    /// The level rendered.
    #[must_use]
    pub fn level(&self) -> Level {
        self.level
    }

    /// Starts a worker's section: `Flow Sessions on FPC{fpc} PIC{pic}:`.
    ///
    /// # Errors
    /// The writer's.
    pub fn begin_section<W: Write + ?Sized>(&mut self, w: &mut W, section: Section) -> fmt::Result {
        if self.started {
            w.write_char('\n')?;
        }
        self.started = true;
        self.in_section = true;
        self.block_sessions = 0;
        writeln!(w, "Flow Sessions on {section}:")
    }

    /// Prints one session at the renderer's level (`summary` prints it brief).
    ///
    /// # Errors
    /// The writer's.
    pub fn session<W: Write + ?Sized>(&mut self, w: &mut W, s: &FlowSession<'_>) -> fmt::Result {
        if self.in_section || self.block_sessions > 0 {
            w.write_char('\n')?;
        }
        self.started = true;
        self.block_sessions += 1;
        match self.level {
            Level::Extensive => self.extensive(w, s),
            Level::Default | Level::Brief | Level::Summary => self.brief(w, s),
        }
    }

    /// Ends a section (or the output): `Total sessions: N`.
    ///
    /// # Errors
    /// The writer's.
    pub fn end_section<W: Write + ?Sized>(&mut self, w: &mut W, total: u64) -> fmt::Result {
        self.started = true;
        self.in_section = false;
        self.block_sessions = 0;
        writeln!(w, "Total sessions: {total}")
    }

    /// The summary of selected sessions (resource-manager or filtered `summary`), ending the
    /// section: Valid / Pending / Invalidated / other states / Total sessions.
    ///
    /// # Errors
    /// The writer's.
    pub fn counts<W: Write + ?Sized>(&mut self, w: &mut W, c: &SessionCounts) -> fmt::Result {
        if self.in_section {
            w.write_char('\n')?;
        }
        writeln!(w, "Valid sessions: {}", c.valid)?;
        writeln!(w, "Pending sessions: {}", c.pending)?;
        writeln!(w, "Invalidated sessions: {}", c.invalidated)?;
        writeln!(w, "Sessions in other states: {}", c.other)?;
        self.end_section(w, c.total)
    }

    /// The all-sessions summary (`show security flow session summary`), ending the section.
    ///
    /// # Errors
    /// The writer's.
    pub fn summary<W: Write + ?Sized>(&mut self, w: &mut W, s: &SessionsSummary) -> fmt::Result {
        if self.in_section {
            w.write_char('\n')?;
        }
        writeln!(w, "Unicast-sessions: {}", s.unicast)?;
        writeln!(w, "Multicast-sessions: {}", s.multicast)?;
        writeln!(w, "Services-offload-sessions: {}", s.services_offload)?;
        writeln!(w, "Failed-sessions: {}", s.failed)?;
        writeln!(w, "Sessions-in-drop-flow: {}", s.drop_flow)?;
        writeln!(w, "Sessions-in-use: {}", s.in_use)?;
        writeln!(w, "  Valid sessions: {}", s.valid)?;
        writeln!(w, "  Pending sessions: {}", s.pending)?;
        writeln!(w, "  Invalidated sessions: {}", s.invalidated)?;
        writeln!(w, "  Sessions in other states: {}", s.other)?;
        writeln!(w, "Maximum-sessions: {}", s.maximum)?;
        self.started = true;
        self.in_section = false;
        self.block_sessions = 0;
        Ok(())
    }

    fn brief<W: Write + ?Sized>(&self, w: &mut W, s: &FlowSession<'_>) -> fmt::Result {
        writeln!(
            w,
            "Session ID: {}, Policy name: {}, Timeout: {}, {}",
            s.session_id,
            s.policy,
            s.timeout,
            s.state.junos_name()
        )?;
        if self.resource_manager {
            if let Some(r) = &s.resource {
                writeln!(
                    w,
                    "Resource information : {}, {}, {}",
                    r.client, r.group, r.resource
                )?;
            }
        }
        for f in &s.flows {
            write!(w, "  {}: ", f.direction.junos_name())?;
            flow_line(w, f)?;
            if self.resource_manager {
                write!(
                    w,
                    ", If: {}, Pkts: {}, Bytes: {}",
                    f.interface, f.packets, f.bytes
                )?;
                if let Some(cp) = s.cp_session_id {
                    write!(w, ", CP Session ID: {cp}")?;
                }
                w.write_char('\n')?;
            } else {
                writeln!(
                    w,
                    ", Conn Tag: 0x{:x}, If: {}, Pkts: {}, Bytes: {},",
                    f.conn_tag, f.interface, f.packets, f.bytes
                )?;
            }
        }
        Ok(())
    }

    fn extensive<W: Write + ?Sized>(&self, w: &mut W, s: &FlowSession<'_>) -> fmt::Result {
        let [f0, f1, f2] = s.flags;
        writeln!(w, "Session ID: {}, Status: {}", s.session_id, s.status)?;
        writeln!(w, "Flags: 0x{f0:x}/0x{f1:x}/0x{f2:x}")?;
        writeln!(w, "Policy name: {}", s.policy)?;
        writeln!(
            w,
            "Source NAT pool: {}, Application: {}",
            s.source_nat_pool,
            s.application_display()
        )?;
        writeln!(w, "Dynamic application: {}, ", s.dynamic_application)?;
        writeln!(w, "Encryption:  {}", s.encryption)?;
        writeln!(
            w,
            "Application traffic control rule-set: {}, Rule: {}",
            s.atc_rule_set, s.atc_rule
        )?;
        writeln!(
            w,
            "Maximum timeout: {}, Current timeout: {}",
            s.max_timeout, s.timeout
        )?;
        writeln!(w, "Session State: {}", s.state.junos_name())?;
        writeln!(w, "Start time: {}, Duration: {}", s.start_time, s.duration)?;
        let rm = self.resource_manager;
        if let Some(r) = s.resource.filter(|_| rm) {
            writeln!(
                w,
                "Client: {}, Group: {}, Resource: {}",
                r.client, r.group, r.resource
            )?;
        }
        for f in &s.flows {
            write!(w, "   {}: ", f.direction.junos_name())?;
            flow_line(w, f)?;
            w.write_str(", \n")?;
            writeln!(w, "    Interface: {}, ", f.interface)?;
            writeln!(
                w,
                "    Session token: 0x{:x}, Flag: 0x{:x}",
                f.session_token, f.flag
            )?;
            writeln!(
                w,
                "    Route: 0x{:x}, Gateway: {}, Tunnel: {}",
                f.route, f.gateway, f.tunnel
            )?;
            writeln!(
                w,
                "    Port sequence: {}, FIN sequence: {}, ",
                f.port_sequence, f.fin_sequence
            )?;
            writeln!(w, "    FIN state: {}, ", f.fin_state)?;
            writeln!(w, "    Pkts: {}, Bytes: {}", f.packets, f.bytes)?;
            if let Some(cp) = s.cp_session_id.filter(|_| rm) {
                writeln!(w, "    CP Session ID: {cp}")?;
            }
        }
        Ok(())
    }
}

/// `200.0.0.10/41047 --> 60.0.0.2/21;tcp`
fn flow_line<W: Write + ?Sized>(w: &mut W, f: &FlowInfo<'_>) -> fmt::Result {
    write!(
        w,
        "{}/{} --> {}/{};{}",
        f.source_address,
        f.source_port,
        f.destination_address,
        f.destination_port,
        f.protocol_display()
    )
}

/// Adapts an [`io::Write`] (socket, stdout) to the renderers' [`fmt::Write`], keeping the
/// I/O error that `fmt::Error` cannot carry.
#[derive(Debug)]
pub struct IoFmt<W: io::Write> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: io::Write> IoFmt<W> {
    /// Wraps a writer.
    pub fn new(inner: W) -> Self {
        Self { inner, error: None }
    }
    /// The I/O error behind the last `fmt::Error`, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: io::Write> Write for IoFmt<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}
