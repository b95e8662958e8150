//! The typed model of `show security flow session` (reply root `flow-session-information`).
//!
//! The reply is a stream, never a whole tree in memory: per worker a [`Section`]
//! ("Flow Sessions on FPC0 PIC1:"), then the [`FlowSession`]s of that worker one at a time,
//! then the section's trailer (the displayed-session count, or for `summary` the
//! [`SessionCounts`] or the all-sessions [`SessionsSummary`]). Every renderer walks the same
//! stream: the Junos text renderer ([`super::text`]) prints the typed values directly; XML
//! and JSON renderers print the [`Elem`] tree each typed value builds of itself, one
//! session at a time ([`FlowSession::to_elem`], [`Section::to_elem`], …).

use core::net::IpAddr;

use svcard_dataplane::flow::Endpoint;
use svcard_dataplane::ring::QueryCounts;
use svcard_dataplane::session::{bits, SessionView};

use super::names::Names;

/// The detail level of a show command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    /// No level given: the brief layout, but the request carries no `<brief/>`.
    #[default]
    Default,
    /// `brief`.
    Brief,
    /// `extensive`.
    Extensive,
    /// `summary`.
    Summary,
}

impl Level {
    /// The keyword (`None` for the default level).
    #[must_use]
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            Level::Default => None,
            Level::Brief => Some("brief"),
            Level::Extensive => Some("extensive"),
            Level::Summary => Some("summary"),
        }
    }
    /// The `junos:style` attribute a reply element of this level carries.
    #[must_use]
    pub fn style(self) -> &'static str {
        match self {
            Level::Default | Level::Brief => "brief",
            Level::Extensive => "extensive",
            Level::Summary => "summary",
        }
    }
}

/// The state of a session as Junos counts it (summary) and shows it (brief line,
/// `Session State:`, `<sess-state>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessState {
    /// Installed and passing traffic.
    #[default]
    Valid,
    /// Being set up (TCP handshake not complete).
    Pending,
    /// Marked for deletion (cleared, closing); shown as "Invalid".
    Invalidated,
    /// Anything else.
    Other,
}

impl SessState {
    /// The word Junos prints for the state.
    #[must_use]
    pub fn junos_name(self) -> &'static str {
        match self {
            SessState::Valid => "Valid",
            SessState::Pending => "Pending",
            SessState::Invalidated => "Invalid",
            SessState::Other => "Other",
        }
    }

    /// The state a view shows by itself: invalidated when marked for deletion
    /// ([`bits::CLEARING`]), valid otherwise. The control core, which knows the TCP
    /// tracker's states, passes a finer state in [`SessionExtra::state`].
    #[must_use]
    pub fn from_view(v: &SessionView) -> Self {
        if v.bits & bits::CLEARING != 0 {
            SessState::Invalidated
        } else {
            SessState::Valid
        }
    }
}

/// One worker's part of the reply: "Flow Sessions on FPC{fpc} PIC{pic}:".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// FPC slot.
    pub fpc: u16,
    /// PIC within the FPC.
    pub pic: u16,
}

impl Section {
    /// The section's identifier element (`<flow-fpc-pic-id> on FPC0 PIC1:</flow-fpc-pic-id>`,
    /// with Junos's leading space).
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        Elem::leaf("flow-fpc-pic-id", format!(" on {self}:"))
    }
}

/// `FPC0 PIC1`.
impl core::fmt::Display for Section {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FPC{} PIC{}", self.fpc, self.pic)
    }
}

/// A name and the index beside it, as Junos prints policies and applications (`p1/4`,
/// `junos-ftp/1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NamedIndex<'a> {
    /// The name.
    pub name: &'a str,
    /// The index.
    pub index: u32,
}

impl core::fmt::Display for NamedIndex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.name, self.index)
    }
}

/// What the resource manager knows of a session (`Resource information : FTP ALG, 1, 0`,
/// `Client: FTP ALG, Group: 1, Resource: 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceInfo<'a> {
    /// The client's display name (`FTP ALG`).
    pub client: &'a str,
    /// The resource group ID.
    pub group: u32,
    /// The resource ID within the group.
    pub resource: u32,
}

