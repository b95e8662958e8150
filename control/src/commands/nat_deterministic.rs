//! `show services nat deterministic-nat internal-host ADDRESS` and `show services nat
//! deterministic-nat nat-port-block ADDRESS [port PORT]`: the deterministic NAPT44 mapping
//! both ways, computed from the configuration as the workers compute it (a host's address
//! and port block; the host a public address and port belong to, the reverse an operator
//! traces a subscriber by), with the ports of each block in use now.
//!
//! Juniper publishes the commands' names and the fields (NAT IP, port block, internal
//! host) but no sample output that svcard could find; the layout is svcard's
//! (docs/show-commands.md). The XML roots are the RPCs' replies
//! (`get-service-nat-deterministic-nat-internal-host` →
//! `service-nat-deterministic-nat-internal-host`, and `…-nat-port-block`).

use core::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::context::Context;
use super::grammar::{opt, syntax, Arg, CliError, OptSpec, Opts, Value};
use super::out::{Failure, Out, Outcome};
use crate::show::model::Elem;
use svcard_config::nat::{Deterministic, NatPool};
use svcard_dataplane::nat::Kind;

/// The options: one of `internal-host` and `nat-port-block`, and a port with the latter.
pub static OPTIONS: &[&[OptSpec]] = &[&[
    opt(
        "internal-host",
        "Show the NAT address and port block of an internal host",
        Arg::Prefix,
        1,
    ),
    opt(
        "nat-port-block",
        "Show the internal hosts of a NAT address's port blocks",
        Arg::Prefix,
        1,
    ),
    opt("port", "Only the block holding this port", Arg::Port, 2),
]];

/// Which way the mapping is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetQuery {
    /// A private host's block.
    Host(Ipv4Addr),
    /// A public address's blocks (one, with a port).
    Block(Ipv4Addr, Option<u16>),
}

/// The query from the options.
///
/// # Errors
/// Neither `internal-host` nor `nat-port-block`, an address that is not one IPv4 host, or
/// a port without `nat-port-block`.
pub fn build(opts: Opts) -> Result<DetQuery, CliError> {
    let (mut host, mut public, mut port, mut end) = (None, None, None, 0);
    for (spec, v, at) in opts {
        end = end.max(at + spec.word.len());
        match (spec.word, v) {
            ("internal-host" | "nat-port-block", Value::Prefix(p)) => {
                let a = match p.addr {
                    IpAddr::V4(a) if p.len == 32 => a,
                    _ => return Err(syntax(at, "an IPv4 address (deterministic-napt44)")),
                };
                if spec.word == "internal-host" {
                    host = Some(a);
                } else {
                    public = Some(a);
                }
            }
            ("port", Value::Port(n)) => port = Some((n, at)),
            _ => {}
        }
    }
    match (host, public, port) {
        (Some(h), None, None) => Ok(DetQuery::Host(h)),
        (None, Some(a), p) => Ok(DetQuery::Block(a, p.map(|p| p.0))),
        (Some(_), None, Some((_, at))) => Err(syntax(at, "no port with internal-host")),
        _ => Err(syntax(end, "internal-host or nat-port-block")),
    }
}

/// The request RPC.
#[must_use]
pub fn request(q: DetQuery) -> Elem {
    match q {
        DetQuery::Host(h) => {
            let mut e = Elem::new("get-service-nat-deterministic-nat-internal-host");
            e.push(Elem::leaf("internal-host", h));
            e
        }
        DetQuery::Block(a, p) => {
            let mut e = Elem::new("get-service-nat-deterministic-nat-nat-port-block");
            e.push(Elem::leaf("nat-ip", a));
            if let Some(p) = p {
                e.push(Elem::leaf("port", p));
            }
            e
        }
    }
}

/// One block: its pool, host, address and first port, and its ports in use.
struct Row<'a> {
    pool: &'a NatPool,
    host: Ipv4Addr,
    addr: Ipv4Addr,
    first: u16,
    last: u16,
    block: u16,
    in_use: [u32; 3],
}

impl Row<'_> {
    fn elem(&self) -> Elem {
        let mut e = Elem::new("deterministic-nat-block");
        e.push(Elem::leaf("nat-pool-name", &self.pool.name));
        e.push(Elem::leaf("internal-host", self.host));
        e.push(Elem::leaf("nat-ip", self.addr));
        e.push(Elem::leaf(
            "port-block-range",
            format!("{}-{}", self.first, self.last),
        ));
        e.push(Elem::leaf("block-size", self.block));
        e.push(Elem::leaf("tcp-ports-in-use", self.in_use[0]));
        e.push(Elem::leaf("udp-ports-in-use", self.in_use[1]));
        e.push(Elem::leaf("icmp-ids-in-use", self.in_use[2]));
        e
    }
}

