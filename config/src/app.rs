//! Applications (the Junos catalogue), ALG kinds, port ranges and IP protocol names.

use core::fmt;

pub use svcard_alg::AlgKind;

/// An inclusive range of transport ports (`21`, `1024-65535`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub lo: u16,
    /// Last port of the range (inclusive).
    pub hi: u16,
}

impl PortRange {
    /// Every port, 0-65535.
    pub const ANY: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    /// The range holding the single port `p`.
    #[must_use]
    pub const fn single(p: u16) -> Self {
        PortRange { lo: p, hi: p }
    }

    /// True when `p` lies in the range.
    #[inline]
    #[must_use]
    pub const fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }

    /// True when the range covers every port.
    #[must_use]
    pub const fn is_any(&self) -> bool {
        self.lo == 0 && self.hi == u16::MAX
    }

    /// Number of ports in the range.
    #[must_use]
    pub const fn width(&self) -> u32 {
        (self.hi as u32 + 1).saturating_sub(self.lo as u32)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl core::str::FromStr for PortRange {
    type Err = ();
    /// Parses `N` or `N-M` (0-65535, N <= M).
    fn from_str(s: &str) -> Result<Self, ()> {
        fn port(s: &str) -> Result<u16, ()> {
            let s = s.trim();
            if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            s.parse().map_err(|_| ())
        }
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => {
                let p = port(s)?;
                (p, p)
            }
        };
        if lo > hi {
            return Err(());
        }
        Ok(PortRange { lo, hi })
    }
}

/// IP protocol names accepted in the configuration, with their numbers.
pub const PROTOCOL_NAMES: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmp6", 58),
    ("icmpv6", 58),
    ("ospf", 89),
    ("pim", 103),
    ("sctp", 132),
];

/// The number of an IP protocol given by name (`tcp`) or number (`6`, 0-255).
#[must_use]
pub fn protocol_number(s: &str) -> Option<u8> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    PROTOCOL_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|&(_, p)| p)
}

/// The configuration name of an IP protocol number (`6` → `tcp`), if it has one.
#[must_use]
pub fn protocol_name(p: u8) -> Option<&'static str> {
    PROTOCOL_NAMES
        .iter()
        .find(|&&(_, n)| n == p)
        .map(|&(s, _)| s)
}

/// True for the protocols whose sessions carry transport ports (TCP, UDP, SCTP).
#[must_use]
pub const fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

/// One entry of the application catalogue (`junos-ftp`: TCP port 21, FTP ALG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Name (`junos-ftp`, or the operator's own).
    pub name: String,
    /// IP protocol number.
    pub protocol: u8,
    /// Destination ports ([`PortRange::ANY`] for protocols without ports).
    pub destination_ports: PortRange,
    /// The ALG the application turns on, if any.
    pub alg: Option<AlgKind>,
    /// Inactivity timeout in seconds overriding the service set's and the global one.
    pub inactivity_timeout: Option<u32>,
    /// True for the built-in Junos entries (not redefined by the configuration).
    pub builtin: bool,
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;
const ICMP6: u8 = 58;

