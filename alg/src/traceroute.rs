//! traceroute: UDP probes to ports 33434 and up with increasing TTL, and the ICMP errors
//! (time exceeded from each hop, port unreachable from the destination) they draw.
//!
//! Semantics chosen: one instance per probe flow (prober:port -> target:33434+n, the parent
//! session; Linux traceroute uses a new destination port per probe, so most probe flows
//! carry one probe). Each probe opens an ICMP (ICMPv6 for IPv6) expectation **from any
//! address** (the hops are not known in advance) **to the prober**, restricted to errors
//! that quote the probe's 5-tuple ([`Expectation::quoted`]). It is reusable within its
//! timeout (the same flow may be probed at several TTLs; each probe re-sends it, which
//! refreshes it). The dataplane matches an ICMP error to it by the quoted tuple (its ICMP
//! quote parser). A packet with a TTL above [`MAX_PROBE_TTL`] is not a
//! probe (ordinary traffic to these ports).
//!
//! [`Alg::on_data`] does not see the TTL: it treats every initiator datagram as a probe.
//! [`Traceroute::on_probe`] takes the TTL, and [`Traceroute::on_icmp`] counts the answers.

use core::net::IpAddr;

use crate::common::{core_timers, delegate_core, Alg, Core};
use crate::icmp::IcmpClass;
use crate::kind::AlgKind;
use crate::types::{Actions, AlgConfig, AppHint, Expectation, FiveTuple, FlowCtx, Proto, Side};

/// The first traceroute destination port.
pub const BASE_PORT: u16 = crate::kind::TRACEROUTE_BASE_PORT;
/// The highest TTL treated as a probe.
pub const MAX_PROBE_TTL: u8 = 64;

/// Traceroute-specific counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TracerouteStats {
    /// Probes seen.
    pub probes: u64,
    /// Time-exceeded answers (intermediate hops).
    pub hops_answered: u64,
    /// Port-unreachable answers (the destination reached).
    pub destination_reached: u64,
    /// Other ICMP errors quoting the probe.
    pub other_errors: u64,
    /// Highest TTL probed.
    pub max_ttl: u8,
}

/// The traceroute ALG for one probe flow.
#[derive(Debug, Clone)]
pub struct Traceroute {
    core: Core,
    stats: TracerouteStats,
}

impl Traceroute {
    /// A traceroute ALG for the probe flow `ctx` (initiator = prober, responder = target).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Traceroute {
        Traceroute {
            core: Core::new(cfg, ctx),
            stats: TracerouteStats::default(),
        }
    }

    /// The probe flow's 5-tuple as the prober sends it (what ICMP errors quote).
    #[must_use]
    pub fn probe_tuple(&self) -> FiveTuple {
        let c = &self.core.ctx;
        FiveTuple {
            proto: c.proto,
            src: c.initiator.ip(),
            src_port: c.initiator.port(),
            dst: c.responder.ip(),
            dst_port: c.responder.port(),
        }
    }

    /// The traceroute counters.
    #[must_use]
    pub fn stats(&self) -> &TracerouteStats {
        &self.stats
    }

    /// A probe left the prober with `ttl` (`None` when the caller does not know it): opens
    /// (or refreshes) the ICMP expectation when it is a probe.
    pub fn on_probe(&mut self, now_ms: u64, ttl: Option<u8>, out: &mut Actions) {
        if !self.core.cfg.enabled {
            return;
        }
        if let Some(t) = ttl {
            if t == 0 || t > MAX_PROBE_TTL {
                return;
            }
            self.stats.max_ttl = self.stats.max_ttl.max(t);
        }
        self.stats.probes += 1;
        self.core.counters.requests += 1;
        let probe = self.probe_tuple();
        let e = Expectation {
            proto: Proto::icmp_for(probe.src),
            src: None,
            src_port: None,
            dst: probe.src,
            dst_port: None,
            timeout_ms: self.core.cfg.timeout_ms,
            child_app: AppHint::TracerouteIcmp,
            one_shot: false,
            quoted: Some(probe),
            tag: 0,
        };
        self.core.expect(now_ms, out, e);
    }

    /// An ICMP error of `class` from `from` quoting this probe flow reached the prober
    /// (the dataplane matched it to the expectation): counted.
    pub fn on_icmp(&mut self, _now_ms: u64, class: IcmpClass, _from: IpAddr) {
        self.core.counters.replies += 1;
        match class {
            IcmpClass::TimeExceeded => self.stats.hops_answered += 1,
            IcmpClass::DestUnreachable { port: true } => self.stats.destination_reached += 1,
            _ => self.stats.other_errors += 1,
        }
    }
}

impl Alg for Traceroute {
    fn kind(&self) -> AlgKind {
        AlgKind::Traceroute
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        // Probes may be empty datagrams: count them here rather than in `begin`.
        if payload.is_empty() && side == Side::Initiator && self.core.cfg.enabled {
            self.on_probe(now_ms, None, out);
            return;
        }
        if !self.core.begin(seq, payload, out) {
            return;
        }
        if side == Side::Initiator {
            self.on_probe(now_ms, None, out);
        }
    }

    core_timers!();

    fn sync_seq(&mut self, _side: Side, _next_seq: u32) {}

    delegate_core!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn alg(cli: &str, srv: &str) -> Traceroute {
        Traceroute::new(
            AlgConfig::default_for(AlgKind::Traceroute),
            ctx(Proto::UDP, cli, srv),
        )
    }

    #[test]
    fn probe_opens_icmp_from_any_hop() {
        let mut a = alg("192.0.2.10:45000", "198.51.100.20:33435");
        let mut out = Actions::new();
        a.on_probe(0, Some(1), &mut out);
        let e = exps(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].proto, e[0].src, e[0].dst, e[0].dst_port),
            (Proto::ICMP, None, ip("192.0.2.10"), None)
        );
        assert_eq!(e[0].quoted, Some(a.probe_tuple()));
        assert_eq!(a.probe_tuple().dst_port, 33435);
        // A second probe at TTL 2 on the same flow refreshes without a second slot.
        out.clear();
        a.on_probe(100, Some(2), &mut out);
        assert_eq!(exps(&out).len(), 1);
        assert_eq!(a.counters().pinholes, 1);
        a.on_icmp(120, IcmpClass::TimeExceeded, ip("203.0.113.1"));
        a.on_icmp(
            130,
            IcmpClass::DestUnreachable { port: true },
            ip("198.51.100.20"),
        );
        let s = a.stats();
        assert_eq!(
            (s.probes, s.hops_answered, s.destination_reached, s.max_ttl),
            (2, 1, 1, 2)
        );
    }

    #[test]
    fn not_a_probe_and_v6() {
        let mut a = alg("192.0.2.10:45000", "198.51.100.20:33434");
        let mut out = Actions::new();
        a.on_probe(0, Some(200), &mut out);
        a.on_probe(0, Some(0), &mut out);
        assert!(out.is_empty());
        let mut a = alg("[2001:db8::10]:45000", "[2001:db8:1::20]:33434");
        a.on_data(0, Side::Initiator, None, &[0u8; 32], &mut out);
        assert_eq!(exps(&out)[0].proto, Proto::ICMPV6);
        // Empty probe datagrams count as probes too.
        out.clear();
        a.on_data(0, Side::Initiator, None, &[], &mut out);
        assert_eq!(a.stats().probes, 2);
    }
}
