//! H.225 RAS (registration, admission and status; UDP 1719): the messages between an
//! endpoint and its gatekeeper that name call signalling addresses. One `RasMessage` per
//! datagram, in aligned PER (H.225.0 Annex H):
//! * a RegistrationRequest names where the endpoint takes calls (`callSignalAddress`); the
//!   gatekeeper's RegistrationConfirm makes it reachable there;
//! * an AdmissionConfirm tells the endpoint where to send its call's Setup
//!   (`destCallSignalAddress`: the called endpoint, or the gatekeeper when it routes the
//!   call); a LocationConfirm names an endpoint another gatekeeper located
//!   (`callSignalAddress`).

use super::per::Reader;
use super::transport::{h225_transport, Located};

/// `RasMessage` alternatives the ALG reads (of 25 in the root).
const RAS_ROOT: u32 = 25;
/// registrationRequest.
pub const RRQ: u32 = 3;
/// registrationConfirm.
pub const RCF: u32 = 4;
/// admissionRequest.
pub const ARQ: u32 = 9;
/// admissionConfirm.
pub const ACF: u32 = 10;
/// locationConfirm.
pub const LCF: u32 = 19;

/// What one RAS message says that the ALG acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ras {
    /// An endpoint registers; where it takes calls (its first IPv4 call signalling
    /// address), if it names one.
    RegistrationRequest(Option<Located>),
    /// The gatekeeper accepted a registration.
    RegistrationConfirm,
    /// An endpoint asks to place or answer a call.
    AdmissionRequest,
    /// Where the admitted call's signalling goes.
    AdmissionConfirm(Located),
    /// Where a located endpoint takes calls.
    LocationConfirm(Located),
    /// Another message.
    Other(u32),
}

/// The first IPv4 address of a `SEQUENCE OF TransportAddress`.
fn first_of(r: &mut Reader<'_>) -> Option<Option<Located>> {
    let n = r.length()?;
    if n == 0 {
        return Some(None);
    }
    // Only the first is read (the rest are alternatives of the same endpoint).
    Some(h225_transport(r))
}

/// Parses one RAS message; `None` for what is not one (or not read: IPv6 addresses,
/// non-standard data before the address).
#[must_use]
pub fn parse(b: &[u8]) -> Option<Ras> {
    let mut r = Reader::new(b);
    let Some(kind) = r.choice(RAS_ROOT)? else {
        // An extension alternative: its index, then its encoding as an open type.
        let k = r.small()?;
        r.open()?;
        return Some(Ras::Other(RAS_ROOT.saturating_add(k)));
    };
    Some(match kind {
        RRQ => {
            // extension, nonStandardData / terminalAlias / gatekeeperIdentifier present
            r.bit()?;
            let opts = r.bits(3)?;
            r.constrained(65535)?; // requestSeqNum
            r.skip_oid()?; // protocolIdentifier
            if opts & 0b100 != 0 {
                return None;
            }
            r.bit()?; // discoveryComplete
            Ras::RegistrationRequest(first_of(&mut r)?)
        }
        RCF => Ras::RegistrationConfirm,
        ARQ => Ras::AdmissionRequest,
        ACF => {
            // extension, irrFrequency / nonStandardData present
            r.bit()?;
            r.bits(2)?;
            r.constrained(65535)?; // requestSeqNum
            r.whole_u32()?; // bandWidth
            r.choice(2)?; // callModel: direct or gatekeeperRouted
            Ras::AdmissionConfirm(h225_transport(&mut r)?)
        }
        LCF => {
            // extension, nonStandardData present
            r.bit()?;
            r.bit()?;
            r.constrained(65535)?; // requestSeqNum
            Ras::LocationConfirm(h225_transport(&mut r)?)
        }
        k => Ras::Other(k),
    })
}
