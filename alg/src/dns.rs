//! DNS (RFC 1035): queries and answers paired by ID and question; the UDP session is closed
//! when its last outstanding query is answered. Over TCP (the fallback after a truncated UDP
//! answer, RFC 7766) messages carry a 2-byte length prefix and may span segments; answers
//! are paired the same way but the TCP session is left to its own teardown (no `Close`).
//!
//! The question name is parsed with bounds: at most 255 bytes, labels of at most 63 bytes,
//! and no compression pointer (a question has nothing earlier to point to). Only the header
//! and the question are read; answer records are not needed to pair and are skipped.

use crate::common::{delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{be16, Parse};
use crate::stream::{Framing, StreamBuf, STREAM_BUF};
use crate::types::{Action, Actions, AlgConfig, FlowCtx, ParseErrorKind, Side};

/// The DNS header length.
pub const HEADER: usize = 12;
/// The longest name in wire form (RFC 1035 2.3.4).
pub const MAX_NAME: usize = 255;
/// Queries remembered per session awaiting their answer.
pub const PENDING: usize = 8;

/// A question, reduced to what pairing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// FNV-1a hash of the name in wire form, ASCII-lowercased (0x20 randomisation safe).
    pub name_hash: u64,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// A DNS message's header and first question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// The transaction ID.
    pub id: u16,
    /// True for a response (QR = 1).
    pub response: bool,
    /// OPCODE.
    pub opcode: u8,
    /// True when the message was truncated (TC = 1): the client retries over TCP.
    pub truncated: bool,
    /// RCODE.
    pub rcode: u8,
    /// QDCOUNT.
    pub qdcount: u16,
    /// The first question, when QDCOUNT > 0.
    pub question: Option<Question>,
}

/// Parses the header and the first question of a message. The range covers the question.
///
/// # Errors
/// [`ParseErrorKind::BadName`] for a compression pointer, a reserved label type or an
/// over-long name in the question; [`ParseErrorKind::Malformed`] for a QDCOUNT above 1 in a
/// query. `Ok(Parse::Partial)` when the bytes end inside the header or the question.
pub fn parse_message(m: &[u8]) -> Result<Parse<Message>, ParseErrorKind> {
    let (Some(id), Some(flags), Some(qdcount)) = (be16(m, 0), be16(m, 2), be16(m, 4)) else {
        return Ok(Parse::Partial);
    };
    if m.len() < HEADER {
        return Ok(Parse::Partial);
    }
    let response = flags & 0x8000 != 0;
    // The masks bound both values to 4 bits.
    let opcode = u8::try_from((flags >> 11) & 0xf).unwrap_or(0);
    let rcode = u8::try_from(flags & 0xf).unwrap_or(0);
    let mut msg = Message {
        id,
        response,
        opcode,
        truncated: flags & 0x0200 != 0,
        rcode,
        qdcount,
        question: None,
    };
    if qdcount == 0 {
        return Ok(Parse::Found(msg, HEADER..HEADER));
    }
    if qdcount > 1 && !response {
        return Err(ParseErrorKind::Malformed);
    }
    let mut pos = HEADER;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    loop {
        let Some(&len) = m.get(pos) else {
            return Ok(Parse::Partial);
        };
        if len & 0xc0 != 0 {
            // 0xc0: compression pointer; 0x40/0x80: reserved/extended label types.
            return Err(ParseErrorKind::BadName);
        }
        let end = pos + 1 + usize::from(len);
        if end - HEADER > MAX_NAME {
            return Err(ParseErrorKind::BadName);
        }
        let Some(label) = m.get(pos..end) else {
            return Ok(Parse::Partial);
        };
        for &b in label {
            hash ^= u64::from(b.to_ascii_lowercase());
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        pos = end;
        if len == 0 {
            break;
        }
    }
    let (Some(qtype), Some(qclass)) = (be16(m, pos), be16(m, pos + 2)) else {
        return Ok(Parse::Partial);
    };
    msg.question = Some(Question {
        name_hash: hash,
        qtype,
        qclass,
    });
    Ok(Parse::Found(msg, HEADER..pos + 4))
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u16,
    question: Option<Question>,
    expires: u64,
}

/// The DNS ALG for one session (UDP or TCP).
#[derive(Debug, Clone)]
pub struct Dns {
    core: Core,
    pending: [Option<Pending>; PENDING],
    closed: bool,
    /// TCP reassembly, per direction (unused over UDP).
    bufs: [StreamBuf; 2],
}

impl Dns {
    /// A DNS ALG for the session `ctx` (initiator = resolver/client).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Dns {
        Dns {
            core: Core::new(cfg, ctx),
            pending: [None; PENDING],
            closed: false,
            bufs: [
                StreamBuf::new(Framing::Messages),
                StreamBuf::new(Framing::Messages),
            ],
        }
    }

    /// Queries awaiting an answer.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.pending.iter().filter(|p| p.is_some()).count()
    }
}

