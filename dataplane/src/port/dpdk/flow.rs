//! The `rte_flow` offload backend: each port's flow support probed at start with
//! `rte_flow_validate` (forward to the peer in transfer mode, drop, count, age, mark), and a
//! session's two rules ([`crate::offload::flow_spec`]) created, counted and destroyed on the
//! ports' devices. The rule arrays themselves are filled by the C shim (`shim/flow.c`),
//! against the installed headers.
//!
//! A device without a flow API (`net_null`, `net_pcap`, `net_af_packet`) reports nothing
//! supported: every request is refused as unsupported and its session stays in software.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::raw::c_char;

use crate::offload::backend::{Capabilities, HwCounters, Installed, OffloadBackend, Rule};
use crate::offload::flow_spec::{self, FlowAction, FlowItem, FlowSpec, OffloadKind};
use crate::offload::state::FailReason;
use crate::session::split_session_id;
use svcard_config::QueueId;

/// A created rule (owned: destroyed by [`RteFlowBackend::remove`] or on drop).
struct Flow {
    port_id: u16,
    ptr: *mut dpdk_sys::rte_flow,
}

// SAFETY: an rte_flow handle is an opaque token the PMD hands back to whichever thread
// calls rte_flow_destroy/query for the port; the backend lives on the control core only
// and never shares a handle between threads.
unsafe impl Send for Flow {}

fn message(msg: *const c_char) -> String {
    if msg.is_null() {
        return String::new();
    }
    // SAFETY: a non-null rte_flow_error message is a NUL-terminated static string of the
    // PMD (rte_flow.h: "human-readable error message").
    unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned()
}

/// The flat descriptor of one direction's rule; `ports` maps config port indices to ethdev
/// port IDs.
fn desc(spec: &FlowSpec, ports: &[u16]) -> dpdk_sys::svcard_flow_desc {
    let mut d = dpdk_sys::svcard_flow_desc {
        transfer: u8::from(spec.transfer),
        family: 4,
        ..Default::default()
    };
    for item in &spec.pattern {
        match *item {
            FlowItem::Eth => {}
            FlowItem::Vlan { vid } => {
                d.has_vlan = 1;
                d.vid = vid;
            }
            FlowItem::Ipv4 { src, dst, proto } => {
                d.src[..4].copy_from_slice(&src);
                d.dst[..4].copy_from_slice(&dst);
                d.proto = proto;
            }
            FlowItem::Ipv6 { src, dst, proto } => {
                d.family = 6;
                d.src = src;
                d.dst = dst;
                d.proto = proto;
            }
            FlowItem::Tcp {
                src,
                dst,
                flags_clear,
            } => {
                d.sport = src;
                d.dport = dst;
                d.tcp_flags_clear = flags_clear;
            }
            FlowItem::Udp { src, dst } => {
                d.sport = src;
                d.dport = dst;
            }
        }
    }
    for action in &spec.actions {
        match *action {
            FlowAction::Count => d.count = 1,
            FlowAction::Age { timeout_s } => d.age_s = timeout_s,
            FlowAction::Forward { port } => {
                d.fate = 1;
                d.fwd_port = ports.get(usize::from(port)).copied().unwrap_or(u16::MAX);
            }
            FlowAction::Drop => d.fate = 2,
            FlowAction::Mark { id } => {
                d.fate = 3;
                d.mark = id;
            }
            FlowAction::Queue { index } => d.queue = index,
        }
    }
    d
}

fn validate(port_id: u16, d: &dpdk_sys::svcard_flow_desc) -> Result<(), (i32, String)> {
    let mut msg: *const c_char = core::ptr::null();
    // SAFETY: `d` and `msg` are valid for the call; the shim only reads `d` and writes the
    // PMD's static message pointer into `msg`.
    let rc = unsafe { dpdk_sys::svcard_flow_validate(port_id, d, &mut msg) };
    if rc == 0 {
        Ok(())
    } else {
        Err((rc, message(msg)))
    }
}

/// What one port supports, and why not where it does not (the PMD's first refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFlowSupport {
    /// The ethdev port ID.
    pub port_id: u16,
    /// What validated.
    pub caps: Capabilities,
    /// The PMD's answer to the first refused probe (empty when everything validated).
    pub refusal: String,
}

