//! H.323 (`h323`): call signalling (Q.931 with H.225, TCP 1720) and the H.245 control
//! connection it names, to the media H.245 opens.
//!
//! Both run over TPKT (RFC 1006: version 3, a 16-bit length) on TCP; one engine reads
//! both, telling them apart by the first octet (Q.931's protocol discriminator, 8).
//! * **Call signalling.** The Setup and Connect messages' User-user element carries the
//!   H.225 `H323-UserInformation` in aligned PER: when its Setup-UUIE or Connect-UUIE holds
//!   an `h245Address` (IPv4), the ALG opens a one-shot TCP pinhole from the other end to
//!   that address and port: the H.245 connection, watched by this ALG too.
//! * **H.245.** An `openLogicalChannelAck` names where its sender receives the channel's
//!   media (`h2250LogicalChannelAckParameters`: `mediaChannel` for RTP,
//!   `mediaControlChannel` for RTCP): the ALG opens a one-shot UDP pinhole to each, from
//!   any source. Each side acknowledges the channels the other opens, so the media flows
//!   both ways.
//!
//! * **RAS** (UDP 1719, [`ras`]): an endpoint's RegistrationRequest names where it takes
//!   calls; the gatekeeper's RegistrationConfirm opens TCP to that address and port from
//!   any source while the pinhole lasts (incoming Setups). An AdmissionConfirm (or a
//!   LocationConfirm) names where the endpoint's call goes: a one-shot TCP pinhole from the
//!   endpoint to it. Both children are call signalling, watched by this ALG in turn.
//!
//! The addresses must be their sender's own (third parties need `loose`; an
//! AdmissionConfirm's is the called party's by design). Not read (and counted as nothing
//! opened): H.245 tunnelled in H.225 or Fast Start proposals, IPv6 addresses, an
//! `openLogicalChannelAck` that carries reverse-channel parameters or non-standard data
//! before the addresses, a RegistrationRequest with non-standard data.

pub mod per;
pub mod ras;
pub mod transport;

use core::net::{IpAddr, Ipv4Addr};

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core, Duplex};
use crate::kind::AlgKind;
use crate::parse::{be16, Parse};
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};
use per::Reader;
pub use transport::Located;
use transport::{h225_transport, ip_port};

/// The reassembly buffer of one direction (a TPKT longer than this is skipped past).
const H323_BUF: usize = 2048;

/// Q.931 message types the ALG reads.
const Q931_SETUP: u8 = 0x05;
const Q931_CONNECT: u8 = 0x07;

/// What one TPKT carried that the ALG acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A Q.931 Setup or Connect naming the H.245 address.
    H245Address {
        /// The Q.931 message type.
        message: u8,
        /// Where the sender listens for H.245.
        addr: Ipv4Addr,
        /// Its port.
        port: u16,
        /// The address's and the port's bytes in the TPKT (a NAT rewrites them).
        at: (usize, usize),
    },
    /// An H.245 `openLogicalChannelAck` naming media addresses.
    ChannelAck {
        /// The forward logical channel acknowledged.
        channel: u16,
        /// RTP (`mediaChannel`), with where its address and port bytes are in the TPKT.
        media: Option<Located>,
        /// RTCP (`mediaControlChannel`), likewise.
        control: Option<Located>,
    },
    /// A Q.931 or H.245 message of another kind (or one the ALG does not read).
    Other,
}

/// A User-user element's contents and their offset in the Q.931 message.
type UserUser<'a> = (usize, &'a [u8]);

/// The `h245Address` of an H.225 `H323-UserInformation` holding a Setup or Connect
/// (offsets relative to `uu`).
fn h225_h245_address(uu: &[u8]) -> Option<(u8, Located)> {
    let mut r = Reader::new(uu);
    // H323-UserInformation: extension bit, user-data present.
    r.bit()?;
    r.bit()?;
    // H323-UU-PDU: extension bit, nonStandardData present.
    r.bit()?;
    r.bit()?;
    // h323-message-body: setup 0, callProceeding 1, connect 2, ... (7 root).
    let body = r.choice(7)??;
    match body {
        0 => {
            // Setup-UUIE: extension bit, 7 optional fields (h245Address first).
            r.bit()?;
            let opts = r.bits(7)?;
            r.skip_oid()?;
            if opts & 0x40 == 0 {
                return None;
            }
            Some((Q931_SETUP, h225_transport(&mut r)?))
        }
        2 => {
            // Connect-UUIE: extension bit, 1 optional field (h245Address).
            r.bit()?;
            let has = r.bit()?;
            r.skip_oid()?;
            if !has {
                return None;
            }
            Some((Q931_CONNECT, h225_transport(&mut r)?))
        }
        _ => None,
    }
}

