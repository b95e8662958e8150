//! `show services sessions` (MS-MPC / AMS view) and `clear services sessions`: the typed
//! model, its Junos text layouts (those of `reference/junos-cli.md`, the seed pages show no
//! sample body) and its reply elements (`msp-session-table`,
//! `service-msp-sess-count-information`, `service-msp-sess-drain-information`).
//!
//! Per member interface (one per worker): the interface line, then per session a header
//! line (`Service Set: …, Session: …, ALG: …, Flags: 0x…, IP Action: no, Offload: no,
//! Asymmetric: no`) and one line per flow whose whitespace-separated column 7 is the frame
//! count (operators `awk '$7 > 1000000'`). `extensive` adds per flow the byte count, the
//! flow role and the timeout; `terse` prints the flow lines alone.

use core::fmt::{self, Write};
use core::net::IpAddr;

use super::model::{Elem, FlowDirection, FlowSession};
use super::names::protocol_name;

/// The detail level of `show services sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServicesLevel {
    /// No level given (the brief layout).
    #[default]
    Default,
    /// `brief`.
    Brief,
    /// `extensive`.
    Extensive,
    /// `terse`.
    Terse,
}

impl ServicesLevel {
    /// The keyword (`None` for the default level).
    #[must_use]
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            ServicesLevel::Default => None,
            ServicesLevel::Brief => Some("brief"),
            ServicesLevel::Extensive => Some("extensive"),
            ServicesLevel::Terse => Some("terse"),
        }
    }
    /// The `junos:style` attribute of this level.
    #[must_use]
    pub fn style(self) -> &'static str {
        self.keyword().unwrap_or("brief")
    }
}

/// One flow of a session (`<msp-flow>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MspFlow {
    /// IP protocol.
    pub protocol: u8,
    /// Source.
    pub source_address: IpAddr,
    /// Source port (not printed for ICMP).
    pub source_port: u16,
    /// Destination.
    pub destination_address: IpAddr,
    /// Destination port (not printed for ICMP).
    pub destination_port: u16,
    /// `Forward`, `Drop`, `Reject`, `Watch`, `Bypass`.
    pub state: &'static str,
    /// In (`I`, initiator) or out (`O`, responder).
    pub direction: FlowDirection,
    /// Frames.
    pub frames: u64,
    /// Bytes.
    pub bytes: u64,
    /// Timeout, seconds.
    pub timeout: u32,
}

impl MspFlow {
    /// `I` or `O`.
    #[must_use]
    pub fn direction_letter(&self) -> &'static str {
        match self.direction {
            FlowDirection::In => "I",
            FlowDirection::Out => "O",
        }
    }
    /// `Initiator` or `Responder`.
    #[must_use]
    pub fn role(&self) -> &'static str {
        match self.direction {
            FlowDirection::In => "Initiator",
            FlowDirection::Out => "Responder",
        }
    }
    fn has_ports(&self) -> bool {
        !matches!(self.protocol, 1 | 58)
    }
}

/// The protocol column: `TCP`, `UDP`, `ICMP`, or the number.
#[must_use]
pub fn protocol_column(p: u8) -> String {
    protocol_name(p).map_or_else(|| p.to_string(), str::to_ascii_uppercase)
}

/// One session (`<msp-session>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MspSession<'a> {
    /// Service set name.
    pub service_set: &'a str,
    /// Session ID.
    pub session_id: u32,
    /// The ALG's application-protocol name, or `none`.
    pub alg: &'a str,
    /// Junos session flags.
    pub flags: u32,
    /// IP action set.
    pub ip_action: bool,
    /// Offloaded.
    pub offload: bool,
    /// Unidirectional.
    pub asymmetric: bool,
    /// In, then Out.
    pub flows: [MspFlow; 2],
    /// Offload state, backend, rule and hardware counts (`extensive`; none when the
    /// session never had an offload request).
    pub offload_info: Option<OffloadInfo<'a>>,
    /// Source NAT (`extensive`: the "NAT PLugin Data" block; none when not translated).
    pub nat_info: Option<NatInfo>,
}

/// A translated session's NAT, as `extensive` shows it (the MS-MPC's "NAT PLugin Data").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatInfo {
    /// The translation type as Junos prints it (`NAPT-44`).
    pub translation: &'static str,
    /// `source` (a session out: its private source to its public one), or `destination`
    /// (a session in to a mapping: the public destination to the private one).
    pub which: &'static str,
    /// Before and after, each address and port.
    pub from: (IpAddr, u16),
    /// See `from`.
    pub to: (IpAddr, u16),
}