/// Which way a flow of a session goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// The initiator's flow.
    In,
    /// The responder's flow.
    Out,
}

impl FlowDirection {
    /// `In` or `Out`.
    #[must_use]
    pub fn junos_name(self) -> &'static str {
        match self {
            FlowDirection::In => "In",
            FlowDirection::Out => "Out",
        }
    }
}

/// One direction of a session (`<flow-information>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowInfo<'a> {
    /// In or Out.
    pub direction: FlowDirection,
    /// Source address.
    pub source_address: IpAddr,
    /// Source port (ICMP: the identifier).
    pub source_port: u16,
    /// Destination address.
    pub destination_address: IpAddr,
    /// Destination port (ICMP: the identifier).
    pub destination_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Display name of the protocol (`tcp`); `None` prints the number.
    pub protocol_name: Option<&'a str>,
    /// Connection tag (`Conn Tag: 0x0`).
    pub conn_tag: u32,
    /// The interface this direction arrives on.
    pub interface: &'a str,
    /// Junos internal: session token.
    pub session_token: u32,
    /// Junos internal: flow flag.
    pub flag: u32,
    /// Junos internal: route.
    pub route: u32,
    /// The gateway toward this direction's source.
    pub gateway: IpAddr,
    /// Tunnel ID (0: none).
    pub tunnel: u32,
    /// TCP port sequence.
    pub port_sequence: u32,
    /// Sequence number of this side's FIN, 0 if none.
    pub fin_sequence: u32,
    /// FIN state: 0 none, 1 FIN sent, 2 FIN acknowledged.
    pub fin_state: u8,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// The protocol of a flow as printed after `;`: its name, else its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolDisplay<'a> {
    /// Number.
    pub number: u8,
    /// Name, if it has one.
    pub name: Option<&'a str>,
}

impl core::fmt::Display for ProtocolDisplay<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.number),
        }
    }
}

impl<'a> FlowInfo<'a> {
    /// The protocol as printed.
    #[must_use]
    pub fn protocol_display(&self) -> ProtocolDisplay<'a> {
        ProtocolDisplay {
            number: self.protocol,
            name: self.protocol_name,
        }
    }

    /// The flow's element (`<flow-information junos:style=…>`), its leaves in the order of
    /// the extensive text layout: every leaf at every level, as Junos emits them (the
    /// style attribute says which level was asked for); `resource_manager` drops the
    /// connection tag.
    #[must_use]
    pub fn to_elem(
        &self,
        level: Level,
        resource_manager: bool,
        cp_session_id: Option<u32>,
    ) -> Elem {
        let mut e = Elem::new("flow-information").attr("junos:style", level.style());
        e.push(Elem::leaf("direction", self.direction.junos_name()));
        e.push(Elem::leaf("source-address", self.source_address));
        e.push(Elem::leaf("source-port", self.source_port));
        e.push(Elem::leaf("destination-address", self.destination_address));
        e.push(Elem::leaf("destination-port", self.destination_port));
        e.push(Elem::leaf("protocol", self.protocol_display()));
        if !resource_manager {
            e.push(Elem::leaf("conn-tag", format!("0x{:x}", self.conn_tag)));
        }
        e.push(Elem::leaf("interface-name", self.interface));
        e.push(Elem::leaf(
            "session-token",
            format!("0x{:x}", self.session_token),
        ));
        e.push(Elem::leaf("flag", format!("0x{:x}", self.flag)));
        e.push(Elem::leaf("route", format!("0x{:x}", self.route)));
        e.push(Elem::leaf("gateway", self.gateway));
        e.push(Elem::leaf("tunnel-information", self.tunnel));
        e.push(Elem::leaf("port-sequence", self.port_sequence));
        e.push(Elem::leaf("fin-sequence", self.fin_sequence));
        e.push(Elem::leaf("fin-state", self.fin_state));
        e.push(Elem::leaf("pkt-cnt", self.packets));
        e.push(Elem::leaf("byte-cnt", self.bytes));
        if let Some(cp) = cp_session_id.filter(|_| resource_manager) {
            e.push(Elem::leaf("cp-session-id", cp));
        }
        e
    }
}