/// The built-in Junos catalogue: (name, protocol, first port, last port, ALG).
const BUILTIN: &[(&str, u8, u16, u16, Option<AlgKind>)] = &[
    ("junos-ftp", TCP, 21, 21, Some(AlgKind::Ftp)),
    ("junos-tftp", UDP, 69, 69, Some(AlgKind::Tftp)),
    ("junos-dns-udp", UDP, 53, 53, Some(AlgKind::Dns)),
    ("junos-dns-tcp", TCP, 53, 53, Some(AlgKind::Dns)),
    ("junos-sip", UDP, 5060, 5060, Some(AlgKind::Sip)),
    ("junos-rtsp", TCP, 554, 554, Some(AlgKind::Rtsp)),
    ("junos-pptp", TCP, 1723, 1723, Some(AlgKind::Pptp)),
    (
        "junos-sun-rpc-tcp",
        TCP,
        111,
        111,
        Some(AlgKind::RpcPortmap),
    ),
    (
        "junos-sun-rpc-udp",
        UDP,
        111,
        111,
        Some(AlgKind::RpcPortmap),
    ),
    (
        "junos-ms-rpc-tcp",
        TCP,
        135,
        135,
        Some(AlgKind::DceRpcPortmap),
    ),
    (
        "junos-ms-rpc-udp",
        UDP,
        135,
        135,
        Some(AlgKind::DceRpcPortmap),
    ),
    ("junos-rsh", TCP, 514, 514, Some(AlgKind::Rsh)),
    ("junos-rexec", TCP, 512, 512, Some(AlgKind::Rexec)),
    ("junos-rlogin", TCP, 513, 513, Some(AlgKind::Rlogin)),
    ("junos-talk", UDP, 517, 517, Some(AlgKind::Talk)),
    ("junos-ntalk", UDP, 518, 518, Some(AlgKind::Talk)),
    ("junos-icmp-all", ICMP, 0, u16::MAX, Some(AlgKind::Icmp)),
    ("junos-icmp-ping", ICMP, 0, u16::MAX, Some(AlgKind::Icmp)),
    ("junos-ping", ICMP, 0, u16::MAX, Some(AlgKind::Icmp)),
    ("junos-icmp6-all", ICMP6, 0, u16::MAX, Some(AlgKind::Icmp)),
    (
        "junos-traceroute",
        UDP,
        33435,
        33450,
        Some(AlgKind::Traceroute),
    ),
    ("junos-h323", TCP, 1720, 1720, Some(AlgKind::H323)),
    // Junos's junos-h323 has a RAS term (UDP 1719) too; svcard's entries have one
    // protocol each.
    ("junos-h323-ras", UDP, 1719, 1719, Some(AlgKind::H323)),
    ("junos-sqlnet-v2", TCP, 1521, 1521, Some(AlgKind::Sqlnet)),
    ("junos-ike", UDP, 500, 500, Some(AlgKind::IkeEspNat)),
    // Junos's junos-sip has a TCP term too; svcard's entries have one protocol each.
    ("junos-sip-tcp", TCP, 5060, 5060, Some(AlgKind::Sip)),
    ("junos-http", TCP, 80, 80, None),
    ("junos-https", TCP, 443, 443, None),
    ("junos-ssh", TCP, 22, 22, None),
    ("junos-telnet", TCP, 23, 23, None),
    ("junos-smtp", TCP, 25, 25, None),
    ("junos-pop3", TCP, 110, 110, None),
    ("junos-imap", TCP, 143, 143, None),
    ("junos-ldap", TCP, 389, 389, None),
    ("junos-bgp", TCP, 179, 179, None),
    ("junos-ntp", UDP, 123, 123, None),
    ("junos-snmp-get", UDP, 161, 161, None),
    ("junos-snmp-trap", UDP, 162, 162, None),
    ("junos-syslog", UDP, 514, 514, None),
    ("junos-radius", UDP, 1812, 1812, None),
    ("junos-bootps", UDP, 67, 67, None),
    ("junos-gre", 47, 0, u16::MAX, None),
    ("junos-ike-nat", UDP, 4500, 4500, None),
    ("junos-ipsec-esp", 50, 0, u16::MAX, None),
    // Child flows the ALGs open. Ports 1..0 (none): never chosen by port, only named by
    // the ALG that opened them (FTP data keeps its well-known port 20).
    ("junos-ftp-data", TCP, 20, 20, None),
    ("junos-tftp-data", UDP, 1, 0, None),
    ("junos-sun-rpc", UDP, 1, 0, None),
    ("junos-rsh-stderr", TCP, 1, 0, None),
    ("junos-talk-data", TCP, 1, 0, None),
    ("junos-sip-media", UDP, 1, 0, None),
    ("junos-rtsp-media", UDP, 1, 0, None),
    ("junos-sqlnet-data", TCP, 1, 0, None),
    ("junos-ms-rpc", TCP, 1, 0, None),
    ("junos-h245", TCP, 1, 0, Some(AlgKind::H323)),
    ("junos-h323-media", UDP, 1, 0, None),
];

/// The built-in Junos application catalogue, in catalogue order.
#[must_use]
pub fn builtin_applications() -> Vec<Application> {
    BUILTIN
        .iter()
        .map(|&(name, protocol, lo, hi, alg)| Application {
            name: name.to_string(),
            protocol,
            destination_ports: PortRange { lo, hi },
            alg,
            inactivity_timeout: None,
            builtin: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip() {
        for (i, k) in AlgKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
            assert_eq!(AlgKind::from_junos_name(k.junos_name()), Some(*k));
        }
        assert_eq!(AlgKind::Sqlnet.display_name(), "SQLV2 ALG");
        assert_eq!(AlgKind::from_junos_name("nope"), None);
    }

    #[test]
    fn port_ranges_and_protocols() {
        assert_eq!("21".parse::<PortRange>(), Ok(PortRange::single(21)));
        assert_eq!(
            "1024-65535".parse::<PortRange>(),
            Ok(PortRange {
                lo: 1024,
                hi: 65535
            })
        );
        assert!("70000".parse::<PortRange>().is_err());
        assert!("9-3".parse::<PortRange>().is_err());
        assert!("+3".parse::<PortRange>().is_err());
        assert_eq!(PortRange { lo: 5, hi: 9 }.to_string(), "5-9");
        assert_eq!(protocol_number("tcp"), Some(6));
        assert_eq!(protocol_number("ICMPv6"), Some(58));
        assert_eq!(protocol_number("255"), Some(255));
        assert_eq!(protocol_number("256"), None);
        assert_eq!(protocol_number("bogus"), None);
        assert_eq!(protocol_name(17), Some("udp"));
    }

    #[test]
    fn builtin_names_are_unique() {
        let apps = builtin_applications();
        for (i, a) in apps.iter().enumerate() {
            assert!(apps[..i].iter().all(|b| b.name != a.name), "{}", a.name);
        }
    }
}
