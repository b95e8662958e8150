//! A session's `rte_flow` rules as plain data: per direction, the pattern (Ethernet, the
//! IP addresses and protocol, the ports; for TCP only segments without SYN, FIN or RST, so
//! state and close stay the worker's) and the actions the device supports: forward to the
//! peer port in hardware (transfer mode, the peer as represented port), drop, or, where only
//! classification can be offloaded, mark the packet with the session and deliver it to the
//! worker's queue (partial offload); `COUNT` and `AGE` where present. The DPDK module
//! (`port::dpdk::flow`) turns these into `rte_flow_item` / `rte_flow_action` arrays; here
//! they are built and tested without a device.

use super::backend::{Capabilities, Rule, RuleAction};
use super::state::FailReason;
use crate::flow::Direction;
use crate::wire::ip_proto;
use core::net::IpAddr;

/// TCP flags a rule requires clear: FIN, SYN, RST.
pub const TCP_CONTROL: u8 = 0x01 | 0x02 | 0x04;

/// One pattern item (exact match on every field given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowItem {
    /// Any Ethernet frame (untagged or tagged: the VLAN item follows when the session has
    /// one).
    Eth,
    /// An 802.1Q tag with this VLAN ID.
    Vlan {
        /// VLAN ID.
        vid: u16,
    },
    /// IPv4 source, destination and protocol.
    Ipv4 {
        /// Source.
        src: [u8; 4],
        /// Destination.
        dst: [u8; 4],
        /// Next protocol.
        proto: u8,
    },
    /// IPv6 source, destination and next header.
    Ipv6 {
        /// Source.
        src: [u8; 16],
        /// Destination.
        dst: [u8; 16],
        /// Next header.
        proto: u8,
    },
    /// TCP ports; `flags_clear` are flags the segment must not have (spec 0, this mask).
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Flags that must be clear.
        flags_clear: u8,
    },
    /// UDP ports.
    Udp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
}

/// One action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowAction {
    /// Send out of this port (config index; transfer mode, as a represented port).
    Forward {
        /// The egress port.
        port: u16,
    },
    /// Discard.
    Drop,
    /// Count packets and bytes (read with `rte_flow_query`).
    Count,
    /// Age out after this many idle seconds (an aged-flow event).
    Age {
        /// Seconds.
        timeout_s: u32,
    },
    /// Tag the packet with this value (the session ID) for the worker.
    Mark {
        /// The mark.
        id: u32,
    },
    /// Deliver to this RX queue (the owning worker's).
    Queue {
        /// Queue index.
        index: u16,
    },
}

/// How much of a session a device can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadKind {
    /// Forwarded in hardware.
    Full,
    /// Dropped in hardware.
    Drop,
    /// Classified in hardware (marked), forwarded by the worker.
    Partial,
}

/// One direction's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    /// The ingress port (config index).
    pub port: u16,
    /// Transfer mode (the switch domain: needed to forward to another port).
    pub transfer: bool,
    /// The pattern, outermost first.
    pub pattern: Vec<FlowItem>,
    /// The actions, in order.
    pub actions: Vec<FlowAction>,
}

/// The kind of offload a rule gets on a device with `caps`, if any.
#[must_use]
pub fn kind_for(action: RuleAction, caps: &Capabilities) -> Option<OffloadKind> {
    match action {
        RuleAction::Forward if caps.forward => Some(OffloadKind::Full),
        RuleAction::Drop if caps.drop => Some(OffloadKind::Drop),
        RuleAction::Forward | RuleAction::Drop if caps.mark => Some(OffloadKind::Partial),
        _ => None,
    }
}

