//! The session selectors that show and clear commands share: the option tables (one for
//! the SRX flow view, one for the MS-MPC services view, each used by its show and its
//! clear, so the two cannot drift apart), the filter they fill, and the filter's leaves in
//! a request RPC.

use svcard_dataplane::query::{Prefix, SessionFilter};

use super::grammar::{opt, Arg, Keyword, OptSpec, Value};
use crate::show::model::Elem;
use crate::show::names::Names;

/// Selectors of `show security flow session` and `clear security flow session`.
pub static FLOW_SELECTORS: &[OptSpec] = &[
    opt("application", "Application name", Arg::Name, 0),
    opt("destination-port", "Destination port", Arg::Port, 0),
    opt(
        "destination-prefix",
        "Destination IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt(
        "interface",
        "Name of incoming or outgoing interface",
        Arg::Name,
        0,
    ),
    opt("protocol", "IP protocol number", Arg::Protocol, 0),
    opt("source-port", "Source port", Arg::Port, 0),
    opt(
        "source-prefix",
        "Source IP prefix or address",
        Arg::Prefix,
        0,
    ),
];

/// Selectors of `show services sessions` and `clear services sessions`.
pub static SERVICES_SELECTORS: &[OptSpec] = &[
    opt(
        "application-protocol",
        "Application protocol name",
        Arg::Keyword(SERVICES_APP_PROTOCOLS),
        0,
    ),
    opt("destination-port", "Destination port", Arg::Port, 0),
    opt(
        "destination-prefix",
        "Destination IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("interface", "Name of services interface", Arg::Name, 0),
    opt("protocol", "IP protocol type", Arg::Protocol, 0),
    opt("service-set", "Name of service set", Arg::Name, 0),
    opt("source-port", "Source port", Arg::Port, 0),
    opt(
        "source-prefix",
        "Source IP prefix or address",
        Arg::Prefix,
        0,
    ),
];

/// The application protocols of `show services sessions application-protocol` (both seed
/// pages), and `none` for sessions without an ALG.
pub static SERVICES_APP_PROTOCOLS: &[Keyword] = &[
    ("bootp", "Bootstrap protocol"),
    ("dce-rpc", "DCE RPC"),
    ("dce-rpc-portmap", "DCE RPC portmap"),
    ("dns", "Domain Name Service"),
    ("exec", "Exec"),
    ("ftp", "File Transfer Protocol"),
    ("h323", "H.323"),
    ("icmp", "ICMP"),
    ("icmpv6", "ICMPv6"),
    ("iiop", "Internet Inter-ORB Protocol"),
    ("ike-esp-nat", "IKE ALG"),
    ("ip", "IP"),
    ("login", "Login"),
    ("netbios", "NetBIOS"),
    ("netshow", "NetShow"),
    ("none", "Sessions without an application protocol"),
    ("pptp", "Point-to-Point Tunneling Protocol"),
    ("realaudio", "RealAudio"),
    ("rpc", "RPC"),
    ("rpc-portmap", "RPC portmap"),
    ("rsh", "Remote Shell"),
    ("rtsp", "Real Time Streaming Protocol"),
    ("shell", "Shell"),
    ("sip", "Session Initiation Protocol"),
    ("snmp", "SNMP"),
    ("sql", "SQLNet"),
    ("sqlnet", "SQL*Net"),
    ("talk", "Talk Program"),
    ("tcp", "Transmission Control Protocol"),
    ("tftp", "Trivial File Transfer Protocol"),
    ("traceroute", "Traceroute"),
    ("udp", "User Datagram Protocol"),
    ("winframe", "WinFrame"),
];

/// The application protocols of `show services alg conversations application-protocol`.
pub static ALG_APP_PROTOCOLS: &[Keyword] = &[
    (
        "dce-rpc",
        "Distributed Computing Environment-Remote Procedure Call protocols",
    ),
    ("dce-rpc-portmap", "DCE RPC portmap service"),
    ("dns", "Domain Name System protocol"),
    ("exec", "Remote Execution (rexec)"),
    ("ftp", "File Transfer Protocol"),
    ("h323", "H323 protocol"),
    ("icmp", "Internet Control Message Protocol"),
    ("ike-esp-nat", "IKE ALG"),
    ("login", "Remote Login (rlogin)"),
    ("pptp", "Point-to-Point Tunneling Protocol"),
    ("rpc", "Remote Procedure Call protocol"),
    (
        "rpc-portmap",
        "Remote Procedure Call protocol portmap service",
    ),
    ("rsh", "Remote Shell"),
    ("rtsp", "Real-Time Streaming Protocol"),
    ("sip", "Session Initiation Protocol"),
    ("sql", "SQLNet"),
    ("talk", "Talk Program"),
    ("tftp", "Trivial File Transfer Protocol"),
    ("traceroute", "Traceroute"),
];

/// The session selectors of a command, names not yet resolved to indices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowSessionFilter {
    /// `protocol`.
    pub protocol: Option<u8>,
    /// `source-prefix`.
    pub source_prefix: Option<Prefix>,
    /// `destination-prefix`.
    pub destination_prefix: Option<Prefix>,
    /// `source-port`.
    pub source_port: Option<u16>,
    /// `destination-port`.
    pub destination_port: Option<u16>,
    /// `session-identifier`.
    pub session_id: Option<u32>,
    /// `application`.
    pub application: Option<String>,
    /// `interface`.
    pub interface: Option<String>,
    /// `service-set` (services views).
    pub service_set: Option<String>,
    /// `application-protocol` (services views): an ALG name, or `none`.
    pub application_protocol: Option<&'static str>,
}

