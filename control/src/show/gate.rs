//! `show security flow gate`: the pinholes (gates) the ALGs opened, per member interface
//! (worker) section, and the counts that end each section. Text after the SRX layout
//! (`Hole:`, `Translated:`, `Protocol:`, `Application:`, `Age:`, `Flags:`, `Reference
//! count:`, `Resource:`; svcard has no zones, so `Service set:` stands where the SRX prints
//! `Zone:`); XML root, section and count elements as Junos names them
//! (`flow-gate-information`, `flow-gate-fpc-pic-id`, `displayed-gate-valid`, …), the
//! elements of one gate svcard's own. Sources in docs/show-commands.md.

use core::fmt::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use super::model::{Elem, Section};
use crate::gateway::rm::Gate;

/// Gate flag: the gate is used up by its first child.
pub const FLAG_ONE_SHOT: u16 = 0x0001;
/// Gate flag: the child is watched by an ALG in turn.
pub const FLAG_WATCHED: u16 = 0x0002;
/// Gate flag: the child is translated by source NAT.
pub const FLAG_TRANSLATED: u16 = 0x0004;

/// One gate as shown, with what the book knows around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRow {
    /// The pinhole.
    pub gate: Gate,
    /// The ALG that opened it (`FTP ALG`).
    pub alg: String,
    /// The resource manager's client ID of that ALG.
    pub client: u32,
    /// The conversation's group ID.
    pub group: u32,
    /// The resource ID.
    pub resource: u32,
    /// Child sessions it admitted that still run.
    pub references: usize,
    /// The service set's name.
    pub service_set: String,
}

impl GateRow {
    /// The gate's flags ([`FLAG_ONE_SHOT`], [`FLAG_WATCHED`], [`FLAG_TRANSLATED`]).
    #[must_use]
    pub fn flags(&self) -> u16 {
        let mut f = 0;
        if self.gate.one_shot {
            f |= FLAG_ONE_SHOT;
        }
        if self.gate.watched {
            f |= FLAG_WATCHED;
        }
        if self.gate.translated.is_some() {
            f |= FLAG_TRANSLATED;
        }
        f
    }

    /// Seconds until the gate lapses unused.
    #[must_use]
    pub fn age(&self, now: Instant) -> u64 {
        self.gate.expires.saturating_duration_since(now).as_secs()
    }

    fn any(&self) -> IpAddr {
        if self.gate.dst.is_ipv6() {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    }

    /// The source address (the unspecified address when any source is admitted).
    #[must_use]
    pub fn source(&self) -> IpAddr {
        self.gate.src.unwrap_or_else(|| self.any())
    }

    /// Source ports admitted, low and high (0-0: any, as the SRX prints a wildcard).
    #[must_use]
    pub fn source_ports(&self) -> (u16, u16) {
        self.gate.src_port.map_or((0, 0), |p| (p, p))
    }

    /// Destination ports admitted, low and high (0-0: any).
    #[must_use]
    pub fn destination_ports(&self) -> (u16, u16) {
        self.gate.dst_port.map_or((0, 0), |p| (p, p))
    }

    /// Where the child is sent: the translation, else the hole's own destination.
    #[must_use]
    pub fn translated(&self) -> (IpAddr, u16) {
        self.gate
            .translated
            .unwrap_or((self.gate.dst, self.gate.dst_port.unwrap_or(0)))
    }

    fn protocol(&self) -> String {
        super::names::protocol_name(self.gate.protocol)
            .map_or_else(|| self.gate.protocol.to_string(), str::to_string)
    }
}

/// The gate counts that end a section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateCounts {
    /// Gates waiting for their child, installed on the workers.
    pub valid: u64,
    /// Gates not yet installed (svcard installs a gate with the command that opens it: 0).
    pub pending: u64,
    /// Gates being removed (svcard removes them at once: 0).
    pub invalidated: u64,
    /// Gates in other states (0).
    pub other: u64,
    /// Gates shown.
    pub total: u64,
}

