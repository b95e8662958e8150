//! What every ALG shares: the [`Alg`] trait, the state every ALG keeps ([`Core`]:
//! configuration, parent, counters, pinhole budget) and the helpers its methods delegate to.

use core::net::IpAddr;
use core::ops::Range;

use crate::kind::AlgKind;
use crate::stream;
use crate::types::*;

/// A sans-IO application-layer gateway watching one parent session.
pub trait Alg {
    /// Which ALG this is.
    fn kind(&self) -> AlgKind;

    /// Feeds one packet's payload. `seq` is the TCP sequence number of the payload's first
    /// byte (`None` for UDP parents). Actions are appended to `out`; actions that do not fit
    /// are counted in [`AlgCounters::action_overflow`] and [`Actions::overflow`].
    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    );

    /// Advances the ALG's clock: forgets expired pinholes and requests that were never
    /// answered. May push actions.
    fn on_timeout(&mut self, now_ms: u64, out: &mut Actions);

    /// The earliest time [`Alg::on_timeout`] has work, if any.
    #[must_use]
    fn poll_timeout(&self) -> Option<u64>;

    /// Tells a TCP ALG the next expected sequence number of one side (ISN + 1), so a first
    /// data segment arriving out of order is recognised. No-op for UDP ALGs.
    fn sync_seq(&mut self, side: Side, next_seq: u32);

    /// One of this conversation's pinholes was matched by a child flow or removed by the
    /// resource manager: it no longer counts against `max_pinholes`.
    fn pinhole_resolved(&mut self, now_ms: u64);

    /// The instance's counters.
    #[must_use]
    fn counters(&self) -> &AlgCounters;

    /// The configuration the instance was built with.
    #[must_use]
    fn config(&self) -> &AlgConfig;
}

/// How many outstanding pinholes a conversation tracks itself (caps above this are left to
/// the resource manager).
const TRACKED: usize = 16;

/// State every ALG shares: configuration, the parent, counters and the pinhole budget.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub(crate) cfg: AlgConfig,
    pub(crate) ctx: FlowCtx,
    pub(crate) counters: AlgCounters,
    /// Outstanding pinholes: (expiry, expectation), for the cap and for de-duplication.
    outstanding: [Option<(u64, Expectation)>; TRACKED],
    /// False once the disabled notice (Forward) was sent.
    disabled_sent: bool,
}

impl Core {
    pub(crate) fn new(cfg: AlgConfig, ctx: FlowCtx) -> Core {
        Core {
            cfg,
            ctx,
            counters: AlgCounters::default(),
            outstanding: [None; TRACKED],
            disabled_sent: false,
        }
    }

    /// Common prologue of `on_data`: false when the packet is not to be parsed.
    pub(crate) fn begin(&mut self, seq: Option<u32>, payload: &[u8], out: &mut Actions) -> bool {
        if !self.cfg.enabled {
            if !self.disabled_sent {
                self.disabled_sent = true;
                self.push(out, Action::ParentState(ParentState::Forward));
            }
            return false;
        }
        if payload.is_empty() {
            return false;
        }
        self.counters.packets += 1;
        self.counters.bytes += payload.len() as u64;
        if seq.is_some() != self.ctx.is_tcp() {
            self.error(out, ParseErrorKind::BadSequence);
            return false;
        }
        true
    }

    pub(crate) fn push(&mut self, out: &mut Actions, a: Action) {
        if !out.push(a) {
            self.counters.action_overflow += 1;
        }
    }

    pub(crate) fn error(&mut self, out: &mut Actions, kind: ParseErrorKind) {
        self.counters.parse_errors += 1;
        if kind == ParseErrorKind::ThirdPartyAddress {
            self.counters.third_party_refused += 1;
        }
        if kind == ParseErrorKind::TooLong {
            self.counters.overflow += 1;
        }
        self.push(out, Action::ParseError(kind));
    }

    /// Accounts a reassembly feed.
    pub(crate) fn account(&mut self, f: &stream::Feed, out: &mut Actions) {
        self.counters.retransmitted_bytes += f.retransmitted as u64;
        if f.out_of_order {
            self.counters.out_of_order += 1;
        }
        for _ in 0..f.overflows {
            self.error(out, ParseErrorKind::TooLong);
        }
    }

    /// True when `addr`, announced by `side`, may be used: it is `side`'s own address, or
    /// third-party addresses are allowed. Unspecified, multicast and broadcast addresses are
    /// never usable. Pushes the refusal.
    pub(crate) fn check_addr(&mut self, out: &mut Actions, side: Side, addr: IpAddr) -> bool {
        let bad = addr.is_unspecified()
            || addr.is_multicast()
            || matches!(addr, IpAddr::V4(a) if a.is_broadcast());
        if bad {
            self.error(out, ParseErrorKind::BadAddress);
            return false;
        }
        if addr != self.ctx.addr(side) && !self.cfg.loose_ftp {
            self.error(out, ParseErrorKind::ThirdPartyAddress);
            return false;
        }
        true
    }