impl PortFlowSupport {
    /// One start-up line: `NAME: rte_flow: forward, drop, count` or why nothing.
    #[must_use]
    pub fn describe(&self, name: &str) -> String {
        if self.caps == Capabilities::default() {
            let why = if self.refusal.is_empty() {
                String::new()
            } else {
                format!(": {}", self.refusal)
            };
            format!("{name}: rte_flow: no flow offload{why}; its sessions stay in software")
        } else {
            format!("{name}: rte_flow: {}", self.caps.describe())
        }
    }
}

/// Probes `port_id` (whose peer is `peer_id`) with one sample rule per capability;
/// `rx_marks`: its received mbufs carry marks (without, a `MARK` rule would be useless).
#[must_use]
pub fn probe(port_id: u16, peer_id: u16, rx_marks: bool) -> PortFlowSupport {
    let sample = |fate: u8| dpdk_sys::svcard_flow_desc {
        family: 4,
        proto: 17,
        src: [192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        dst: [192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        sport: 1,
        dport: 2,
        fate,
        fwd_port: peer_id,
        ..Default::default()
    };
    let mut refusal = String::new();
    let mut ok = |d: dpdk_sys::svcard_flow_desc| match validate(port_id, &d) {
        Ok(()) => true,
        Err((rc, msg)) => {
            if refusal.is_empty() {
                refusal = format!("{} ({rc})", if msg.is_empty() { "refused" } else { &msg });
            }
            false
        }
    };
    let forward = ok(dpdk_sys::svcard_flow_desc {
        transfer: 1,
        ..sample(1)
    });
    let drop = ok(sample(2));
    let mark = rx_marks && ok(sample(3));
    let count = ok(dpdk_sys::svcard_flow_desc {
        count: 1,
        ..sample(2)
    });
    let age = ok(dpdk_sys::svcard_flow_desc {
        age_s: 10,
        ..sample(2)
    });
    PortFlowSupport {
        port_id,
        caps: Capabilities {
            forward,
            drop,
            count,
            age,
            mark,
            // rte_flow has no capacity query: the device refuses when full (counted as
            // table-full).
            capacity: if forward || drop || mark { u32::MAX } else { 0 },
        },
        refusal,
    }
}

/// The backend over the configured ports.
pub struct RteFlowBackend {
    /// Ethdev port ID of each configured port.
    ports: Vec<u16>,
    /// What each configured port supports.
    support: Vec<PortFlowSupport>,
    /// Idle timeout given to `AGE` when a rule has none, seconds.
    idle_s: u32,
    rules: HashMap<u32, [Flow; 2]>,
    /// Rules one of whose directions aged out: the bit of each direction seen aged.
    aging: HashMap<u32, u8>,
    next: u32,
}

/// The `AGE` context of direction `dir` (0, 1) of rule `id`: never 0 (a null context).
fn age_context(id: u32, dir: usize) -> u64 {
    ((u64::from(id) << 1) | (dir as u64 & 1)) + 1
}

/// The rule and direction of an `AGE` context.
fn of_age_context(ctx: u64) -> Option<(u32, usize)> {
    let v = ctx.checked_sub(1)?;
    Some((u32::try_from(v >> 1).ok()?, (v & 1) as usize))
}

impl core::fmt::Debug for RteFlowBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RteFlowBackend")
            .field("ports", &self.ports)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl RteFlowBackend {
    /// Probes every port (`ports[i]` is config port `i`'s ethdev ID, `peers[i]` its peer's
    /// config index, `rx_marks[i]` whether its mbufs carry marks); `idle_s` is the idle
    /// timeout `AGE` rules get.
    #[must_use]
    pub fn new(ports: Vec<u16>, peers: &[usize], rx_marks: &[bool], idle_s: u32) -> RteFlowBackend {
        let support = ports
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let peer = peers
                    .get(i)
                    .and_then(|&p| ports.get(p))
                    .copied()
                    .unwrap_or(id);
                probe(id, peer, rx_marks.get(i).copied().unwrap_or(false))
            })
            .collect();
        RteFlowBackend {
            ports,
            support,
            idle_s,
            rules: HashMap::new(),
            aging: HashMap::new(),
            next: 0,
        }
    }

    /// What each port supports.
    #[must_use]
    pub fn support(&self) -> &[PortFlowSupport] {
        &self.support
    }

    fn caps_of(&self, port: u16) -> Capabilities {
        self.support
            .get(usize::from(port))
            .map(|s| s.caps)
            .unwrap_or_default()
    }

    fn destroy(flow: &Flow) {
        // SAFETY: `ptr` came from svcard_flow_create on `port_id` and is destroyed once
        // (its owner is consumed or dropped).
        let _ = unsafe { dpdk_sys::svcard_flow_destroy(flow.port_id, flow.ptr) };
    }

    fn query(flow: &Flow) -> (u64, u64) {
        let (mut hits, mut bytes) = (0u64, 0u64);
        // SAFETY: a live rule of `port_id`; the shim writes the two counters.
        let rc = unsafe {
            dpdk_sys::svcard_flow_query_count(flow.port_id, flow.ptr, &mut hits, &mut bytes)
        };
        if rc == 0 {
            (hits, bytes)
        } else {
            (0, 0)
        }
    }

    fn read(flows: &[Flow; 2]) -> HwCounters {
        let (a, b) = (Self::query(&flows[0]), Self::query(&flows[1]));
        HwCounters {
            packets: [a.0, b.0],
            bytes: [a.1, b.1],
        }
    }
}

