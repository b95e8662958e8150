//! The operational command grammar: a tree of keywords (each abbreviable to a unique
//! prefix, as in Junos), commands with options in any order, then pipes.
//!
//! ```text
//! show security flow session [brief | extensive | summary] [resource-manager]
//!     [protocol <name | 0-255>] [source-prefix P] [destination-prefix P]
//!     [source-port N] [destination-port N] [session-identifier N]
//!     [application NAME] [interface IFNAME]  [| pipe …]
//! ```
//!
//! Errors carry the column of the offending input and print in Junos form with
//! [`render_error`]:
//!
//! ```text
//! user@host> show security flow sesion
//!                                  ^
//! syntax error, expecting <command>.
//! ```
//!
//! The caret stands where the input stops matching any keyword. Adding a command is adding
//! nodes to the tree ([`ROOT`]) and an arm to the builder.

use core::fmt;
use core::str::FromStr;

use regex::Regex;
use svcard_dataplane::query::{Prefix, SessionFilter};

use super::model::Level;
use super::names::{protocol_number, Names};
use super::pipe::{DisplayFormat, Pipe, Pipes, LAST_MAX};

/// A parsed command line: the command and its pipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The command.
    pub command: Command,
    /// The pipes after it, in order.
    pub pipes: Pipes,
}

/// A command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show security flow session …`.
    ShowFlowSession(ShowFlowSession),
    /// `show services sessions …`.
    ShowServicesSessions(ShowServicesSessions),
    /// `show services alg conversations …`.
    ShowAlgConversations(ShowAlgConversations),
    /// `show services alg statistics [application-protocol P]`.
    ShowAlgStatistics(Option<&'static str>),
    /// `clear security flow session …`.
    ClearFlowSession(ClearFlowSession),
    /// `clear services sessions …`.
    ClearServicesSessions(FlowSessionFilter),
    /// `show svcard statistics`.
    ShowSvcardStatistics,
    /// `show version`.
    ShowVersion,
}

/// The detail level of `show services sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServicesLevel {
    /// No level given (the brief layout).
    #[default]
    Default,
    /// `brief`.
    Brief,
    /// `extensive`.
    Extensive,
    /// `terse`.
    Terse,
}

impl ServicesLevel {
    /// The keyword (`None` for the default level).
    #[must_use]
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            ServicesLevel::Default => None,
            ServicesLevel::Brief => Some("brief"),
            ServicesLevel::Extensive => Some("extensive"),
            ServicesLevel::Terse => Some("terse"),
        }
    }
    /// The `junos:style` attribute of this level.
    #[must_use]
    pub fn style(self) -> &'static str {
        self.keyword().unwrap_or("brief")
    }
}

/// `show services sessions …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowServicesSessions {
    /// Detail level.
    pub level: ServicesLevel,
    /// `count`: per interface and service set, the session counts by state.
    pub count: bool,
    /// `utilization`: per interface, sessions against capacity.
    pub utilization: bool,
    /// `limit N`: at most N sessions.
    pub limit: Option<u64>,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// `show services alg conversations …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowAlgConversations {
    /// `brief` (the default layout, marked in the request).
    pub brief: bool,
    /// `extensive`.
    pub extensive: bool,
    /// `application-protocol P`.
    pub application_protocol: Option<&'static str>,
    /// `interface I`.
    pub interface: Option<String>,
}

/// `clear security flow session …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClearFlowSession {
    /// `all`: every session (no selector may be given with it).
    pub all: bool,
    /// `resource-manager`: only sessions the resource manager governs.
    pub resource_manager: bool,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// `show security flow session …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowFlowSession {
    /// Detail level.
    pub level: Level,
    /// `resource-manager`: only sessions the resource manager created, in its layout.
    pub resource_manager: bool,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// Which summary layout a `summary` command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryForm {
    /// The counts of the selected sessions (Valid / Pending / Invalidated / other / Total):
    /// resource-manager or filtered summaries.
    Counts,
    /// The all-sessions summary (Unicast-sessions … Maximum-sessions).
    Full,
}

impl ShowFlowSession {
    /// The summary layout this command prints at level `summary`.
    #[must_use]
    pub fn summary_form(&self) -> SummaryForm {
        if self.resource_manager || !self.filter.is_all() {
            SummaryForm::Counts
        } else {
            SummaryForm::Full
        }
    }
}

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
        let port = match &self.interface {
            None => None,
            Some(i) => Some(
                names
                    .port_index(i)
                    .ok_or_else(|| ResolveError::Interface(i.clone()))?,
            ),
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
            ..SessionFilter::default()
        })
    }
}

/// A keyword the input could have been, listed when a word is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
}

/// What is wrong with a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliErrorKind {
    /// A word fits nothing here, or the line ends early: `syntax error, expecting <x>.`
    Syntax {
        /// What was expected (`<command>`, `<source-port>`).
        expecting: String,
    },
    /// A word abbreviates several keywords.
    Ambiguous {
        /// The word.
        word: String,
        /// The keywords it abbreviates.
        completions: Vec<Completion>,
    },
    /// A number outside its range.
    OutOfRange {
        /// The number as typed.
        value: String,
        /// Least value.
        min: u64,
        /// Greatest value.
        max: u64,
    },
    /// A value that does not parse as what it should be.
    Invalid {
        /// What it should be (`numeric value`, `prefix`, `protocol`, `regular expression`).
        what: &'static str,
        /// The value as typed.
        value: String,
    },
    /// A quoted string without its closing quote.
    UnterminatedQuote,
}

/// A command-line error at a column (byte offset into the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Byte offset into the line of the place the caret marks.
    pub column: usize,
    /// What is wrong.
    pub kind: CliErrorKind,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CliErrorKind::Syntax { expecting } => write!(f, "syntax error, expecting {expecting}."),
            CliErrorKind::Ambiguous { word, completions } => {
                write!(f, "'{word}' is ambiguous.\nPossible completions:")?;
                for c in completions {
                    write!(f, "\n  {:<20} {}", c.word, c.help)?;
                }
                Ok(())
            }
            CliErrorKind::OutOfRange { value, min, max } => {
                write!(f, "Value {value} is not within range ({min}..{max})")
            }
            CliErrorKind::Invalid { what, value } => write!(f, "invalid {what}: '{value}'"),
            CliErrorKind::UnterminatedQuote => {
                f.write_str("syntax error, unterminated quoted string.")
            }
        }
    }
}

impl std::error::Error for CliError {}

/// The error as the CLI prints it under the echoed command: a caret line (the prompt's
/// width plus the column, counted in characters), then the message; ends with a newline.
/// `prompt_len` is 0 when the command was not echoed after a prompt (`cli -c`).
#[must_use]
pub fn render_error(prompt_len: usize, line: &str, err: &CliError) -> String {
    let col = line
        .get(..err.column.min(line.len()))
        .map_or(err.column, |s| s.chars().count());
    let pad = prompt_len + col + err.column.saturating_sub(line.len());
    format!("{:pad$}^\n{err}\n", "")
}

