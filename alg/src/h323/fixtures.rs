//! Byte fixtures of H.323 messages in aligned PER (a Q.931 Setup and Connect with their
//! H.225 user information, an H.245 `openLogicalChannelAck`), shared by the unit tests and
//! the `tshark` check (`tests/alg_fixtures.rs`).

use super::per::Writer;

/// H.225's protocol identifier 0.0.8.2250.0.4 (version 4), BER contents.
const H225_V4: [u8; 6] = [0x00, 0x08, 0x91, 0x4a, 0x00, 0x04];

fn tpkt(m: &[u8]) -> Vec<u8> {
    let mut t = vec![3, 0];
    t.extend_from_slice(&u16::try_from(m.len() + 4).unwrap_or(0).to_be_bytes());
    t.extend_from_slice(m);
    t
}

/// A Q.931 message: call reference `cref` (from the destination side when `reply`), type,
/// information elements, then the User-user element around `uu` (H.225 PER).
fn q931(cref: u16, reply: bool, mtype: u8, ies: &[u8], uu: &[u8]) -> Vec<u8> {
    let mut m = vec![0x08, 2];
    let c = cref.to_be_bytes();
    m.push(c[0] | if reply { 0x80 } else { 0 });
    m.push(c[1]);
    m.push(mtype);
    m.extend_from_slice(ies);
    m.push(0x7e);
    m.extend_from_slice(&u16::try_from(uu.len() + 1).unwrap_or(0).to_be_bytes());
    m.push(5);
    m.extend_from_slice(uu);
    tpkt(&m)
}

fn transport(w: &mut Writer, ip: [u8; 4], port: u16) {
    w.bit(false);
    w.constrained(0, 7);
    w.octets(&ip);
    w.constrained(u32::from(port), 65536);
}

/// An EndpointType naming a terminal.
fn terminal(w: &mut Writer) {
    w.bit(false); // extension
    w.bits(0b000001, 6); // only terminal present
    w.bit(false); // terminal: TerminalInfo extension
    w.bit(false); // nonStandardData absent
    w.bit(false); // mc
    w.bit(false); // undefinedNode
}

/// The H323-UserInformation prologue and the message body's choice index.
fn uu_head(w: &mut Writer, body: u32) {
    w.bit(false); // H323-UserInformation extension
    w.bit(false); // user-data absent
    w.bit(false); // H323-UU-PDU extension
    w.bit(false); // nonStandardData absent
    w.bit(false); // h323-message-body extension
    w.constrained(body, 7);
}

/// A Setup whose caller listens for H.245 on `ip`:`port`.
#[must_use]
pub fn setup(cref: u16, ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut w = Writer::new();
    uu_head(&mut w, 0);
    w.bit(false); // Setup-UUIE extension
    w.bits(0b100_0000, 7); // only h245Address present
    w.length(H225_V4.len());
    w.octets(&H225_V4);
    transport(&mut w, ip, port);
    terminal(&mut w); // sourceInfo
    w.bit(false); // activeMC
    w.octets(&[0x5a; 16]); // conferenceID
    w.bit(false);
    w.constrained(0, 3); // conferenceGoal: create
    w.bit(false);
    w.constrained(0, 4); // callType: pointToPoint
                         // Bearer capability: ITU-T coding, unrestricted digital information, 64 kbit/s.
    q931(
        cref,
        false,
        super::Q931_SETUP,
        &[0x04, 0x03, 0x88, 0x90, 0xa5],
        &w.out,
    )
}

/// A Connect whose callee listens for H.245 on `ip`:`port`.
#[must_use]
pub fn connect(cref: u16, ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut w = Writer::new();
    uu_head(&mut w, 2);
    w.bit(false); // Connect-UUIE extension
    w.bit(true); // h245Address present
    w.length(H225_V4.len());
    w.octets(&H225_V4);
    transport(&mut w, ip, port);
    terminal(&mut w); // destinationInfo
    w.octets(&[0x5a; 16]); // conferenceID
    q931(cref, true, super::Q931_CONNECT, &[], &w.out)
}

fn h245_unicast(w: &mut Writer, ip: [u8; 4], port: u16) {
    w.bit(false);
    w.constrained(0, 2); // unicastAddress
    w.bit(false);
    w.constrained(0, 5); // iPAddress
    w.bit(false); // iPAddress extension
    w.octets(&ip);
    w.constrained(u32::from(port), 65536);
}