/// Renders the text layout.
#[derive(Debug, Default)]
pub struct GateText {
    /// Only the counts (`summary`).
    pub summary: bool,
    started: bool,
}

impl GateText {
    /// A renderer; `summary` prints only the counts.
    #[must_use]
    pub fn new(summary: bool) -> Self {
        Self {
            summary,
            started: false,
        }
    }

    /// Starts a worker's section: `Flow Gates on FPC0 PIC1:`.
    ///
    /// # Errors
    /// The writer's.
    pub fn begin_section<W: Write + ?Sized>(&mut self, w: &mut W, section: Section) -> fmt::Result {
        if self.started {
            w.write_char('\n')?;
        }
        self.started = true;
        writeln!(w, "Flow Gates on {section}:")
    }

    /// One gate.
    ///
    /// # Errors
    /// The writer's.
    pub fn gate<W: Write + ?Sized>(&mut self, w: &mut W, g: &GateRow, now: Instant) -> fmt::Result {
        if self.summary {
            return Ok(());
        }
        let (sl, sh) = g.source_ports();
        let (dl, dh) = g.destination_ports();
        let (src, dst) = (g.source(), g.gate.dst);
        let (ta, tp) = g.translated();
        writeln!(w)?;
        writeln!(w, "Hole: {src}-{src}/{sl}-{sh}->{dst}-{dst}/{dl}-{dh}")?;
        writeln!(w, "  Translated: {src}/{sl}->{ta}/{tp}")?;
        writeln!(w, "  Protocol: {}", g.protocol())?;
        writeln!(w, "  Application: {}/{}", g.alg, g.gate.application)?;
        writeln!(w, "  Age: {} seconds", g.age(now))?;
        writeln!(w, "  Flags: 0x{:04x}", g.flags())?;
        writeln!(w, "  Service set: {}", g.service_set)?;
        writeln!(w, "  Reference count: {}", g.references)?;
        writeln!(w, "  Resource: {}-{}-{}", g.client, g.group, g.resource)
    }

    /// The counts that end a section.
    ///
    /// # Errors
    /// The writer's.
    pub fn counts<W: Write + ?Sized>(&mut self, w: &mut W, c: &GateCounts) -> fmt::Result {
        writeln!(w)?;
        writeln!(w, "Valid gates: {}", c.valid)?;
        writeln!(w, "Pending gates: {}", c.pending)?;
        writeln!(w, "Invalidated gates: {}", c.invalidated)?;
        writeln!(w, "Gates in other states: {}", c.other)?;
        writeln!(w, "Total gates: {}", c.total)
    }
}

/// The section's identifier element (`<flow-gate-fpc-pic-id> on FPC0 PIC1:</…>`, with the
/// leading space Junos gives it).
#[must_use]
pub fn section_elem(section: Section) -> Elem {
    Elem::leaf("flow-gate-fpc-pic-id", format!(" on {section}:"))
}

/// One gate's element (`<flow-gate>`; svcard's names, see docs/show-commands.md).
#[must_use]
pub fn gate_elem(g: &GateRow, now: Instant) -> Elem {
    let (sl, sh) = g.source_ports();
    let (dl, dh) = g.destination_ports();
    let (ta, tp) = g.translated();
    let mut e = Elem::new("flow-gate");
    e.push(Elem::leaf("source-address", g.source()));
    e.push(Elem::leaf("source-port-low", sl));
    e.push(Elem::leaf("source-port-high", sh));
    e.push(Elem::leaf("destination-address", g.gate.dst));
    e.push(Elem::leaf("destination-port-low", dl));
    e.push(Elem::leaf("destination-port-high", dh));
    e.push(Elem::leaf("translated-address", ta));
    e.push(Elem::leaf("translated-port", tp));
    e.push(Elem::leaf("protocol", g.protocol()));
    e.push(Elem::leaf("application-name", &g.alg));
    e.push(Elem::leaf("application-id", g.gate.application));
    e.push(Elem::leaf("age", g.age(now)));
    e.push(Elem::leaf("flags", format!("0x{:04x}", g.flags())));
    e.push(Elem::leaf("service-set-name", &g.service_set));
    e.push(Elem::leaf("reference-count", g.references));
    e.push(Elem::leaf("resource-client-id", g.client));
    e.push(Elem::leaf("resource-group-id", g.group));
    e.push(Elem::leaf("resource-id", g.resource));
    e
}