/// What the control core knows of a session beyond its view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionExtra<'a> {
    /// The central-point session ID the control core gave the session.
    pub cp_session_id: Option<u32>,
    /// The resource manager's record of the session.
    pub resource: Option<ResourceInfo<'a>>,
    /// The session's state, if the caller knows better than [`SessState::from_view`].
    pub state: Option<SessState>,
}

/// The policy name of a session no rule matched (the service set's default action, or a
/// port in no service set).
pub const DEFAULT_POLICY: &str = "default-policy";

/// The placeholder printed where an index names nothing.
pub const UNKNOWN_NAME: &str = "N/A";

/// One session of the reply (`<flow-session>`): everything every level prints, typed.
/// Borrowed strings, so building one per session allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSession<'a> {
    /// Session ID.
    pub session_id: u32,
    /// `Status:` (extensive), `Normal`.
    pub status: &'a str,
    /// Junos internal session flags (`Flags: 0x42/0x0/0x2010103`).
    pub flags: [u32; 3],
    /// The policy (rule) that admitted the session.
    pub policy: NamedIndex<'a>,
    /// Source NAT pool (`Null` without NAT).
    pub source_nat_pool: &'a str,
    /// The application; `None` prints `none/0`.
    pub application: Option<NamedIndex<'a>>,
    /// Dynamic application (`junos:UNKNOWN`).
    pub dynamic_application: &'a str,
    /// Encryption (`Unknown`).
    pub encryption: &'a str,
    /// Application traffic control rule set (`INVALID`).
    pub atc_rule_set: &'a str,
    /// Application traffic control rule (`INVALID`).
    pub atc_rule: &'a str,
    /// Configured idle timeout, seconds (`Maximum timeout`).
    pub max_timeout: u32,
    /// Seconds left (`Timeout` of the brief line, `Current timeout`).
    pub timeout: u32,
    /// State.
    pub state: SessState,
    /// Start, seconds since start-up.
    pub start_time: u32,
    /// Seconds since the session started.
    pub duration: u32,
    /// Resource manager record (resource-manager views).
    pub resource: Option<ResourceInfo<'a>>,
    /// CP session ID (resource-manager views).
    pub cp_session_id: Option<u32>,
    /// In, then Out.
    pub flows: [FlowInfo<'a>; 2],
}

impl<'a> FlowSession<'a> {
    /// The model of a session from a worker's view, the configuration's names and what the
    /// control core adds. Junos internals (flags, tokens, routes) get svcard's own values:
    /// flags are (Junos flag byte, 0, session bits), the session token of a flow is its
    /// ingress port, flow flag and route are 0, the gateway is the flow's source address.
    #[must_use]
    pub fn from_view<N: Names + ?Sized>(
        v: &SessionView,
        names: &'a N,
        extra: SessionExtra<'a>,
    ) -> Self {
        let init = v.initiator_dir();
        let key_src = v.key.src(init);
        let key_dst = v.key.dst(init);
        let proto = v.key.proto;
        let proto_name = names.protocol_name(proto);
        let flow = |i: usize, direction: FlowDirection, src: Endpoint, dst: Endpoint| {
            let f = &v.flows[i];
            let src = f.src.unwrap_or(src);
            let dst = f.dst.unwrap_or(dst);
            FlowInfo {
                direction,
                source_address: src.addr,
                source_port: src.port,
                destination_address: dst.addr,
                destination_port: dst.port,
                protocol: proto,
                protocol_name: proto_name,
                conn_tag: 0,
                // A tagged session's interface is its VLAN unit, where the port has one.
                interface: f
                    .ingress_port
                    .and_then(|p| {
                        (v.key.vlan != 0)
                            .then(|| names.unit_name(p, v.key.vlan))
                            .flatten()
                            .or_else(|| names.port_name(p))
                    })
                    .unwrap_or(UNKNOWN_NAME),
                session_token: f.ingress_port.map_or(0, |p| u32::from(p.0)),
                flag: 0,
                route: 0,
                gateway: src.addr,
                tunnel: 0,
                port_sequence: 0,
                fin_sequence: f.fin_seq,
                fin_state: f.fin_state,
                packets: f.packets,
                bytes: f.bytes,
            }
        };
        let application = (v.application != u16::MAX).then(|| NamedIndex {
            name: names
                .application_name(v.application)
                .unwrap_or(UNKNOWN_NAME),
            index: u32::from(v.application),
        });
        FlowSession {
            session_id: v.id,
            status: "Normal",
            flags: [u32::from(v.junos_flags), 0, u32::from(v.bits)],
            policy: if v.rule == u16::MAX {
                // No rule matched: the service set's default action decided.
                NamedIndex {
                    name: DEFAULT_POLICY,
                    index: 0,
                }
            } else {
                NamedIndex {
                    name: names
                        .rule_name(v.service_set, v.rule)
                        .unwrap_or(UNKNOWN_NAME),
                    // Junos numbers policies from 1; the view carries the rule's position.
                    index: u32::from(v.rule) + 1,
                }
            },
            source_nat_pool: match v.nat {
                Some(n) => names.nat_pool_name(n.pool).unwrap_or(UNKNOWN_NAME),
                None => "Null",
            },
            application,
            dynamic_application: "junos:UNKNOWN",
            encryption: "Unknown",
            atc_rule_set: "INVALID",
            atc_rule: "INVALID",
            max_timeout: v.timeout_s,
            timeout: v.remaining_s,
            state: extra.state.unwrap_or_else(|| SessState::from_view(v)),
            start_time: v.start_s,
            duration: v.duration_s,
            resource: extra.resource,
            cp_session_id: extra.cp_session_id,
            flows: [
                flow(0, FlowDirection::In, key_src, key_dst),
                flow(1, FlowDirection::Out, key_dst, key_src),
            ],
        }
    }

