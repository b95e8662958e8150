//! SIP (`sip`, UDP and TCP 5060): calls' media through pinholes tied to their dialogs.
//!
//! One parent session may carry many calls (two proxies, or a user agent's one socket):
//! the ALG keeps a table of dialogs keyed by Call-ID. For each:
//! * an SDP body (an INVITE's or re-INVITE's offer, a 1xx / 2xx answer, an UPDATE, PRACK
//!   or ACK) says where its *sender* receives media: for every `m=` line that wants
//!   packets the ALG opens a one-shot UDP pinhole to the RTP address and port, and one to
//!   RTCP's (`a=rtcp:`, else port + 1), from any source (the peer's media source is not
//!   signalled). A later description from the same side withdraws what it no longer
//!   names (a re-INVITE that moves or holds the media: port 0, `a=inactive`, `c=0.0.0.0`)
//!   and opens what is new;
//! * BYE ends the dialog: everything it opened is withdrawn, pinholes unused and the media
//!   sessions they let in (`Action::Withdraw`), as is a dialog whose INVITE is refused or
//!   cancelled (a final response of 300 or more), whose INVITE has no answer within the
//!   transaction timeout (64 × T1, refreshed to Timer C's 3 minutes by a provisional
//!   response), or that outlives `maximum-call-duration`;
//! * a 2xx to REGISTER opens a reusable pinhole, for the registration's lifetime, from the
//!   registrar to the Contact (incoming calls to a registered phone), when the Contact is
//!   the registering side's own address.
//!
//! Over TCP, messages are framed by `Content-Length` across segments; over UDP each
//! datagram is one message. The NAT rewrite ranges (Via sent-by, Contact host, SDP `c=`
//! addresses and `m=` ports) are reported as [`Action::Rewrite`]s. The parent stays with
//! the ALG for its whole life ([`ParentState::Watch`]): signalling is light, media is not
//! handed off.
//!
//! [`ParentState::Watch`]: crate::ParentState::Watch

pub mod msg;
pub mod sdp;

use core::net::IpAddr;

use crate::common::{consume_text, delegate_core, Alg, Core, TextMessages};
use crate::kind::AlgKind;
use crate::parse::{fnv1a, Parse};
use crate::stream::{Framing, StreamBuf};
use crate::types::{
    Action, Actions, AlgConfig, AppHint, Expectation, FlowCtx, ParseErrorKind, Proto, RewriteKind,
    Side,
};
use msg::{Message, Method, StartLine};

/// The reassembly buffer of one direction of a TCP parent: a whole message with its SDP.
pub const SIP_STREAM_BUF: usize = 4096;

/// Timer C (RFC 3261 §16.6): how long a provisional response keeps an INVITE alive.
pub const TIMER_C_MS: u64 = 180_000;

/// The most pinholes one side of a dialog holds: RTP and RTCP of each medium.
const PINS: usize = sdp::MAX_MEDIA * 2;

/// An endpoint a dialog opened a pinhole to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pin {
    addr: IpAddr,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogState {
    /// INVITE sent, no final answer.
    Early,
    /// Answered (2xx).
    Confirmed,
}

/// One call.
#[derive(Debug, Clone)]
struct Dialog {
    /// FNV-1a of the Call-ID.
    call: u64,
    /// The tag of its pinholes.
    tag: u32,
    state: DialogState,
    /// When the dialog is dropped unless something refreshes it.
    deadline: u64,
    /// Per side (initiator, responder): where it receives media.
    pins: [[Option<Pin>; PINS]; 2],
}

/// The SIP ALG for one parent session.
#[derive(Debug, Clone)]
pub struct Sip {
    calls: Calls,
    bufs: [StreamBuf<SIP_STREAM_BUF>; 2],
}

/// Everything but the reassembly buffers (so a buffer's consumer can borrow it).
#[derive(Debug, Clone)]
struct Calls {
    core: Core,
    dialogs: Vec<Dialog>,
    next_tag: u32,
}

impl Sip {
    /// An ALG for the parent `ctx` (UDP or TCP).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Sip {
        Sip {
            calls: Calls {
                core: Core::new(cfg, ctx),
                dialogs: Vec::new(),
                next_tag: 1,
            },
            bufs: [
                StreamBuf::new(Framing::Messages),
                StreamBuf::new(Framing::Messages),
            ],
        }
    }

    /// Calls in the table now.
    #[must_use]
    pub fn dialogs(&self) -> usize {
        self.calls.dialogs.len()
    }
}

