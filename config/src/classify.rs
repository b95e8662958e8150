//! The verdict for a new session's first packet ([`Config::classify`]): the service set of
//! the interface it arrived on (a port or a VLAN unit), its rules in order, the default
//! action.

use core::net::IpAddr;

use crate::{Config, Rule, RuleAction, Verdict, NONE};

impl Config {
    /// The verdict for the first packet of a new session arriving on `port`.
    ///
    /// Rules are tried in order; the first whose every condition matches decides. The
    /// session's application is the rule's matched application, or else the catalogue's
    /// application for (`proto`, `dport`). No rule matched: the service set's default
    /// action. A port in no service set: accept, `service_set` = [`NONE`]. Port conditions
    /// compare the numbers given (pass 0 for protocols without ports).
    #[must_use]
    pub fn classify(
        &self,
        port: usize,
        proto: u8,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
    ) -> Verdict {
        self.classify_on(port, 0, proto, src, sport, dst, dport)
    }

    /// [`classify`](Self::classify) for traffic on VLAN `vlan` of `port` (0: untagged): the
    /// service set is its VLAN unit's, where the port has one for it.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn classify_on(
        &self,
        port: usize,
        vlan: u16,
        proto: u8,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
    ) -> Verdict {
        let ss = self.interface_service_set(port, vlan);
        let Some(set) = self.service_sets.get(usize::from(ss)) else {
            return Verdict {
                service_set: NONE,
                rule: NONE,
                action: RuleAction::Accept,
                application: self.lookup.get(proto, dport),
            };
        };
        for r in &set.rules {
            if let Some(app) = self.rule_matches(r, proto, src, sport, dst, dport) {
                return Verdict {
                    service_set: ss,
                    rule: r.id,
                    action: r.action,
                    application: if app == NONE {
                        self.lookup.get(proto, dport)
                    } else {
                        app
                    },
                };
            }
        }
        Verdict {
            service_set: ss,
            rule: NONE,
            action: set.default_action,
            application: self.lookup.get(proto, dport),
        }
    }

    /// `Some(matched application or NONE)` when `r` matches.
    #[inline]
    fn rule_matches(
        &self,
        r: &Rule,
        proto: u8,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
    ) -> Option<u16> {
        if r.protocol.is_some_and(|p| p != proto) {
            return None;
        }
        if !r.destination_ports.is_empty() && !r.destination_ports.iter().any(|p| p.contains(dport))
        {
            return None;
        }
        if !r.source_ports.is_empty() && !r.source_ports.iter().any(|p| p.contains(sport)) {
            return None;
        }
        if !r.destination.is_empty() && !r.destination.iter().any(|p| p.contains(dst)) {
            return None;
        }
        if !r.source.is_empty() && !r.source.iter().any(|p| p.contains(src)) {
            return None;
        }
        if r.applications.is_empty() {
            return Some(NONE);
        }
        r.applications
            .iter()
            .copied()
            .find(|&a| self.application_matches(a, proto, dport))
    }
}