/// Runs the command.
///
/// # Errors
/// No deterministic rule maps the host or the address; the client went away.
pub fn show(ctx: &Context, q: DetQuery, out: &mut Out<'_>) -> Outcome {
    let cfg = ctx.config();
    let mut rows: Vec<Row<'_>> = Vec::new();
    for r in &cfg.nat.rules {
        let (Some(d), Some(pool)) = (r.det.as_ref(), cfg.nat.pools.get(usize::from(r.pool))) else {
            continue;
        };
        let row = |host: u32, (addr, first): (u32, u16)| Row {
            pool,
            host: Ipv4Addr::from(host),
            addr: Ipv4Addr::from(addr),
            first,
            last: first + (d.block - 1),
            block: d.block,
            in_use: in_use(ctx, r.pool, addr, (first, d.block)),
        };
        match q {
            DetQuery::Host(h) => {
                if let Some(b) = d.block_of(u32::from(h)) {
                    rows.push(row(u32::from(h), b));
                }
            }
            DetQuery::Block(a, Some(p)) => {
                if let Some(h) = d.host_of(u32::from(a), p) {
                    rows.extend(d.block_of(h).map(|b| row(h, b)));
                }
            }
            DetQuery::Block(a, None) => {
                rows.extend(blocks_of(d, u32::from(a)).map(|(h, b)| row(h, b)));
            }
        }
    }
    if rows.is_empty() {
        return Err(Failure::Message(match q {
            DetQuery::Host(h) => {
                format!("error: no deterministic NAT rule maps internal host {h}")
            }
            DetQuery::Block(a, Some(p)) => {
                format!("error: {a} port {p} is in no deterministic NAT port block")
            }
            DetQuery::Block(a, None) => {
                format!("error: {a} holds no deterministic NAT port block")
            }
        }));
    }
    match out {
        Out::Text(w) => {
            let mut s = String::new();
            match q {
                DetQuery::Host(_) => {
                    for r in &rows {
                        let _ = writeln!(s, "Pool name: {}", r.pool.name);
                        let _ = writeln!(s, "Internal host: {}", r.host);
                        let _ = writeln!(s, "  NAT IP: {}", r.addr);
                        let _ = writeln!(s, "  NAT port block: {}-{}", r.first, r.last);
                        let _ = writeln!(s, "  Block size: {}", r.block);
                        let _ = writeln!(
                            s,
                            "  Ports in use: TCP {}, UDP {}, ICMP {}",
                            r.in_use[0], r.in_use[1], r.in_use[2]
                        );
                    }
                }
                DetQuery::Block(..) => {
                    let _ = writeln!(
                        s,
                        "{:<12} {:<16} {:<13} {:<16} {:>5} {:>5} {:>5}",
                        "Pool name", "NAT IP", "Port block", "Internal host", "TCP", "UDP", "ICMP"
                    );
                    for r in &rows {
                        let _ = writeln!(
                            s,
                            "{:<12} {:<16} {:<13} {:<16} {:>5} {:>5} {:>5}",
                            r.pool.name,
                            r.addr.to_string(),
                            format!("{}-{}", r.first, r.last),
                            r.host.to_string(),
                            r.in_use[0],
                            r.in_use[1],
                            r.in_use[2]
                        );
                    }
                }
            }
            w.write_str(&s)?;
        }
        Out::Tree(t) => {
            let root = match q {
                DetQuery::Host(_) => "service-nat-deterministic-nat-internal-host",
                DetQuery::Block(..) => "service-nat-deterministic-nat-nat-port-block",
            };
            t.open(&Elem::new(root))?;
            for r in &rows {
                t.elem(&r.elem())?;
            }
            t.close()?;
        }
    }
    Ok(())
}

/// The ports of each protocol in use in a block, card-wide.
fn in_use(ctx: &Context, pool: u16, addr: u32, block: (u16, u16)) -> [u32; 3] {
    let Some(d) = ctx.control.det_ports.as_deref() else {
        return [0; 3];
    };
    [Kind::Tcp, Kind::Udp, Kind::Icmp].map(|k| d.held_in(pool, k, addr, block))
}

/// The blocks of public address `a` that map a host: (host, (address, first port)).
fn blocks_of(d: &Deterministic, a: u32) -> impl Iterator<Item = (u32, (u32, u16))> + '_ {
    (0..d.blocks_per_address).filter_map(move |b| {
        let port = u32::from(d.low) + b * u32::from(d.block);
        let h = d.host_of(a, u16::try_from(port).ok()?)?;
        Some((h, d.block_of(h)?))
    })
}
