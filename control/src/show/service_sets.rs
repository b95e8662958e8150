//! The layout of `show services service-sets statistics packet-drops`: per member interface
//! and service set, the packets dropped because the service set met a limit. Columns after
//! the Junos layout (CPU limit, memory limit and flow limit drops); XML as Juniper names
//! it (`service-set-packet-drop-statistics` with `interface-name`, `service-set-name`,
//! `cpulimit-drops`, `memlimit-drops`, `flowlimit-drops`). See docs/show-commands.md.

use std::fmt::{self, Write};

use super::model::Elem;

/// One service set's drops on one member interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketDrops {
    /// The member interface.
    pub interface: String,
    /// The service set.
    pub service_set: String,
    /// Dropped because the card's CPU was over its limit (svcard has no such limit: 0).
    pub cpu_limit: u64,
    /// Dropped because the service set was over its memory limit (none in svcard: 0).
    pub memory_limit: u64,
    /// New flows dropped at the service set's session limit or setup rate.
    pub flow_limit: u64,
}

/// Writes the header.
///
/// # Errors
/// The writer failed.
pub fn header(w: &mut dyn Write) -> fmt::Result {
    writeln!(
        w,
        "{:<14} {:<22} {:>9} {:>12} {:>10}",
        "", "", "CPU limit", "Memory limit", "Flow limit"
    )?;
    writeln!(
        w,
        "{:<14} {:<22} {:>9} {:>12} {:>10}",
        "Interface", "Service Set", "Drops", "Drops", "Drops"
    )
}

impl PacketDrops {
    /// Writes the row.
    ///
    /// # Errors
    /// The writer failed.
    pub fn row(&self, w: &mut dyn Write) -> fmt::Result {
        writeln!(
            w,
            "{:<14} {:<22} {:>9} {:>12} {:>10}",
            self.interface, self.service_set, self.cpu_limit, self.memory_limit, self.flow_limit
        )
    }

    /// The element.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("service-set-packet-drop-statistics");
        e.push(Elem::leaf("interface-name", &self.interface));
        e.push(Elem::leaf("service-set-name", &self.service_set));
        e.push(Elem::leaf("cpulimit-drops", self.cpu_limit));
        e.push(Elem::leaf("memlimit-drops", self.memory_limit));
        e.push(Elem::leaf("flowlimit-drops", self.flow_limit));
        e
    }
}
