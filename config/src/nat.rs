//! Source NAT: pools of public addresses and ports (`[[nat.pool]]`), the rules that choose a
//! translation for a service set's new sessions (`[[nat.rule]]`, named by a service set's
//! `nat-rules`), as Junos `services nat` has them.

use core::net::Ipv4Addr;

use crate::prefix::Prefix;

/// Most `[[nat.pool]]`s (each pool's figures are published in fixed arrays).
pub const MAX_POOLS: usize = 32;

/// How a rule translates (Junos `translation-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translation {
    /// `napt-44`: the source address and port, from a pool of addresses and ports.
    Napt44,
}

impl Translation {
    /// The Junos name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Translation::Napt44 => "napt-44",
        }
    }
}

/// An inclusive range of IPv4 addresses, as host-order numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    /// First address.
    pub first: u32,
    /// Last address (`>= first`).
    pub last: u32,
}

impl AddrRange {
    /// Addresses in the range.
    #[must_use]
    pub fn len(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }

    /// Never empty (`last >= first`); for clippy's sake.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A pool of public addresses and a port range (`[[nat.pool]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatPool {
    /// Name (`p1`).
    pub name: String,
    /// Its addresses, in file order, without overlaps.
    pub ranges: Vec<AddrRange>,
    /// Lowest port handed out (default 1024; Junos `port automatic`).
    pub port_low: u16,
    /// Highest port handed out (default 65535).
    pub port_high: u16,
    /// Ports at the top of the range kept for the ALGs' data connections (`alg-ports`):
    /// the control core hands them out for an active FTP data connection to a translated
    /// client, the workers never do. Default: a 64th of the range.
    pub alg_ports: u16,
}

impl NatPool {
    /// Every address of the pool, in order.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.ranges
            .iter()
            .flat_map(|r| (r.first..=r.last).map(Ipv4Addr::from))
    }

    /// Number of addresses.
    #[must_use]
    pub fn address_count(&self) -> u64 {
        self.ranges.iter().map(AddrRange::len).sum()
    }

    /// The ports the workers hand out: the range below the ALGs' share.
    #[must_use]
    pub fn worker_ports(&self) -> (u16, u16) {
        (self.port_low, self.port_high - self.alg_ports)
    }

    /// The ports kept for the ALGs (`None`: none are).
    #[must_use]
    pub fn alg_port_range(&self) -> Option<(u16, u16)> {
        (self.alg_ports > 0).then(|| (self.port_high - self.alg_ports + 1, self.port_high))
    }

    /// The default `alg-ports` of a range `low..=high`: a 64th of it (none under 128 ports).
    #[must_use]
    pub fn default_alg_ports(low: u16, high: u16) -> u16 {
        let range = u32::from(high - low) + 1;
        if range < 128 {
            0
        } else {
            u16::try_from(range / 64).unwrap_or(0)
        }
    }

    /// True when `a` is one of the pool's addresses.
    #[must_use]
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let a = u32::from(a);
        self.ranges.iter().any(|r| r.first <= a && a <= r.last)
    }
}

/// A NAT rule (`[[nat.rule]]`): which new sessions it translates, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRule {
    /// Name (`r1`).
    pub name: String,
    /// Source prefixes the initiator must be in (empty: any IPv4 source).
    pub source: Vec<Prefix>,
    /// Destination prefixes (empty: any).
    pub destination: Vec<Prefix>,
    /// The translation.
    pub translation: Translation,
    /// The pool (index into [`Nat::pools`]).
    pub pool: u16,
    /// `mapping-type endpoint-independent` (EIM, RFC 4787 REQ-1): a private endpoint keeps
    /// its public endpoint whatever the destination, while one of its sessions lives.
    pub eim: bool,
    /// `filtering-type endpoint-independent` (EIF, RFC 4787 REQ-8 first option): any host
    /// may reach a mapping's public endpoint, and a session to the private endpoint is
    /// made for it. Needs `eim`.
    pub eif: bool,
}

impl NatRule {
    /// True when a new IPv4 session from `src` to `dst` is the rule's.
    #[must_use]
    pub fn matches(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let any =
            |p: &[Prefix], a: Ipv4Addr| p.is_empty() || p.iter().any(|x| x.contains(a.into()));
        any(&self.source, src) && any(&self.destination, dst)
    }
}

/// The card's NAT configuration (`[nat]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nat {
    /// Pools, in file order.
    pub pools: Vec<NatPool>,
    /// Rules, in file order (service sets name theirs).
    pub rules: Vec<NatRule>,
}
