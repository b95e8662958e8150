//! Names for the indices a [`SessionView`](svcard_dataplane::session::SessionView) carries.
//!
//! Workers report ports, service sets, rules and applications as indices; the operator
//! reads names. The show code asks a [`Names`] for them, which the control core fills from
//! the configuration. [`StaticNames`] is a plain implementation over vectors (tests, tools).

use svcard_config::PortId;

/// IP protocols by their lower-case Junos names (the `;tcp` of a flow line and the values
/// the `protocol` filter takes), sorted by name.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("ah", 51),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("icmp", 1),
    ("icmp6", 58),
    ("igmp", 2),
    ("ipip", 4),
    ("ospf", 89),
    ("pim", 103),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
];

/// The Junos name of an IP protocol (`tcp`, `udp`, `icmp`, `icmp6`, …), `None` for numbers
/// without one (the caller prints the number).
#[must_use]
pub fn protocol_name(proto: u8) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .find(|(_, n)| *n == proto)
        .map(|(name, _)| *name)
}

/// The protocol number of a Junos protocol name (exact, lower case).
#[must_use]
pub fn protocol_number(name: &str) -> Option<u8> {
    PROTOCOLS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// Where the show code finds the names of the indices in session views. The control core
/// implements it over the configuration; `None` means the index names nothing (stale view,
/// configuration changed), and the renderer prints a placeholder.
pub trait Names {
    /// The interface name of a port (`ge-0/0/0.0`).
    fn port_name(&self, port: PortId) -> Option<&str>;
    /// The port of an interface name (reverse of [`Names::port_name`]).
    fn port_index(&self, name: &str) -> Option<PortId>;
    /// The name of VLAN `vlan`'s unit of `port` (`ge-0/0/0.100`), if it has one.
    fn unit_name(&self, _port: PortId, _vlan: u16) -> Option<&str> {
        None
    }
    /// The (port, VLAN) of a VLAN unit's name (reverse of [`Names::unit_name`]).
    fn unit_index(&self, _name: &str) -> Option<(PortId, u16)> {
        None
    }
    /// The name of a service set.
    fn service_set_name(&self, service_set: u16) -> Option<&str>;
    /// The name of rule `rule` of service set `service_set` (the policy of a session).
    fn rule_name(&self, service_set: u16, rule: u16) -> Option<&str>;
    /// The Junos name of an application (`junos-ftp`).
    fn application_name(&self, application: u16) -> Option<&str>;
    /// The index of an application name (reverse of [`Names::application_name`]).
    fn application_index(&self, name: &str) -> Option<u16>;
    /// The name of NAT pool `pool` (`p1`).
    fn nat_pool_name(&self, _pool: u16) -> Option<&str> {
        None
    }
    /// The display name of an IP protocol; the default is [`protocol_name`].
    fn protocol_name(&self, proto: u8) -> Option<&str> {
        protocol_name(proto)
    }
}

/// A [`Names`] over plain vectors: index `i` names element `i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticNames {
    /// Interface name of each port.
    pub ports: Vec<String>,
    /// Each service set: its name and its rules' names.
    pub service_sets: Vec<(String, Vec<String>)>,
    /// Application names.
    pub applications: Vec<String>,
}

impl StaticNames {
    /// Names from string slices (tests): ports, service sets with their rules, applications.
    #[must_use]
    pub fn new(ports: &[&str], service_sets: &[(&str, &[&str])], applications: &[&str]) -> Self {
        Self {
            ports: ports.iter().map(|s| (*s).to_string()).collect(),
            service_sets: service_sets
                .iter()
                .map(|(n, rules)| {
                    (
                        (*n).to_string(),
                        rules.iter().map(|r| (*r).to_string()).collect(),
                    )
                })
                .collect(),
            applications: applications.iter().map(|s| (*s).to_string()).collect(),
        }
    }
}

impl Names for StaticNames {
    fn port_name(&self, port: PortId) -> Option<&str> {
        self.ports.get(port.index()).map(String::as_str)
    }
    fn port_index(&self, name: &str) -> Option<PortId> {
        self.ports
            .iter()
            .position(|p| p == name)
            .and_then(PortId::from_index)
    }
    fn service_set_name(&self, service_set: u16) -> Option<&str> {
        self.service_sets
            .get(usize::from(service_set))
            .map(|(n, _)| n.as_str())
    }
    fn rule_name(&self, service_set: u16, rule: u16) -> Option<&str> {
        self.service_sets
            .get(usize::from(service_set))
            .and_then(|(_, rules)| rules.get(usize::from(rule)))
            .map(String::as_str)
    }
    fn application_name(&self, application: u16) -> Option<&str> {
        self.applications
            .get(usize::from(application))
            .map(String::as_str)
    }
    fn application_index(&self, name: &str) -> Option<u16> {
        self.applications
            .iter()
            .position(|a| a == name)
            .and_then(|i| u16::try_from(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_round_trip() {
        for (name, n) in PROTOCOLS {
            assert_eq!(protocol_name(*n), Some(*name));
            assert_eq!(protocol_number(name), Some(*n));
        }
        assert_eq!(protocol_name(253), None);
        assert!(PROTOCOLS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn static_names_look_up_both_ways() {
        let n = StaticNames::new(
            &["ge-0/0/0.0", "ge-0/0/1.0"],
            &[("ss1", &["r0", "r1"])],
            &["junos-ftp"],
        );
        assert_eq!(n.port_name(PortId(1)), Some("ge-0/0/1.0"));
        assert_eq!(n.port_name(PortId(2)), None);
        assert_eq!(n.port_index("ge-0/0/0.0"), Some(PortId(0)));
        assert_eq!(n.rule_name(0, 1), Some("r1"));
        assert_eq!(n.rule_name(1, 0), None);
        assert_eq!(n.service_set_name(0), Some("ss1"));
        assert_eq!(n.application_index("junos-ftp"), Some(0));
        assert_eq!(Names::protocol_name(&n, 6), Some("tcp"));
    }
}
