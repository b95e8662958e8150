//! The small types every ALG speaks: protocols, sides, the parent flow, expectations,
//! actions and the bounded action buffer, configuration and counters.
//!
//! None of them depends on the dataplane: the control core converts its session key into a
//! [`FlowCtx`] when it creates an ALG, and converts [`Action`]s back into pinholes, rewrites
//! and session state changes.

use core::net::{IpAddr, SocketAddr};
use core::ops::Range;

use crate::kind::AlgKind;

/// An IP protocol number (the IPv4 `protocol` / IPv6 `next header` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Proto(pub u8);

impl Proto {
    /// ICMP (1).
    pub const ICMP: Proto = Proto(1);
    /// TCP (6).
    pub const TCP: Proto = Proto(6);
    /// UDP (17).
    pub const UDP: Proto = Proto(17);
    /// ICMPv6 (58).
    pub const ICMPV6: Proto = Proto(58);

    /// The ICMP flavour matching an address family: ICMPv6 for IPv6, ICMP otherwise.
    #[must_use]
    pub fn icmp_for(addr: IpAddr) -> Proto {
        if addr.is_ipv6() {
            Proto::ICMPV6
        } else {
            Proto::ICMP
        }
    }
}

/// Which end of the parent session sent a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that opened the parent session (the client: FTP commands, DNS queries).
    Initiator,
    /// The other end (the server: FTP replies, DNS answers).
    Responder,
}

impl Side {
    /// The array index of this side (Initiator 0, Responder 1), for per-direction state.
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Side::Initiator => 0,
            Side::Responder => 1,
        }
    }

    /// The other side.
    #[must_use]
    pub fn peer(self) -> Side {
        match self {
            Side::Initiator => Side::Responder,
            Side::Responder => Side::Initiator,
        }
    }
}

/// A 5-tuple in the direction a packet travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// IP protocol.
    pub proto: Proto,
    /// Source address.
    pub src: IpAddr,
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port (0 for protocols without ports).
    pub dst_port: u16,
}

impl FiveTuple {
    /// The same flow seen from the other direction.
    #[must_use]
    pub fn reversed(self) -> FiveTuple {
        FiveTuple {
            proto: self.proto,
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

/// The parent (control) session an ALG instance watches, as the first packet created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowCtx {
    /// Transport protocol of the parent session (TCP or UDP).
    pub proto: Proto,
    /// The initiator's (client's) address and port.
    pub initiator: SocketAddr,
    /// The responder's (server's) address and port.
    pub responder: SocketAddr,
}

impl FlowCtx {
    /// A parent context from the initiator's and the responder's address and port.
    #[must_use]
    pub fn new(proto: Proto, initiator: SocketAddr, responder: SocketAddr) -> FlowCtx {
        FlowCtx {
            proto,
            initiator,
            responder,
        }
    }

    /// The address of one side.
    #[must_use]
    pub fn addr(&self, side: Side) -> IpAddr {
        match side {
            Side::Initiator => self.initiator.ip(),
            Side::Responder => self.responder.ip(),
        }
    }

    /// True when the parent runs over TCP (the ALG then expects sequence numbers).
    #[must_use]
    pub fn is_tcp(&self) -> bool {
        self.proto == Proto::TCP
    }
}

/// What the child flow of an expectation is, so the control core can name it
/// ("Application: junos-ftp-data") and attach a further ALG if one applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppHint {
    /// An FTP data connection.
    FtpData,
    /// A TFTP transfer (the server's new port).
    TftpData,
    /// An RPC program's port learnt from the portmapper.
    RpcProgram {
        /// The RPC program number.
        prog: u32,
        /// The RPC program version.
        vers: u32,
    },
    /// The rsh / rexec stderr connection back to the client.
    RshStderr,
    /// The talk conversation's TCP connection.
    TalkData,
    /// A talk daemon's response sent to a control address other than the request's source.
    TalkControl,
    /// An ICMP error answering a traceroute probe.
    TracerouteIcmp,
    /// A SIP call's RTP or RTCP stream.
    SipMedia,
    /// SIP signalling to a registered Contact (an incoming call).
    SipSignalling,
    /// An RTSP session's RTP or RTCP stream.
    RtspMedia,
    /// IKE and UDP-encapsulated ESP on the NAT-T port (4500).
    IkeNatT,
    /// ESP between two IKE peers.
    Esp,
    /// The connection an Oracle listener redirected its client to.
    SqlnetData,
    /// A PPTP call's enhanced GRE.
    PptpGre,
    /// The H.245 connection an H.323 call's signalling names.
    H245,
    /// H.323 call signalling (Q.931 / H.225) RAS admitted: to a registered endpoint, or to
    /// where an admitted call goes.
    H225Signalling,
    /// An H.323 logical channel's RTP or RTCP.
    H323Media,
    /// An MS-RPC interface's port learnt from the endpoint mapper.
    DceRpcProgram {
        /// The interface's UUID (as it travels).
        uuid: [u8; 16],
    },
}

impl AppHint {
    /// Every kind of child, one of each (an RPC program's numbers do not change its name).
    pub const ALL: [AppHint; 18] = [
        AppHint::FtpData,
        AppHint::TftpData,
        AppHint::RpcProgram { prog: 0, vers: 0 },
        AppHint::RshStderr,
        AppHint::TalkData,
        AppHint::TalkControl,
        AppHint::TracerouteIcmp,
        AppHint::SipMedia,
        AppHint::SipSignalling,
        AppHint::RtspMedia,
        AppHint::IkeNatT,
        AppHint::Esp,
        AppHint::SqlnetData,
        AppHint::PptpGre,
        AppHint::DceRpcProgram { uuid: [0; 16] },
        AppHint::H245,
        AppHint::H225Signalling,
        AppHint::H323Media,
    ];