    /// Checks a port number taken from a message; pushes the refusal.
    pub(crate) fn check_port(&mut self, out: &mut Actions, port: u32) -> Option<u16> {
        match u16::try_from(port) {
            Ok(p) if p != 0 => Some(p),
            _ => {
                self.error(out, ParseErrorKind::BadPort);
                None
            }
        }
    }

    /// An expectation with this instance's timeout.
    pub(crate) fn expectation(
        &self,
        proto: Proto,
        src: Option<IpAddr>,
        dst: IpAddr,
        dst_port: Option<u16>,
        child_app: AppHint,
        one_shot: bool,
    ) -> Expectation {
        Expectation {
            proto,
            src,
            src_port: None,
            dst,
            dst_port,
            timeout_ms: self.cfg.timeout_ms,
            child_app,
            one_shot,
            quoted: None,
            tag: 0,
        }
    }

    fn expire(&mut self, now_ms: u64) {
        for slot in &mut self.outstanding {
            if slot.is_some_and(|(exp, _)| exp <= now_ms) {
                *slot = None;
            }
        }
    }

    /// Opens a pinhole, within the conversation's cap. An identical outstanding one-shot
    /// expectation is not opened twice; an identical outstanding reusable one is re-sent
    /// (the resource manager refreshes its timeout) without using a second slot.
    pub(crate) fn expect(&mut self, now_ms: u64, out: &mut Actions, e: Expectation) -> bool {
        self.expire(now_ms);
        let expiry = now_ms.saturating_add(e.timeout_ms);
        let same = |s: &Option<(u64, Expectation)>| {
            s.is_some_and(|(_, o)| {
                Expectation {
                    timeout_ms: e.timeout_ms,
                    ..o
                } == e
            })
        };
        if let Some(slot) = self.outstanding.iter_mut().find(|s| same(s)) {
            if e.one_shot {
                return false;
            }
            *slot = Some((expiry, e));
            self.push(out, Action::Expect(e));
            return true;
        }
        let live = self.outstanding.iter().filter(|s| s.is_some()).count();
        let cap = usize::try_from(self.cfg.max_pinholes).unwrap_or(usize::MAX);
        if cap != 0 && live >= cap {
            self.counters.cap_refused += 1;
            self.error(out, ParseErrorKind::PinholeCap);
            return false;
        }
        let slot = match self.outstanding.iter().position(Option::is_none) {
            Some(i) => i,
            // Cap above what is tracked: forget the pinhole closest to expiry.
            None => self
                .outstanding
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.map_or(0, |(x, _)| x))
                .map_or(0, |(i, _)| i),
        };
        if let Some(s) = self.outstanding.get_mut(slot) {
            *s = Some((expiry, e));
        }
        self.counters.pinholes += 1;
        self.push(out, Action::Expect(e));
        true
    }

    /// Opens a pinhole the ALG tracks itself (a SIP dialog's media): counted, neither
    /// de-duplicated nor held against `max_pinholes` here (the resource manager's
    /// per-conversation cap still applies).
    pub(crate) fn open(&mut self, out: &mut Actions, e: Expectation) {
        self.counters.pinholes += 1;
        self.push(out, Action::Expect(e));
    }

    pub(crate) fn rewrite(
        &mut self,
        out: &mut Actions,
        side: Side,
        range: Range<u32>,
        kind: RewriteKind,
        addr: Option<IpAddr>,
        port: u16,
    ) {
        self.push(
            out,
            Action::Rewrite {
                side,
                range,
                kind,
                addr,
                port,
            },
        );
    }

    /// Frees the oldest outstanding pinhole (matched or removed by the caller).
    pub(crate) fn resolved(&mut self, now_ms: u64) {
        self.expire(now_ms);
        let oldest = self
            .outstanding
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|(x, _)| (x, i)))
            .min()
            .map(|(_, i)| i);
        if let Some(s) = oldest.and_then(|i| self.outstanding.get_mut(i)) {
            *s = None;
        }
    }

    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.outstanding
            .iter()
            .filter_map(|s| s.map(|(x, _)| x))
            .min()
    }

    pub(crate) fn on_timeout(&mut self, now_ms: u64) {
        self.expire(now_ms);
    }
}

/// A TCP parent's two reassembly buffers (boxed: they are large) and the loop every
/// length-framed binary ALG runs over them.
#[derive(Debug, Clone)]
pub(crate) struct Duplex<const N: usize>([Box<stream::StreamBuf<N>>; 2]);

