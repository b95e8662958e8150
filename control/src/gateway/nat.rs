//! The ALGs through source NAT, on the control core.
//!
//! A translated session's ALG sees the private side's endpoints, as without NAT (the
//! worker hands the packet off translated, with the private endpoint beside it). What the
//! private side announces in its payload for the other end to connect back to (an active
//! FTP `PORT` / `EPRT`) is rewritten here:
//!
//! * the public endpoint comes from the pool's **ALG ports** (`alg-ports`, the top of the
//!   pool's port range, which the workers never hand out), chosen so that the child's two
//!   tuples, (remote, public) and (remote, private), hash to one worker under symmetric RSS
//!   whatever the remote's address and port ([`Steering::pair_class`]);
//! * the pinhole the workers get is for the public endpoint, with the private one beside it
//!   ([`PinholeNat`]): the child's session is keyed to the private endpoint and translated;
//! * the payload text is replaced by the public endpoint's, in the ALG's own notation;
//!   when the length changes, the TCP sequence numbers of the rest of that direction and
//!   the acknowledgements (and SACK blocks) of the other are shifted for the rest of the
//!   connection ([`SeqAdj`], as netfilter's `nf_conntrack_seqadj` does); a retransmission
//!   of a rewritten segment is rewritten again the same way.
//!
//! The ALG port goes back to the pool when its pinhole lapses unused or its child session
//! closes. No lock: only the control core's thread touches any of it.

use std::collections::HashMap;

use core::net::{IpAddr, Ipv4Addr};

use svcard_alg::{RewriteKind, Side};
use svcard_config::Config;
use svcard_dataplane::flow::FlowKey;
use svcard_dataplane::handoff::HandoffNat;
use svcard_dataplane::nat::Steering;

/// Rewrites remembered per conversation (for retransmissions).
const REMEMBERED: usize = 8;

/// `a` after `b` in sequence space.
fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// One direction's sequence adjustment: data sent after `pos` (the start of the last
/// segment whose length a rewrite changed) is shifted by `after`, data before by `before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqAdj {
    pos: u32,
    before: u32,
    after: u32,
}

impl SeqAdj {
    /// True when nothing is shifted.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.before == 0 && self.after == 0
    }

    /// A rewrite in the segment starting at `seq` changed its length by `diff`.
    pub fn record(&mut self, seq: u32, diff: i32) {
        if self.before == self.after || seq_after(seq, self.pos) {
            self.pos = seq;
            self.before = self.after;
        }
        self.after = self.after.wrapping_add(diff as u32);
    }

    /// The shift of this direction's segment starting at `seq`.
    #[must_use]
    pub fn seq_delta(&self, seq: u32) -> u32 {
        if seq_after(seq, self.pos) {
            self.after
        } else {
            self.before
        }
    }

    /// The other direction's acknowledgement (or SACK edge) `ack` of this direction's data,
    /// taken back to the sender's numbers.
    #[must_use]
    pub fn unshift_ack(&self, ack: u32) -> u32 {
        if seq_after(ack.wrapping_sub(self.before), self.pos) {
            ack.wrapping_sub(self.after)
        } else {
            ack.wrapping_sub(self.before)
        }
    }
}

/// A rewrite made, remembered so that a retransmission gets it again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Made {
    side: Side,
    seq: u32,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// A translated conversation's NAT.
#[derive(Debug, Clone)]
pub struct NatConv {
    /// The parent's key (a reused session ID has another).
    key: FlowKey,
    /// The parent's NAT.
    pub nat: HandoffNat,
    /// Per sending side (initiator, responder): the shift of its sequence numbers.
    pub adj: [SeqAdj; 2],
    made: Vec<Made>,
    /// The public endpoint taken for the last expectation translated (the rewrite that
    /// follows writes it).
    next: Option<([u8; 4], u16)>,
    /// When the control core first saw the parent.
    since: std::time::Instant,
}

impl NatConv {
    /// The side that is the private endpoint.
    #[must_use]
    pub fn private_side(&self) -> Side {
        if self.nat.private_initiates {
            Side::Initiator
        } else {
            Side::Responder
        }
    }
}