// ---------------------------------------------------------------------------------------
// The grammar.

/// A keyword of the command tree.
#[derive(Debug)]
pub struct Node {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// What follows it.
    pub next: Next,
}

/// What follows a keyword.
#[derive(Debug)]
pub enum Next {
    /// More keywords.
    Nodes(&'static [Node]),
    /// A command: its options, in any order, each at most once.
    Command(CommandId, &'static [OptSpec]),
}

/// Which command a path of keywords names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandId {
    /// `show security flow session`.
    ShowFlowSession,
    /// `show services sessions`.
    ShowServicesSessions,
    /// `show services alg conversations`.
    ShowAlgConversations,
    /// `show services alg statistics`.
    ShowAlgStatistics,
    /// `clear security flow session`.
    ClearFlowSession,
    /// `clear services sessions`.
    ClearServicesSessions,
    /// `show svcard statistics`.
    ShowSvcardStatistics,
    /// `show version`.
    ShowVersion,
}

/// An option of a command.
#[derive(Debug)]
pub struct OptSpec {
    /// The keyword.
    pub word: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Its argument.
    pub arg: Arg,
    /// Options of one nonzero group exclude each other (`brief | extensive | summary`).
    pub group: u8,
}

/// A keyword value and its help text.
pub type Keyword = (&'static str, &'static str);

/// The argument an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// None: a toggle.
    Flag,
    /// A protocol name or number 0-255.
    Protocol,
    /// An address prefix.
    Prefix,
    /// A port 0-65535.
    Port,
    /// A session identifier 1-4294967295.
    SessionId,
    /// A name (application, interface).
    Name,
    /// One of a list of keywords (unique prefixes accepted).
    Keyword(&'static [Keyword]),
    /// A number in a range.
    Number(u64, u64),
}

/// The top of the command tree.
pub static ROOT: &[Node] = &[
    Node {
        word: "clear",
        help: "Clear information in the system",
        next: Next::Nodes(CLEAR),
    },
    Node {
        word: "show",
        help: "Show system information",
        next: Next::Nodes(SHOW),
    },
];

static SHOW: &[Node] = &[
    Node {
        word: "security",
        help: "Show security information",
        next: Next::Nodes(SHOW_SECURITY),
    },
    Node {
        word: "services",
        help: "Show services information",
        next: Next::Nodes(SHOW_SERVICES),
    },
    Node {
        word: "svcard",
        help: "Show svcard's own information",
        next: Next::Nodes(SHOW_SVCARD),
    },
    Node {
        word: "version",
        help: "Show software process revision levels",
        next: Next::Command(CommandId::ShowVersion, &[]),
    },
];

static SHOW_SVCARD: &[Node] = &[Node {
    word: "statistics",
    help: "Show every counter and gauge of each worker",
    next: Next::Command(CommandId::ShowSvcardStatistics, &[]),
}];

static SHOW_SECURITY: &[Node] = &[Node {
    word: "flow",
    help: "Show flow information",
    next: Next::Nodes(SHOW_SECURITY_FLOW),
}];

static SHOW_SECURITY_FLOW: &[Node] = &[Node {
    word: "session",
    help: "Show session information",
    next: Next::Command(CommandId::ShowFlowSession, FLOW_SESSION_OPTIONS),
}];

static SHOW_SERVICES: &[Node] = &[
    Node {
        word: "alg",
        help: "Show ALG information",
        next: Next::Nodes(SHOW_SERVICES_ALG),
    },
    Node {
        word: "sessions",
        help: "Show session table",
        next: Next::Command(CommandId::ShowServicesSessions, SERVICES_SESSIONS_OPTIONS),
    },
];

static SHOW_SERVICES_ALG: &[Node] = &[
    Node {
        word: "conversations",
        help: "Show ALG conversations",
        next: Next::Command(CommandId::ShowAlgConversations, ALG_CONVERSATIONS_OPTIONS),
    },
    Node {
        word: "statistics",
        help: "Show ALG statistics",
        next: Next::Command(CommandId::ShowAlgStatistics, ALG_STATISTICS_OPTIONS),
    },
];

static CLEAR: &[Node] = &[
    Node {
        word: "security",
        help: "Clear security information",
        next: Next::Nodes(CLEAR_SECURITY),
    },
    Node {
        word: "services",
        help: "Clear services information",
        next: Next::Nodes(CLEAR_SERVICES),
    },
];

static CLEAR_SECURITY: &[Node] = &[Node {
    word: "flow",
    help: "Clear flow information",
    next: Next::Nodes(CLEAR_SECURITY_FLOW),
}];

static CLEAR_SECURITY_FLOW: &[Node] = &[Node {
    word: "session",
    help: "Clear session",
    next: Next::Command(CommandId::ClearFlowSession, CLEAR_FLOW_SESSION_OPTIONS),
}];

static CLEAR_SERVICES: &[Node] = &[Node {
    word: "sessions",
    help: "Clear session table",
    next: Next::Command(
        CommandId::ClearServicesSessions,
        CLEAR_SERVICES_SESSIONS_OPTIONS,
    ),
}];

const fn opt(word: &'static str, help: &'static str, arg: Arg, group: u8) -> OptSpec {
    OptSpec {
        word,
        help,
        arg,
        group,
    }
}

static FLOW_SESSION_OPTIONS: &[OptSpec] = &[
    opt("application", "Application name", Arg::Name, 0),
    opt("brief", "Display brief output (default)", Arg::Flag, 1),
    opt("destination-port", "Destination port", Arg::Port, 0),
    opt(
        "destination-prefix",
        "Destination IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt(
        "interface",
        "Name of incoming or outgoing interface",
        Arg::Name,
        0,
    ),
    opt("protocol", "IP protocol number", Arg::Protocol, 0),
    opt(
        "resource-manager",
        "Show resource manager sessions",
        Arg::Flag,
        0,
    ),
    opt(
        "session-identifier",
        "Show session with specified session identifier",
        Arg::SessionId,
        0,
    ),
    opt("source-port", "Source port", Arg::Port, 0),
    opt(
        "source-prefix",
        "Source IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("summary", "Display output summary", Arg::Flag, 1),
];

static CLEAR_FLOW_SESSION_OPTIONS: &[OptSpec] = &[
    opt("all", "Clear all sessions", Arg::Flag, 0),
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
    opt(
        "resource-manager",
        "Clear resource manager sessions",
        Arg::Flag,
        0,
    ),
    opt(
        "session-identifier",
        "Clear session with specified session identifier",
        Arg::SessionId,
        0,
    ),
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

/// Most sessions `limit` takes.
pub const LIMIT_MAX: u64 = u32::MAX as u64;

static SERVICES_SESSIONS_OPTIONS: &[OptSpec] = &[
    opt(
        "application-protocol",
        "Application protocol name",
        Arg::Keyword(SERVICES_APP_PROTOCOLS),
        0,
    ),
    opt("brief", "Display brief output", Arg::Flag, 1),
    opt("count", "Display count of matching entries", Arg::Flag, 2),
    opt("destination-port", "Destination port", Arg::Port, 0),
    opt(
        "destination-prefix",
        "Destination IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt("interface", "Name of services interface", Arg::Name, 0),
    opt(
        "limit",
        "Maximum number of entries to display",
        Arg::Number(1, LIMIT_MAX),
        0,
    ),
    opt("protocol", "IP protocol type", Arg::Protocol, 0),
    opt("service-set", "Name of service set", Arg::Name, 0),
    opt("source-port", "Source port", Arg::Port, 0),
    opt(
        "source-prefix",
        "Source IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("terse", "Display terse output", Arg::Flag, 1),
    opt(
        "utilization",
        "Display session utilization statistics",
        Arg::Flag,
        2,
    ),
];

static CLEAR_SERVICES_SESSIONS_OPTIONS: &[OptSpec] = &[
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

static ALG_CONVERSATIONS_OPTIONS: &[OptSpec] = &[
    opt(
        "application-protocol",
        "Application protocol name",
        Arg::Keyword(ALG_APP_PROTOCOLS),
        0,
    ),
    opt("brief", "Display brief output", Arg::Flag, 1),
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt("interface", "Name of services interface", Arg::Name, 0),
];

static ALG_STATISTICS_OPTIONS: &[OptSpec] = &[opt(
    "application-protocol",
    "Application protocol name",
    Arg::Keyword(ALG_APP_PROTOCOLS),
    0,
)];

static PIPES: &[OptSpec] = &[
    opt("count", "Count occurrences", Arg::Flag, 0),
    opt(
        "display",
        "Show additional kinds of information",
        Arg::Flag,
        0,
    ),
    opt(
        "except",
        "Show only text that does not match a pattern",
        Arg::Name,
        0,
    ),
    opt(
        "find",
        "Search for first occurrence of pattern",
        Arg::Name,
        0,
    ),
    opt("last", "Display end of output only", Arg::Flag, 0),
    opt(
        "match",
        "Show only text that matches a pattern",
        Arg::Name,
        0,
    ),
    opt("no-more", "Don't paginate output", Arg::Flag, 0),
    opt("save", "Save output text to file", Arg::Name, 0),
    opt(
        "trim",
        "Trim specified number of columns from start of line",
        Arg::Flag,
        0,
    ),
];

static DISPLAY: &[OptSpec] = &[
    opt("json", "Show JSON text for the command", Arg::Flag, 0),
    opt("xml", "Show XML text for the command", Arg::Flag, 0),
];

static DISPLAY_XML: &[OptSpec] = &[opt(
    "rpc",
    "Show XML RPC text for the command",
    Arg::Flag,
    0,
)];

// ---------------------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    /// Byte offset of the token (its opening quote, if quoted).
    start: usize,
    /// Byte offset just past it.
    end: usize,
    quoted: bool,
    pipe: bool,
}

impl Token {
    /// Byte offset of the token's text.
    fn text_start(&self) -> usize {
        self.start + usize::from(self.quoted)
    }
}

fn tokenize(line: &str) -> Result<Vec<Token>, CliError> {
    let mut out = Vec::new();
    let mut it = line.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '|' {
            it.next();
            out.push(Token {
                text: "|".into(),
                start: i,
                end: i + 1,
                quoted: false,
                pipe: true,
            });
        } else if c == '"' {
            it.next();
            let mut text = String::new();
            let mut end = None;
            while let Some((j, d)) = it.next() {
                match d {
                    '"' => {
                        end = Some(j + 1);
                        break;
                    }
                    '\\' if matches!(it.peek(), Some((_, '"' | '\\'))) => {
                        if let Some((_, e)) = it.next() {
                            text.push(e);
                        }
                    }
                    _ => text.push(d),
                }
            }
            let end = end.ok_or(CliError {
                column: i,
                kind: CliErrorKind::UnterminatedQuote,
            })?;
            out.push(Token {
                text,
                start: i,
                end,
                quoted: true,
                pipe: false,
            });
        } else {
            let mut end = line.len();
            while let Some(&(j, d)) = it.peek() {
                if d.is_whitespace() || d == '|' {
                    end = j;
                    break;
                }
                it.next();
            }
            out.push(Token {
                text: line[i..end].to_string(),
                start: i,
                end,
                quoted: false,
                pipe: false,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parsing.

fn syntax(column: usize, expecting: &str) -> CliError {
    CliError {
        column,
        kind: CliErrorKind::Syntax {
            expecting: expecting.to_string(),
        },
    }
}

/// Resolves a word among candidate keywords (word, help): exact match first, else a unique
/// prefix. Returns the candidate's index in `cands`.
fn resolve(tok: &Token, cands: &[(&'static str, &'static str)]) -> Result<usize, CliError> {
    if tok.pipe {
        return Err(syntax(tok.start, "<command>"));
    }
    let w = tok.text.as_str();
    if let Some(i) = cands.iter().position(|(c, _)| *c == w) {
        return Ok(i);
    }
    let hits: Vec<usize> = (0..cands.len())
        .filter(|&i| !w.is_empty() && cands[i].0.starts_with(w))
        .collect();
    match hits.len() {
        1 => Ok(hits[0]),
        0 => {
            // The caret goes where the word stops matching every keyword.
            let common = cands
                .iter()
                .map(|(c, _)| c.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count())
                .max()
                .unwrap_or(0);
            // Stay on a character boundary of the word.
            let mut common = common.min(w.len());
            while !w.is_char_boundary(common) {
                common -= 1;
            }
            Err(syntax(tok.text_start() + common, "<command>"))
        }
        _ => {
            let mut completions: Vec<Completion> = hits
                .iter()
                .map(|&i| Completion {
                    word: cands[i].0,
                    help: cands[i].1,
                })
                .collect();
            completions.sort_by_key(|c| c.word);
            Err(CliError {
                column: tok.start,
                kind: CliErrorKind::Ambiguous {
                    word: w.to_string(),
                    completions,
                },
            })
        }
    }
}

/// Where the caret goes when the input ends early: one past the last token, as if a space
/// had been typed.
fn end_column(toks: &[Token], line: &str) -> usize {
    toks.last().map_or(line.len(), |t| t.end + 1)
}

/// A number in `min..=max`.
fn number(tok: &Token, min: u64, max: u64) -> Result<u64, CliError> {
    let s = tok.text.as_str();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError {
            column: tok.text_start(),
            kind: CliErrorKind::Invalid {
                what: "numeric value",
                value: s.to_string(),
            },
        });
    }
    match s.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(CliError {
            column: tok.text_start(),
            kind: CliErrorKind::OutOfRange {
                value: s.to_string(),
                min,
                max,
            },
        }),
    }
}

/// The value of an option's argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Flag,
    Protocol(u8),
    Prefix(Prefix),
    Port(u16),
    Id(u32),
    Name(String),
    Keyword(&'static str),
    Number(u64),
}

fn value(arg: Arg, tok: &Token) -> Result<Value, CliError> {
    let s = tok.text.as_str();
    let invalid = |what: &'static str| CliError {
        column: tok.text_start(),
        kind: CliErrorKind::Invalid {
            what,
            value: s.to_string(),
        },
    };
    Ok(match arg {
        Arg::Flag => Value::Flag,
        Arg::Protocol => {
            if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
                Value::Protocol(number(tok, 0, 255)? as u8)
            } else {
                Value::Protocol(protocol_number(s).ok_or_else(|| invalid("protocol"))?)
            }
        }
        Arg::Prefix => Value::Prefix(Prefix::from_str(s).map_err(|_| invalid("prefix"))?),
        Arg::Port => Value::Port(number(tok, 0, 65_535)? as u16),
        Arg::SessionId => Value::Id(number(tok, 1, u64::from(u32::MAX))? as u32),
        Arg::Name => {
            if s.is_empty() {
                return Err(invalid("name"));
            }
            Value::Name(s.to_string())
        }
        Arg::Keyword(words) => {
            let cands: Vec<Keyword> = words.to_vec();
            Value::Keyword(words[resolve(tok, &cands)?].0)
        }
        Arg::Number(min, max) => Value::Number(number(tok, min, max)?),
    })
}

/// Parses a command's options: each at most once, a group's options exclude each other.
fn options(
    toks: &[Token],
    specs: &'static [OptSpec],
    line: &str,
) -> Result<Vec<(&'static OptSpec, Value, usize)>, CliError> {
    let mut got: Vec<(&'static OptSpec, Value, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let open: Vec<&'static OptSpec> = specs
            .iter()
            .filter(|s| {
                !got.iter()
                    .any(|(g, _, _)| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .collect();
        let cands: Vec<(&'static str, &'static str)> =
            open.iter().map(|s| (s.word, s.help)).collect();
        let spec = open[resolve(&toks[i], &cands)?];
        let at = toks[i].start;
        i += 1;
        let v = if spec.arg == Arg::Flag {
            Value::Flag
        } else {
            let t = toks.get(i).filter(|t| !t.pipe).ok_or_else(|| {
                syntax(
                    toks.get(i).map_or(end_column(toks, line), |t| t.start),
                    &format!("<{}>", spec.word),
                )
            })?;
            i += 1;
            value(spec.arg, t)?
        };
        got.push((spec, v, at));
    }
    Ok(got)
}

/// Sets a selector of a filter from an option; false if the option is not a selector.
fn selector(f: &mut FlowSessionFilter, word: &str, v: Value) -> bool {
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

fn build(id: CommandId, opts: Vec<(&'static OptSpec, Value, usize)>) -> Result<Command, CliError> {
    Ok(match id {
        CommandId::ShowVersion => Command::ShowVersion,
        CommandId::ShowSvcardStatistics => Command::ShowSvcardStatistics,
        CommandId::ShowFlowSession => {
            let mut c = ShowFlowSession::default();
            for (spec, v, _) in opts {
                match spec.word {
                    "brief" => c.level = Level::Brief,
                    "extensive" => c.level = Level::Extensive,
                    "summary" => c.level = Level::Summary,
                    "resource-manager" => c.resource_manager = true,
                    w => {
                        selector(&mut c.filter, w, v);
                    }
                }
            }
            Command::ShowFlowSession(c)
        }
        CommandId::ShowServicesSessions => {
            let mut c = ShowServicesSessions::default();
            for (spec, v, _) in opts {
                match (spec.word, v) {
                    ("brief", _) => c.level = ServicesLevel::Brief,
                    ("extensive", _) => c.level = ServicesLevel::Extensive,
                    ("terse", _) => c.level = ServicesLevel::Terse,
                    ("count", _) => c.count = true,
                    ("utilization", _) => c.utilization = true,
                    ("limit", Value::Number(n)) => c.limit = Some(n),
                    (w, v) => {
                        selector(&mut c.filter, w, v);
                    }
                }
            }
            Command::ShowServicesSessions(c)
        }
        CommandId::ShowAlgConversations => {
            let mut c = ShowAlgConversations::default();
            for (spec, v, _) in opts {
                match (spec.word, v) {
                    ("brief", _) => c.brief = true,
                    ("extensive", _) => c.extensive = true,
                    ("application-protocol", Value::Keyword(k)) => {
                        c.application_protocol = Some(k);
                    }
                    ("interface", Value::Name(n)) => c.interface = Some(n),
                    _ => {}
                }
            }
            Command::ShowAlgConversations(c)
        }
        CommandId::ShowAlgStatistics => {
            let mut app = None;
            for (spec, v, _) in opts {
                if let ("application-protocol", Value::Keyword(k)) = (spec.word, v) {
                    app = Some(k);
                }
            }
            Command::ShowAlgStatistics(app)
        }
        CommandId::ClearFlowSession => {
            let mut c = ClearFlowSession::default();
            let mut all_at = None;
            let mut first_selector = None;
            for (spec, v, at) in opts {
                match spec.word {
                    "all" => {
                        c.all = true;
                        all_at = Some(at);
                    }
                    "resource-manager" => {
                        c.resource_manager = true;
                        first_selector.get_or_insert(at);
                    }
                    w => {
                        selector(&mut c.filter, w, v);
                        first_selector.get_or_insert(at);
                    }
                }
            }
            // `all` clears everything: a selector beside it would be ignored.
            if let (Some(a), Some(f)) = (all_at, first_selector) {
                return Err(syntax(a.max(f), "<command>"));
            }
            Command::ClearFlowSession(c)
        }
        CommandId::ClearServicesSessions => {
            let mut f = FlowSessionFilter::default();
            for (spec, v, _) in opts {
                selector(&mut f, spec.word, v);
            }
            Command::ClearServicesSessions(f)
        }
    })
}

fn word_cands(specs: &[OptSpec]) -> Vec<(&'static str, &'static str)> {
    specs.iter().map(|s| (s.word, s.help)).collect()
}

/// Parses one pipe (the tokens after a `|`); `bar` is the `|` token.
fn pipe(bar: &Token, toks: &[Token], line: &str) -> Result<Pipe, CliError> {
    let Some(first) = toks.first() else {
        return Err(syntax(bar.end + 1, "<command>"));
    };
    let spec = &PIPES[resolve(first, &word_cands(PIPES))?];
    let args = &toks[1..];
    let mut used = 0;
    let mut arg = |what: &str| -> Result<&Token, CliError> {
        let t = args
            .get(used)
            .ok_or_else(|| syntax(end_column(toks, line), what))?;
        used += 1;
        Ok(t)
    };
    let regex = |t: &Token| {
        Regex::new(&t.text).map_err(|_| CliError {
            column: t.text_start(),
            kind: CliErrorKind::Invalid {
                what: "regular expression",
                value: t.text.clone(),
            },
        })
    };
    let p = match spec.word {
        "count" => Pipe::Count,
        "no-more" => Pipe::NoMore,
        "match" => Pipe::Match(regex(arg("<pattern>")?)?),
        "except" => Pipe::Except(regex(arg("<pattern>")?)?),
        "find" => Pipe::Find(regex(arg("<pattern>")?)?),
        "save" => Pipe::Save(arg("<filename>")?.text.clone()),
        "trim" => Pipe::Trim(number(arg("<columns>")?, 0, 1024)? as u32),
        "last" => match args.first() {
            None => Pipe::Last(None),
            Some(t) => {
                used = 1;
                Pipe::Last(Some(number(t, 1, u64::from(LAST_MAX))? as u32))
            }
        },
        _ => {
            // display
            let t = arg("<command>")?;
            match DISPLAY[resolve(t, &word_cands(DISPLAY))?].word {
                "json" => Pipe::Display(DisplayFormat::Json),
                _ => match args.get(used) {
                    None => Pipe::Display(DisplayFormat::Xml),
                    Some(t) => {
                        resolve(t, &word_cands(DISPLAY_XML))?;
                        used += 1;
                        Pipe::Display(DisplayFormat::XmlRpc)
                    }
                },
            }
        }
    };
    if let Some(extra) = args.get(used) {
        return Err(syntax(extra.text_start(), "<command>"));
    }
    Ok(p)
}

/// Parses a command line: keywords abbreviated to unique prefixes, options in any order,
/// then `| pipe …` sections.
///
/// # Errors
/// Unknown, ambiguous or missing words, values out of range or malformed, bad patterns.
pub fn parse(line: &str) -> Result<CommandLine, CliError> {
    let toks = tokenize(line)?;
    let cmd_end = toks.iter().position(|t| t.pipe).unwrap_or(toks.len());
    let (cmd, rest) = toks.split_at(cmd_end);

    // Walk the keyword tree to a command.
    let mut nodes = ROOT;
    let mut i = 0;
    let (id, specs) = loop {
        let Some(tok) = cmd.get(i) else {
            return Err(syntax(end_column(cmd, line), "<command>"));
        };
        let cands: Vec<(&'static str, &'static str)> =
            nodes.iter().map(|n| (n.word, n.help)).collect();
        let node = &nodes[resolve(tok, &cands)?];
        i += 1;
        match &node.next {
            Next::Nodes(n) => nodes = n,
            Next::Command(id, specs) => break (*id, *specs),
        }
    };
    let command = build(id, options(&cmd[i..], specs, line)?)?;

    // Pipes.
    let mut pipes = Vec::new();
    let mut rest = rest;
    while let Some((bar, after)) = rest.split_first() {
        let end = after.iter().position(|t| t.pipe).unwrap_or(after.len());
        pipes.push(pipe(bar, &after[..end], line)?);
        rest = &after[end..];
    }
    Ok(CommandLine {
        command,
        pipes: Pipes(pipes),
    })
}

// ---------------------------------------------------------------------------------------
// `?`: what may come next.

/// One entry of a `?` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpItem {
    /// The word (`brief`), placeholder (`<source-port>`), `<[Enter]>` or `|`.
    pub word: String,
    /// Its help text.
    pub help: &'static str,
}

impl HelpItem {
    fn new(word: impl Into<String>, help: &'static str) -> Self {
        Self {
            word: word.into(),
            help,
        }
    }
    /// True for a word that can be typed as is (not a placeholder, `<[Enter]>` or `|`).
    #[must_use]
    pub fn is_word(&self) -> bool {
        !self.word.starts_with('<') && self.word != "|"
    }
}

/// What may come next at the end of a partial command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Help {
    /// The partial word being typed (empty after a space).
    pub partial: String,
    /// Byte offset of the partial word in the line.
    pub partial_start: usize,
    /// What may come next, filtered by the partial word.
    pub items: Vec<HelpItem>,
}

impl Help {
    /// The Junos listing: `Possible completions:` then `  word                 help`;
    /// `error: unknown command` style message when nothing fits.
    #[must_use]
    pub fn render(&self) -> String {
        if self.items.is_empty() {
            return "No valid completions\n".to_string();
        }
        let mut s = String::from("Possible completions:\n");
        for i in &self.items {
            s.push_str(&format!("  {:<20} {}\n", i.word, i.help));
        }
        s
    }
}

const ENTER: (&str, &str) = ("<[Enter]>", "Execute this command");
const PIPE: (&str, &str) = ("|", "Pipe through a command");

fn arg_items(spec: &OptSpec) -> Vec<HelpItem> {
    match spec.arg {
        Arg::Flag => Vec::new(),
        Arg::Keyword(words) => words.iter().map(|(w, h)| HelpItem::new(*w, h)).collect(),
        Arg::Protocol => {
            let mut v = vec![HelpItem::new("<number>", "Numeric protocol value (0..255)")];
            v.extend(
                super::names::PROTOCOLS
                    .iter()
                    .map(|(n, _)| HelpItem::new(*n, "IP protocol")),
            );
            v
        }
        _ => vec![HelpItem::new(format!("<{}>", spec.word), spec.help)],
    }
}

/// Lists what may come after `line` (the text before the cursor), as Junos does on `?`:
/// the keywords, options, argument placeholders, `<[Enter]>` when the command is complete
/// and `|`. A partial last word narrows the list to the words it begins.
///
/// # Errors
/// An earlier word does not parse (the error the command would give).
pub fn help(line: &str) -> Result<Help, CliError> {
    let mut toks = tokenize(line)?;
    let ends_open = line.is_empty()
        || line.ends_with(char::is_whitespace)
        || toks.last().is_some_and(|t| t.pipe || t.quoted);
    let (partial, partial_start) = if ends_open {
        (String::new(), line.len())
    } else {
        let t = toks.pop().unwrap_or(Token {
            text: String::new(),
            start: line.len(),
            end: line.len(),
            quoted: false,
            pipe: false,
        });
        (t.text, t.start)
    };
    let mut items: Vec<HelpItem> = match toks.iter().rposition(|t| t.pipe) {
        Some(bar) => pipe_help(&toks[bar + 1..])?,
        None => command_help(&toks)?,
    };
    items.retain(|i| !i.is_word() || i.word.starts_with(partial.as_str()));
    if !partial.is_empty() {
        items.retain(HelpItem::is_word);
    }
    Ok(Help {
        partial,
        partial_start,
        items,
    })
}

fn command_help(toks: &[Token]) -> Result<Vec<HelpItem>, CliError> {
    let mut nodes = ROOT;
    let mut i = 0;
    let specs = loop {
        let Some(tok) = toks.get(i) else {
            return Ok(nodes
                .iter()
                .map(|n| HelpItem::new(n.word, n.help))
                .collect());
        };
        let cands: Vec<Keyword> = nodes.iter().map(|n| (n.word, n.help)).collect();
        let node = &nodes[resolve(tok, &cands)?];
        i += 1;
        match &node.next {
            Next::Nodes(n) => nodes = n,
            Next::Command(_, specs) => break *specs,
        }
    };
    // Options so far; an option at the end still waiting for its argument lists that.
    let rest = &toks[i..];
    let mut used: Vec<&'static OptSpec> = Vec::new();
    let mut j = 0;
    while j < rest.len() {
        let open: Vec<&'static OptSpec> = specs
            .iter()
            .filter(|s| {
                !used
                    .iter()
                    .any(|g| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .collect();
        let cands: Vec<Keyword> = open.iter().map(|s| (s.word, s.help)).collect();
        let spec = open[resolve(&rest[j], &cands)?];
        j += 1;
        if spec.arg != Arg::Flag {
            match rest.get(j) {
                None => return Ok(arg_items(spec)),
                Some(t) => {
                    value(spec.arg, t)?;
                    j += 1;
                }
            }
        }
        used.push(spec);
    }
    let mut items = vec![HelpItem::new(ENTER.0, ENTER.1)];
    items.extend(
        specs
            .iter()
            .filter(|s| {
                !used
                    .iter()
                    .any(|g| g.word == s.word || (s.group != 0 && g.group == s.group))
            })
            .map(|s| HelpItem::new(s.word, s.help)),
    );
    items.push(HelpItem::new(PIPE.0, PIPE.1));
    Ok(items)
}

fn pipe_help(toks: &[Token]) -> Result<Vec<HelpItem>, CliError> {
    let Some(first) = toks.first() else {
        return Ok(PIPES
            .iter()
            .map(|s| HelpItem::new(s.word, s.help))
            .collect());
    };
    let spec = &PIPES[resolve(first, &word_cands(PIPES))?];
    let done = || {
        vec![
            HelpItem::new(ENTER.0, ENTER.1),
            HelpItem::new(PIPE.0, PIPE.1),
        ]
    };
    Ok(match (spec.word, toks.len()) {
        ("display", 1) => DISPLAY
            .iter()
            .map(|s| HelpItem::new(s.word, s.help))
            .collect(),
        ("display", 2) => {
            let mut v = done();
            if DISPLAY[resolve(&toks[1], &word_cands(DISPLAY))?].word == "xml" {
                v.splice(
                    1..1,
                    DISPLAY_XML.iter().map(|s| HelpItem::new(s.word, s.help)),
                );
            }
            v
        }
        ("match" | "except" | "find", 1) => vec![HelpItem::new("<pattern>", "Pattern to match")],
        ("save", 1) => vec![HelpItem::new(
            "<filename>",
            "Name of file to save output to",
        )],
        ("trim", 1) => vec![HelpItem::new("<columns>", "Number of columns to trim")],
        ("last", 1) => {
            let mut v = vec![HelpItem::new(
                "<lines>",
                "Number of lines to show (1..100000)",
            )];
            v.extend(done());
            v
        }
        _ => done(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::names::StaticNames;

    fn show(line: &str) -> ShowFlowSession {
        match parse(line)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .command
        {
            Command::ShowFlowSession(s) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn err(line: &str) -> CliError {
        parse(line).expect_err(line)
    }

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn full_and_abbreviated_keywords() {
        assert_eq!(
            show("show security flow session"),
            ShowFlowSession::default()
        );
        let s = show("sh sec fl sess sum");
        assert_eq!(s.level, Level::Summary);
        assert!(!s.resource_manager);
        let s = show("  show   security flow session   resource-manager  brief ");
        assert_eq!((s.level, s.resource_manager), (Level::Brief, true));
        let s = show("show security flow session ext res");
        assert_eq!((s.level, s.resource_manager), (Level::Extensive, true));
        assert_eq!(show("show security flow session b").level, Level::Brief);
        assert_eq!(show("show security flow session e").level, Level::Extensive);
    }

    #[test]
    fn every_filter_in_any_order() {
        let s = show(
            "show security flow session interface ge-0/0/0.0 application junos-ftp \
             session-identifier 410000664 destination-port 21 source-port 41047 \
             destination-prefix 60.0.0.0/8 source-prefix 200.0.0.10 protocol tcp extensive",
        );
        assert_eq!(s.level, Level::Extensive);
        let f = &s.filter;
        assert_eq!(f.protocol, Some(6));
        assert_eq!(f.source_prefix, Some(pfx("200.0.0.10/32")));
        assert_eq!(f.destination_prefix, Some(pfx("60.0.0.0/8")));
        assert_eq!(f.source_port, Some(41047));
        assert_eq!(f.destination_port, Some(21));
        assert_eq!(f.session_id, Some(410_000_664));
        assert_eq!(f.application.as_deref(), Some("junos-ftp"));
        assert_eq!(f.interface.as_deref(), Some("ge-0/0/0.0"));

        let s = show("sh sec fl sess pro 17 source-po 1");
        assert_eq!(s.filter.protocol, Some(17));
        assert_eq!(s.filter.source_port, Some(1));

        let s = show(
            "show security flow session destination-prefix 2001:db8::/32 protocol icmp6 summary",
        );
        assert_eq!(s.filter.destination_prefix, Some(pfx("2001:db8::/32")));
        assert_eq!(s.filter.protocol, Some(58));
        assert_eq!(s.summary_form(), SummaryForm::Counts);
        assert_eq!(show("sh sec fl sess sum").summary_form(), SummaryForm::Full);
        assert_eq!(
            show("sh sec fl sess sum res").summary_form(),
            SummaryForm::Counts
        );
        assert_eq!(show("sh sec fl sess protocol 0").filter.protocol, Some(0));
        assert_eq!(
            show("sh sec fl sess protocol 255").filter.protocol,
            Some(255)
        );
        assert_eq!(
            show("sh sec fl sess destination-port 65535")
                .filter
                .destination_port,
            Some(65535)
        );
        assert_eq!(
            show("sh sec fl sess source-port 0").filter.source_port,
            Some(0)
        );
        assert_eq!(
            show("sh sec fl sess app \"junos-ftp\"")
                .filter
                .application
                .as_deref(),
            Some("junos-ftp")
        );
    }

    #[test]
    fn syntax_error_caret_where_the_word_stops_matching() {
        let line = "show security flow sesion";
        let e = err(line);
        assert_eq!(e.column, 22);
        assert_eq!(
            render_error("user@host> ".len(), line, &e),
            format!("{}^\nsyntax error, expecting <command>.\n", " ".repeat(33))
        );
        assert_eq!(err("show securty").column, 10);
        assert_eq!(err("shw").column, 2);
        assert_eq!(err("show security flow session brief bogus").column, 33);
        assert_eq!(err("show security flow session sessionx 1").column, 34);
        // A level may not be given twice, nor two levels.
        assert_eq!(err("show security flow session brief extensive").column, 33);
        assert_eq!(
            err("show security flow session protocol tcp protocol udp").column,
            40
        );
        assert_eq!(
            render_error(0, "xshow", &err("xshow")),
            "^\nsyntax error, expecting <command>.\n"
        );
    }

    #[test]
    fn incomplete_commands_point_past_the_end() {
        let e = err("show security");
        assert_eq!(e.column, 14);
        assert_eq!(
            e.kind,
            CliErrorKind::Syntax {
                expecting: "<command>".into()
            }
        );
        assert_eq!(err("").column, 0);
        let e = err("show security flow session source-port");
        assert_eq!(e.column, 39);
        assert_eq!(e.to_string(), "syntax error, expecting <source-port>.");
        let e = err("show security flow session protocol | count");
        assert_eq!(e.column, 36);
        assert_eq!(e.to_string(), "syntax error, expecting <protocol>.");
    }

    #[test]
    fn ambiguous_words_list_completions() {
        let e = err("show security flow session s 1");
        assert_eq!(e.column, 27);
        assert_eq!(
            e.to_string(),
            "'s' is ambiguous.\nPossible completions:\n\
             \x20 session-identifier   Show session with specified session identifier\n\
             \x20 source-port          Source port\n\
             \x20 source-prefix        Source IP prefix or address\n\
             \x20 summary              Display output summary"
        );
        assert!(matches!(
            err("sh sec fl sess source 1").kind,
            CliErrorKind::Ambiguous { .. }
        ));
        assert!(matches!(
            err("sh sec fl sess des 1").kind,
            CliErrorKind::Ambiguous { .. }
        ));
    }

    #[test]
    fn values_are_range_checked() {
        let line = "show security flow session destination-port 70000";
        let e = err(line);
        assert_eq!(e.column, 44);
        assert_eq!(e.to_string(), "Value 70000 is not within range (0..65535)");
        assert_eq!(
            render_error(0, line, &e),
            format!(
                "{}^\nValue 70000 is not within range (0..65535)\n",
                " ".repeat(44)
            )
        );
        assert_eq!(
            err("sh sec fl sess source-port 99999999999999999999999").to_string(),
            "Value 99999999999999999999999 is not within range (0..65535)"
        );
        assert_eq!(
            err("sh sec fl sess protocol 256").to_string(),
            "Value 256 is not within range (0..255)"
        );
        assert_eq!(
            err("sh sec fl sess session-identifier 0").to_string(),
            "Value 0 is not within range (1..4294967295)"
        );
        assert_eq!(
            err("sh sec fl sess session-identifier 4294967296").column,
            34
        );
        assert_eq!(
            err("sh sec fl sess source-port -1").to_string(),
            "invalid numeric value: '-1'"
        );
        assert_eq!(
            err("sh sec fl sess source-port abc").to_string(),
            "invalid numeric value: 'abc'"
        );
        assert_eq!(
            err("sh sec fl sess protocol foo").to_string(),
            "invalid protocol: 'foo'"
        );
        let e = err("sh sec fl sess source-prefix 10.0.0/8");
        assert_eq!(
            (e.column, e.to_string().as_str()),
            (29, "invalid prefix: '10.0.0/8'")
        );
        assert_eq!(
            err("sh sec fl sess destination-prefix 10.0.0.0/33").to_string(),
            "invalid prefix: '10.0.0.0/33'"
        );
    }

    #[test]
    fn pipes_are_separated_and_parsed() {
        let l = parse("show security flow session | match \"Forward|Watch\" | except Drop | count")
            .unwrap();
        assert_eq!(
            l.pipes,
            Pipes(vec![
                Pipe::Match(Regex::new("Forward|Watch").unwrap()),
                Pipe::Except(Regex::new("Drop").unwrap()),
                Pipe::Count,
            ])
        );
        let l = parse("sh sec fl sess|last 5|no-more|trim 3|find Session|display xml").unwrap();
        assert_eq!(
            l.pipes,
            Pipes(vec![
                Pipe::Last(Some(5)),
                Pipe::NoMore,
                Pipe::Trim(3),
                Pipe::Find(Regex::new("Session").unwrap()),
                Pipe::Display(DisplayFormat::Xml),
            ])
        );
        let l = parse("sh sec fl sess | display xml rpc | save /tmp/out | last").unwrap();
        assert_eq!(
            l.pipes,
            Pipes(vec![
                Pipe::Display(DisplayFormat::XmlRpc),
                Pipe::Save("/tmp/out".into()),
                Pipe::Last(None)
            ])
        );
        assert_eq!(
            parse("sh sec fl sess | disp json").unwrap().pipes.display(),
            Some(DisplayFormat::Json)
        );
        assert_eq!(err("sh sec fl sess |").column, 17);
        assert_eq!(err("sh sec fl sess | count 3").column, 23);
        assert_eq!(
            err("sh sec fl sess | last 100001").to_string(),
            "Value 100001 is not within range (1..100000)"
        );
        assert_eq!(
            err("sh sec fl sess | match").to_string(),
            "syntax error, expecting <pattern>."
        );
        assert_eq!(
            err("sh sec fl sess | match \"(\"").to_string(),
            "invalid regular expression: '('"
        );
        assert_eq!(
            err("sh sec fl sess | match \"abc").kind,
            CliErrorKind::UnterminatedQuote
        );
        assert_eq!(err("sh sec fl sess | bogus").column, 17);
    }

    #[test]
    fn render_error_counts_characters() {
        let line = "show security flow session interface \"é\" zzzzz";
        let e = err(line);
        assert_eq!(e.column, line.len() - 5);
        let r = render_error(2, line, &e);
        assert_eq!(r.find('^'), Some(2 + line.chars().count() - 5));
    }

    #[test]
    fn filters_resolve_names() {
        let names = StaticNames::new(
            &["ge-0/0/0.0", "ge-0/0/1.0"],
            &[],
            &["junos-ftp", "junos-sip"],
        );
        let s = show("sh sec fl sess interface ge-0/0/1.0 application junos-sip protocol udp");
        let f = s.filter.resolve(&names).unwrap();
        assert_eq!(f.port, Some(1));
        assert_eq!(f.application, Some(1));
        assert_eq!(f.protocol, Some(17));
        let s = show("sh sec fl sess interface xe-0/0/0.0");
        assert_eq!(
            s.filter.resolve(&names),
            Err(ResolveError::Interface("xe-0/0/0.0".into()))
        );
        assert!(show("sh sec fl sess")
            .filter
            .resolve(&names)
            .unwrap()
            .is_all());
    }

    fn cmd(line: &str) -> Command {
        parse(line)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .command
    }

    #[test]
    fn services_sessions_every_option() {
        let Command::ShowServicesSessions(c) = cmd(
            "show services sessions extensive application-protocol ftp destination-port 21 \
             destination-prefix 20.0.0.0/8 interface mams-5/0/0 limit 10 protocol tcp \
             service-set ss1 source-port 1024 source-prefix 10.1.1.2",
        ) else {
            panic!()
        };
        assert_eq!(c.level, ServicesLevel::Extensive);
        assert_eq!(c.limit, Some(10));
        assert_eq!(c.filter.application_protocol, Some("ftp"));
        assert_eq!(c.filter.service_set.as_deref(), Some("ss1"));
        assert_eq!(c.filter.interface.as_deref(), Some("mams-5/0/0"));
        assert_eq!(c.filter.protocol, Some(6));
        assert_eq!(c.filter.source_port, Some(1024));
        assert_eq!(c.filter.destination_port, Some(21));
        let Command::ShowServicesSessions(c) = cmd("sh ser sess count app none") else {
            panic!()
        };
        assert!(c.count);
        assert_eq!(c.filter.application_protocol, Some("none"));
        let Command::ShowServicesSessions(c) = cmd("sh ser sess te util") else {
            panic!()
        };
        assert!(c.utilization);
        assert_eq!(c.level, ServicesLevel::Terse);
        // count and utilization exclude each other; levels too.
        assert!(parse("show services sessions count utilization").is_err());
        assert!(parse("show services sessions brief terse").is_err());
        assert_eq!(
            err("show services sessions limit 0").to_string(),
            "Value 0 is not within range (1..4294967295)"
        );
        assert!(matches!(
            err("show services sessions application-protocol rp").kind,
            CliErrorKind::Ambiguous { .. }
        ));
        assert_eq!(
            err("show services sessions application-protocol xyz").column,
            44
        );
    }

    #[test]
    fn alg_conversations_options() {
        let Command::ShowAlgConversations(c) = cmd(
            "show services alg conversations extensive application-protocol sip interface ms-1/1/0",
        ) else {
            panic!()
        };
        assert!(c.extensive);
        assert_eq!(c.application_protocol, Some("sip"));
        assert_eq!(c.interface.as_deref(), Some("ms-1/1/0"));
        assert!(parse("show services alg conversations brief extensive").is_err());
    }

    #[test]
    fn clear_commands_reject_display_modifiers_and_junk() {
        let Command::ClearFlowSession(c) = cmd("clear security flow session all") else {
            panic!()
        };
        assert!(c.all);
        let Command::ClearFlowSession(c) =
            cmd("clear security flow session protocol udp destination-port 53")
        else {
            panic!()
        };
        assert_eq!(
            (c.filter.protocol, c.filter.destination_port),
            (Some(17), Some(53))
        );
        let Command::ClearServicesSessions(f) =
            cmd("clear services sessions service-set ss1 application-protocol ftp")
        else {
            panic!()
        };
        assert_eq!(f.service_set.as_deref(), Some("ss1"));
        for bad in [
            "clear security flow session summary",
            "clear security flow session brief",
            "clear security flow session extensive",
            "clear security flow session protocol tcp ext",
            "clear services sessions count",
            "clear services sessions terse",
            "clear services sessions brief",
            "clear services sessions extensive",
            "clear services sessions bogus",
            "clear services sessions source-port 70000",
            "clear services sessions source-port x",
            "clear security flow session all protocol tcp",
            "clear security flow session protocol tcp all",
        ] {
            assert!(parse(bad).is_err(), "{bad} must be an error");
        }
        assert_eq!(err("clear security flow session summary").column, 29);
    }

    #[test]
    fn question_mark_lists_what_comes_next() {
        let h = help("").unwrap();
        assert_eq!(
            h.render(),
            "Possible completions:\n  clear                Clear information in the system\n  show                 Show system information\n"
        );
        let h = help("show s").unwrap();
        let words: Vec<&str> = h.items.iter().map(|i| i.word.as_str()).collect();
        assert_eq!(words, ["security", "services", "svcard"]);
        assert_eq!(h.partial_start, 5);
        let h = help("show security flow session ").unwrap();
        assert_eq!(h.items[0].word, "<[Enter]>");
        assert_eq!(h.items.last().unwrap().word, "|");
        assert!(h.items.iter().any(|i| i.word == "summary"));
        let h = help("show security flow session summary ").unwrap();
        assert!(
            !h.items.iter().any(|i| i.word == "brief"),
            "a level excludes the others"
        );
        let h = help("show security flow session source-port ").unwrap();
        assert_eq!(
            h.render(),
            "Possible completions:\n  <source-port>        Source port\n"
        );
        let h = help("show services sessions application-protocol rt").unwrap();
        assert_eq!(h.items.len(), 1);
        assert_eq!(h.items[0].word, "rtsp");
        let h = help("show security flow session | ").unwrap();
        assert!(h.items.iter().any(|i| i.word == "match"));
        let h = help("show security flow session | display ").unwrap();
        let words: Vec<&str> = h.items.iter().map(|i| i.word.as_str()).collect();
        assert_eq!(words, ["json", "xml"]);
        let h = help("show security flow session | display xml ").unwrap();
        assert!(h.items.iter().any(|i| i.word == "rpc"));
        assert!(help("show securty ").is_err());
        assert_eq!(help("show zzz").unwrap().render(), "No valid completions\n");
    }

    proptest::proptest! {
        #[test]
        fn parser_and_help_never_panic(line in "\\PC{0,80}") {
            let _ = parse(&line);
            let _ = help(&line);
            if let Err(e) = parse(&line) {
                let _ = render_error(11, &line, &e);
            }
        }

        #[test]
        fn grammar_words_never_panic(words in proptest::collection::vec(
            proptest::sample::select(vec![
                "show", "clear", "security", "services", "flow", "session", "sessions", "alg",
                "conversations", "brief", "extensive", "summary", "terse", "count", "all",
                "protocol", "tcp", "256", "source-port", "65536", "|", "match", "\"", "display",
                "xml", "json", "rpc", "last", "100001", "?", "limit", "0", "interface", "s",
                "application-protocol", "none", "10.0.0.0/33", "2001:db8::/129", "é",
            ]), 0..12)) {
            let line = words.join(" ");
            let _ = parse(&line);
            let _ = help(&line);
        }
    }
}
