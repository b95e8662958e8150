//! `show services nat pool [brief | detail]`: each NAT pool a service set's rules use, per
//! member interface (worker), with its figures.
//!
//! The XML follows a Junos 16.1R3 reply of `show services nat pool detail` kept in
//! Juniper's own test data (`service-nat-pool-information`, `sfw-per-service-set-nat-pool`,
//! `service-nat-pool`, `pool-port-range`, `pool-ports-in-use`, …; sources in
//! docs/show-commands.md). The text of `detail` follows a published MS-MPC sample for its
//! first lines (`Interface: …, Service set: …`, `NAT pool: …, Translation type: …`,
//! `Address range: …`); the NAPT port line is svcard's, from the XML's names. The brief
//! table's columns follow the fields a published parser of `show services nat pool brief`
//! reads (pool, type, address range, port range, ports used).
//!
//! ```text
//! Interface: mams-0/0/0, Service set: ss1
//! NAT pool: public, Translation type: NAPT-44
//! Address range: 198.51.100.7-198.51.100.7
//! Port range: 1024-65535, Ports in use: 3, Out of port errors: 1, Max ports used: 3
//! ```

use core::fmt::{self, Write};

use super::model::Elem;

/// One pool of one service set on one member interface.
#[derive(Debug, Clone)]
pub struct PoolRow<'a> {
    /// Member interface (`mams-0/0/0`).
    pub interface: &'a str,
    /// Service set.
    pub service_set: &'a str,
    /// Pool name.
    pub pool: &'a str,
    /// `NAPT-44`.
    pub translation: &'a str,
    /// Address ranges (`first-last`).
    pub ranges: Vec<String>,
    /// `low-high`.
    pub port_range: String,
    /// Ports in use.
    pub in_use: u64,
    /// Refused for want of a port.
    pub out_of_port: u64,
    /// Most in use at once.
    pub max_in_use: u64,
    /// Live sessions in to its endpoint-independent mappings.
    pub eif_inbound: u64,
}

/// The level asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolLevel {
    /// The table (none, `brief`).
    Brief,
    /// `detail`.
    Detail,
}

/// The brief table's header.
pub const BRIEF_HEADER: &str =
    "NAT pool                 Type     Address                           Port          Ports used";

/// Writes the section header of a (member interface, service set).
///
/// # Errors
/// The writer failed.
pub fn text_header(w: &mut dyn Write, interface: &str, service_set: &str) -> fmt::Result {
    writeln!(w, "Interface: {interface}, Service set: {service_set}")
}

/// Writes one pool.
///
/// # Errors
/// The writer failed.
pub fn text(w: &mut dyn Write, r: &PoolRow<'_>, level: PoolLevel) -> fmt::Result {
    match level {
        PoolLevel::Brief => {
            let range = r.ranges.first().map_or("", String::as_str);
            writeln!(
                w,
                "{:<24} {:<8} {:<33} {:<13} {}",
                r.pool, r.translation, range, r.port_range, r.in_use
            )?;
            for more in r.ranges.iter().skip(1) {
                writeln!(w, "{:<24} {:<8} {more}", "", "")?;
            }
            Ok(())
        }
        PoolLevel::Detail => {
            writeln!(
                w,
                "NAT pool: {}, Translation type: {}",
                r.pool, r.translation
            )?;
            for a in &r.ranges {
                writeln!(w, "Address range: {a}")?;
            }
            writeln!(
                w,
                "Port range: {}, Ports in use: {}, Out of port errors: {}, Max ports used: {}",
                r.port_range, r.in_use, r.out_of_port, r.max_in_use
            )?;
            writeln!(w, "EIF inbound sessions: {}", r.eif_inbound)
        }
    }
}

/// The element of one pool (`service-nat-pool`).
#[must_use]
pub fn elem(r: &PoolRow<'_>) -> Elem {
    let mut p = Elem::new("service-nat-pool");
    p.push(Elem::leaf("pool-name", r.pool));
    p.push(Elem::leaf("translation-type", r.translation));
    let mut list = Elem::new("pool-address-range-list");
    for a in &r.ranges {
        list.push(Elem::leaf("pool-address-range", a));
    }
    p.push(list);
    p.push(Elem::leaf("pool-configured-port-range", &r.port_range));
    p.push(Elem::leaf("pool-port-range", &r.port_range));
    p.push(Elem::leaf("pool-ports-in-use", r.in_use));
    p.push(Elem::leaf("pool-out-of-port-errors", r.out_of_port));
    p.push(Elem::leaf("pool-parity-port-errors", 0));
    p.push(Elem::leaf("pool-preserve-range-errors", 0));
    p.push(Elem::leaf("pool-max-ports-in-use", r.max_in_use));
    p.push(Elem::leaf("eif-inbound-session-count", r.eif_inbound));
    p.push(Elem::leaf("eif-inbound-session-limit-exceed-drop", 0));
    p
}

/// The element of a (member interface, service set) and its pools.
#[must_use]
pub fn section_elem(
    interface: &str,
    service_set: &str,
    pools: Vec<Elem>,
    level: PoolLevel,
) -> Elem {
    let style = match level {
        PoolLevel::Brief => "brief",
        PoolLevel::Detail => "detail",
    };
    let mut e = Elem::new("sfw-per-service-set-nat-pool").attr("junos:style", style);
    e.push(Elem::leaf("interface-name", interface));
    e.push(Elem::leaf("service-set-name", service_set));
    for p in pools {
        e.push(p);
    }
    e
}