/// An ALG port held: by a pinhole, then by the child session that used it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    pool: u16,
    tcp: bool,
    addr: u32,
    port: u16,
}

/// One pool's ALG ports: per address and protocol (TCP, UDP), a bitmap of those in use,
/// over the privileged share (for a child announced on a privileged port, when the pool has
/// one) and then the top of the range.
#[derive(Debug)]
struct AlgPool {
    addrs: Vec<u32>,
    /// The privileged share's first port and size, then the top share's.
    shares: [(u16, u16); 2],
    used: Vec<Vec<u64>>,
    in_use: u64,
}

impl AlgPool {
    fn new(pool: &svcard_config::nat::NatPool) -> Self {
        let mut addrs: Vec<u32> = pool.addresses().map(u32::from).collect();
        addrs.sort_unstable();
        let share = |r: Option<(u16, u16)>| r.map_or((0, 0), |(lo, hi)| (lo, hi - lo + 1));
        let shares = [
            share(pool.alg_privileged_range()),
            share(pool.alg_port_range()),
        ];
        let words = (usize::from(shares[0].1) + usize::from(shares[1].1)).div_ceil(64);
        AlgPool {
            used: vec![vec![0u64; words]; addrs.len() * 2],
            addrs,
            shares,
            in_use: 0,
        }
    }

    fn row(&self, ai: usize, tcp: bool) -> usize {
        ai * 2 + usize::from(!tcp)
    }

    /// The bit index of `port`, if it is an ALG port.
    fn index(&self, port: u16) -> Option<usize> {
        let [(plo, pn), (lo, n)] = self.shares;
        if port >= plo && port - plo < pn {
            return Some(usize::from(port - plo));
        }
        (port >= lo && port - lo < n).then(|| usize::from(pn) + usize::from(port - lo))
    }

    /// The ports a child announced on `pport` may get: the privileged share for a
    /// privileged port (when there is one), else the top one. (First port, count, first
    /// bit index.)
    fn share_for(&self, pport: u16) -> (u16, u16, usize) {
        let [(plo, pn), (lo, n)] = self.shares;
        if pport < 1024 && pn > 0 {
            (plo, pn, 0)
        } else {
            (lo, n, usize::from(pn))
        }
    }
}

/// What [`AlgNat`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgNatStats {
    /// Payload texts rewritten (retransmissions included).
    pub rewrites: u64,
    /// Rewrites that could not be made (the text spans segments, or the frame had no room):
    /// the packet left as it came.
    pub rewrite_failed: u64,
    /// Expectations through NAT refused: no ALG port of the class needed was free.
    pub ports_exhausted: u64,
}

impl AlgNatStats {
    /// What was counted since `base`.
    #[must_use]
    pub fn since(&self, base: &AlgNatStats) -> AlgNatStats {
        AlgNatStats {
            rewrites: self.rewrites.saturating_sub(base.rewrites),
            rewrite_failed: self.rewrite_failed.saturating_sub(base.rewrite_failed),
            ports_exhausted: self.ports_exhausted.saturating_sub(base.ports_exhausted),
        }
    }
}

/// The control core's NAT for the ALGs.
#[derive(Debug)]
pub struct AlgNat {
    steer: Steering,
    pools: Vec<AlgPool>,
    convs: HashMap<u32, NatConv>,
    by_pinhole: HashMap<u32, Held>,
    /// Child session → its ALG port, and when the child was seen made.
    by_child: HashMap<u32, (Held, std::time::Instant)>,
    /// Counters.
    pub stats: AlgNatStats,
}

impl AlgNat {
    /// The ALG ports of `config`'s pools, for `workers` workers (a power of two, else one:
    /// the workers then translate nothing and no conversation comes here translated).
    #[must_use]
    pub fn new(config: &Config, workers: u16) -> Self {
        let steer = Steering::new(workers.max(1), 0)
            .or_else(|| Steering::new(1, 0))
            .unwrap_or_else(|| unreachable!("one worker always steers"));
        AlgNat {
            steer,
            pools: config.nat.pools.iter().map(AlgPool::new).collect(),
            convs: HashMap::new(),
            by_pinhole: HashMap::new(),
            by_child: HashMap::new(),
            stats: AlgNatStats::default(),
        }
    }