/// The per-message logic shared by UDP datagrams and TCP-framed messages.
fn handle_message(
    core: &mut Core,
    pending: &mut [Option<Pending>; PENDING],
    closed: &mut bool,
    now_ms: u64,
    side: Side,
    m: &[u8],
    out: &mut Actions,
) {
    let msg = match parse_message(m) {
        Ok(Parse::Found(msg, _)) => msg,
        Ok(Parse::Partial) => {
            core.error(
                out,
                if m.len() >= STREAM_BUF - 2 {
                    ParseErrorKind::TooLong
                } else {
                    ParseErrorKind::Malformed
                },
            );
            return;
        }
        Ok(Parse::NoMatch) => {
            core.error(out, ParseErrorKind::Malformed);
            return;
        }
        Err(e) => {
            core.error(out, e);
            return;
        }
    };
    match (side, msg.response) {
        (Side::Initiator, false) => {
            core.counters.requests += 1;
            let q = Pending {
                id: msg.id,
                question: msg.question,
                expires: now_ms.saturating_add(core.cfg.timeout_ms),
            };
            // A retransmitted query refreshes its entry.
            let same = pending
                .iter_mut()
                .find(|p| p.is_some_and(|p| p.id == q.id && p.question == q.question));
            let slot = match same {
                Some(s) => s,
                None => {
                    let free = pending.iter().position(Option::is_none);
                    let oldest = pending
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, p)| p.map_or(0, |p| p.expires))
                        .map_or(0, |(i, _)| i);
                    match pending.get_mut(free.unwrap_or(oldest)) {
                        Some(s) => s,
                        None => return,
                    }
                }
            };
            *slot = Some(q);
        }
        (Side::Responder, true) => {
            // Answers without a question (FORMERR and the like) pair by ID alone.
            let found = pending.iter_mut().find(|p| {
                p.is_some_and(|p| {
                    p.id == msg.id && (msg.question.is_none() || p.question == msg.question)
                })
            });
            match found {
                Some(slot) => {
                    *slot = None;
                    core.counters.replies += 1;
                    let done = pending.iter().all(Option::is_none);
                    if done && !core.ctx.is_tcp() && !msg.truncated && !*closed {
                        *closed = true;
                        core.push(out, Action::Close);
                    }
                }
                None => core.error(out, ParseErrorKind::Unsolicited),
            }
        }
        // A query from the server or an answer from the client.
        _ => core.error(out, ParseErrorKind::Malformed),
    }
}

impl Alg for Dns {
    fn kind(&self) -> AlgKind {
        AlgKind::Dns
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        if !self.core.begin(seq, payload, out) {
            return;
        }
        let Dns {
            core,
            pending,
            closed,
            bufs,
        } = self;
        let Some(seq) = seq else {
            handle_message(core, pending, closed, now_ms, side, payload, out);
            return;
        };
        let [cli, srv] = bufs;
        let buf = match side {
            Side::Initiator => cli,
            Side::Responder => srv,
        };
        let f = buf.feed(seq, payload, |b, _base| {
            let Some(len) = be16(b, 0) else { return 0 };
            let need = 2 + usize::from(len);
            if b.len() < need && b.len() < STREAM_BUF {
                return 0;
            }
            let body = b.get(2..need.min(b.len())).unwrap_or(&[]);
            handle_message(core, pending, closed, now_ms, side, body, out);
            need
        });
        core.account(&f, out);
    }

