//! `show services nat pool [brief | detail]`: the NAT pools each service set's rules use,
//! per member interface (worker), with the figures its worker published (ports in use, out
//! of port errors, most in use, sessions in to endpoint-independent mappings). Layout:
//! [`crate::show::nat`].

use std::net::Ipv4Addr;

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{Out, Outcome};
use crate::show::model::Elem;
use crate::show::nat::{self, PoolLevel, PoolRow};
use svcard_config::WorkerId;
use svcard_dataplane::stats::PoolFigure;

/// The options.
pub static OPTIONS: &[&[OptSpec]] = &[&[
    opt("brief", "Display brief output", Arg::Flag, 1),
    opt("detail", "Display detailed output", Arg::Flag, 1),
]];

/// The level from the options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<PoolLevel, CliError> {
    let mut level = PoolLevel::Brief;
    for (spec, v, _) in opts {
        if let ("detail", Value::Flag) = (spec.word, v) {
            level = PoolLevel::Detail;
        }
    }
    Ok(level)
}

/// The request RPC.
#[must_use]
pub fn request(level: PoolLevel) -> Elem {
    let mut e = Elem::new("get-service-nat-pool-information");
    match level {
        PoolLevel::Brief => {}
        PoolLevel::Detail => e.push(Elem::new("detail")),
    }
    e
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, level: PoolLevel, out: &mut Out<'_>) -> Outcome {
    let cfg = ctx.config();
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-nat-pool-information"))?;
    }
    // The pools' ALG ports are the control core's: counted with the first member's.
    let alg_ports = ctx
        .control
        .alg_statistics
        .lock()
        .map(|s| s.nat_alg_ports.clone())
        .unwrap_or_default();
    for wk in WorkerId::all(ctx.control.workers.len()) {
        let st = ctx.control.workers[wk.index()].stats.snapshot();
        let iface = cfg.member_interface(wk);
        for ss in &cfg.service_sets {
            let mut pools: Vec<u16> = ss
                .nat_rules
                .iter()
                .filter_map(|&r| cfg.nat.rules.get(usize::from(r)).map(|r| r.pool))
                .collect();
            pools.dedup();
            if pools.is_empty() {
                continue;
            }
            let rows: Vec<PoolRow<'_>> = pools
                .iter()
                .filter_map(|&p| {
                    let pool = cfg.nat.pools.get(usize::from(p))?;
                    let f = st
                        .nat_pools
                        .get(usize::from(p))
                        .copied()
                        .unwrap_or_default();
                    let translation = cfg
                        .nat
                        .rules
                        .iter()
                        .find(|r| r.pool == p)
                        .map_or("NAPT-44", |r| junos_type(r.translation));
                    Some(PoolRow {
                        interface: &iface,
                        service_set: &ss.name,
                        pool: &pool.name,
                        translation,
                        ranges: pool
                            .ranges
                            .iter()
                            .map(|r| {
                                format!("{}-{}", Ipv4Addr::from(r.first), Ipv4Addr::from(r.last))
                            })
                            .collect(),
                        port_range: format!("{}-{}", pool.port_low, pool.port_high),
                        in_use: f[PoolFigure::PortsInUse as usize]
                            + if wk.index() == 0 {
                                alg_ports.get(usize::from(p)).copied().unwrap_or(0)
                            } else {
                                0
                            },
                        out_of_port: f[PoolFigure::OutOfPortErrors as usize],
                        max_in_use: f[PoolFigure::MaxPortsInUse as usize],
                        eif_inbound: f[PoolFigure::EifInbound as usize],
                    })
                })
                .collect();
            match out {
                Out::Text(w) => {
                    nat::text_header(*w, &iface, &ss.name)?;
                    if level == PoolLevel::Brief {
                        writeln!(w, "{}", nat::BRIEF_HEADER)?;
                    }
                    for r in &rows {
                        nat::text(*w, r, level)?;
                    }
                    writeln!(w)?;
                }
                Out::Tree(t) => {
                    let e = nat::section_elem(
                        &iface,
                        &ss.name,
                        rows.iter().map(nat::elem).collect(),
                        level,
                    );
                    t.elem(&e)?;
                }
            }
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// The translation type as Junos prints it in this command.
fn junos_type(t: svcard_config::nat::Translation) -> &'static str {
    t.junos_label()
}