    /// The Junos-style application name of the child.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AppHint::FtpData => "junos-ftp-data",
            AppHint::TftpData => "junos-tftp-data",
            AppHint::RpcProgram { .. } => "junos-sun-rpc",
            AppHint::RshStderr => "junos-rsh-stderr",
            AppHint::TalkData => "junos-talk-data",
            AppHint::TalkControl => "junos-talk",
            AppHint::TracerouteIcmp => "junos-traceroute",
            AppHint::SipMedia => "junos-sip-media",
            AppHint::SipSignalling => "junos-sip",
            AppHint::RtspMedia => "junos-rtsp-media",
            AppHint::IkeNatT => "junos-ike-nat",
            AppHint::Esp => "junos-ipsec-esp",
            AppHint::SqlnetData => "junos-sqlnet-data",
            AppHint::PptpGre => "junos-gre",
            AppHint::DceRpcProgram { .. } => "junos-ms-rpc",
            AppHint::H245 => "junos-h245",
            AppHint::H225Signalling => "junos-h323",
            AppHint::H323Media => "junos-h323-media",
        }
    }

    /// Whether the child may be offloaded to the NIC (under its service set's policy): the
    /// ALG needs none of its packets, and it carries the bulk of the conversation's bytes.
    /// FTP data and a call's media are; the children an ALG must go on reading (a talk daemon's control
    /// answer, ICMP errors) or that are short (TFTP's, rsh's stderr) are not.
    #[must_use]
    pub fn offloadable(self) -> bool {
        matches!(
            self,
            AppHint::FtpData | AppHint::SipMedia | AppHint::RtspMedia
        )
    }
}

/// A child flow the parent negotiated: the pinhole the control core installs on every
/// worker. `None` fields are wildcards.
///
/// The direction is that of the child's *first* packet (the connection opener): `src` is
/// who connects, `dst` is who is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expectation {
    /// The child's IP protocol.
    pub proto: Proto,
    /// The child's source address; `None` = any host.
    pub src: Option<IpAddr>,
    /// The child's source port; `None` = any port.
    pub src_port: Option<u16>,
    /// The child's destination address (always known).
    pub dst: IpAddr,
    /// The child's destination port; `None` = any port (ICMP: always `None`).
    pub dst_port: Option<u16>,
    /// How long the pinhole waits for its first packet, in milliseconds.
    pub timeout_ms: u64,
    /// What the child is.
    pub child_app: AppHint,
    /// True when the pinhole is consumed by the first matching flow.
    pub one_shot: bool,
    /// For ICMP expectations: the flow (as the prober sent it) the ICMP error must quote.
    /// `None` for transport expectations.
    pub quoted: Option<FiveTuple>,
    /// Which of the conversation's negotiations opened it (0 for ALGs that hold one at a
    /// time; a SIP dialog's number), so an [`Action::Withdraw`] takes back only its own.
    pub tag: u32,
}

