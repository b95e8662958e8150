//! The `[nat]` table: `[[nat.pool]]` (addresses as prefixes or `first-last` ranges, a port
//! range) and `[[nat.rule]]` (match, translation type, pool), and a service set's
//! `nat-rules`.

use core::net::Ipv4Addr;

use crate::nat::{
    AddrRange, Deterministic, Nat, NatPool, NatRule, PortBlocks, Preserve, Translation,
    MAX_BLOCKS_PER_HOST,
};
use crate::Prefix;

use super::reader::*;

/// Lowest port a pool hands out unless told (Junos `port automatic` leaves the well-known
/// ports alone).
const DEFAULT_PORT_LOW: u16 = 1024;

/// Reads `[nat]` (absent: no NAT).
pub(super) fn nat(src: &Src<'_>, root: &Tab<'_, '_>) -> R<Nat> {
    let Some(t) = root.table("nat", &["pool", "rule"])? else {
        return Ok(Nat::default());
    };
    let mut pools: Vec<NatPool> = Vec::new();
    let mut pool_lines: Vec<usize> = Vec::new();
    for p in t.tables(
        "pool",
        &[
            "name",
            "address",
            "port-low",
            "port-high",
            "alg-ports",
            "block-size",
            "include-boundary-addresses",
            "preserve-port",
            "preserve-parity",
            "preserve-range",
            "port-block-allocation",
            "max-sessions-per-host",
        ],
    )? {
        let (name, span) = p.req_word("name")?;
        if let Some(i) = pools.iter().position(|x| x.name == name) {
            return Err(p.err(
                &span,
                "name",
                format!(
                    "duplicate pool '{name}' (first defined on line {})",
                    pool_lines[i]
                ),
            ));
        }
        p.req("address")?;
        let mut ranges: Vec<AddrRange> = Vec::new();
        for v in p.items("address") {
            let field = p.field("address");
            let s = string(src, v, &field)?;
            let r = addr_range(s).map_err(|m| src.err(&v.span(), &field, m))?;
            if let Some(o) = ranges
                .iter()
                .find(|o| o.first <= r.last && r.first <= o.last)
            {
                return Err(src.err(
                    &v.span(),
                    &field,
                    format!(
                        "'{s}' overlaps {}-{} of the same pool",
                        Ipv4Addr::from(o.first),
                        Ipv4Addr::from(o.last)
                    ),
                ));
            }
            ranges.push(r);
        }
        for (i, other) in pools.iter().enumerate() {
            let shared = ranges.iter().find(|r| {
                other
                    .ranges
                    .iter()
                    .any(|o| o.first <= r.last && r.first <= o.last)
            });
            if let Some(r) = shared {
                return Err(p.err(
                    &p.get("address").map_or(span.clone(), V::span),
                    "address",
                    format!(
                        "{}-{} is also in pool '{}' (line {}): a public address belongs to one pool",
                        Ipv4Addr::from(r.first),
                        Ipv4Addr::from(r.last),
                        other.name,
                        pool_lines[i]
                    ),
                ));
            }
        }
        let low = p.num("port-low", 1, 65535)?.unwrap_or(DEFAULT_PORT_LOW);
        let high = p.num("port-high", 1, 65535)?.unwrap_or(u16::MAX);
        if low > high {
            let at = p
                .get("port-high")
                .or(p.get("port-low"))
                .map_or(span.clone(), V::span);
            return Err(p.err(
                &at,
                if p.get("port-high").is_some() {
                    "port-high"
                } else {
                    "port-low"
                },
                format!("port-low {low} is above port-high {high}"),
            ));
        }
        let range = u32::from(high - low) + 1;
        let block_size = p.num::<u16>("block-size", 0, 64512)?;
        let alg_ports = match p.num::<u16>("alg-ports", 0, 65535)? {
            // A deterministic pool's ports are its hosts' blocks, all of them by default.
            None if block_size.is_some() => 0,
            None => NatPool::default_alg_ports(low, high),
            Some(n) if u32::from(n) < range => n,
            Some(n) => {
                return Err(p.err(
                    &p.get("alg-ports").map_or(span.clone(), V::span),
                    "alg-ports",
                    format!(
                        "{n} ALG ports leave none of the pool's {range} ports ({low}-{high}) to the workers"
                    ),
                ))
            }
        };
        let pba = match p.table(
            "port-block-allocation",
            &[
                "block-size",
                "maximum-blocks-per-host",
                "active-block-timeout",
            ],
        )? {
            None => None,
            Some(b) => {
                let at = p.get("port-block-allocation").map_or(span.clone(), V::span);
                if block_size.is_some() {
                    return Err(p.err(
                        &at,
                        "port-block-allocation",
                        "a deterministic pool (block-size) computes its blocks: no port-block-allocation",
                    ));
                }
                if let Some(k) = ["preserve-port", "preserve-parity", "preserve-range"]
                    .into_iter()
                    .find(|k| p.get(k).is_some())
                {
                    return Err(p.err(
                        &p.get(k).map_or(span.clone(), V::span),
                        k,
                        format!("{k} does not go with port-block-allocation (a host's ports are its blocks')"),
                    ));
                }
                let blocks = PortBlocks {
                    block: b.num::<u16>("block-size", 1, 64512)?.unwrap_or(128),
                    max_blocks: b
                        .num::<u16>("maximum-blocks-per-host", 1, i64::from(MAX_BLOCKS_PER_HOST))?
                        .unwrap_or(MAX_BLOCKS_PER_HOST),
                    active_timeout_s: b.seconds("active-block-timeout", 0, 86_400)?.unwrap_or(0),
                };
                let range = u32::from(high - low) + 1 - u32::from(alg_ports);
                if u32::from(blocks.block) > range {
                    return Err(b.err(
                        &b.get("block-size").map_or(at.clone(), V::span),
                        "block-size",
                        format!(
                            "a block of {} ports does not fit the pool's {range} ports",
                            blocks.block
                        ),
                    ));
                }
                Some(blocks)
            }
        };
        if block_size.is_some() {
            if let Some(k) = ["preserve-port", "preserve-parity", "preserve-range"]
                .into_iter()
                .find(|k| p.get(k).is_some())
            {
                return Err(p.err(
                    &p.get(k).map_or(span.clone(), V::span),
                    k,
                    format!("{k} is napt-44's: a deterministic pool's ports are its hosts' blocks"),
                ));
            }
        }
        if pools.len() >= crate::nat::MAX_POOLS {
            return Err(p.err(
                &span,
                "name",
                format!("too many pools (at most {})", crate::nat::MAX_POOLS),
            ));
        }
        pool_lines.push(src.line(span.start));
        pools.push(NatPool {
            name: name.to_string(),
            ranges,
            port_low: low,
            port_high: high,
            alg_ports,
            block_size,
            include_boundary: p.boolean("include-boundary-addresses")?.unwrap_or(false),
            preserve: Preserve {
                port: p.boolean("preserve-port")?.unwrap_or(false),
                parity: p.boolean("preserve-parity")?.unwrap_or(false),
                range: p.boolean("preserve-range")?.unwrap_or(false),
            },
            pba,
            max_sessions_per_host: p.num::<u32>("max-sessions-per-host", 1, i64::from(u32::MAX))?,
        });
    }
    let mut rules: Vec<NatRule> = Vec::new();
    let mut rule_lines: Vec<usize> = Vec::new();
    for r in t.tables(
        "rule",
        &[
            "name",
            "match-direction",
            "source",
            "destination",
            "translation-type",
            "pool",
            "mapping-type",
            "filtering-type",
            "address-pooling",
        ],
    )? {
        let (name, span) = r.req_word("name")?;
        if let Some(i) = rules.iter().position(|x| x.name == name) {
            return Err(r.err(
                &span,
                "name",
                format!(
                    "duplicate NAT rule '{name}' (first defined on line {})",
                    rule_lines[i]
                ),
            ));
        }
        if let Some((d, dspan)) = r.word("match-direction")? {
            if d != "input" {
                return Err(r.err(
                    &dspan,
                    "match-direction",
                    format!(
                        "'{d}': only input is supported (the rule matches the sessions its \
                         service set's ports start)"
                    ),
                ));
            }
        }
        // IPv4 only: napt-44 translates IPv4.
        let v4 = |key: &str| -> R<Vec<Prefix>> {
            let ps = prefixes(src, &r, key)?;
            if let Some((p, v)) = ps.iter().zip(r.items(key)).find(|(p, _)| !p.addr.is_ipv4()) {
                return Err(src.err(
                    &v.span(),
                    &r.field(key),
                    format!("'{p}': source NAT translates IPv4 (napt-44)"),
                ));
            }
            Ok(ps)
        };
        let source = v4("source")?;
        let destination = v4("destination")?;
        let (tt, tspan) = r.req_word("translation-type")?;
        let translation = match tt {
            "napt-44" => Translation::Napt44,
            "deterministic-napt44" => Translation::Deterministic,
            "basic-nat44" => Translation::Basic,
            "dynamic-nat44" => Translation::Dynamic,
            _ => {
                return Err(r.err(
                    &tspan,
                    "translation-type",
                    format!(
                        "'{tt}' is not a translation type (napt-44, basic-nat44, \
                         dynamic-nat44, deterministic-napt44)"
                    ),
                ))
            }
        };
        let (pname, pspan) = r.req_word("pool")?;
        let Some(pool) = pools.iter().position(|p| p.name == pname) else {
            return Err(r.err(
                &pspan,
                "pool",
                format!("unknown pool '{pname}' (no [[nat.pool]] has that name)"),
            ));
        };
        let independent = |key: &str, other: &str| -> R<bool> {
            match r.word(key)? {
                None => Ok(false),
                Some(("endpoint-independent", _)) => Ok(true),
                Some((w, _)) if w == other => Ok(false),
                Some((w, wspan)) => Err(r.err(
                    &wspan,
                    key,
                    format!("'{w}' is not a {key} (endpoint-independent or {other})"),
                )),
            }
        };
        let eim = independent("mapping-type", "address-port-dependent")?;
        let eif = independent("filtering-type", "address-port-dependent")?;
        if eif && !eim {
            let at = r.get("filtering-type").map_or(span.clone(), V::span);
            return Err(r.err(
                &at,
                "filtering-type",
                "endpoint-independent filtering needs mapping-type = \"endpoint-independent\"",
            ));
        }
        let paired = match r.word("address-pooling")? {
            None => false,
            Some(("paired", wspan)) => {
                let why = if translation != Translation::Napt44 {
                    Some("only napt-44 pools its addresses (the other types keep a host's address already)")
                } else if pools[pool].pba.is_some() {
                    Some("a pool with port blocks gives a host its blocks' addresses")
                } else if eim {
                    Some("endpoint-independent mapping with address pooling paired is not built")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(r.err(&wspan, "address-pooling", why));
                }
                true
            }
            Some((w, wspan)) => {
                return Err(r.err(
                    &wspan,
                    "address-pooling",
                    format!("'{w}' is not an address pooling (paired)"),
                ))
            }
        };
        if let Some(other) = rules.iter().find(|o| {
            usize::from(o.pool) == pool && (o.translation, o.paired) != (translation, paired)
        }) {
            let how = |t: Translation, p: bool| {
                format!(
                    "{}{}",
                    t.name(),
                    if p {
                        " with address pooling paired"
                    } else {
                        ""
                    }
                )
            };
            return Err(r.err(
                &pspan,
                "pool",
                format!(
                    "pool '{pname}' is also rule '{}''s, which translates by {}: a pool's \
                     addresses and ports are handed out one way",
                    other.name,
                    how(other.translation, other.paired)
                ),
            ));
        }
        if eim && pools[pool].pba.is_some() {
            let at = r.get("mapping-type").map_or(span.clone(), V::span);
            return Err(r.err(
                &at,
                "mapping-type",
                format!(
                    "pool '{pname}' allocates port blocks: endpoint-independent mapping with \
                     port blocks is not built"
                ),
            ));
        }
        let det = &pools[pool];
        let det = match (translation, det.block_size) {
            (Translation::Deterministic, None) => {
                return Err(r.err(
                    &pspan,
                    "pool",
                    format!(
                        "pool '{pname}' has no block-size: deterministic-napt44 needs a pool of \
                         deterministic port blocks"
                    ),
                ))
            }
            (Translation::Napt44 | Translation::Basic | Translation::Dynamic, Some(_)) => {
                return Err(r.err(
                    &pspan,
                    "pool",
                    format!(
                        "pool '{pname}' gives deterministic port blocks (block-size): only \
                         deterministic-napt44 rules may use it"
                    ),
                ))
            }
            (Translation::Napt44, None) => None,
            (Translation::Basic | Translation::Dynamic, None) => {
                let what = translation.name();
                let bad = if eim {
                    Some((
                        "mapping-type",
                        format!("endpoint-independent mapping is napt-44's, not {what}'s"),
                    ))
                } else if det.pba.is_some() {
                    Some((
                        "pool",
                        format!("pool '{pname}' gives port blocks: {what} keeps the ports"),
                    ))
                } else if translation == Translation::Basic && source.is_empty() {
                    Some((
                        "source",
                        "basic-nat44 maps the hosts of its source prefixes: name them".into(),
                    ))
                } else {
                    None
                };
                if let Some((field, why)) = bad {
                    let at = r.get(field).map_or(span.clone(), V::span);
                    return Err(r.err(&at, field, why));
                }
                if translation == Translation::Basic {
                    let at = r.get("source").map_or(span.clone(), V::span);
                    let hosts = det_hosts(&source, det.include_boundary)
                        .map_err(|m| r.err(&at, "source", m))?;
                    let n: u64 = hosts.iter().map(AddrRange::len).sum();
                    if n > det.address_count() {
                        return Err(r.err(
                            &pspan,
                            "pool",
                            format!(
                                "basic-nat44 gives each of {n} hosts an address; pool '{pname}' \
                                 has {}",
                                det.address_count()
                            ),
                        ));
                    }
                    // One "block" of the whole port range per address: host h, address h.
                    let (low, high) = det.worker_ports();
                    Some(
                        Deterministic::new(det, hosts, high - low + 1)
                            .map_err(|m| r.err(&pspan, "pool", m))?,
                    )
                } else {
                    None
                }
            }
            (Translation::Deterministic, Some(block)) => {
                let at = r.get("source").map_or(span.clone(), V::span);
                if source.is_empty() {
                    return Err(r.err(
                        &at,
                        "source",
                        "deterministic-napt44 maps the hosts of its source prefixes: name them",
                    ));
                }
                if eim {
                    let at = r.get("mapping-type").map_or(span.clone(), V::span);
                    return Err(r.err(
                        &at,
                        "mapping-type",
                        "endpoint-independent mapping is napt-44's; deterministic-napt44 maps \
                         hosts to blocks",
                    ));
                }
                let hosts = det_hosts(&source, det.include_boundary)
                    .map_err(|m| r.err(&at, "source", m))?;
                Some(Deterministic::new(det, hosts, block).map_err(|m| r.err(&pspan, "pool", m))?)
            }
        };
        rule_lines.push(src.line(span.start));
        rules.push(NatRule {
            name: name.to_string(),
            source,
            destination,
            translation,
            pool: u16::try_from(pool).unwrap_or(u16::MAX),
            eim,
            eif,
            det,
            paired,
        });
    }
    Ok(Nat { pools, rules })
}

