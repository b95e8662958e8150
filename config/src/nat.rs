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
    /// `deterministic-napt44`: each private host's public address and port block are
    /// computed from its offset in the rule's source range, never allocated, so no log of
    /// them is needed ([`Deterministic`]).
    Deterministic,
    /// `basic-nat44`: the address only, one pool address per host of the rule's source
    /// prefixes, in order (static, one to one); ports unchanged.
    Basic,
    /// `dynamic-nat44`: the address only, a pool address held by the host while it has
    /// sessions; ports unchanged.
    Dynamic,
}

impl Translation {
    /// The Junos name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Translation::Napt44 => "napt-44",
            Translation::Deterministic => "deterministic-napt44",
            Translation::Basic => "basic-nat44",
            Translation::Dynamic => "dynamic-nat44",
        }
    }

    /// As Junos prints it in the NAT views (`NAPT-44`).
    #[must_use]
    pub fn junos_label(self) -> &'static str {
        match self {
            Translation::Napt44 => "NAPT-44",
            Translation::Deterministic => "DETERMINISTIC-NAPT44",
            Translation::Basic => "BASIC-NAT44",
            Translation::Dynamic => "DYNAMIC-NAT44",
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
    /// client, the workers never do. Default: a 64th of the range (none in a deterministic
    /// pool, whose ports are its hosts' blocks).
    pub alg_ports: u16,
    /// `block-size`: the pool gives deterministic port blocks of this many ports (Junos
    /// `deterministic-port-block-allocation block-size`; 0: computed from the hosts and
    /// addresses, as Junos does). `None`: not a deterministic pool.
    pub block_size: Option<u16>,
    /// `include-boundary-addresses`: a deterministic rule's source prefixes translate
    /// their network and broadcast addresses too (by default they are left out).
    pub include_boundary: bool,
    /// How the public port follows the private one (napt-44).
    pub preserve: Preserve,
    /// `[nat.pool.port-block-allocation]`: napt-44 hands each host blocks of ports, one
    /// log per block instead of one per session.
    pub pba: Option<PortBlocks>,
    /// `max-sessions-per-host`: translated sessions a private host may have through the
    /// pool (each worker holds a host to its share, [`NatPool::host_limit_per_worker`]).
    pub max_sessions_per_host: Option<u32>,
}

/// Most blocks a host may hold (`maximum-blocks-per-host`; Junos allows 512, svcard keeps
/// a host's blocks inline).
pub const MAX_BLOCKS_PER_HOST: u16 = 8;

/// Port block allocation (Junos `block-allocation` / secured PBA): a host's first session
/// takes a block of the pool's ports; its sessions take ports from its active block; when
/// that has no port free, or has been active `active_timeout_s` (non-zero), a new block is
/// taken, up to `max_blocks`; a block goes back when its last session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortBlocks {
    /// `block-size`: ports a block (default 128).
    pub block: u16,
    /// `maximum-blocks-per-host` (default 8, at most [`MAX_BLOCKS_PER_HOST`]).
    pub max_blocks: u16,
    /// `active-block-timeout`, seconds (0: a block stays active until it is full).
    pub active_timeout_s: u32,
}

impl PortBlocks {
    /// Blocks an address holds in `pool`'s worker range (a block never straddles two).
    #[must_use]
    pub fn per_address(&self, pool: &NatPool) -> u32 {
        let (low, high) = pool.worker_ports();
        (u32::from(high - low) + 1) / u32::from(self.block)
    }
}

/// How a napt-44 pool's public port follows the private port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preserve {
    /// `preserve-port`: the private port itself when it is free (and, with several
    /// workers, one the translating worker owns); any other otherwise.
    pub port: bool,
    /// `preserve-parity` (Junos): an even private port gets an even public port, an odd
    /// one an odd (RTP and RTCP pairs keep their parity).
    pub parity: bool,
    /// `preserve-range` (Junos): a private port below 1024 gets a public port below 1024
    /// (the pool's range must reach below it), one above gets one above.
    pub range: bool,
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

    /// The ALG ports below 1024, for an ALG child announced on a privileged port (rsh's
    /// stderr connection, which rshd accepts only on one): with `preserve-range` and a range
    /// that reaches below 1024, the top eighth of the privileged part (at least one port).
    /// The workers never hand these out either.
    #[must_use]
    pub fn alg_privileged_range(&self) -> Option<(u16, u16)> {
        if !self.preserve.range || self.port_low >= 1024 || self.alg_ports == 0 {
            return None;
        }
        let n = ((1024 - self.port_low) / 8).max(1);
        Some((1024 - n, 1023))
    }

    /// True when `port` is one of the ALG ports (either share).
    #[must_use]
    pub fn is_alg_port(&self, port: u16) -> bool {
        self.alg_port_range()
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&port))
            || self
                .alg_privileged_range()
                .is_some_and(|(lo, hi)| (lo..=hi).contains(&port))
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

    /// The public address of private host `host` under address pooling paired: one of the
    /// pool's, by a hash of the host, the same on every worker and for every session.
    #[must_use]
    pub fn paired_address(&self, host: u32) -> Option<u32> {
        let n = self.address_count();
        if n == 0 {
            return None;
        }
        let h = u64::from(host).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        self.addresses()
            .nth(usize::try_from(h % n).ok()?)
            .map(u32::from)
    }

    /// The per-host limit each of `workers` workers enforces: the pool's limit divided
    /// among them, rounded up (a host's sessions spread over the workers by RSS).
    #[must_use]
    pub fn host_limit_per_worker(&self, workers: u16) -> Option<u32> {
        self.max_sessions_per_host
            .map(|n| n.div_ceil(u32::from(workers.max(1))))
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
    /// `deterministic-napt44`: the host-to-block mapping; `basic-nat44`: the host-to-address
    /// mapping (a block of the whole port range per address).
    pub det: Option<Deterministic>,
    /// `address-pooling = "paired"` (APP, RFC 4787 REQ-2): every session of a private host
    /// leaves from one public address, [`NatPool::paired_address`].
    pub paired: bool,
}