impl<const N: usize> Duplex<N> {
    pub(crate) fn new() -> Self {
        let b = || Box::new(stream::StreamBuf::new(stream::Framing::Messages));
        Duplex([b(), b()])
    }

    /// [`stream::StreamBuf::sync`] of `side`'s buffer.
    pub(crate) fn sync(&mut self, side: Side, next_seq: u32) {
        if let Some(b) = self.0.get_mut(side.index()) {
            b.sync(next_seq);
        }
    }

    /// Feeds one segment of `side` (after [`Core::begin`]): every record `parse` finds at
    /// the head of the buffer goes to `on` (the record, the bytes from its start, the
    /// sequence number of its first byte, its range), which returns the bytes consumed
    /// (0: wait for more); what `parse` refuses is counted malformed and dropped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn feed<T>(
        &mut self,
        core: &mut Core,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
        parse: impl Fn(&[u8]) -> crate::parse::Parse<T>,
        mut on: impl FnMut(&mut Core, T, &[u8], u32, Range<usize>, &mut Actions) -> usize,
    ) {
        if !core.begin(seq, payload, out) {
            return;
        }
        let (Some(seq), Some(buf)) = (seq, self.0.get_mut(side.index())) else {
            return;
        };
        let f = buf.feed(seq, payload, |b, base| match parse(b) {
            crate::parse::Parse::Partial => 0,
            crate::parse::Parse::Found(t, r) => on(core, t, b, base, r, out),
            crate::parse::Parse::NoMatch => {
                core.error(out, ParseErrorKind::Malformed);
                b.len()
            }
        });
        core.account(&f, out);
    }
}

/// A text protocol framed by its head and a length (SIP over TCP, RTSP): what
/// [`consume_text`] needs to take whole messages off a reassembly buffer.
pub(crate) trait TextMessages {
    /// A parsed message.
    type Msg;
    /// Parses one message at the start of `b` (its length, when found, is the range's end).
    fn parse(b: &[u8]) -> crate::parse::Parse<Self::Msg>;
    /// Acts on one whole message `m` (bytes `b`, the first at sequence `base`).
    fn on_message(
        &mut self,
        now: u64,
        side: Side,
        b: &[u8],
        base: u32,
        m: &Self::Msg,
        out: &mut Actions,
    );
    /// The connection's shared state (for the refusal of what is not a message).
    fn core(&mut self) -> &mut Core;
}

/// A [`crate::stream::StreamBuf`] consumer for a [`TextMessages`] protocol: white space
/// between messages (keep-alives) is skipped, a whole message is acted on, an incomplete
/// one waited for, anything else refused and dropped. Returns the bytes consumed.
pub(crate) fn consume_text<T: TextMessages>(
    t: &mut T,
    now: u64,
    side: Side,
    b: &[u8],
    base: u32,
    out: &mut Actions,
) -> usize {
    let ws = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    if ws > 0 {
        return ws;
    }
    match T::parse(b) {
        crate::parse::Parse::Partial => 0,
        crate::parse::Parse::Found(m, r) => {
            t.on_message(now, side, b, base, &m, out);
            r.end
        }
        crate::parse::Parse::NoMatch => {
            t.core().error(out, ParseErrorKind::Malformed);
            b.len()
        }
    }
}

/// Converts a parser's byte range (relative to a message whose first byte is at `base`,
/// a sequence number or a payload offset) into an [`Action::Rewrite`] range.
pub(crate) fn abs_range(base: u32, r: &Range<usize>) -> Range<u32> {
    let s = u32::try_from(r.start).unwrap_or(u32::MAX);
    let e = u32::try_from(r.end).unwrap_or(u32::MAX);
    base.wrapping_add(s)..base.wrapping_add(e)
}

/// Implements the [`Alg`] methods every ALG delegates to its `core` (or to the [`Core`]
/// at the field path given: `delegate_core!(st.core)`).
macro_rules! delegate_core {
    () => {
        $crate::common::delegate_core!(core);
    };
    ($($f:ident).+) => {
        fn pinhole_resolved(&mut self, now_ms: u64) {
            self.$($f).+.resolved(now_ms);
        }
        fn counters(&self) -> &$crate::AlgCounters {
            &self.$($f).+.counters
        }
        fn config(&self) -> &$crate::AlgConfig {
            &self.$($f).+.cfg
        }
    };
}
pub(crate) use delegate_core;

/// Implements [`Alg::on_timeout`] and [`Alg::poll_timeout`] for an ALG whose only clock is
/// its `core`'s pinholes.
macro_rules! core_timers {
    () => {
        fn on_timeout(&mut self, now_ms: u64, _out: &mut $crate::Actions) {
            self.core.on_timeout(now_ms);
        }

        fn poll_timeout(&self) -> Option<u64> {
            self.core.next_expiry()
        }
    };
}
pub(crate) use core_timers;