/// The Q.931 message at `m` (after TPKT): its type and its User-user element's contents
/// with their offset in `m`.
fn q931(m: &[u8]) -> Option<(u8, Option<UserUser<'_>>)> {
    let crl = usize::from(*m.get(1)? & 0x0f);
    let mtype = *m.get(2 + crl)?;
    let mut at = 3 + crl;
    while at < m.len() {
        let id = *m.get(at)?;
        if id & 0x80 != 0 {
            at += 1;
            continue;
        }
        if id == 0x7e {
            let len = usize::from(be16(m, at + 1)?);
            let v = m.get(at + 3..at + 3 + len)?;
            // Protocol discriminator 5: X.208/X.209 coded user information.
            let uu = (v.first() == Some(&5)).then(|| v.get(1..)).flatten();
            return Some((mtype, uu.map(|u| (at + 4, u))));
        }
        let len = usize::from(*m.get(at + 1)?);
        at += 2 + len;
    }
    Some((mtype, None))
}

/// An H.245 TransportAddress's `unicastAddress` / `iPAddress`.
fn h245_transport(r: &mut Reader<'_>) -> Option<Located> {
    // TransportAddress CHOICE { unicastAddress, multicastAddress, ... }
    if r.choice(2)?? != 0 {
        return None;
    }
    // UnicastAddress CHOICE { iPAddress, iPXAddress, iP6Address, netBios,
    // iPSourceRouteAddress, ... }
    if r.choice(5)?? != 0 {
        return None;
    }
    // iPAddress SEQUENCE { network OCTET STRING (SIZE (4)), tsapIdentifier, ... }
    r.bit()?;
    ip_port(r)
}

/// An H.245 `MultimediaSystemControlMessage`: an `openLogicalChannelAck`'s media
/// addresses.
fn h245(m: &[u8]) -> Option<Found> {
    let mut r = Reader::new(m);
    // CHOICE { request, response, command, indication, ... }: response.
    if r.choice(4)? != Some(1) {
        return Some(Found::Other);
    }
    // ResponseMessage (22 root alternatives): openLogicalChannelAck is 5.
    if r.choice(22)? != Some(5) {
        return Some(Found::Other);
    }
    // OpenLogicalChannelAck: extension bit, reverseLogicalChannelParameters present.
    let ext = r.bit()?;
    if r.bit()? {
        return None;
    }
    let channel = u16::try_from(r.constrained(65535)? + 1).ok()?;
    if !ext {
        return Some(Found::ChannelAck {
            channel,
            media: None,
            control: None,
        });
    }
    // Extension additions: separateStack, forwardMultiplexAckParameters, ...
    // An extension bitmap longer than 64 bits is not H.245's.
    let n = r.small()?.checked_add(1).filter(|n| *n <= 64)?;
    let mut present = [false; 8];
    for p in present.iter_mut().take(n.min(8) as usize) {
        *p = r.bit()?;
    }
    for _ in 8..n {
        r.bit()?;
    }
    let mut fmap = None;
    for (i, p) in present.iter().enumerate().take(n.min(8) as usize) {
        if *p {
            let o = r.open()?;
            if i == 1 {
                fmap = Some(o);
            }
        }
    }
    let Some(f) = fmap else {
        return Some(Found::ChannelAck {
            channel,
            media: None,
            control: None,
        });
    };
    // Where the open type starts in the message (the ranges are the TPKT's).
    let off = (f.as_ptr() as usize).wrapping_sub(m.as_ptr() as usize) + 4;
    let shift = |x: Located| (x.0, x.1, (x.2 .0 + off, x.2 .1 + off));
    let mut r = Reader::new(f);
    // forwardMultiplexAckParameters CHOICE { h2250LogicalChannelAckParameters, ... }
    r.choice(1)??;
    // H2250LogicalChannelAckParameters: extension bit, nonStandard, sessionID,
    // mediaChannel, mediaControlChannel, dynamicRTPPayloadType present.
    r.bit()?;
    let opts = r.bits(5)?;
    if opts & 0x10 != 0 {
        return None;
    }
    if opts & 0x08 != 0 {
        r.constrained(255)?;
    }
    let media = if opts & 0x04 != 0 {
        Some(shift(h245_transport(&mut r)?))
    } else {
        None
    };
    let control = if opts & 0x02 != 0 {
        Some(shift(h245_transport(&mut r)?))
    } else {
        None
    };
    Some(Found::ChannelAck {
        channel,
        media,
        control,
    })
}