/// A deterministic rule's mapping (Junos deterministic NAPT44): host `h` (its offset in
/// the rule's source range, the hosts of every prefix in order, network and broadcast
/// addresses left out unless the pool includes them) gets block `h` of the pool: address
/// `h / blocks_per_address` (in the pool's order), ports `low + (h % blocks_per_address) *
/// block` up. A block never straddles two addresses. The reverse (a public address and
/// port to the host) is [`Deterministic::host_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deterministic {
    /// The private hosts, as ranges, in order.
    pub hosts: Vec<AddrRange>,
    /// Ports a block.
    pub block: u16,
    /// Blocks an address holds.
    pub blocks_per_address: u32,
    /// The first port of an address's first block.
    pub low: u16,
    /// The pool's addresses, in the pool's order.
    pub addresses: Vec<u32>,
}

impl Deterministic {
    /// The mapping of `hosts` onto `pool` with blocks of `block` ports (0: the most that
    /// give every host one, Junos's `int(range / ceil(hosts / addresses))`). `Err` says
    /// why it cannot be built.
    ///
    /// # Errors
    /// A block larger than the pool's port range, or more hosts than blocks.
    pub fn new(pool: &NatPool, hosts: Vec<AddrRange>, block: u16) -> Result<Self, String> {
        let (low, high) = pool.worker_ports();
        let range = u32::from(high - low) + 1;
        let addresses: Vec<u32> = pool.addresses().map(u32::from).collect();
        let n_hosts: u64 = hosts.iter().map(AddrRange::len).sum();
        let n_addr = addresses.len() as u64;
        let block = if block == 0 {
            let per_addr = n_hosts.div_ceil(n_addr.max(1)).max(1);
            u16::try_from((u64::from(range) / per_addr).min(u64::from(u16::MAX))).unwrap_or(0)
        } else {
            block
        };
        if block == 0 || u32::from(block) > range {
            return Err(format!(
                "a block of {block} ports does not fit the pool's {range} ports ({low}-{high})"
            ));
        }
        let blocks_per_address = range / u32::from(block);
        let capacity = n_addr * u64::from(blocks_per_address);
        if n_hosts > capacity {
            return Err(format!(
                "{n_hosts} hosts need {n_hosts} blocks of {block} ports; pool '{}' holds {capacity} \
                 ({n_addr} address{} of {blocks_per_address} blocks)",
                pool.name,
                if n_addr == 1 { "" } else { "es" }
            ));
        }
        Ok(Deterministic {
            hosts,
            block,
            blocks_per_address,
            low,
            addresses,
        })
    }

    /// Hosts the rule maps.
    #[must_use]
    pub fn host_count(&self) -> u64 {
        self.hosts.iter().map(AddrRange::len).sum()
    }

    /// The offset of private host `a` (host order), `None` when the rule does not map it.
    #[must_use]
    pub fn offset_of(&self, a: u32) -> Option<u64> {
        let mut base = 0u64;
        for r in &self.hosts {
            if r.first <= a && a <= r.last {
                return Some(base + u64::from(a - r.first));
            }
            base += r.len();
        }
        None
    }

    /// Private host `a`'s public address and the first port of its block.
    #[must_use]
    pub fn block_of(&self, a: u32) -> Option<(u32, u16)> {
        let h = self.offset_of(a)?;
        let per = u64::from(self.blocks_per_address);
        let addr = *self.addresses.get(usize::try_from(h / per).ok()?)?;
        let first = u64::from(self.low) + (h % per) * u64::from(self.block);
        Some((addr, u16::try_from(first).ok()?))
    }

    /// The private host that public address `public` and `port` belong to (the reverse
    /// algorithm an operator traces a subscriber by).
    #[must_use]
    pub fn host_of(&self, public: u32, port: u16) -> Option<u32> {
        let ai = self.addresses.iter().position(|&a| a == public)? as u64;
        let off = u32::from(port.checked_sub(self.low)?);
        let b = off / u32::from(self.block);
        if b >= self.blocks_per_address {
            return None;
        }
        let mut h = ai * u64::from(self.blocks_per_address) + u64::from(b);
        for r in &self.hosts {
            if h < r.len() {
                return u32::try_from(u64::from(r.first) + h).ok();
            }
            h -= r.len();
        }
        None
    }
}

impl NatRule {
    /// True when a new IPv4 session from `src` to `dst` is the rule's (a deterministic
    /// rule's source must be one of its mapped hosts: a prefix's network and broadcast
    /// addresses are left untranslated unless the pool includes them).
    #[must_use]
    pub fn matches(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let any =
            |p: &[Prefix], a: Ipv4Addr| p.is_empty() || p.iter().any(|x| x.contains(a.into()));
        any(&self.source, src)
            && any(&self.destination, dst)
            && self
                .det
                .as_ref()
                .is_none_or(|d| d.offset_of(u32::from(src)).is_some())
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