    /// ALG ports in use in pool `pool`.
    #[must_use]
    pub fn in_use(&self, pool: usize) -> u64 {
        self.pools.get(pool).map_or(0, |p| p.in_use)
    }

    /// True while a close can matter here.
    #[must_use]
    pub fn holds_sessions(&self) -> bool {
        !(self.convs.is_empty() && self.by_child.is_empty())
    }

    /// The NAT of translated parent `session` (keyed `key`), noted on its packets.
    pub fn conv(&mut self, session: u32, key: &FlowKey, nat: HandoffNat) -> &mut NatConv {
        let fresh = NatConv {
            key: *key,
            nat,
            adj: [SeqAdj::default(); 2],
            made: Vec::new(),
            next: None,
            since: std::time::Instant::now(),
        };
        let c = self.convs.entry(session).or_insert_with(|| fresh.clone());
        if c.key != *key {
            *c = fresh;
        }
        // An expectation of this packet's sets it; a rewrite without one writes nothing.
        c.next = None;
        c
    }

    /// The NAT of parent `session`, if it is translated.
    pub fn get(&mut self, session: u32) -> Option<&mut NatConv> {
        self.convs.get_mut(&session)
    }

    /// Takes an ALG port of `pool` for a child to connect to private endpoint (`private`,
    /// `pport`) from outside, such that its two tuples meet on one worker; `None` (counted)
    /// when none is free.
    pub fn take(&mut self, pool: u16, tcp: bool, private: u32, pport: u16) -> Option<(u32, u16)> {
        let want = self.steer.pair_class(private, pport);
        let steer = self.steer;
        let found = self.pools.get_mut(usize::from(pool)).and_then(|p| {
            let start = (private.wrapping_mul(0x9E37_79B1) >> 8) as usize;
            let n = p.addrs.len();
            let (first, count, base) = p.share_for(pport);
            for k in 0..n {
                let ai = (start + k) % n;
                let a = p.addrs[ai];
                let row = p.row(ai, tcp);
                for off in 0..count {
                    let port = first + off;
                    let i = base + usize::from(off);
                    let (w, b) = (i / 64, i % 64);
                    if p.used[row][w] & (1 << b) == 0 && steer.pair_class(a, port) == want {
                        p.used[row][w] |= 1 << b;
                        p.in_use += 1;
                        return Some((a, port));
                    }
                }
            }
            None
        });
        if found.is_none() {
            self.stats.ports_exhausted += 1;
        }
        found
    }

    /// Gives back ALG port `addr`:`port` of `pool` taken by [`take`](Self::take) and not
    /// used.
    pub fn release(&mut self, pool: u16, tcp: bool, (addr, port): (u32, u16)) {
        self.give_back(Held {
            pool,
            tcp,
            addr,
            port,
        });
    }

    fn give_back(&mut self, h: Held) {
        let Some(p) = self.pools.get_mut(usize::from(h.pool)) else {
            return;
        };
        let Ok(ai) = p.addrs.binary_search(&h.addr) else {
            return;
        };
        let Some(i) = p.index(h.port) else {
            return;
        };
        let row = p.row(ai, h.tcp);
        let (w, b) = (i / 64, i % 64);
        if p.used[row][w] & (1 << b) != 0 {
            p.used[row][w] &= !(1 << b);
            p.in_use -= 1;
        }
    }

    /// Pinhole `id` holds ALG port `addr`:`port` of `pool`.
    pub fn hold(&mut self, id: u32, pool: u16, tcp: bool, (addr, port): (u32, u16)) {
        self.by_pinhole.insert(
            id,
            Held {
                pool,
                tcp,
                addr,
                port,
            },
        );
    }

    /// Pinhole `id` lapsed unused: its port goes back.
    pub fn pinhole_gone(&mut self, id: u32) {
        if let Some(h) = self.by_pinhole.remove(&id) {
            self.give_back(h);
        }
    }

    /// Child session `child` used pinhole `id` (one-shot): the port is the child's now.
    pub fn child_matched(&mut self, id: u32, child: u32) {
        if let Some(h) = self.by_pinhole.remove(&id) {
            self.by_child.insert(child, (h, std::time::Instant::now()));
        }
    }