    /// The application as printed (`junos-ftp/1`, `none/0`).
    #[must_use]
    pub fn application_display(&self) -> NamedIndex<'a> {
        self.application.unwrap_or(NamedIndex {
            name: "none",
            index: 0,
        })
    }

    /// The session's element (`<flow-session junos:style=…>`) at a level: Junos emits the
    /// whole element set whatever the style (the attribute names the level); the
    /// resource-manager view adds the resource record and CP session IDs and drops the
    /// connection tags, as the text does.
    #[must_use]
    pub fn to_elem(&self, level: Level, resource_manager: bool) -> Elem {
        let mut e = Elem::new("flow-session").attr("junos:style", level.style());
        e.push(Elem::leaf("session-identifier", self.session_id));
        e.push(Elem::leaf("status", self.status));
        let [a, b, c] = self.flags;
        e.push(Elem::leaf(
            "session-flag",
            format!("0x{a:x}/0x{b:x}/0x{c:x}"),
        ));
        e.push(Elem::leaf("policy", self.policy));
        let app = self.application_display();
        e.push(Elem::leaf("nat-source-pool-name", self.source_nat_pool));
        e.push(Elem::leaf("application-name", app.name));
        e.push(Elem::leaf("application-value", app.index));
        e.push(Elem::leaf(
            "dynamic-application-name",
            self.dynamic_application,
        ));
        e.push(Elem::leaf("encryption-traffic-name", self.encryption));
        e.push(Elem::leaf(
            "application-traffic-control-rule-set-name",
            self.atc_rule_set,
        ));
        e.push(Elem::leaf(
            "application-traffic-control-rule-name",
            self.atc_rule,
        ));
        e.push(Elem::leaf("configured-timeout", self.max_timeout));
        e.push(Elem::leaf("timeout", self.timeout));
        e.push(Elem::leaf("sess-state", self.state.junos_name()));
        e.push(Elem::leaf("start-time", self.start_time));
        e.push(Elem::leaf("duration", self.duration));
        if let Some(r) = self.resource.filter(|_| resource_manager) {
            let mut ri = Elem::new("resource-manager-information");
            ri.push(Elem::leaf("client-name", r.client));
            ri.push(Elem::leaf("group-identifier", r.group));
            ri.push(Elem::leaf("resource-identifier", r.resource));
            e.push(ri);
        }
        for f in &self.flows {
            e.push(f.to_elem(level, resource_manager, self.cp_session_id));
        }
        e
    }
}