    fn on_timeout(&mut self, now_ms: u64, _out: &mut Actions) {
        self.core.on_timeout(now_ms);
        for p in &mut self.pending {
            if p.is_some_and(|p| p.expires <= now_ms) {
                *p = None;
            }
        }
    }

    fn poll_timeout(&self) -> Option<u64> {
        let q = self
            .pending
            .iter()
            .filter_map(|p| p.map(|p| p.expires))
            .min();
        match (q, self.core.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        let [cli, srv] = &mut self.bufs;
        match side {
            Side::Initiator => cli.sync(next_seq),
            Side::Responder => srv.sync(next_seq),
        }
    }

    delegate_core!();
}

#[cfg(test)]
// Fixture lengths are a few bytes: the casts build wire fields from them.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::Proto;

    /// `dig example.com A` (id 0x1234, RD, with an EDNS OPT record), as captured.
    const QUERY: &[u8] = b"\x12\x34\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\
\x07example\x03com\x00\x00\x01\x00\x01\
\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

    /// The answer: same question (server echoes 0x20 case), one A record via a pointer.
    const ANSWER: &[u8] = b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\
\x07ExAmPlE\x03com\x00\x00\x01\x00\x01\
\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22";

    fn udp() -> Dns {
        Dns::new(
            AlgConfig::default_for(AlgKind::Dns),
            ctx(Proto::UDP, "192.0.2.10:53000", "198.51.100.53:53"),
        )
    }
    fn tcp() -> Dns {
        Dns::new(
            AlgConfig::default_for(AlgKind::Dns),
            ctx(Proto::TCP, "192.0.2.10:53000", "198.51.100.53:53"),
        )
    }

    fn run(a: &mut Dns, side: Side, seq: Option<u32>, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(10, side, seq, p, &mut out);
        out
    }

    #[test]
    fn parse_header_and_question() {
        let Ok(Parse::Found(m, r)) = parse_message(QUERY) else {
            panic!()
        };
        assert_eq!(
            (m.id, m.response, m.opcode, m.qdcount),
            (0x1234, false, 0, 1)
        );
        assert_eq!(r, 12..29);
        let Ok(Parse::Found(a, _)) = parse_message(ANSWER) else {
            panic!()
        };
        assert!(a.response);
        assert_eq!(a.question, m.question, "case-insensitive name");
        assert_eq!(parse_message(&QUERY[..20]), Ok(Parse::Partial));
        assert_eq!(parse_message(&QUERY[..5]), Ok(Parse::Partial));
        // A compression pointer in the question.
        let mut bad = QUERY[..12].to_vec();
        bad.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        assert_eq!(parse_message(&bad), Err(ParseErrorKind::BadName));
        // An over-long name: 5 labels of 63 bytes.
        let mut long = QUERY[..12].to_vec();
        for _ in 0..5 {
            long.push(63);
            long.extend(vec![b'a'; 63]);
        }
        long.extend_from_slice(b"\x00\x00\x01\x00\x01");
        assert_eq!(parse_message(&long), Err(ParseErrorKind::BadName));
        let mut two = QUERY.to_vec();
        two[5] = 2;
        assert_eq!(parse_message(&two), Err(ParseErrorKind::Malformed));
    }

    #[test]
    fn udp_answer_closes() {
        let mut a = udp();
        assert!(run(&mut a, Side::Initiator, None, QUERY).is_empty());
        assert_eq!(a.outstanding(), 1);
        assert_eq!(
            acts(&run(&mut a, Side::Responder, None, ANSWER)),
            vec![Action::Close]
        );
        assert_eq!(a.outstanding(), 0);
        // A duplicate answer is unsolicited.
        assert_eq!(
            errs(&run(&mut a, Side::Responder, None, ANSWER)),
            vec![ParseErrorKind::Unsolicited]
        );
        assert_eq!((a.counters().requests, a.counters().replies), (1, 1));
    }