/// A name in a filter that the configuration does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No such application.
    #[error("error: application '{0}' not found")]
    Application(String),
    /// No such interface.
    #[error("error: interface '{0}' not found")]
    Interface(String),
    /// No such service set.
    #[error("error: service-set '{0}' not found")]
    ServiceSet(String),
}

impl FlowSessionFilter {
    /// True when no selector is set.
    #[must_use]
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }

    /// The worker-side filter, names resolved to indices.
    ///
    /// # Errors
    /// An application or interface name the configuration does not know.
    pub fn resolve<N: Names + ?Sized>(&self, names: &N) -> Result<SessionFilter, ResolveError> {
        let application = match &self.application {
            None => None,
            Some(a) => Some(
                names
                    .application_index(a)
                    .ok_or_else(|| ResolveError::Application(a.clone()))?,
            ),
        };
        // A port, or a VLAN unit of one (its port and VLAN).
        let (port, vlan) = match &self.interface {
            None => (None, None),
            Some(i) => match names.port_index(i) {
                Some(p) => (Some(p), None),
                None => {
                    let (p, v) = names
                        .unit_index(i)
                        .ok_or_else(|| ResolveError::Interface(i.clone()))?;
                    (Some(p), Some(v))
                }
            },
        };
        Ok(SessionFilter {
            protocol: self.protocol,
            source_prefix: self.source_prefix,
            destination_prefix: self.destination_prefix,
            source_port: self.source_port,
            destination_port: self.destination_port,
            session_id: self.session_id,
            application,
            port,
            vlan,
            ..SessionFilter::default()
        })
    }
}

/// Sets a selector of a filter from an option; false if the option is not a selector.
pub fn selector(f: &mut FlowSessionFilter, word: &str, v: Value) -> bool {
    match (word, v) {
        (_, Value::Protocol(p)) => f.protocol = Some(p),
        ("source-prefix", Value::Prefix(p)) => f.source_prefix = Some(p),
        ("destination-prefix", Value::Prefix(p)) => f.destination_prefix = Some(p),
        ("source-port", Value::Port(p)) => f.source_port = Some(p),
        ("destination-port", Value::Port(p)) => f.destination_port = Some(p),
        (_, Value::Id(n)) => f.session_id = Some(n),
        ("application", Value::Name(n)) => f.application = Some(n),
        ("interface", Value::Name(n)) => f.interface = Some(n),
        ("service-set", Value::Name(n)) => f.service_set = Some(n),
        ("application-protocol", Value::Keyword(k)) => f.application_protocol = Some(k),
        _ => return false,
    }
    true
}

/// The selectors of `f` as leaves of a request RPC (`| display xml rpc`).
pub fn filter_leaves(e: &mut Elem, f: &FlowSessionFilter) {
    if let Some(p) = f.source_prefix {
        e.push(Elem::leaf("source-prefix", p));
    }
    if let Some(p) = f.destination_prefix {
        e.push(Elem::leaf("destination-prefix", p));
    }
    if let Some(p) = f.source_port {
        e.push(Elem::leaf("source-port", p));
    }
    if let Some(p) = f.destination_port {
        e.push(Elem::leaf("destination-port", p));
    }
    if let Some(p) = f.protocol {
        match crate::show::protocol_name(p) {
            Some(n) => e.push(Elem::leaf("protocol", n)),
            None => e.push(Elem::leaf("protocol", p)),
        }
    }
    if let Some(id) = f.session_id {
        e.push(Elem::leaf("session-identifier", id));
    }
    if let Some(a) = &f.application {
        e.push(Elem::leaf("application", a));
    }
    if let Some(a) = f.application_protocol {
        e.push(Elem::leaf("application-protocol", a));
    }
    if let Some(s) = &f.service_set {
        e.push(Elem::leaf("service-set", s));
    }
    if let Some(i) = &f.interface {
        e.push(Elem::leaf("interface", i));
    }
}