    /// Session `id` (keyed `key`) closed: a child gives its port back, a parent's NAT goes.
    pub fn session_closed(&mut self, id: u32, key: &FlowKey) {
        if let Some((h, _)) = self.by_child.remove(&id) {
            self.give_back(h);
        }
        if self.convs.get(&id).is_some_and(|c| c.key == *key) {
            self.convs.remove(&id);
        }
    }

    /// A reconcile walk of worker `worker` found `live`: children of that worker seen made
    /// before the walk began and gone since (their close lost) give their ports back; the
    /// NAT of parents gone goes. Returns the ALG ports given back.
    pub fn forget_gone(
        &mut self,
        worker: svcard_config::WorkerId,
        live: &HashMap<u32, (u32, FlowKey)>,
        began: std::time::Instant,
    ) -> usize {
        let of = |id: u32| {
            svcard_dataplane::session::split_session_id(id).is_some_and(|(w, _)| w == worker)
        };
        let gone: Vec<u32> = self
            .by_child
            .iter()
            .filter(|(id, (_, at))| of(**id) && *at < began && !live.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            if let Some((h, _)) = self.by_child.remove(id) {
                self.give_back(h);
            }
        }
        self.convs.retain(|id, c| {
            !of(*id) || c.since >= began || live.get(id).is_some_and(|(_, k)| *k == c.key)
        });
        gone.len()
    }
}

impl NatConv {
    /// Notes the public endpoint an expectation was translated to.
    pub fn set_next(&mut self, public: ([u8; 4], u16)) {
        self.next = Some(public);
    }

    /// The text to write for a rewrite of `kind` naming endpoint `named` over the original
    /// bytes `old`: the parent's own public endpoint when the text names the private
    /// endpoint itself (a talk request's `ctl_addr`), else the last expectation's
    /// ([`text`](Self::text)).
    #[must_use]
    pub fn text_naming(
        &self,
        kind: RewriteKind,
        named: (Option<IpAddr>, u16),
        old: &[u8],
    ) -> Option<Vec<u8>> {
        let own = (
            Some(IpAddr::V4(Ipv4Addr::from(self.nat.private.0))),
            self.nat.private.1,
        );
        let ep = if named == own {
            Some(self.nat.public)
        } else {
            self.next
        };
        Self::write(kind, ep?, old)
    }

    /// The text to write for a rewrite of `kind` over the original bytes `old`: the public
    /// endpoint of the last expectation translated. `None`: nothing to write (no endpoint,
    /// or a notation that carries no IPv4 address of the private side).
    #[must_use]
    pub fn text(&self, kind: RewriteKind, old: &[u8]) -> Option<Vec<u8>> {
        Self::write(kind, self.next?, old)
    }

    /// Endpoint `(a, port)` in `kind`'s notation, over the original bytes `old`.
    fn write(kind: RewriteKind, (a, port): ([u8; 4], u16), old: &[u8]) -> Option<Vec<u8>> {
        let [p1, p2] = port.to_be_bytes();
        match kind {
            RewriteKind::FtpCommaAddrPort => {
                Some(format!("{},{},{},{},{p1},{p2}", a[0], a[1], a[2], a[3]).into_bytes())
            }
            RewriteKind::FtpEprt => {
                // "|1|a.b.c.d|port|" with the announcer's own delimiter.
                let d = char::from(*old.first()?);
                let af = old.get(1..2)?;
                (af == b"1").then(|| {
                    format!("{d}1{d}{}.{}.{}.{}{d}{port}{d}", a[0], a[1], a[2], a[3]).into_bytes()
                })
            }
            RewriteKind::FtpEpsvPort | RewriteKind::RshPort => Some(port.to_string().into_bytes()),
            RewriteKind::TalkSockaddr => {
                // family (kept as the sender wrote it), port, address, 8 zero bytes.
                let family = old.get(..2)?;
                let mut t = family.to_vec();
                t.extend_from_slice(&port.to_be_bytes());
                t.extend_from_slice(&a);
                t.extend_from_slice(&[0; 8]);
                (old.len() == t.len()).then_some(t)
            }
            // Not rewritten through NAT yet (SIP's headers and SDP: the ranges are
            // reported, the translation of a call's media is still to be built).
            RewriteKind::RpcPort
            | RewriteKind::RpcUaddr
            | RewriteKind::SipHostPort
            | RewriteKind::SdpAddr
            | RewriteKind::SdpPort
            | RewriteKind::RtspPorts
            | RewriteKind::TnsHost
            | RewriteKind::TnsPort
            | RewriteKind::DceRpcAddr
            | RewriteKind::DceRpcPort
            | RewriteKind::H323Addr
            | RewriteKind::H323Port
            | RewriteKind::PptpCallId => None,
        }
    }