/// A session's offload details, as `extensive` shows them (svcard's own lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffloadInfo<'a> {
    /// `requested`, `offloaded`, `failed`, `withdrawn`.
    pub state: &'static str,
    /// Why a request failed (state `failed`), else none.
    pub reason: Option<&'static str>,
    /// The rule only marks the packets (partial offload: the worker forwards them).
    pub partial: bool,
    /// The backend's name.
    pub backend: &'a str,
    /// The backend's rule ID (0 when none).
    pub rule: u32,
    /// Frames the hardware handled, In then Out (included in the flows' counts).
    pub frames: [u64; 2],
    /// Bytes, likewise.
    pub bytes: [u64; 2],
}

impl<'a> MspSession<'a> {
    /// The services view of a session: its flows from the flow-session model, the state
    /// word of its action.
    #[must_use]
    pub fn from_flow_session(
        s: &FlowSession<'_>,
        service_set: &'a str,
        alg: &'a str,
        state: &'static str,
        flags: u32,
        offload: bool,
        asymmetric: bool,
    ) -> Self {
        let flow = |i: usize| {
            let f = &s.flows[i];
            MspFlow {
                protocol: f.protocol,
                source_address: f.source_address,
                source_port: f.source_port,
                destination_address: f.destination_address,
                destination_port: f.destination_port,
                state,
                direction: f.direction,
                frames: f.packets,
                bytes: f.bytes,
                timeout: s.max_timeout,
            }
        };
        MspSession {
            service_set,
            session_id: s.session_id,
            alg,
            flags,
            ip_action: false,
            offload,
            asymmetric,
            flows: [flow(0), flow(1)],
            offload_info: None,
            nat_info: None,
        }
    }

    /// The session's element at a level.
    #[must_use]
    pub fn to_elem(&self, level: ServicesLevel) -> Elem {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut e = Elem::new("msp-session").attr("junos:style", level.style());
        e.push(Elem::leaf("service-set-name", self.service_set));
        e.push(Elem::leaf("session-identifier", self.session_id));
        e.push(Elem::leaf("alg-name", self.alg));
        e.push(Elem::leaf("session-flags", format!("0x{:04x}", self.flags)));
        e.push(Elem::leaf("ip-action", yn(self.ip_action)));
        e.push(Elem::leaf("offload", yn(self.offload)));
        e.push(Elem::leaf("asymmetric", yn(self.asymmetric)));
        if let (ServicesLevel::Extensive, Some(o)) = (level, &self.offload_info) {
            let mut oe = Elem::new("offload-information");
            oe.push(Elem::leaf("offload-state", o.state));
            if let Some(r) = o.reason {
                oe.push(Elem::leaf("offload-failure-reason", r));
            }
            oe.push(Elem::leaf(
                "offload-kind",
                if o.partial { "partial" } else { "full" },
            ));
            oe.push(Elem::leaf("offload-backend", o.backend));
            oe.push(Elem::leaf("offload-rule", o.rule));
            oe.push(Elem::leaf("hardware-frame-count-in", o.frames[0]));
            oe.push(Elem::leaf("hardware-frame-count-out", o.frames[1]));
            oe.push(Elem::leaf("hardware-byte-count-in", o.bytes[0]));
            oe.push(Elem::leaf("hardware-byte-count-out", o.bytes[1]));
            e.push(oe);
        }
        if let (ServicesLevel::Extensive, Some(n)) = (level, &self.nat_info) {
            let mut ne = Elem::new("nat-plugin-data");
            ne.push(Elem::leaf("nat-translation-type", n.translation));
            ne.push(Elem::leaf("nat-translation", n.which));
            ne.push(Elem::leaf("nat-original-address", n.from.0));
            ne.push(Elem::leaf("nat-original-port", n.from.1));
            ne.push(Elem::leaf("nat-translated-address", n.to.0));
            ne.push(Elem::leaf("nat-translated-port", n.to.1));
            e.push(ne);
        }
        for f in &self.flows {
            let mut fe = Elem::new("msp-flow");
            fe.push(Elem::leaf("protocol", protocol_column(f.protocol)));
            fe.push(Elem::leaf("source-address", f.source_address));
            if f.has_ports() {
                fe.push(Elem::leaf("source-port", f.source_port));
            }
            fe.push(Elem::leaf("destination-address", f.destination_address));
            if f.has_ports() {
                fe.push(Elem::leaf("destination-port", f.destination_port));
            }
            fe.push(Elem::leaf("flow-state", f.state));
            fe.push(Elem::leaf("direction", f.direction_letter()));
            fe.push(Elem::leaf("frame-count", f.frames));
            if level == ServicesLevel::Extensive {
                fe.push(Elem::leaf("byte-count", f.bytes));
                fe.push(Elem::leaf("flow-role", f.role()));
                fe.push(Elem::leaf("timeout", f.timeout));
            }
            e.push(fe);
        }
        e
    }
}