/// The counts a section's `summary` shows when sessions are selected (resource-manager or
/// filtered view): Valid / Pending / Invalidated / other / Total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionCounts {
    /// Valid sessions.
    pub valid: u64,
    /// Pending sessions.
    pub pending: u64,
    /// Invalidated sessions.
    pub invalidated: u64,
    /// Sessions in other states.
    pub other: u64,
    /// Total sessions.
    pub total: u64,
}

impl From<QueryCounts> for SessionCounts {
    fn from(c: QueryCounts) -> Self {
        Self {
            valid: c.valid,
            pending: c.pending,
            invalidated: c.invalidated,
            other: c.other,
            total: c.matched,
        }
    }
}

impl SessionCounts {
    /// Counts one session of the given state.
    pub fn add(&mut self, state: SessState) {
        match state {
            SessState::Valid => self.valid += 1,
            SessState::Pending => self.pending += 1,
            SessState::Invalidated => self.invalidated += 1,
            SessState::Other => self.other += 1,
        }
        self.total += 1;
    }

    /// The count leaves (`displayed-session-valid`, …, `displayed-session-count`).
    #[must_use]
    pub fn to_elems(&self) -> Vec<Elem> {
        vec![
            Elem::leaf("displayed-session-valid", self.valid),
            Elem::leaf("displayed-session-pending", self.pending),
            Elem::leaf("displayed-session-invalidated", self.invalidated),
            Elem::leaf("displayed-session-other", self.other),
            Elem::leaf("displayed-session-count", self.total),
        ]
    }
}

/// The all-sessions summary of a section (`show security flow session summary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionsSummary {
    /// Unicast sessions.
    pub unicast: u64,
    /// Multicast sessions.
    pub multicast: u64,
    /// Sessions offloaded to the fast path or the NIC.
    pub services_offload: u64,
    /// Sessions that failed to be created.
    pub failed: u64,
    /// Sessions whose action drops.
    pub drop_flow: u64,
    /// Sessions in use (all states).
    pub in_use: u64,
    /// Valid sessions.
    pub valid: u64,
    /// Pending sessions.
    pub pending: u64,
    /// Invalidated sessions.
    pub invalidated: u64,
    /// Sessions in other states.
    pub other: u64,
    /// Session capacity.
    pub maximum: u64,
}

impl SessionsSummary {
    /// The summary element (`<flow-session-summary-information>`), with the element names
    /// an SRX emits (`active-sessions`, `active-session-valid`, …), which scripts and PyEZ
    /// tables read.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("flow-session-summary-information").attr("junos:style", "summary");
        for (n, v) in [
            ("active-unicast-sessions", self.unicast),
            ("active-multicast-sessions", self.multicast),
            ("active-services-offload-sessions", self.services_offload),
            ("failed-sessions", self.failed),
            ("active-drop-sessions", self.drop_flow),
            ("active-sessions", self.in_use),
            ("active-session-valid", self.valid),
            ("active-session-pending", self.pending),
            ("active-session-invalidated", self.invalidated),
            ("active-session-other", self.other),
            ("max-sessions", self.maximum),
        ] {
            e.push(Elem::leaf(n, v));
        }
        e
    }
}

/// A generic reply element: what XML and JSON renderers print. Built from the typed model
/// one record at a time, so a streaming renderer never holds more than one session's tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Elem {
    /// Element name.
    pub name: &'static str,
    /// Attributes, in order.
    pub attrs: Vec<(&'static str, String)>,
    /// Leaf text (`None` for containers and empty toggles).
    pub text: Option<String>,
    /// Children, in order.
    pub children: Vec<Elem>,
}

impl Elem {
    /// An empty element (a container, or a toggle leaf like `<summary/>`).
    #[must_use]
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }
    /// A leaf with text.
    #[must_use]
    pub fn leaf(name: &'static str, text: impl core::fmt::Display) -> Self {
        Self {
            name,
            text: Some(text.to_string()),
            ..Self::default()
        }
    }
    /// With an attribute added.
    #[must_use]
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attrs.push((name, value.into()));
        self
    }
    /// Appends a child.
    pub fn push(&mut self, child: Elem) {
        self.children.push(child);
    }
    /// The first child of that name.
    #[must_use]
    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
}
