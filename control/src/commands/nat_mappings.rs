//! `show services nat mappings endpoint-independent`: the endpoint-independent mappings,
//! per member interface (worker) and service set: each private endpoint, the public
//! endpoint it keeps, and the sessions that hold it (read from the workers' sessions: a
//! mapping lives exactly as long as one of them).
//!
//! The text follows the layout that Juniper's own test framework parses (Toby's
//! `get_nat_eim_mappings`: `Interface: …, Service set: …`, `NAT pool: …`, `Mapping : private
//! : port --> public : port`, `Session Count : N`, `Mapping State : Active`); the XML root is
//! the reply its RPC names (`get-service-nat-mapping-endpoint-independent` →
//! `service-nat-mapping-endpoint-independent`), the element names below it are svcard's
//! (docs/show-commands.md).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::context::Context;
use super::out::{Failure, Out, Outcome};
use crate::central::{run_query, Relay};
use crate::show::model::Elem;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;

/// Which mappings a show lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingKind {
    /// `endpoint-independent`: private endpoint to public endpoint.
    Eim,
    /// `address-pooling-paired`: private host to its public address.
    Paired,
    /// `detail`: every translation out, private endpoint to public endpoint, whatever the
    /// translation type (endpoint-independent or not).
    Detail,
}

/// The request RPC.
#[must_use]
pub fn request(kind: MappingKind) -> Elem {
    Elem::new(match kind {
        MappingKind::Eim => "get-service-nat-mapping-endpoint-independent",
        MappingKind::Paired => "get-service-nat-mapping-address-pooling-paired",
        MappingKind::Detail => "get-service-nat-mapping-detail",
    })
}

/// The request RPC of `clear services nat mappings`.
#[must_use]
pub fn clear_request() -> Elem {
    Elem::new("clear-service-nat-mappings")
}

/// Runs `clear services nat mappings`: a mapping lives exactly as long as one of its
/// sessions, so the sessions that hold endpoint-independent mappings are cleared and the
/// mappings go with them (their public ports back to the pools). Prints how many sessions
/// each member interface cleared.
///
/// # Errors
/// The control core did not answer; the client went away.
pub fn clear(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let filter = SessionFilter {
        eim_only: true,
        ..SessionFilter::default()
    };
    let cleared = ctx.clear(filter)?;
    let total: u64 = cleared.iter().map(|c| c.1).sum();
    match out {
        Out::Text(w) => {
            for (wk, n) in &cleared {
                let iface = ctx.config().member_interface(*wk);
                writeln!(w, "Interface: {iface}, Sessions of mappings cleared: {n}")?;
            }
            writeln!(w, "Total sessions of mappings cleared: {total}")?;
        }
        Out::Tree(t) => {
            t.open(&Elem::new("clear-service-nat-mappings-results"))?;
            for (wk, n) in &cleared {
                let mut e = Elem::new("nat-mappings-cleared");
                e.push(Elem::leaf(
                    "interface-name",
                    ctx.config().member_interface(*wk),
                ));
                e.push(Elem::leaf("sessions-cleared", n));
                t.elem(&e)?;
            }
            t.close()?;
        }
    }
    Ok(())
}

/// One mapping: (service set, pool, private, public) → sessions.
type Mappings = BTreeMap<(u16, u16, (IpAddr, u16), (IpAddr, u16)), u64>;

/// Runs the command.
///
/// # Errors
/// The control core did not answer; the client went away.
pub fn show(ctx: &Context, kind: MappingKind, out: &mut Out<'_>) -> Outcome {
    let cfg = ctx.config();
    let paired = |pool: u16| cfg.nat.rules.iter().any(|r| r.pool == pool && r.paired);
    let workers = ctx.workers(&SessionFilter::default());
    let mut per_worker: Vec<Mappings> = vec![Mappings::new(); ctx.control.workers.len()];
    run_query(
        &ctx.control,
        SessionFilter::default(),
        QueryKind::Records { limit: u64::MAX },
        workers,
        |m| {
            if let Relay::Session(v, _) = m {
                let n = v.nat.filter(|n| match kind {
                    MappingKind::Eim => n.eim,
                    MappingKind::Paired => paired(n.pool),
                    MappingKind::Detail => !n.inbound,
                });
                if let Some(n) = n {
                    let w = v.worker.index();
                    if let Some(map) = per_worker.get_mut(w) {
                        // A paired mapping is a host's address: no ports.
                        let ports = kind != MappingKind::Paired;
                        let key = (
                            v.service_set,
                            n.pool,
                            (n.private.addr, if ports { n.private.port } else { 0 }),
                            (n.public.addr, if ports { n.public.port } else { 0 }),
                        );
                        *map.entry(key).or_insert(0) += 1;
                    }
                }
            }
            true
        },
    )
    .map_err(|e| Failure::Message(format!("error: {e}")))?;
    if let Out::Tree(t) = out {
        t.open(&Elem::new(match kind {
            MappingKind::Eim => "service-nat-mapping-endpoint-independent",
            MappingKind::Paired => "service-nat-mapping-address-pooling-paired",
            MappingKind::Detail => "service-nat-mapping-detail",
        }))?;
    }
    for (wi, map) in per_worker.iter().enumerate() {
        let wk = svcard_config::WorkerId(u16::try_from(wi).unwrap_or(u16::MAX));
        let iface = ctx.config().member_interface(wk);
        let mut current: Option<(u16, u16)> = None;
        for (&(ss, pool, private, public), &count) in map {
            let ss_name = cfg
                .service_sets
                .get(usize::from(ss))
                .map_or("-", |s| s.name.as_str());
            let pool_name = cfg
                .nat
                .pools
                .get(usize::from(pool))
                .map_or("-", |p| p.name.as_str());
            match out {
                Out::Text(w) => {
                    if current.map(|c| c.0) != Some(ss) {
                        writeln!(w, "Interface: {iface}, Service set: {ss_name}")?;
                        writeln!(w)?;
                    }
                    if current != Some((ss, pool)) {
                        writeln!(w, "NAT pool: {pool_name}")?;
                    }
                    if kind != MappingKind::Paired {
                        writeln!(
                            w,
                            "Mapping          : {:<16}: {:<6}--> {:<13}: {}",
                            private.0, private.1, public.0, public.1
                        )?;
                    } else {
                        writeln!(w, "Mapping          : {:<16}--> {}", private.0, public.0)?;
                    }
                    writeln!(w, "Session Count    :{count:>6}")?;
                    writeln!(w, "Mapping State    : Active")?;
                    writeln!(w)?;
                }
                Out::Tree(t) => {
                    let mut e = Elem::new("nat-mapping");
                    e.push(Elem::leaf("interface-name", &iface));
                    e.push(Elem::leaf("service-set-name", ss_name));
                    e.push(Elem::leaf("pool-name", pool_name));
                    e.push(Elem::leaf("private-address", private.0));
                    if kind != MappingKind::Paired {
                        e.push(Elem::leaf("private-port", private.1));
                    }
                    e.push(Elem::leaf("public-address", public.0));
                    if kind != MappingKind::Paired {
                        e.push(Elem::leaf("public-port", public.1));
                    }
                    e.push(Elem::leaf("session-count", count));
                    e.push(Elem::leaf("mapping-state", "Active"));
                    t.elem(&e)?;
                }
            }
            current = Some((ss, pool));
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
