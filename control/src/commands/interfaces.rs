//! `show interfaces [terse | extensive] [interface-name NAME]`: each port as Junos shows a
//! physical interface: name, link state, device, speed, and at `extensive` the traffic
//! statistics and the input and output errors, read from the port backend when asked (DPDK's
//! `rte_eth_stats_get` and `rte_eth_link_get_nowait`; the pcap backend keeps no port state
//! and says so). The layout follows Junos `show interfaces extensive` ("Traffic
//! statistics:", "Input errors:", "Output errors:"); the XML its `<interface-information>`
//! with `<physical-interface>`, `<traffic-statistics>`, `<input-error-list>` and
//! `<output-error-list>` (see docs/show-commands.md). The name is an option, not Junos's
//! positional word.

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{message, Out, Outcome};
use crate::show::model::Elem;
use svcard_dataplane::port::PortStatus;

/// How much to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// A line per port.
    Terse,
    /// The interface's state.
    #[default]
    Standard,
    /// With traffic statistics and errors.
    Extensive,
}

/// `show interfaces …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowInterfaces {
    /// The level.
    pub level: Level,
    /// One interface (its configured name).
    pub name: Option<String>,
}

/// The options.
pub static OPTIONS: &[&[OptSpec]] = &[&[
    opt("terse", "Display terse output", Arg::Flag, 1),
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt("interface-name", "Name of physical interface", Arg::Name, 0),
]];

/// The command from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<ShowInterfaces, CliError> {
    let mut s = ShowInterfaces::default();
    for (spec, v, _) in opts {
        match (spec.word, v) {
            ("terse", _) => s.level = Level::Terse,
            ("extensive", _) => s.level = Level::Extensive,
            ("interface-name", Value::Name(n)) => s.name = Some(n),
            _ => {}
        }
    }
    Ok(s)
}

/// The request RPC.
#[must_use]
pub fn request(s: &ShowInterfaces) -> Elem {
    let mut e = Elem::new("get-interface-information");
    match s.level {
        Level::Terse => e.push(Elem::new("terse")),
        Level::Extensive => e.push(Elem::new("extensive")),
        Level::Standard => {}
    }
    if let Some(n) = &s.name {
        e.push(Elem::leaf("interface-name", n.as_str()));
    }
    e
}

fn up(s: &PortStatus) -> &'static str {
    match s.link_up {
        Some(true) | None => "up",
        Some(false) => "down",
    }
}

fn speed(mbps: u32) -> String {
    match mbps {
        0 => "Unspecified".to_string(),
        m if m >= 1000 && m % 1000 == 0 => format!("{}Gbps", m / 1000),
        m => format!("{m}mbps"),
    }
}

/// Runs the command.
///
/// # Errors
/// An unknown interface; the client went away.
pub fn show(ctx: &Context, s: &ShowInterfaces, out: &mut Out<'_>) -> Outcome {
    let ports = &ctx.config().ports;
    if let Some(n) = &s.name {
        if !ports.iter().any(|p| &p.name == n) {
            return Err(message(format!("error: device {n} not found")));
        }
    }
    let status: Vec<PortStatus> = ctx
        .control
        .port_status
        .0
        .as_ref()
        .map_or_else(Vec::new, |src| src.ports());
    let shown = ports
        .iter()
        .enumerate()
        .filter(|(_, p)| s.name.as_ref().is_none_or(|n| &p.name == n));
    if let Out::Tree(t) = out {
        t.open(&Elem::new("interface-information"))?;
    }
    if s.level == Level::Terse {
        if let Out::Text(w) = out {
            writeln!(
                w,
                "Interface               Admin Link Proto    Local                 Remote"
            )?;
        }
    }
    for (i, p) in shown {
        let st = status.get(i).cloned().unwrap_or_default();
        let name = p.name.trim_end_matches(".0");
        match out {
            Out::Text(w) => match s.level {
                Level::Terse => writeln!(w, "{name:<24}up    {:<4}", up(&st))?,
                _ => {
                    writeln!(
                        w,
                        "Physical interface: {name}, Enabled, Physical link is {}",
                        if up(&st) == "up" { "Up" } else { "Down" }
                    )?;
                    writeln!(
                        w,
                        "  Interface index: {}, Device: {}",
                        i + 1,
                        if st.device.is_empty() {
                            "pcap"
                        } else {
                            st.device.as_str()
                        }
                    )?;
                    writeln!(
                        w,
                        "  Link-level type: Ethernet, Speed: {}",
                        speed(st.speed_mbps)
                    )?;
                    if s.level == Level::Extensive {
                        match st.stats {
                            Some(c) => {
                                writeln!(w, "  Traffic statistics:")?;
                                writeln!(w, "   Input  bytes  : {:>20}", c.ibytes)?;
                                writeln!(w, "   Output bytes  : {:>20}", c.obytes)?;
                                writeln!(w, "   Input  packets: {:>20}", c.ipackets)?;
                                writeln!(w, "   Output packets: {:>20}", c.opackets)?;
                                writeln!(w, "  Input errors:")?;
                                writeln!(w, "    Errors: {}, Drops: {}", c.ierrors, c.imissed)?;
                                writeln!(w, "  Output errors:")?;
                                writeln!(w, "    Errors: {}", c.oerrors)?;
                            }
                            None => writeln!(
                                w,
                                "  Traffic statistics: not kept by this port backend (pcap)"
                            )?,
                        }
                    }
                }
            },
            Out::Tree(t) => {
                let mut e = Elem::new("physical-interface");
                e.push(Elem::leaf("name", name));
                e.push(Elem::leaf("admin-status", "up"));
                e.push(Elem::leaf("oper-status", up(&st)));
                e.push(Elem::leaf("local-index", i + 1));
                if s.level != Level::Terse {
                    e.push(Elem::leaf("link-level-type", "Ethernet"));
                    e.push(Elem::leaf("speed", speed(st.speed_mbps)));
                }
                if let (Level::Extensive, Some(c)) = (s.level, st.stats) {
                    let mut ts = Elem::new("traffic-statistics");
                    ts.push(Elem::leaf("input-bytes", c.ibytes));
                    ts.push(Elem::leaf("output-bytes", c.obytes));
                    ts.push(Elem::leaf("input-packets", c.ipackets));
                    ts.push(Elem::leaf("output-packets", c.opackets));
                    e.push(ts);
                    let mut ie = Elem::new("input-error-list");
                    ie.push(Elem::leaf("input-errors", c.ierrors));
                    ie.push(Elem::leaf("input-drops", c.imissed));
                    e.push(ie);
                    let mut oe = Elem::new("output-error-list");
                    oe.push(Elem::leaf("output-errors", c.oerrors));
                    e.push(oe);
                }
                t.elem(&e)?;
            }
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