/// What an [`Action::Rewrite`] range holds, so a NAT can substitute its own address/port
/// in the same notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewriteKind {
    /// FTP `PORT` / `227` notation "h1,h2,h3,h4,p1,p2".
    FtpCommaAddrPort,
    /// FTP `EPRT` argument "|af|addr|port|" (the whole delimited argument).
    FtpEprt,
    /// FTP `229` port digits.
    FtpEpsvPort,
    /// A talk `osockaddr` (16 bytes: family, port, IPv4 address, zero).
    TalkSockaddr,
    /// An RPC GETPORT reply's port (a 4-byte big-endian word).
    RpcPort,
    /// An rpcbind universal address string "h1.h2.h3.h4.p1.p2".
    RpcUaddr,
    /// The rsh / rexec stderr port digits.
    RshPort,
    /// A SIP header's `host[:port]` (Via sent-by, Contact URI).
    SipHostPort,
    /// An SDP `c=` (or `a=rtcp:`) address.
    SdpAddr,
    /// An SDP `m=` port.
    SdpPort,
    /// An RTSP `Transport` port pair "a[-b]" (`client_port=`, `server_port=`).
    RtspPorts,
    /// A TNS connect descriptor's `HOST=` value.
    TnsHost,
    /// A TNS connect descriptor's `PORT=` value.
    TnsPort,
    /// An endpoint mapper tower's IPv4 address (4 bytes, network order).
    DceRpcAddr,
    /// An endpoint mapper tower's TCP port (2 bytes, network order).
    DceRpcPort,
    /// An H.225 / H.245 IPv4 address in aligned PER (4 octets).
    H323Addr,
    /// An H.225 / H.245 port in aligned PER (2 octets).
    H323Port,
    /// A PPTP call ID (2 bytes, network order).
    PptpCallId,
}

/// The parent session's new processing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParentState {
    /// Negotiation is over: stop handing packets to the control core, forward on the worker.
    Forward,
    /// Keep handing packets to the ALG (the initial state of an ALG-governed session).
    Watch,
}

/// Why an ALG refused or could not parse a message. Tiny and `Copy` for the packet path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseErrorKind {
    /// The message does not follow the protocol's syntax.
    #[error("malformed message")]
    Malformed,
    /// A port is 0 or beyond 65535.
    #[error("bad port")]
    BadPort,
    /// An address does not parse, or is of a family the ALG cannot use.
    #[error("bad address")]
    BadAddress,
    /// The negotiated address is not the sender's own (third-party transfer).
    #[error("third-party address refused")]
    ThirdPartyAddress,
    /// A line or message exceeded the reassembly buffer without ending.
    #[error("message too long")]
    TooLong,
    /// A reply that answers no outstanding request.
    #[error("unsolicited reply")]
    Unsolicited,
    /// A DNS question used a compression pointer or a name was too long.
    #[error("bad DNS name")]
    BadName,
    /// TCP data without a sequence number, or UDP data with one.
    #[error("missing or unexpected sequence number")]
    BadSequence,
    /// The per-conversation pinhole cap (`max_pinholes`) was reached.
    #[error("pinhole cap reached")]
    PinholeCap,
    /// A new call found the conversation's dialog table full.
    #[error("dialog table full")]
    TooManyDialogs,
}

/// What an ALG asks the control core to do. Pushed into [`Actions`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Install a pinhole for a child flow on every worker before forwarding this packet.
    Expect(Expectation),
    /// A byte range carries an address/port a NAT must rewrite (not applied yet: svcard has
    /// no NAT; the range is reported so the NAT can be added without touching the ALG).
    ///
    /// For TCP parents `range` is in TCP **sequence space** of `side`'s stream: `start` is the
    /// sequence number of the first byte, `end = start.wrapping_add(len)` (so `end < start`
    /// when the range crosses the sequence wrap; use `end.wrapping_sub(start)` for the
    /// length). The range may span segments. For UDP parents `range` is a byte offset range
    /// into the current datagram's payload.
    Rewrite {
        /// The direction whose payload holds the range.
        side: Side,
        /// Sequence-space (TCP) or payload-offset (UDP) range, see above.
        range: Range<u32>,
        /// The notation of the bytes in the range.
        kind: RewriteKind,
        /// The address written there (`None` when only a port is written).
        addr: Option<IpAddr>,
        /// The port written there.
        port: u16,
    },
    /// Change the parent's processing state.
    ParentState(ParentState),
    /// Take back what an earlier [`Action::Expect`] opened (matched by tag, protocol,
    /// destination address and destination port): the pinhole if it is still unused, and
    /// the child sessions it let in, which are closed. A SIP dialog that ends or whose
    /// media moved withdraws its media.
    Withdraw(Expectation),
    /// The parent's exchange is complete: close the parent session (e.g. a DNS answer seen).
    Close,
    /// A message was refused or could not be parsed; counted, nothing opened for it.
    ParseError(ParseErrorKind),
}