    /// Records rewrite `old` → `new` at sequence `seq` of `side`'s data (original numbers),
    /// and the length change it makes.
    pub fn record(&mut self, side: Side, seq: u32, old: &[u8], new: &[u8]) {
        if self.made.len() >= REMEMBERED {
            self.made.remove(0);
        }
        self.made.push(Made {
            side,
            seq,
            old: old.to_vec(),
            new: new.to_vec(),
        });
    }

    /// Rewrites made earlier that a segment of `side` starting at `seq` with `payload` holds
    /// again, unchanged (a retransmission): (offset in the payload, old length, new text).
    #[must_use]
    pub fn again(&self, side: Side, seq: u32, payload: &[u8]) -> Vec<(usize, usize, Vec<u8>)> {
        self.made
            .iter()
            .filter(|m| m.side == side)
            .filter_map(|m| {
                let off = usize::try_from(m.seq.wrapping_sub(seq)).ok()?;
                let end = off.checked_add(m.old.len())?;
                (end <= payload.len() && payload[off..end] == m.old[..])
                    .then(|| (off, m.old.len(), m.new.clone()))
            })
            .collect()
    }

    /// The side index (initiator 0, responder 1).
    #[must_use]
    pub fn index(side: Side) -> usize {
        match side {
            Side::Initiator => 0,
            Side::Responder => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_after_a_longer_rewrite_are_shifted_and_acks_taken_back() {
        let mut a = SeqAdj::default();
        // A 40-byte segment at 1000 grew by 3.
        a.record(1000, 3);
        assert_eq!(
            a.seq_delta(1000),
            0,
            "the rewritten segment itself starts unshifted"
        );
        assert_eq!(a.seq_delta(1040), 3);
        // The peer acknowledges 1043 (the segment, grown): 1040 to the sender.
        assert_eq!(a.unshift_ack(1043), 1040);
        assert_eq!(a.unshift_ack(900), 900);
        // A second rewrite, shorter by 1, further on.
        a.record(2000, -1);
        assert_eq!(a.seq_delta(1500), 3);
        assert_eq!(a.seq_delta(2100), 2);
        assert_eq!(a.unshift_ack(2102), 2100);
        assert_eq!(a.unshift_ack(1503), 1500);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = SeqAdj::default();
        a.record(u32::MAX - 10, 5);
        assert_eq!(a.seq_delta(20), 5);
        assert_eq!(a.unshift_ack(25), 20);
    }

    #[test]
    fn a_privileged_port_gets_a_privileged_alg_port_where_the_pool_preserves_the_range() {
        let text = "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\n\
             peer = \"ge-0/0/1.0\"\n[[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\n\
             peer = \"ge-0/0/0.0\"\n[[nat.pool]]\nname = \"p\"\naddress = \"198.51.100.7\"\n\
             port-low = 512\npreserve-range = true\n";
        let cfg = Config::from_toml_str(text, "t.toml".as_ref()).unwrap();
        assert_eq!(cfg.nat.pools[0].alg_privileged_range(), Some((960, 1023)));
        let mut n = AlgNat::new(&cfg, 1);
        let (_, p) = n.take(0, true, 0x0A00_0001, 1022).unwrap();
        assert!((960..=1023).contains(&p), "{p}");
        let (_, p) = n.take(0, true, 0x0A00_0001, 40000).unwrap();
        assert!(p > 60000, "{p}");
    }

    fn conv() -> NatConv {
        NatConv {
            key: FlowKey::default(),
            nat: HandoffNat {
                private: ([10, 0, 0, 2], 40000),
                public: ([198, 51, 100, 7], 2000),
                pool: 0,
                private_initiates: true,
            },
            adj: [SeqAdj::default(); 2],
            made: Vec::new(),
            next: Some(([198, 51, 100, 7], 0xF00D)),
            since: std::time::Instant::now(),
        }
    }

    #[test]
    fn texts_in_the_alg_notations() {
        let c = conv();
        let t = |k, old: &[u8]| String::from_utf8(c.text(k, old).unwrap()).unwrap();
        assert_eq!(
            t(RewriteKind::FtpCommaAddrPort, b"10,0,0,2,1,2"),
            "198,51,100,7,240,13"
        );
        assert_eq!(
            t(RewriteKind::FtpEprt, b"!1!10.0.0.2!258!"),
            "!1!198.51.100.7!61453!"
        );
        assert!(c.text(RewriteKind::FtpEprt, b"|2|::1|5|").is_none());
    }

    #[test]
    fn a_retransmitted_rewrite_is_found_again() {
        let mut c = conv();
        c.record(
            Side::Initiator,
            1005,
            b"10,0,0,2,1,2",
            b"198,51,100,7,240,13",
        );
        let seg = b"PORT 10,0,0,2,1,2\r\n";
        assert_eq!(
            c.again(Side::Initiator, 1000, seg),
            vec![(5, 12, b"198,51,100,7,240,13".to_vec())]
        );
        assert!(c.again(Side::Responder, 1000, seg).is_empty());
        assert!(c.again(Side::Initiator, 1001, seg).is_empty());
    }

    #[test]
    fn alg_ports_meet_their_private_endpoint_on_one_worker_and_run_out() {
        let text = "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\n\
             peer = \"ge-0/0/1.0\"\n[[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\n\
             peer = \"ge-0/0/0.0\"\n[[nat.pool]]\nname = \"p\"\naddress = \"198.51.100.7-198.51.100.8\"\n\
             port-high = 1279\nalg-ports = 16\n";
        let cfg = Config::from_toml_str(text, "t.toml".as_ref()).unwrap();
        assert_eq!(cfg.nat.pools[0].alg_port_range(), Some((1264, 1279)));
        let mut n = AlgNat::new(&cfg, 2);
        let steer = Steering::new(2, 0).unwrap();
        let mut got = Vec::new();
        while let Some((a, p)) = n.take(0, true, 0x0A00_0002, 40000) {
            assert!((1264..=1279).contains(&p));
            assert_eq!(steer.pair_class(a, p), steer.pair_class(0x0A00_0002, 40000));
            got.push((a, p));
        }
        // Two addresses, 16 ports each, about half of each of the right class.
        assert!(got.len() >= 8 && got.len() <= 24, "{}", got.len());
        assert_eq!(n.in_use(0), got.len() as u64);
        assert_eq!(n.stats.ports_exhausted, 1);
        n.hold(7, 0, true, got[0]);
        n.pinhole_gone(7);
        assert_eq!(n.in_use(0), got.len() as u64 - 1);
        assert_eq!(n.take(0, true, 0x0A00_0002, 40000), Some(got[0]));
        // UDP has its own ports.
        assert!(n.take(0, false, 0x0A00_0002, 40000).is_some());
        // A child whose close was lost: a reconcile walk that does not find it gives its
        // port back; one of another worker, or made after the walk began, keeps its own.
        use svcard_dataplane::session::session_id;
        let (w0, w1) = (
            svcard_config::WorkerId::from_index(0).unwrap(),
            svcard_config::WorkerId::from_index(1).unwrap(),
        );
        let before = n.in_use(0);
        n.hold(21, 0, true, got[1]);
        n.child_matched(21, session_id(w0, 5));
        n.hold(22, 0, true, got[2]);
        n.child_matched(22, session_id(w1, 5));
        let began = std::time::Instant::now();
        n.hold(23, 0, true, got[3]);
        n.child_matched(23, session_id(w0, 6));
        let live = HashMap::new();
        assert_eq!(n.forget_gone(w0, &live, began), 1);
        assert_eq!(n.in_use(0), before - 1);
    }
}