    #[test]
    fn wrong_id_or_question_not_paired() {
        let mut a = udp();
        run(&mut a, Side::Initiator, None, QUERY);
        let mut other = ANSWER.to_vec();
        other[1] = 0x35;
        assert_eq!(
            errs(&run(&mut a, Side::Responder, None, &other)),
            vec![ParseErrorKind::Unsolicited]
        );
        let mut aaaa = ANSWER.to_vec();
        aaaa[26] = 0x1c;
        assert_eq!(
            errs(&run(&mut a, Side::Responder, None, &aaaa)),
            vec![ParseErrorKind::Unsolicited]
        );
        assert_eq!(a.outstanding(), 1);
        // Two queries (A and AAAA): the close waits for both answers.
        let mut q2 = QUERY.to_vec();
        q2[1] = 0x99;
        q2[26] = 0x1c;
        run(&mut a, Side::Initiator, None, &q2);
        assert!(run(&mut a, Side::Responder, None, ANSWER).is_empty());
        let mut a2 = ANSWER.to_vec();
        a2[1] = 0x99;
        a2[26] = 0x1c;
        assert_eq!(
            acts(&run(&mut a, Side::Responder, None, &a2)),
            vec![Action::Close]
        );
    }

    #[test]
    fn truncated_answer_does_not_close() {
        let mut a = udp();
        run(&mut a, Side::Initiator, None, QUERY);
        let mut tc = ANSWER.to_vec();
        tc[2] |= 0x02;
        assert!(run(&mut a, Side::Responder, None, &tc).is_empty());
    }

    #[test]
    fn tcp_framing_split_across_segments() {
        let mut a = tcp();
        let mut q = vec![0, QUERY.len() as u8];
        q.extend_from_slice(QUERY);
        // Length prefix split from the body, body split in two.
        assert!(run(&mut a, Side::Initiator, Some(1), &q[..1]).is_empty());
        assert!(run(&mut a, Side::Initiator, Some(2), &q[1..10]).is_empty());
        assert!(run(&mut a, Side::Initiator, Some(11), &q[10..]).is_empty());
        assert_eq!(a.outstanding(), 1);
        let mut r = vec![0, ANSWER.len() as u8];
        r.extend_from_slice(ANSWER);
        let out = run(&mut a, Side::Responder, Some(7), &r);
        assert!(out.is_empty(), "TCP: no Close");
        assert_eq!(a.outstanding(), 0);
        assert_eq!(a.counters().replies, 1);
    }

    #[test]
    fn tcp_large_answer_skipped() {
        let mut a = tcp();
        let mut q = vec![0, QUERY.len() as u8];
        q.extend_from_slice(QUERY);
        let mut q2 = q.clone();
        q2[3] = 0x35;
        q.extend_from_slice(&q2);
        run(&mut a, Side::Initiator, Some(0), &q);
        assert_eq!(a.outstanding(), 2);
        // A 3000-byte answer (padding records), then the second answer in the same stream.
        let mut big = ANSWER.to_vec();
        big.extend(vec![0u8; 3000 - ANSWER.len()]);
        let mut stream = vec![(3000u16 >> 8) as u8, (3000u16 & 0xff) as u8];
        stream.extend_from_slice(&big);
        let mut a2 = ANSWER.to_vec();
        a2[1] = 0x35;
        stream.push(0);
        stream.push(a2.len() as u8);
        stream.extend_from_slice(&a2);
        let mut seq = 100u32;
        for chunk in stream.chunks(700) {
            let out = run(&mut a, Side::Responder, Some(seq), chunk);
            assert!(errs(&out).is_empty(), "{out:?}");
            seq += chunk.len() as u32;
        }
        assert_eq!(a.outstanding(), 0);
    }

    #[test]
    fn hostile_messages() {
        let mut a = udp();
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, None, b"\x00\x01")),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, None, ANSWER)),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(
            errs(&run(&mut a, Side::Responder, None, QUERY)),
            vec![ParseErrorKind::Malformed]
        );
        // Query flood: at most PENDING remembered.
        for i in 0..40u8 {
            let mut q = QUERY.to_vec();
            q[0] = i;
            run(&mut a, Side::Initiator, None, &q);
        }
        assert_eq!(a.outstanding(), PENDING);
        let mut out = Actions::new();
        assert!(a.poll_timeout().is_some());
        a.on_timeout(1_000_000, &mut out);
        assert_eq!(a.outstanding(), 0);
    }
}