/// What a refused `rte_flow_create` means for the manager.
fn reason_of(errno: i32) -> FailReason {
    match -errno {
        libc::ENOSPC | libc::ENOMEM => FailReason::TableFull,
        libc::ENOTSUP | libc::ENOSYS => FailReason::Unsupported,
        libc::EAGAIN | libc::EBUSY => FailReason::RateExceeded,
        _ => FailReason::Refused,
    }
}

impl OffloadBackend for RteFlowBackend {
    fn name(&self) -> &'static str {
        "rte-flow"
    }

    fn capabilities(&self) -> Capabilities {
        // What every port supports.
        let mut c = self.support.first().map(|s| s.caps).unwrap_or_default();
        for s in &self.support {
            c.forward &= s.caps.forward;
            c.drop &= s.caps.drop;
            c.count &= s.caps.count;
            c.age &= s.caps.age;
            c.mark &= s.caps.mark;
            c.capacity = c.capacity.min(s.caps.capacity);
        }
        c
    }

    fn insert(&mut self, rule: &Rule, now_us: u64) -> Result<Installed, FailReason> {
        let (a, b) = (self.caps_of(rule.ingress[0]), self.caps_of(rule.ingress[1]));
        let caps = Capabilities {
            forward: a.forward && b.forward,
            drop: a.drop && b.drop,
            count: a.count && b.count,
            age: a.age && b.age,
            mark: a.mark && b.mark,
            capacity: a.capacity.min(b.capacity),
        };
        let queue = split_session_id(rule.session).map_or(0, |(w, _)| QueueId::of_worker(w).0);
        let partial = flow_spec::kind_for(rule.action, &caps) == Some(OffloadKind::Partial);
        let idle = if rule.idle_s > 0 {
            rule.idle_s
        } else {
            self.idle_s
        };
        // A tagged session's rules match its VLAN (the key carries it).
        let vlan = (rule.key.vlan != 0).then_some(rule.key.vlan);
        let specs = flow_spec::specs(rule, &caps, queue, idle, vlan)?;
        let id = self.next;
        let mut made: Vec<Flow> = Vec::with_capacity(2);
        for (dir, spec) in specs.iter().enumerate() {
            let Some(&port_id) = self.ports.get(usize::from(spec.port)) else {
                made.iter().for_each(Self::destroy);
                return Err(FailReason::Unsupported);
            };
            let mut d = desc(spec, &self.ports);
            if d.age_s > 0 {
                d.age_context = age_context(id, dir);
            }
            let (mut err, mut msg) = (0i32, core::ptr::null::<c_char>());
            // SAFETY: `d`, `err` and `msg` are valid for the call; the shim builds the rule
            // arrays on its stack and rte_flow_create copies what it keeps.
            let ptr = unsafe { dpdk_sys::svcard_flow_create(port_id, &d, &mut err, &mut msg) };
            if ptr.is_null() {
                made.iter().for_each(Self::destroy);
                return Err(reason_of(err));
            }
            made.push(Flow { port_id, ptr });
        }
        let (Some(second), Some(first)) = (made.pop(), made.pop()) else {
            return Err(FailReason::Refused);
        };
        self.next = self.next.wrapping_add(1);
        self.rules.insert(id, [first, second]);
        Ok(Installed {
            id,
            active_at_us: now_us,
            partial,
        })
    }

    fn remove(&mut self, id: u32, _now_us: u64) -> HwCounters {
        self.aging.remove(&id);
        let Some(flows) = self.rules.remove(&id) else {
            return HwCounters::default();
        };
        let last = Self::read(&flows);
        flows.iter().for_each(Self::destroy);
        last
    }

    fn counters(&self, id: u32) -> HwCounters {
        self.rules.get(&id).map(Self::read).unwrap_or_default()
    }

    fn occupancy(&self) -> u32 {
        u32::try_from(self.rules.len() * 2).unwrap_or(u32::MAX)
    }

    fn aged(&mut self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut ids = [0u64; 256];
        for s in &self.support {
            if !s.caps.age {
                continue;
            }
            loop {
                // SAFETY: `ids` holds 256 entries and the shim writes at most that many.
                let n = unsafe { dpdk_sys::svcard_flow_aged(s.port_id, ids.as_mut_ptr(), 256) };
                let Ok(n) = usize::try_from(n) else { break };
                for &ctx in ids.iter().take(n) {
                    let Some((rule, dir)) = of_age_context(ctx) else {
                        continue;
                    };
                    if !self.rules.contains_key(&rule) {
                        continue;
                    }
                    let bits = self.aging.entry(rule).or_insert(0);
                    *bits |= 1 << dir;
                    if *bits == 0b11 {
                        out.push(rule);
                    }
                }
                if n < ids.len() {
                    break;
                }
            }
        }
        out
    }
}