fn endpoint(f: &MspFlow, addr: IpAddr, port: u16) -> String {
    if f.has_ports() {
        format!("{addr}:{port}")
    } else {
        addr.to_string()
    }
}

/// The flow line: `TCP         10.1.1.2:1024   ->   20.1.1.2:21     Watch    I          1234`.
///
/// # Errors
/// The writer's.
pub fn flow_line<W: Write + ?Sized>(w: &mut W, f: &MspFlow) -> fmt::Result {
    writeln!(
        w,
        "{:<11} {:<15} ->   {:<15} {:<8} {}{:>14}",
        protocol_column(f.protocol),
        endpoint(f, f.source_address, f.source_port),
        endpoint(f, f.destination_address, f.destination_port),
        f.state,
        f.direction_letter(),
        f.frames
    )
}

/// Prints `show services sessions` as Junos text.
#[derive(Debug, Clone, Copy)]
pub struct ServicesText {
    /// Level.
    pub level: ServicesLevel,
}

impl ServicesText {
    /// An interface's records start.
    ///
    /// # Errors
    /// The writer's.
    pub fn interface<W: Write + ?Sized>(&self, w: &mut W, name: &str) -> fmt::Result {
        writeln!(w, "{name}")
    }

    /// One session.
    ///
    /// # Errors
    /// The writer's.
    pub fn session<W: Write + ?Sized>(&self, w: &mut W, s: &MspSession<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        if self.level != ServicesLevel::Terse {
            writeln!(
                w,
                "Service Set: {}, Session: {}, ALG: {}, Flags: 0x{:04x}, IP Action: {}, Offload: {}, Asymmetric: {}",
                s.service_set,
                s.session_id,
                s.alg,
                s.flags,
                yn(s.ip_action),
                yn(s.offload),
                yn(s.asymmetric)
            )?;
        }
        if let (ServicesLevel::Extensive, Some(o)) = (self.level, &s.offload_info) {
            write!(w, "  Offload state: {}", o.state)?;
            if let Some(r) = o.reason {
                write!(w, " ({r})")?;
            }
            if o.partial {
                write!(w, " (partial: packets marked, forwarded by the worker)")?;
            }
            writeln!(w, ", Backend: {}, Rule: {}", o.backend, o.rule)?;
            writeln!(
                w,
                "  Hardware frames: {}/{}, Hardware bytes: {}/{}",
                o.frames[0], o.frames[1], o.bytes[0], o.bytes[1]
            )?;
        }
        if let (ServicesLevel::Extensive, Some(n)) = (self.level, &s.nat_info) {
            writeln!(w, "NAT PLugin Data:")?;
            writeln!(w, "  NAT Action:   Translation Type - {}", n.translation)?;
            writeln!(
                w,
                "    NAT {:<14} {:<21} ->   {}:{}",
                n.which,
                format!("{}:{}", n.from.0, n.from.1),
                n.to.0,
                n.to.1
            )?;
        }
        for f in &s.flows {
            flow_line(w, f)?;
            if self.level == ServicesLevel::Extensive {
                writeln!(w, "    Byte count: {}", f.bytes)?;
                writeln!(w, "    Flow role: {}, Timeout: {}", f.role(), f.timeout)?;
            }
        }
        Ok(())
    }
}

/// One row of `show services sessions count` (`<service-msp-sess-count>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow<'a> {
    /// Member interface.
    pub interface: &'a str,
    /// Service set.
    pub service_set: &'a str,
    /// Valid sessions.
    pub valid: u64,
    /// Invalid (invalidated) sessions.
    pub invalid: u64,
    /// Pending sessions.
    pub pending: u64,
    /// Sessions in other states.
    pub other: u64,
}

impl CountRow<'_> {
    /// Sessions counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.valid + self.invalid + self.pending + self.other
    }
    /// The row's element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("service-msp-sess-count");
        e.push(Elem::leaf("interface-name", self.interface));
        e.push(Elem::leaf("service-set-name", self.service_set));
        e.push(Elem::leaf("sess-count", self.total()));
        e.push(Elem::leaf("valid-sess-count", self.valid));
        e.push(Elem::leaf("invalid-sess-count", self.invalid));
        e.push(Elem::leaf("pending-sess-count", self.pending));
        e.push(Elem::leaf("other-state-sess-count", self.other));
        e
    }
}

