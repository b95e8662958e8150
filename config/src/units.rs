//! VLAN units: a port's 802.1Q VLANs as logical interfaces with Junos names
//! (`ge-0/0/0.100` for VLAN 100 of port `ge-0/0/0.0`), each able to belong to a service set
//! of its own. A port lists them as `vlan-units = [100, 200]` (the unit number is the VLAN
//! ID); a service set names them in `ports` like a port. Tagged traffic on a VLAN without a
//! unit belongs to the port (and its service set), as untagged traffic does.

use crate::{Config, NONE};

/// One VLAN unit of a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanUnit {
    /// The VLAN ID (1-4094), also the unit number.
    pub vlan: u16,
    /// The unit's interface name (`ge-0/0/0.100`).
    pub name: String,
}

/// The name of VLAN `vlan`'s unit of port `port_name` (`ge-0/0/0.0` → `ge-0/0/0.100`).
#[must_use]
pub fn unit_name(port_name: &str, vlan: u16) -> String {
    let ifd = port_name.rsplit_once('.').map_or(port_name, |(d, _)| d);
    format!("{ifd}.{vlan}")
}

impl Config {
    /// The service set of traffic arriving on `port` with VLAN `vlan` (0: untagged): its
    /// unit's, else the port's ([`NONE`] when none).
    #[must_use]
    pub fn interface_service_set(&self, port: usize, vlan: u16) -> u16 {
        if vlan != 0 {
            if let Some(u) = self.unit_position(port, vlan) {
                return self
                    .unit_ss
                    .get(port)
                    .and_then(|v| v.get(u))
                    .copied()
                    .unwrap_or(NONE);
            }
        }
        self.port_service_set(port)
    }

    /// The name of VLAN `vlan`'s unit of `port`, if it has one.
    #[must_use]
    pub fn unit_name(&self, port: usize, vlan: u16) -> Option<&str> {
        let u = self.unit_position(port, vlan)?;
        Some(self.ports.get(port)?.units.get(u)?.name.as_str())
    }

    /// The (port, VLAN) of the unit named `name`.
    #[must_use]
    pub fn unit_index(&self, name: &str) -> Option<(usize, u16)> {
        self.ports.iter().enumerate().find_map(|(p, port)| {
            port.units
                .iter()
                .find(|u| u.name == name)
                .map(|u| (p, u.vlan))
        })
    }

    fn unit_position(&self, port: usize, vlan: u16) -> Option<usize> {
        self.ports
            .get(port)?
            .units
            .iter()
            .position(|u| u.vlan == vlan)
    }
}