/// How many actions one call may produce.
pub const ACTIONS_CAP: usize = 16;

/// A caller-supplied, fixed-capacity action buffer: no allocation per packet. Actions
/// beyond [`ACTIONS_CAP`] are dropped and counted in [`Actions::overflow`].
#[derive(Debug, Clone, Default)]
pub struct Actions {
    items: [Option<Action>; ACTIONS_CAP],
    len: usize,
    overflow: u32,
}

impl Actions {
    /// An empty buffer.
    #[must_use]
    pub fn new() -> Actions {
        Actions::default()
    }

    /// Appends an action; returns false (and counts the loss) when the buffer is full.
    pub fn push(&mut self, action: Action) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(action);
                self.len += 1;
                true
            }
            None => {
                self.overflow = self.overflow.saturating_add(1);
                false
            }
        }
    }

    /// The number of actions held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no action is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many actions were dropped since the last [`Actions::clear`].
    #[must_use]
    pub fn overflow(&self) -> u32 {
        self.overflow
    }

    /// The action at `i`, if any.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&Action> {
        self.items.get(i).and_then(Option::as_ref)
    }

    /// The held actions in order.
    pub fn iter(&self) -> impl Iterator<Item = &Action> + '_ {
        self.items.iter().take(self.len).filter_map(Option::as_ref)
    }

    /// The expectations among the held actions.
    pub fn expectations(&self) -> impl Iterator<Item = &Expectation> + '_ {
        self.iter().filter_map(|a| match a {
            Action::Expect(e) => Some(e),
            _ => None,
        })
    }

    /// Empties the buffer and the overflow count, for reuse with the next packet.
    pub fn clear(&mut self) {
        for slot in &mut self.items {
            *slot = None;
        }
        self.len = 0;
        self.overflow = 0;
    }
}

/// A short list of ports (an ALG's configured parent ports), fixed capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortList {
    ports: [u16; PortList::CAP],
    len: u8,
}

impl PortList {
    /// The most ports a list holds.
    pub const CAP: usize = 8;

    /// A list of the first [`PortList::CAP`] ports of `ports`.
    #[must_use]
    pub fn from_slice(ports: &[u16]) -> PortList {
        let mut l = PortList::default();
        for &p in ports.iter().take(Self::CAP) {
            l.push(p);
        }
        l
    }

    /// `n` consecutive ports from `first` (at most [`PortList::CAP`], stopping at 65535).
    #[must_use]
    pub fn range(first: u16, n: u16) -> PortList {
        let mut l = PortList::default();
        for i in 0..n {
            if let Some(p) = first.checked_add(i) {
                l.push(p);
            }
        }
        l
    }

    /// Appends a port; false when the list is full.
    pub fn push(&mut self, port: u16) -> bool {
        match self.ports.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = port;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The ports held.
    #[must_use]
    pub fn as_slice(&self) -> &[u16] {
        self.ports.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// True when `port` is in the list.
    #[must_use]
    pub fn contains(&self, port: u16) -> bool {
        self.as_slice().contains(&port)
    }
}

/// Per-ALG configuration, given at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlgConfig {
    /// False switches the ALG off: it inspects nothing and opens nothing.
    pub enabled: bool,
    /// The parent ports the ALG governs (the control core's dispatch uses them).
    pub ports: PortList,
    /// Pinhole lifetime in milliseconds (how long an expectation waits for its child).
    pub timeout_ms: u64,
    /// The most pinholes one conversation may have outstanding at once (0 = no cap).
    pub max_pinholes: u32,
    /// Accept third-party addresses (FTP PORT/EPRT/227, rpcbind universal addresses, talk
    /// addresses) instead of refusing them.
    pub loose_ftp: bool,
    /// The SIP ALG's timers and table (ignored by the others).
    pub sip: SipSettings,
}

/// The SIP ALG's settings (Junos `security alg sip`: `t1-interval`,
/// `maximum-call-duration`; the pinhole wait is the ALG's `timeout`, Junos's
/// `inactive-media-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipSettings {
    /// T1, the round-trip estimate: an INVITE unanswered for 64 × T1 is dropped.
    pub t1_ms: u64,
    /// The longest a call may last; then its media is withdrawn.
    pub max_call_ms: u64,
    /// The most calls one parent session tracks at once.
    pub max_dialogs: u32,
}