/// An H.245 `openLogicalChannelAck` for `channel`, receiving RTP at `media` and RTCP at
/// `control` (session 1).
#[must_use]
pub fn open_logical_channel_ack(
    channel: u16,
    media: ([u8; 4], u16),
    control: ([u8; 4], u16),
) -> Vec<u8> {
    let mut w = Writer::new();
    w.bit(false);
    w.constrained(1, 4); // response
    w.bit(false);
    w.constrained(5, 22); // openLogicalChannelAck
    w.bit(true); // extension additions present
    w.bit(false); // no reverseLogicalChannelParameters
    w.constrained(u32::from(channel.max(1)) - 1, 65535);
    w.bit(false);
    w.bits(3, 6); // 4 additions
    w.bits(0b0100, 4); // forwardMultiplexAckParameters only
    let mut f = Writer::new();
    f.bit(false); // h2250LogicalChannelAckParameters (the only root alternative)
    f.bit(false); // extension
    f.bits(0b01110, 5); // sessionID, mediaChannel, mediaControlChannel
    f.constrained(0, 255); // sessionID 1
    h245_unicast(&mut f, media.0, media.1);
    h245_unicast(&mut f, control.0, control.1);
    w.open(&f);
    tpkt(&w.out)
}

/// The head of a RAS message: the `RasMessage` alternative (no extension).
fn ras_head(w: &mut Writer, kind: u32) {
    w.bit(false);
    w.constrained(kind, 25);
}

/// A VendorIdentifier (H.221 country 181, manufacturer 0x5356; no product or version).
fn vendor(w: &mut Writer) {
    w.bit(false); // extension
    w.bits(0, 2); // productId, versionId absent
    w.bit(false); // H221NonStandard extension
    w.constrained(181, 256);
    w.constrained(0, 256);
    w.constrained(0x5356, 65536);
}

/// A RAS RegistrationRequest (sequence number `seq`) from an endpoint that takes calls on
/// `call` and RAS on `ras`.
#[must_use]
pub fn registration_request(seq: u16, call: ([u8; 4], u16), ras: ([u8; 4], u16)) -> Vec<u8> {
    let mut w = Writer::new();
    ras_head(&mut w, super::ras::RRQ);
    w.bit(false); // extension
    w.bits(0, 3); // nonStandardData, terminalAlias, gatekeeperIdentifier absent
    w.constrained(u32::from(seq.max(1)) - 1, 65535);
    w.length(H225_V4.len());
    w.octets(&H225_V4);
    w.bit(false); // discoveryComplete
    w.length(1);
    transport(&mut w, call.0, call.1); // callSignalAddress
    w.length(1);
    transport(&mut w, ras.0, ras.1); // rasAddress
    terminal(&mut w); // terminalType
    vendor(&mut w); // endpointVendor
    w.out
}

/// A RAS RegistrationConfirm answering `seq` from a gatekeeper taking calls on `call`,
/// naming the endpoint `id`.
#[must_use]
pub fn registration_confirm(seq: u16, call: ([u8; 4], u16), id: &str) -> Vec<u8> {
    let mut w = Writer::new();
    ras_head(&mut w, super::ras::RCF);
    w.bit(false); // extension
    w.bits(0, 3); // nonStandardData, terminalAlias, gatekeeperIdentifier absent
    w.constrained(u32::from(seq.max(1)) - 1, 65535);
    w.length(H225_V4.len());
    w.octets(&H225_V4);
    w.length(1);
    transport(&mut w, call.0, call.1); // callSignalAddress
    let units: Vec<u16> = id.encode_utf16().take(128).collect();
    w.constrained(u32::try_from(units.len().max(1) - 1).unwrap_or(0), 128);
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    w.octets(&bytes); // endpointIdentifier
    w.out
}

/// A RAS AdmissionConfirm answering `seq`: the call's signalling goes to `dest`
/// (direct call model, 64 kbit/s).
#[must_use]
pub fn admission_confirm(seq: u16, dest: ([u8; 4], u16)) -> Vec<u8> {
    let mut w = Writer::new();
    ras_head(&mut w, super::ras::ACF);
    w.bit(false); // extension
    w.bits(0, 2); // irrFrequency, nonStandardData absent
    w.constrained(u32::from(seq.max(1)) - 1, 65535);
    w.whole_u32(640); // bandWidth, in 100 bit/s
    w.bit(false);
    w.constrained(0, 2); // callModel: direct
    transport(&mut w, dest.0, dest.1); // destCallSignalAddress
    w.out
}

/// A RAS LocationConfirm answering `seq`: the endpoint takes calls on `call`, RAS on `ras`.
#[must_use]
pub fn location_confirm(seq: u16, call: ([u8; 4], u16), ras: ([u8; 4], u16)) -> Vec<u8> {
    let mut w = Writer::new();
    ras_head(&mut w, super::ras::LCF);
    w.bit(false); // extension
    w.bit(false); // nonStandardData absent
    w.constrained(u32::from(seq.max(1)) - 1, 65535);
    transport(&mut w, call.0, call.1);
    transport(&mut w, ras.0, ras.1);
    w.out
}
