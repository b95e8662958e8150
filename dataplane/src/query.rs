//! Session queries: the filter a show or clear command carries to every worker, evaluated
//! where the sessions live so only matching sessions leave the worker.

use crate::flow::Endpoint;
use crate::session::{PortId, SessionView, WorkerId};
pub use svcard_config::Prefix;

/// Which sessions a query selects. Every field that is set must match; source and
/// destination are those of the initiator's direction, as Junos reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionFilter {
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// Initiator's source address within.
    pub source_prefix: Option<Prefix>,
    /// Initiator's destination address within.
    pub destination_prefix: Option<Prefix>,
    /// Initiator's source port.
    pub source_port: Option<u16>,
    /// Initiator's destination port.
    pub destination_port: Option<u16>,
    /// Exactly this session ID.
    pub session_id: Option<u32>,
    /// Service set index.
    pub service_set: Option<u16>,
    /// Application index (`u16::MAX` selects sessions without an application).
    pub application: Option<u16>,
    /// Ingress port of either direction.
    pub port: Option<PortId>,
    /// The VLAN the session's frames carry (an interface filter on a VLAN unit).
    pub vlan: Option<u16>,
    /// Only this worker's sessions (an interface filter on a member interface).
    pub worker: Option<WorkerId>,
    /// Only sessions that hold an endpoint-independent mapping (`clear services nat
    /// mappings`).
    pub eim_only: bool,
}

impl SessionFilter {
    /// True when the filter selects every session.
    #[must_use]
    pub fn is_all(&self) -> bool {
        *self == SessionFilter::default()
    }

    /// True when `v` is selected.
    #[must_use]
    pub fn matches(&self, v: &SessionView) -> bool {
        let dir = v.initiator_dir();
        let src: Endpoint = v.key.src(dir);
        let dst: Endpoint = v.key.dst(dir);
        if self.protocol.is_some_and(|p| p != v.key.proto) {
            return false;
        }
        if self.vlan.is_some_and(|vl| vl != v.key.vlan) {
            return false;
        }
        if self.source_prefix.is_some_and(|p| !p.contains(src.addr)) {
            return false;
        }
        if self
            .destination_prefix
            .is_some_and(|p| !p.contains(dst.addr))
        {
            return false;
        }
        if self.source_port.is_some_and(|p| p != src.port) {
            return false;
        }
        if self.destination_port.is_some_and(|p| p != dst.port) {
            return false;
        }
        if self.session_id.is_some_and(|id| id != v.id) {
            return false;
        }
        if self.service_set.is_some_and(|s| s != v.service_set) {
            return false;
        }
        if self.application.is_some_and(|a| a != v.application) {
            return false;
        }
        if self.port.is_some_and(|p| {
            v.flows[0].ingress_port != Some(p) && v.flows[1].ingress_port != Some(p)
        }) {
            return false;
        }
        if self.worker.is_some_and(|w| w != v.worker) {
            return false;
        }
        if self.eim_only && !v.nat.is_some_and(|n| n.eim) {
            return false;
        }
        true
    }
}