impl Calls {
    fn media_exp(&self, tag: u32, p: Pin) -> Expectation {
        let mut e = self.core.expectation(
            Proto::UDP,
            None,
            p.addr,
            Some(p.port),
            AppHint::SipMedia,
            true,
        );
        e.tag = tag;
        e
    }

    /// Withdraws everything dialog `i` opened and drops it.
    fn end_dialog(&mut self, i: usize, out: &mut Actions) {
        if i >= self.dialogs.len() {
            return;
        }
        let d = self.dialogs.swap_remove(i);
        for p in d.pins.iter().flatten().flatten() {
            let e = self.media_exp(d.tag, *p);
            self.core.push(out, Action::Withdraw(e));
        }
        self.core.counters.dialogs_ended += 1;
    }

    fn find(&self, call: u64) -> Option<usize> {
        self.dialogs.iter().position(|d| d.call == call)
    }

    /// The dialog of `call`, made for an INVITE when there is none (`None`: the table is
    /// full, counted).
    fn dialog_for_invite(&mut self, now: u64, call: u64, out: &mut Actions) -> Option<usize> {
        if let Some(i) = self.find(call) {
            return Some(i);
        }
        let cap = self.core.cfg.sip.max_dialogs as usize;
        if self.dialogs.len() >= cap {
            self.core.counters.dialogs_refused += 1;
            self.core.error(out, ParseErrorKind::TooManyDialogs);
            return None;
        }
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        self.dialogs.push(Dialog {
            call,
            tag,
            state: DialogState::Early,
            deadline: now.saturating_add(self.core.cfg.sip.t1_ms.saturating_mul(64)),
            pins: [[None; PINS]; 2],
        });
        self.core.counters.dialogs += 1;
        Some(self.dialogs.len() - 1)
    }

    /// `side` described where it receives media (the body at `body_base`): withdraw what
    /// it no longer names, open what is new, report the rewrite ranges.
    fn media(&mut self, i: usize, side: Side, body: &[u8], body_base: u32, out: &mut Actions) {
        let sdp = sdp::parse(body);
        let mut pins: [Option<Pin>; PINS] = [None; PINS];
        let mut n = 0;
        for m in sdp.iter() {
            if let Some(r) = &m.addr_range {
                let r = crate::common::abs_range(body_base, r);
                self.core
                    .rewrite(out, side, r, RewriteKind::SdpAddr, m.addr, 0);
            }
            let r = crate::common::abs_range(body_base, &m.port_range);
            self.core
                .rewrite(out, side, r, RewriteKind::SdpPort, None, m.port);
            if !m.wants_packets() {
                continue;
            }
            let Some(addr) = m.addr else { continue };
            let rtp = Pin { addr, port: m.port };
            let rtcp = m.rtcp_endpoint().map(|(addr, port)| Pin { addr, port });
            for p in [Some(rtp), rtcp].into_iter().flatten() {
                if n < PINS && !pins.contains(&Some(p)) {
                    pins[n] = Some(p);
                    n += 1;
                }
            }
        }
        let Some(d) = self.dialogs.get(i) else { return };
        let (tag, old) = (d.tag, d.pins[side.index()]);
        for p in old.iter().flatten() {
            if !pins.contains(&Some(*p)) {
                let e = self.media_exp(tag, *p);
                self.core.push(out, Action::Withdraw(e));
            }
        }
        for p in pins.iter().flatten() {
            if !old.contains(&Some(*p)) {
                let e = self.media_exp(tag, *p);
                self.core.open(out, e);
            }
        }
        if let Some(d) = self.dialogs.get_mut(i) {
            d.pins[side.index()] = pins;
        }
    }

    /// A registrar accepted a binding: calls to the Contact may come from it.
    fn registered(&mut self, now: u64, side: Side, m: &Message, out: &mut Actions) {
        let Some(c) = &m.contact else { return };
        let Some(addr) = c.addr else { return };
        // The response travels from the registrar: the Contact is the other side's.
        let phone = side.peer();
        if !self.core.check_addr(out, phone, addr) {
            return;
        }
        let secs = u64::from(m.expires.unwrap_or(3600).min(86_400));
        if secs == 0 {
            return;
        }
        let registrar = self.core.ctx.addr(side);
        let mut e = self.core.expectation(
            self.core.ctx.proto,
            Some(registrar),
            addr,
            Some(c.port.unwrap_or(5060)),
            AppHint::SipSignalling,
            false,
        );
        e.timeout_ms = secs * 1000;
        self.core.expect(now, out, e);
    }
}

impl TextMessages for Calls {
    type Msg = Message;

    fn parse(b: &[u8]) -> Parse<Message> {
        msg::parse(b, false)
    }

    fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    /// Acts on one whole message `m` (bytes `b`, first byte at `base`: a sequence number
    /// or a datagram offset) sent by `side`.
    fn on_message(
        &mut self,
        now: u64,
        side: Side,
        b: &[u8],
        base: u32,
        m: &Message,
        out: &mut Actions,
    ) {
        for hp in [&m.via, &m.contact].into_iter().flatten() {
            let r = crate::common::abs_range(base, &hp.range);
            self.core.rewrite(
                out,
                side,
                r,
                RewriteKind::SipHostPort,
                hp.addr,
                hp.port.unwrap_or(0),
            );
        }
        let call = fnv1a(b.get(m.call_id.clone()).unwrap_or(&[]));
        let body = b.get(m.body.clone()).unwrap_or(&[]);
        let body_base = base.wrapping_add(u32::try_from(m.body.start).unwrap_or(u32::MAX));
        let sdp = m.sdp && !body.is_empty();
        let sip = self.core.cfg.sip;
        match m.start {
            StartLine::Request(method) => {
                self.core.counters.requests += 1;
                match method {
                    Method::Invite => {
                        let Some(i) = self.dialog_for_invite(now, call, out) else {
                            return;
                        };
                        if sdp {
                            self.media(i, side, body, body_base, out);
                        }
                    }
                    Method::Bye => {
                        if let Some(i) = self.find(call) {
                            self.end_dialog(i, out);
                        }
                    }
                    Method::Ack | Method::Update | Method::Prack if sdp => {
                        if let Some(i) = self.find(call) {
                            self.media(i, side, body, body_base, out);
                        }
                    }
                    _ => {}
                }
            }
            StartLine::Response(code) => {
                let Some(i) = self.find(call) else {
                    if m.cseq.1 == Method::Register && (200..300).contains(&code) {
                        self.core.counters.replies += 1;
                        self.registered(now, side, m, out);
                    }
                    return;
                };
                self.core.counters.replies += 1;
                match m.cseq.1 {
                    Method::Invite => {
                        if code >= 300 {
                            if self
                                .dialogs
                                .get(i)
                                .is_some_and(|d| d.state == DialogState::Early)
                            {
                                self.end_dialog(i, out);
                            }
                            return;
                        }
                        if let Some(d) = self.dialogs.get_mut(i) {
                            if code >= 200 {
                                d.state = DialogState::Confirmed;
                                d.deadline = now.saturating_add(sip.max_call_ms);
                            } else if d.state == DialogState::Early {
                                d.deadline = now.saturating_add(TIMER_C_MS);
                            }
                        }
                        if sdp {
                            self.media(i, side, body, body_base, out);
                        }
                    }
                    Method::Update | Method::Prack if sdp && (200..300).contains(&code) => {
                        self.media(i, side, body, body_base, out);
                    }
                    _ => {}
                }
            }
        }
    }
}

impl Alg for Sip {
    fn kind(&self) -> AlgKind {
        AlgKind::Sip
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        let Sip { calls, bufs } = self;
        if !calls.core.begin(seq, payload, out) {
            return;
        }
        let Some(seq) = seq else {
            // UDP: one message per datagram (keep-alive CRLFs ignored).
            if payload.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            match msg::parse(payload, true) {
                Parse::Found(m, _) => calls.on_message(now_ms, side, payload, 0, &m, out),
                _ => calls.core.error(out, ParseErrorKind::Malformed),
            }
            return;
        };
        let Some(buf) = bufs.get_mut(side.index()) else {
            return;
        };
        // Keep-alive CRLFs between messages (RFC 5626) are skipped.
        let f = buf.feed(seq, payload, |b, base| {
            consume_text(calls, now_ms, side, b, base, out)
        });
        calls.core.account(&f, out);
    }

    fn on_timeout(&mut self, now_ms: u64, out: &mut Actions) {
        let c = &mut self.calls;
        c.core.on_timeout(now_ms);
        // One dialog per call: its withdrawals fill the action buffer. The caller calls
        // again while `poll_timeout` says the time has come.
        if let Some(i) = c.dialogs.iter().position(|d| d.deadline <= now_ms) {
            c.core.counters.dialogs_timed_out += 1;
            c.end_dialog(i, out);
        }
    }

    fn poll_timeout(&self) -> Option<u64> {
        let c = &self.calls;
        let d = c.dialogs.iter().map(|d| d.deadline).min();
        match (d, c.core.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        if self.calls.core.ctx.is_tcp() {
            if let Some(b) = self.bufs.get_mut(side.index()) {
                b.sync(next_seq);
            }
        }
    }

    delegate_core!(calls.core);
}

#[cfg(test)]
mod tests;