/// The count elements (Junos's names).
#[must_use]
pub fn counts_elems(c: &GateCounts) -> [Elem; 5] {
    [
        Elem::leaf("displayed-gate-valid", c.valid),
        Elem::leaf("displayed-gate-pending", c.pending),
        Elem::leaf("displayed-gate-invalidated", c.invalidated),
        Elem::leaf("displayed-gate-other", c.other),
        Elem::leaf("displayed-gate-count", c.total),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(gate: Gate) -> GateRow {
        GateRow {
            gate,
            alg: "SIP ALG".into(),
            client: 9,
            group: 4,
            resource: 12,
            references: 2,
            service_set: "ss-voice".into(),
        }
    }

    fn gate(dst: &str, dst_port: Option<u16>, now: Instant) -> Gate {
        Gate {
            protocol: 17,
            src: None,
            src_port: None,
            dst: dst.parse().unwrap(),
            dst_port,
            translated: None,
            expires: now + Duration::from_millis(89_500),
            one_shot: false,
            watched: false,
            application: 7,
            service_set: 0,
        }
    }

    /// An IPv6 media gate from anywhere, and an IPv4 one source NAT sends on to a private
    /// host: the wildcard prints as the unspecified address and port 0, the translation
    /// and its flag show, the counts end the section.
    #[test]
    fn wildcards_translations_and_counts() {
        let now = Instant::now();
        let mut t = GateText::new(false);
        let mut s = String::new();
        t.begin_section(&mut s, Section { fpc: 0, pic: 1 }).unwrap();
        t.gate(&mut s, &row(gate("2001:db8::5", Some(30000), now)), now)
            .unwrap();
        let mut nat = gate("198.51.100.7", Some(40002), now);
        nat.translated = Some(("10.0.0.9".parse().unwrap(), 5004));
        nat.one_shot = true;
        t.gate(&mut s, &row(nat), now).unwrap();
        t.counts(
            &mut s,
            &GateCounts {
                valid: 2,
                total: 2,
                ..GateCounts::default()
            },
        )
        .unwrap();
        let want = "Flow Gates on FPC0 PIC1:

Hole: ::-::/0-0->2001:db8::5-2001:db8::5/30000-30000
  Translated: ::/0->2001:db8::5/30000
  Protocol: udp
  Application: SIP ALG/7
  Age: 89 seconds
  Flags: 0x0000
  Service set: ss-voice
  Reference count: 2
  Resource: 9-4-12

Hole: 0.0.0.0-0.0.0.0/0-0->198.51.100.7-198.51.100.7/40002-40002
  Translated: 0.0.0.0/0->10.0.0.9/5004
  Protocol: udp
  Application: SIP ALG/7
  Age: 89 seconds
  Flags: 0x0005
  Service set: ss-voice
  Reference count: 2
  Resource: 9-4-12

Valid gates: 2
Pending gates: 0
Invalidated gates: 0
Gates in other states: 0
Total gates: 2
";
        assert_eq!(s, want);
        // Summary: the section and the counts, no gate.
        let mut t = GateText::new(true);
        let mut s = String::new();
        t.begin_section(&mut s, Section { fpc: 0, pic: 0 }).unwrap();
        t.gate(&mut s, &row(gate("192.0.2.1", None, now)), now)
            .unwrap();
        t.counts(&mut s, &GateCounts::default()).unwrap();
        assert!(!s.contains("Hole:"), "{s}");
        let e = gate_elem(&row(gate("192.0.2.1", None, now)), now);
        let port = e
            .children
            .iter()
            .find(|c| c.name == "destination-port-high")
            .and_then(|c| c.text.clone());
        assert_eq!(port.as_deref(), Some("0"), "any port");
    }
}