/// The two rules (canonical A→B, then B→A) for `rule` on a device with `caps`; `queue` is
/// the owning worker's RX queue (partial offload delivers there), `idle_s` the session's
/// idle timeout (for `AGE`), `vlan` its VLAN ID if tagged.
///
/// # Errors
/// `Unsupported` when the device can offload nothing of the rule, or a direction's ports
/// are unknown.
pub fn specs(
    rule: &Rule,
    caps: &Capabilities,
    queue: u16,
    idle_s: u32,
    vlan: Option<u16>,
) -> Result<[FlowSpec; 2], FailReason> {
    let kind = kind_for(rule.action, caps).ok_or(FailReason::Unsupported)?;
    let one = |dir: Direction| -> Result<FlowSpec, FailReason> {
        let d = dir.index() & 1;
        let port = rule.ingress[d];
        if port == u16::MAX {
            return Err(FailReason::Unsupported);
        }
        let k = &rule.key;
        let (src, dst) = (k.src(dir), k.dst(dir));
        let mut pattern = vec![FlowItem::Eth];
        if let Some(vid) = vlan {
            pattern.push(FlowItem::Vlan { vid });
        }
        pattern.push(match (src.addr, dst.addr) {
            (IpAddr::V4(s), IpAddr::V4(d)) => FlowItem::Ipv4 {
                src: s.octets(),
                dst: d.octets(),
                proto: k.proto,
            },
            (s, d) => FlowItem::Ipv6 {
                src: v6(s),
                dst: v6(d),
                proto: k.proto,
            },
        });
        match k.proto {
            ip_proto::TCP => pattern.push(FlowItem::Tcp {
                src: src.port,
                dst: dst.port,
                flags_clear: TCP_CONTROL,
            }),
            ip_proto::UDP => pattern.push(FlowItem::Udp {
                src: src.port,
                dst: dst.port,
            }),
            // A session keyed by an SPI (ESP, AH) or a PPTP call ID (GRE) shares its
            // addresses with the peers' other SAs and calls: a rule on addresses would take
            // their packets too, and count them as this session's.
            ip_proto::ESP | ip_proto::AH | ip_proto::GRE if k.port_a != 0 || k.port_b != 0 => {
                return Err(FailReason::Unsupported);
            }
            _ => {}
        }
        let mut actions = Vec::new();
        // A partial rule's packets all reach the worker, which counts them and keeps their
        // idle timer: hardware counters or aging would count them twice.
        if kind != OffloadKind::Partial {
            if caps.count {
                actions.push(FlowAction::Count);
            }
            if caps.age && idle_s > 0 {
                actions.push(FlowAction::Age { timeout_s: idle_s });
            }
        }
        let transfer = match kind {
            OffloadKind::Full => {
                actions.push(FlowAction::Forward {
                    port: rule.egress[d],
                });
                true
            }
            OffloadKind::Drop => {
                actions.push(FlowAction::Drop);
                false
            }
            OffloadKind::Partial => {
                actions.push(FlowAction::Mark { id: rule.session });
                actions.push(FlowAction::Queue { index: queue });
                false
            }
        };
        Ok(FlowSpec {
            port,
            transfer,
            pattern,
            actions,
        })
    };
    Ok([one(Direction::AtoB)?, one(Direction::BtoA)?])
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Family, FlowKey};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rule(proto: u8, action: RuleAction, client: &str, server: &str) -> Rule {
        let (c, s) = (ip(client), ip(server));
        let fam = if c.is_ipv6() { Family::V6 } else { Family::V4 };
        let slot = |a: IpAddr| match a {
            IpAddr::V4(v) => {
                let mut x = [0u8; 16];
                x[..4].copy_from_slice(&v.octets());
                x
            }
            IpAddr::V6(v) => v.octets(),
        };
        let (key, dir) = FlowKey::from_packet(fam, proto, slot(c), 40000, slot(s), 443);
        let d = dir.index() & 1;
        let mut ingress = [0u16; 2];
        ingress[d] = 0;
        ingress[1 - d] = 1;
        Rule {
            session: 33_554_433,
            key,
            initiator: dir,
            ingress,
            egress: [ingress[1], ingress[0]],
            action,
            idle_s: 60,
        }
    }

    fn caps(forward: bool, drop: bool, mark: bool) -> Capabilities {
        Capabilities {
            forward,
            drop,
            count: true,
            age: false,
            mark,
            capacity: 1000,
        }
    }

    #[test]
    fn full_offload_forwards_each_direction_to_its_peer_without_tcp_control_segments() {
        let r = rule(ip_proto::TCP, RuleAction::Forward, "10.0.0.1", "192.0.2.9");
        let [a, b] = specs(&r, &caps(true, true, false), 0, 300, None).unwrap();
        let ini = r.initiator.index() & 1;
        let (out, back) = if ini == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(out.port, 0);
        assert_eq!(back.port, 1);
        assert!(out.transfer && back.transfer);
        assert_eq!(
            out.pattern,
            vec![
                FlowItem::Eth,
                FlowItem::Ipv4 {
                    src: [10, 0, 0, 1],
                    dst: [192, 0, 2, 9],
                    proto: 6
                },
                FlowItem::Tcp {
                    src: 40000,
                    dst: 443,
                    flags_clear: TCP_CONTROL
                },
            ]
        );
        assert_eq!(
            back.pattern[1],
            FlowItem::Ipv4 {
                src: [192, 0, 2, 9],
                dst: [10, 0, 0, 1],
                proto: 6
            }
        );
        assert_eq!(
            back.pattern[2],
            FlowItem::Tcp {
                src: 443,
                dst: 40000,
                flags_clear: TCP_CONTROL
            }
        );
        assert_eq!(
            out.actions,
            vec![FlowAction::Count, FlowAction::Forward { port: 1 }]
        );
        assert_eq!(
            back.actions,
            vec![FlowAction::Count, FlowAction::Forward { port: 0 }]
        );
    }

    #[test]
    fn drop_partial_vlan_age_and_ipv6() {
        let r = rule(
            ip_proto::UDP,
            RuleAction::Drop,
            "2001:db8::1",
            "2001:db8::2",
        );
        let mut c = caps(false, true, true);
        c.age = true;
        let [a, _] = specs(&r, &c, 3, 60, Some(100)).unwrap();
        assert!(!a.transfer);
        assert_eq!(a.pattern[1], FlowItem::Vlan { vid: 100 });
        assert!(matches!(a.pattern[2], FlowItem::Ipv6 { proto: 17, .. }));
        assert!(matches!(a.pattern[3], FlowItem::Udp { .. }));
        assert_eq!(
            a.actions,
            vec![
                FlowAction::Count,
                FlowAction::Age { timeout_s: 60 },
                FlowAction::Drop
            ]
        );
        // A forward rule on a device that can only classify: mark and deliver to the
        // worker's queue, without COUNT or AGE even where the device has them (the worker
        // sees, counts and times every packet of a partial rule: they would count twice).
        let r = rule(ip_proto::UDP, RuleAction::Forward, "10.0.0.1", "192.0.2.9");
        let mut c = caps(false, true, true);
        c.age = true;
        assert_eq!(kind_for(r.action, &c), Some(OffloadKind::Partial));
        let [a, b] = specs(&r, &c, 3, 60, None).unwrap();
        for s in [&a, &b] {
            assert_eq!(
                s.actions,
                vec![
                    FlowAction::Mark { id: 33_554_433 },
                    FlowAction::Queue { index: 3 }
                ]
            );
            assert!(!s.transfer);
        }
        // Nothing offloadable: unsupported.
        assert_eq!(
            specs(&r, &Capabilities::default(), 0, 60, None),
            Err(FailReason::Unsupported)
        );
        // Another protocol (GRE without a call ID): addresses and protocol only.
        let mut r = rule(ip_proto::GRE, RuleAction::Forward, "10.0.0.1", "192.0.2.9");
        (r.key.port_a, r.key.port_b) = (0, 0);
        let [a, _] = specs(&r, &caps(true, false, false), 0, 60, None).unwrap();
        assert_eq!(a.pattern.len(), 2);
        // A PPTP call's GRE (keyed by its call ID) or an ESP SA (by its SPI) is not: a rule
        // on the addresses would take the peers' other calls and SAs.
        for proto in [ip_proto::GRE, ip_proto::ESP] {
            let mut r = rule(proto, RuleAction::Forward, "10.0.0.1", "192.0.2.9");
            r.key.port_b = 0x4001;
            assert_eq!(
                specs(&r, &caps(true, false, false), 0, 60, None),
                Err(FailReason::Unsupported)
            );
        }
    }
}