impl Drop for RteFlowBackend {
    fn drop(&mut self) {
        for flows in self.rules.values() {
            flows.iter().for_each(Self::destroy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offload::flow_spec::TCP_CONTROL;

    #[test]
    fn descriptors_carry_the_spec() {
        let spec = FlowSpec {
            port: 0,
            transfer: true,
            pattern: vec![
                FlowItem::Eth,
                FlowItem::Vlan { vid: 7 },
                FlowItem::Ipv4 {
                    src: [10, 0, 0, 1],
                    dst: [10, 0, 0, 2],
                    proto: 6,
                },
                FlowItem::Tcp {
                    src: 1000,
                    dst: 80,
                    flags_clear: TCP_CONTROL,
                },
            ],
            actions: vec![FlowAction::Count, FlowAction::Forward { port: 1 }],
        };
        let d = desc(&spec, &[5, 9]);
        assert_eq!((d.transfer, d.family, d.proto), (1, 4, 6));
        assert_eq!((d.has_vlan, d.vid), (1, 7));
        assert_eq!(&d.src[..4], &[10, 0, 0, 1]);
        assert_eq!((d.sport, d.dport, d.tcp_flags_clear), (1000, 80, 0x07));
        assert_eq!(
            (d.count, d.fate, d.fwd_port),
            (1, 1, 9),
            "config port 1 is ethdev 9"
        );
        for (id, dir) in [(0, 0), (0, 1), (7, 1), (u32::MAX, 0)] {
            let ctx = age_context(id, dir);
            assert_ne!(ctx, 0, "a null AGE context would be no context");
            assert_eq!(of_age_context(ctx), Some((id, dir)));
        }
        assert_eq!(of_age_context(0), None);
        assert_eq!(reason_of(-libc::ENOSPC), FailReason::TableFull);
        assert_eq!(reason_of(-libc::ENOSYS), FailReason::Unsupported);
        assert_eq!(reason_of(-libc::EINVAL), FailReason::Refused);
    }
}