impl Default for SipSettings {
    fn default() -> Self {
        SipSettings {
            t1_ms: 500,
            max_call_ms: 720 * 60_000,
            max_dialogs: 4096,
        }
    }
}

impl AlgConfig {
    /// The defaults for one ALG: enabled, Junos ports, default timeout, 16 pinholes, strict.
    #[must_use]
    pub fn default_for(kind: AlgKind) -> AlgConfig {
        AlgConfig {
            enabled: true,
            ports: {
                let (first, n) = kind.default_ports();
                PortList::range(first, n)
            },
            timeout_ms: kind.default_timeout_ms(),
            // SIP tracks its calls' pinholes per dialog (one parent carries many calls).
            max_pinholes: if kind == AlgKind::Sip { 0 } else { 16 },
            loose_ftp: false,
            sip: SipSettings::default(),
        }
    }

    /// Checks the values an operator may set.
    ///
    /// # Errors
    /// [`ConfigError`] when the timeout is zero or no port is configured for an enabled ALG.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout_ms == 0 {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.enabled && self.ports.as_slice().is_empty() {
            return Err(ConfigError::NoPorts);
        }
        if self.ports.as_slice().contains(&0) {
            return Err(ConfigError::PortZero);
        }
        Ok(())
    }
}

/// An invalid [`AlgConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `timeout_ms` is zero.
    #[error("ALG pinhole timeout must be greater than zero")]
    ZeroTimeout,
    /// An enabled ALG has no port.
    #[error("an enabled ALG needs at least one port")]
    NoPorts,
    /// Port 0 is configured.
    #[error("port 0 cannot be an ALG port")]
    PortZero,
}

/// Declares [`AlgCounters`] and its name table once, so show, telemetry and logs agree.
macro_rules! counters {
    ($( $(#[$doc:meta])* $field:ident => $name:literal, )*) => {
        /// Per-ALG-instance counters: plain `u64`s owned by the control core's ALG instance
        /// and read as snapshots. Sum them per [`AlgKind`] for `show services alg statistics`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct AlgCounters {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl AlgCounters {
            /// The counters' display names, in [`AlgCounters::values`] order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The counters' values, in [`AlgCounters::NAMES`] order.
            #[must_use]
            pub fn values(&self) -> [u64; AlgCounters::NAMES.len()] {
                [$(self.$field),*]
            }

            /// Adds another instance's counters (for per-ALG totals).
            pub fn add(&mut self, other: &AlgCounters) {
                $( self.$field = self.$field.saturating_add(other.$field); )*
            }

            /// What was counted since `base` (a snapshot taken at a clear).
            #[must_use]
            pub fn since(&self, base: &AlgCounters) -> AlgCounters {
                AlgCounters {
                    $( $field: self.$field.saturating_sub(base.$field), )*
                }
            }
        }
    };
}

counters! {
    /// Packets (payload-carrying calls to `on_data`) inspected.
    packets => "Packets inspected",
    /// Payload bytes inspected.
    bytes => "Bytes inspected",
    /// Pinholes (expectations) opened.
    pinholes => "Pinholes opened",
    /// Messages refused or unparsable (every `Action::ParseError`).
    parse_errors => "Parse errors",
    /// Reassembly buffer overflows (a line or message longer than the buffer).
    overflow => "Buffer overflows",
    /// Actions lost because the caller's action buffer was full.
    action_overflow => "Actions dropped",
    /// TCP segments beyond the next expected sequence number (held off, not parsed).
    out_of_order => "Out-of-order segments",
    /// TCP bytes already seen (retransmissions) skipped.
    retransmitted_bytes => "Retransmitted bytes",
    /// Third-party addresses refused.
    third_party_refused => "Third-party addresses refused",
    /// Expectations not opened because the conversation's pinhole cap was reached.
    cap_refused => "Pinholes refused by cap",
    /// Requests seen (FTP commands, DNS queries, RPC calls, talk messages, probes).
    requests => "Requests",
    /// Replies paired with a request.
    replies => "Replies matched",
    /// Calls (dialogs) begun.
    dialogs => "Calls begun",
    /// Calls ended (BYE, a refused or cancelled INVITE, a timeout).
    dialogs_ended => "Calls ended",
    /// Calls ended by a timer (no answer in time, `maximum-call-duration`).
    dialogs_timed_out => "Calls timed out",
    /// Calls not tracked because the dialog table was full.
    dialogs_refused => "Calls refused, table full",
}