/// Parses the TPKT at the start of `b` and what it carries. [`Parse::Partial`] until it
/// is all in; [`Parse::NoMatch`] for what is not TPKT; a message that does not decode is
/// `Found(None)`.
#[must_use]
pub fn parse_tpkt(b: &[u8]) -> Parse<Option<Found>> {
    let (Some(&v), Some(len)) = (b.first(), be16(b, 2)) else {
        return Parse::Partial;
    };
    let len = usize::from(len);
    if v != 3 || len < 5 {
        return Parse::NoMatch;
    }
    let Some(pkt) = b.get(..len) else {
        return if len > H323_BUF {
            // Skipped past, unread.
            Parse::Found(Some(Found::Other), 0..len)
        } else {
            Parse::Partial
        };
    };
    let m = pkt.get(4..).unwrap_or(&[]);
    let found = if m.first() == Some(&8) {
        q931(m).map(
            |(t, uu)| match uu.and_then(|(off, u)| Some((off, h225_h245_address(u)?))) {
                Some((off, (message, (addr, port, (a, p))))) if message == t => {
                    Found::H245Address {
                        message,
                        addr,
                        port,
                        at: (4 + off + a, 4 + off + p),
                    }
                }
                _ => Found::Other,
            },
        )
    } else {
        h245(m)
    };
    Parse::Found(found, 0..len)
}

/// The H.323 ALG for one call signalling or H.245 connection, or one endpoint's RAS flow
/// with its gatekeeper.
#[derive(Debug, Clone)]
pub struct H323 {
    core: Core,
    bufs: Duplex<H323_BUF>,
    /// RAS: the call signalling address a RegistrationRequest named, until confirmed.
    registering: Option<(Ipv4Addr, u16)>,
}

impl H323 {
    /// An ALG for the connection `ctx`.
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> H323 {
        H323 {
            core: Core::new(cfg, ctx),
            bufs: Duplex::new(),
            registering: None,
        }
    }