/// The `count` header line.
pub const COUNT_HEADER: &str =
    "Interface   Service set                        Valid      Invalid      Pending  Other state";

/// A `count` row: `vms-1/0/0   PIC1_0                          23151274            0 …`.
///
/// # Errors
/// The writer's.
pub fn count_line<W: Write + ?Sized>(w: &mut W, r: &CountRow<'_>) -> fmt::Result {
    writeln!(
        w,
        "{:<11} {:<27} {:>12}{:>13}{:>13}{:>13}",
        r.interface, r.service_set, r.valid, r.invalid, r.pending, r.other
    )
}

/// One row of `show services sessions utilization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtilizationRow<'a> {
    /// Member interface.
    pub interface: &'a str,
    /// Sessions in use.
    pub sessions: u64,
    /// Capacity.
    pub maximum: u64,
}

impl UtilizationRow<'_> {
    /// Percent of capacity in use, two decimals.
    #[must_use]
    pub fn percent(&self) -> String {
        if self.maximum == 0 {
            return "0.00%".into();
        }
        let hundredths = self.sessions.saturating_mul(10_000) / self.maximum;
        format!("{}.{:02}%", hundredths / 100, hundredths % 100)
    }
    /// The row's element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("service-msp-sess-utilization");
        e.push(Elem::leaf("interface-name", self.interface));
        e.push(Elem::leaf("sess-count", self.sessions));
        e.push(Elem::leaf("max-sess-count", self.maximum));
        e.push(Elem::leaf("sess-utilization", self.percent()));
        e
    }
}

/// The `utilization` header line.
pub const UTILIZATION_HEADER: &str = "Interface       Sessions      Maximum  Utilization";

/// A `utilization` row.
///
/// # Errors
/// The writer's.
pub fn utilization_line<W: Write + ?Sized>(w: &mut W, r: &UtilizationRow<'_>) -> fmt::Result {
    writeln!(
        w,
        "{:<11} {:>12} {:>12} {:>12}",
        r.interface,
        r.sessions,
        r.maximum,
        r.percent()
    )
}

/// One row of `clear services sessions` (`<service-msp-sess-drain>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainRow<'a> {
    /// Member interface.
    pub interface: &'a str,
    /// Service set.
    pub service_set: &'a str,
    /// Sessions marked for deletion.
    pub marked: u64,
}

impl DrainRow<'_> {
    /// The row's element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("service-msp-sess-drain");
        e.push(Elem::leaf("interface-name", self.interface));
        e.push(Elem::leaf("service-set-name", self.service_set));
        e.push(Elem::leaf("sess-marked-for-deletion", self.marked));
        e
    }
}

/// The `clear services sessions` header line.
pub const DRAIN_HEADER: &str =
    "Interface   Service set                 Sessions marked for deletion";

/// A `clear services sessions` row.
///
/// # Errors
/// The writer's.
pub fn drain_line<W: Write + ?Sized>(w: &mut W, r: &DrainRow<'_>) -> fmt::Result {
    writeln!(
        w,
        "{:<11} {:<27} {:>28}",
        r.interface, r.service_set, r.marked
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_columns_line_up_with_rows() {
        let mut s = String::new();
        count_line(
            &mut s,
            &CountRow {
                interface: "vms-1/0/0",
                service_set: "PIC1_0",
                valid: 23_151_274,
                invalid: 0,
                pending: 0,
                other: 0,
            },
        )
        .unwrap();
        assert_eq!(
            format!("{COUNT_HEADER}\n{s}"),
            "Interface   Service set                        Valid      Invalid      Pending  Other state\n\
             vms-1/0/0   PIC1_0                          23151274            0            0            0\n"
        );
        let mut d = String::new();
        drain_line(
            &mut d,
            &DrainRow {
                interface: "mams-5/0/0",
                service_set: "ss1",
                marked: 3,
            },
        )
        .unwrap();
        assert_eq!(d.len(), DRAIN_HEADER.len() + 1);
        let mut u = String::new();
        let r = UtilizationRow {
            interface: "mams-5/0/0",
            sessions: 1,
            maximum: 3,
        };
        utilization_line(&mut u, &r).unwrap();
        assert_eq!(u.len(), UTILIZATION_HEADER.len() + 1, "{u}");
        assert_eq!(r.percent(), "33.33%");
    }
}