/// The hosts of a deterministic rule's source prefixes, in order: a prefix shorter than
/// /31 loses its network and broadcast addresses unless `boundary`. Overlapping prefixes
/// would map a host twice: refused.
fn det_hosts(source: &[Prefix], boundary: bool) -> Result<Vec<AddrRange>, String> {
    let mut out: Vec<AddrRange> = Vec::new();
    for p in source {
        let core::net::IpAddr::V4(a) = p.addr else {
            continue;
        };
        let len = u32::from(p.len.min(32));
        let span = if len == 0 {
            u32::MAX
        } else {
            (1u32 << (32 - len)) - 1
        };
        let first = u32::from(a) & !span;
        let mut r = AddrRange {
            first,
            last: first | span,
        };
        if len < 31 && !boundary {
            r = AddrRange {
                first: r.first + 1,
                last: r.last - 1,
            };
        }
        if let Some(o) = out.iter().find(|o| o.first <= r.last && r.first <= o.last) {
            return Err(format!(
                "'{p}' overlaps {}-{}: a host is mapped once",
                Ipv4Addr::from(o.first),
                Ipv4Addr::from(o.last)
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// A service set's `nat-rules`: indices into `nat.rules`, in order.
pub(super) fn service_set_rules(src: &Src<'_>, t: &Tab<'_, '_>, nat: &Nat) -> R<Vec<u16>> {
    let mut out: Vec<u16> = Vec::new();
    for v in t.items("nat-rules") {
        let field = t.field("nat-rules");
        let name = string(src, v, &field)?;
        let Some(i) = nat.rules.iter().position(|r| r.name == name) else {
            return Err(src.err(
                &v.span(),
                &field,
                format!("unknown NAT rule '{name}' (no [[nat.rule]] has that name)"),
            ));
        };
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        if out.contains(&i) {
            return Err(src.err(&v.span(), &field, format!("'{name}' is listed twice")));
        }
        out.push(i);
    }
    Ok(out)
}

/// `198.51.100.0/30`, `198.51.100.10-198.51.100.20` or one address.
fn addr_range(s: &str) -> Result<AddrRange, String> {
    let v4 = |a: &str| -> Result<u32, String> {
        a.trim()
            .parse::<Ipv4Addr>()
            .map(u32::from)
            .map_err(|_| format!("'{a}' is not an IPv4 address"))
    };
    if let Some((a, b)) = s.split_once('-') {
        let (first, last) = (v4(a)?, v4(b)?);
        if first > last {
            return Err(format!("'{s}': the range ends before it starts"));
        }
        return Ok(AddrRange { first, last });
    }
    let p: Prefix = s
        .parse()
        .map_err(|e| format!("'{s}' is not a prefix or an address range: {e}"))?;
    let core::net::IpAddr::V4(a) = p.addr else {
        return Err(format!("'{s}': NAT pools hold IPv4 addresses"));
    };
    let mask = if p.len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(p.len))
    };
    let first = u32::from(a) & mask;
    Ok(AddrRange {
        first,
        last: first | !mask,
    })
}