    /// One RAS datagram from `side` (the initiator is the endpoint, the responder its
    /// gatekeeper).
    fn ras(&mut self, now: u64, side: Side, payload: &[u8], out: &mut Actions) {
        let core = &mut self.core;
        if !core.begin(None, payload, out) {
            return;
        }
        let Some(m) = ras::parse(payload) else {
            core.error(out, ParseErrorKind::Malformed);
            return;
        };
        let (to, src, one_shot) = match (m, side) {
            (ras::Ras::RegistrationRequest(named), Side::Initiator) => {
                core.counters.requests += 1;
                // The endpoint's own address only (a third party needs `loose`).
                self.registering = named
                    .filter(|(a, _, _)| core.check_addr(out, side, IpAddr::V4(*a)))
                    .map(|(a, p, (aa, pa))| {
                        report(core, out, side, (a, p, (aa, pa)));
                        (a, p)
                    });
                return;
            }
            (ras::Ras::AdmissionRequest, Side::Initiator) => {
                core.counters.requests += 1;
                return;
            }
            // Registered: calls may come to the endpoint (from its gatekeeper, or from any
            // endpoint in the direct model) while the pinhole lasts.
            (ras::Ras::RegistrationConfirm, Side::Responder) => {
                core.counters.replies += 1;
                let Some((a, p)) = self.registering.take() else {
                    return;
                };
                ((a, p, None), None, false)
            }
            // Admitted (or located): the endpoint sends its Setup there.
            (ras::Ras::AdmissionConfirm(l) | ras::Ras::LocationConfirm(l), Side::Responder) => {
                core.counters.replies += 1;
                let endpoint = core.ctx.addr(Side::Initiator);
                ((l.0, l.1, Some(l.2)), Some(endpoint), true)
            }
            _ => return,
        };
        let (addr, port, at) = to;
        let ip = IpAddr::V4(addr);
        if ip.is_unspecified() || ip.is_multicast() || addr.is_broadcast() {
            core.error(out, ParseErrorKind::BadAddress);
            return;
        }
        let Some(port) = core.check_port(out, u32::from(port)) else {
            return;
        };
        let e = core.expectation(
            Proto::TCP,
            src,
            ip,
            Some(port),
            AppHint::H225Signalling,
            one_shot,
        );
        if core.expect(now, out, e) {
            if let Some(at) = at {
                report(core, out, side, (addr, port, at));
            }
        }
    }
}

/// Reports the bytes of an address and port a RAS datagram named (payload offsets), for a
/// NAT.
fn report(core: &mut Core, out: &mut Actions, side: Side, (addr, port, (a, p)): Located) {
    core.rewrite(
        out,
        side,
        abs_range(0, &(a..a + 4)),
        RewriteKind::H323Addr,
        Some(IpAddr::V4(addr)),
        port,
    );
    core.rewrite(
        out,
        side,
        abs_range(0, &(p..p + 2)),
        RewriteKind::H323Port,
        None,
        port,
    );
}

/// Opens what `f` names (sent by `side` in the TPKT whose first byte is at sequence
/// `base`) and reports the bytes a NAT would rewrite.
fn act(core: &mut Core, now: u64, side: Side, base: u32, f: Found, out: &mut Actions) {
    let peer = core.ctx.addr(side.peer());
    let (named, proto, src, hint): ([Option<Located>; 2], _, _, _) = match f {
        Found::H245Address {
            message,
            addr,
            port,
            at,
        } => {
            if message == Q931_SETUP {
                core.counters.requests += 1;
            } else {
                core.counters.replies += 1;
            }
            (
                [Some((addr, port, at)), None],
                Proto::TCP,
                Some(peer),
                AppHint::H245,
            )
        }
        Found::ChannelAck { media, control, .. } => {
            core.counters.replies += 1;
            ([media, control], Proto::UDP, None, AppHint::H323Media)
        }
        Found::Other => return,
    };
    for (addr, port, (a, p)) in named.into_iter().flatten() {
        let ip = IpAddr::V4(addr);
        if !core.check_addr(out, side, ip) {
            continue;
        }
        let Some(port) = core.check_port(out, u32::from(port)) else {
            continue;
        };
        let e = core.expectation(proto, src, ip, Some(port), hint, true);
        if core.expect(now, out, e) {
            core.rewrite(
                out,
                side,
                abs_range(base, &(a..a + 4)),
                RewriteKind::H323Addr,
                Some(ip),
                port,
            );
            core.rewrite(
                out,
                side,
                abs_range(base, &(p..p + 2)),
                RewriteKind::H323Port,
                None,
                port,
            );
        }
    }
}

impl Alg for H323 {
    fn kind(&self) -> AlgKind {
        AlgKind::H323
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        if !self.core.ctx.is_tcp() {
            self.ras(now_ms, side, payload, out);
            return;
        }
        self.bufs.feed(
            &mut self.core,
            side,
            seq,
            payload,
            out,
            parse_tpkt,
            |core, found, _, base, r, out| {
                match found {
                    Some(f) => act(core, now_ms, side, base, f, out),
                    None => core.error(out, ParseErrorKind::Malformed),
                }
                r.end
            },
        );
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.bufs.sync(side, next_seq);
    }

    delegate_core!();
}

pub mod fixtures;

#[cfg(test)]
mod tests;
