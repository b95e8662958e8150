//! Which application-layer gateway: the one list of ALGs, by their Junos names. The
//! configuration names ALGs with it (`[alg.NAME]`, an application's ALG), the dataplane
//! marks Watch sessions with it, the control core and the show commands count and print by
//! it; [`AlgKind::has_engine`] says which this crate implements.

use core::fmt;

/// The first UDP port of traceroute's probes (`traceroute`'s default base port).
pub const TRACEROUTE_BASE_PORT: u16 = 33434;

/// An application-layer gateway, named as `show services sessions application-protocol`
/// names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlgKind {
    /// FTP (control connection; opens data connections).
    Ftp,
    /// TFTP.
    Tftp,
    /// DNS.
    Dns,
    /// Sun RPC (program sessions).
    Rpc,
    /// Sun RPC portmapper (port 111).
    RpcPortmap,
    /// Remote shell (rsh).
    Rsh,
    /// Remote execution (rexec), Junos `exec`.
    Rexec,
    /// Remote login (rlogin), Junos `login`.
    Rlogin,
    /// talk / ntalk.
    Talk,
    /// ICMP (error messages matched to sessions).
    Icmp,
    /// Traceroute.
    Traceroute,
    /// SIP.
    Sip,
    /// RTSP.
    Rtsp,
    /// PPTP (control connection; opens GRE).
    Pptp,
    /// H.323.
    H323,
    /// Oracle SQL*Net, Junos `sql`.
    Sqlnet,
    /// Microsoft RPC (DCE RPC program sessions).
    DceRpc,
    /// Microsoft RPC endpoint mapper (port 135).
    DceRpcPortmap,
    /// IKE with ESP NAT.
    IkeEspNat,
}

impl AlgKind {
    /// Every ALG, in declaration order (`ALL[k as usize] == k`).
    pub const ALL: [AlgKind; 19] = [
        AlgKind::Ftp,
        AlgKind::Tftp,
        AlgKind::Dns,
        AlgKind::Rpc,
        AlgKind::RpcPortmap,
        AlgKind::Rsh,
        AlgKind::Rexec,
        AlgKind::Rlogin,
        AlgKind::Talk,
        AlgKind::Icmp,
        AlgKind::Traceroute,
        AlgKind::Sip,
        AlgKind::Rtsp,
        AlgKind::Pptp,
        AlgKind::H323,
        AlgKind::Sqlnet,
        AlgKind::DceRpc,
        AlgKind::DceRpcPortmap,
        AlgKind::IkeEspNat,
    ];

    /// The Junos application-protocol name (`ftp`, `rpc-portmap`, `exec`, `sql`, …), also
    /// the key of its `[alg.NAME]` table and of `alg = "NAME"` in an application.
    #[must_use]
    pub const fn junos_name(self) -> &'static str {
        match self {
            AlgKind::Ftp => "ftp",
            AlgKind::Tftp => "tftp",
            AlgKind::Dns => "dns",
            AlgKind::Rpc => "rpc",
            AlgKind::RpcPortmap => "rpc-portmap",
            AlgKind::Rsh => "rsh",
            AlgKind::Rexec => "exec",
            AlgKind::Rlogin => "login",
            AlgKind::Talk => "talk",
            AlgKind::Icmp => "icmp",
            AlgKind::Traceroute => "traceroute",
            AlgKind::Sip => "sip",
            AlgKind::Rtsp => "rtsp",
            AlgKind::Pptp => "pptp",
            AlgKind::H323 => "h323",
            AlgKind::Sqlnet => "sql",
            AlgKind::DceRpc => "dce-rpc",
            AlgKind::DceRpcPortmap => "dce-rpc-portmap",
            AlgKind::IkeEspNat => "ike-esp-nat",
        }
    }

    /// The name `show services alg conversations` prints (`FTP ALG`, `SUNRPC ALG`, …).
    #[must_use]
    pub const fn display_name(self) -> &'static str {
        match self {
            AlgKind::Ftp => "FTP ALG",
            AlgKind::Tftp => "TFTP ALG",
            AlgKind::Dns => "DNS ALG",
            AlgKind::Rpc | AlgKind::RpcPortmap => "SUNRPC ALG",
            AlgKind::Rsh => "RSH ALG",
            AlgKind::Rexec => "REXEC ALG",
            AlgKind::Rlogin => "RLOGIN ALG",
            AlgKind::Talk => "TALK ALG",
            AlgKind::Icmp => "ICMP ALG",
            AlgKind::Traceroute => "TRACEROUTE ALG",
            AlgKind::Sip => "SIP ALG",
            AlgKind::Rtsp => "RTSP ALG",
            AlgKind::Pptp => "PPTP ALG",
            AlgKind::H323 => "H323 ALG",
            AlgKind::Sqlnet => "SQLV2 ALG",
            AlgKind::DceRpc | AlgKind::DceRpcPortmap => "MSRPC ALG",
            AlgKind::IkeEspNat => "IKE ALG",
        }
    }

    /// The ALG with this Junos application-protocol name.
    #[must_use]
    pub fn from_junos_name(s: &str) -> Option<AlgKind> {
        AlgKind::ALL.iter().copied().find(|k| k.junos_name() == s)
    }

    /// The ALGs this crate has an engine for ([`crate::AnyAlg`]); the others are known by
    /// name (the Junos catalogue) and their sessions are forwarded as plain traffic.
    pub const ENGINES: [AlgKind; 16] = [
        AlgKind::Ftp,
        AlgKind::Tftp,
        AlgKind::Dns,
        AlgKind::RpcPortmap,
        AlgKind::Rsh,
        AlgKind::Rexec,
        AlgKind::Rlogin,
        AlgKind::Talk,
        AlgKind::Traceroute,
        AlgKind::Sip,
        AlgKind::Rtsp,
        AlgKind::IkeEspNat,
        AlgKind::Sqlnet,
        AlgKind::Pptp,
        AlgKind::DceRpcPortmap,
        AlgKind::H323,
    ];

    /// Whether this crate runs an engine for the ALG.
    #[must_use]
    pub fn has_engine(self) -> bool {
        Self::ENGINES.contains(&self)
    }

    /// The default ports of the parent session, as the first port and how many follow it
    /// (Junos's predefined applications): empty (`(0, 0)`) for an ALG without an engine.
    #[must_use]
    pub const fn default_ports(self) -> (u16, u16) {
        match self {
            AlgKind::Ftp => (21, 1),
            AlgKind::Tftp => (69, 1),
            AlgKind::Dns => (53, 1),
            AlgKind::RpcPortmap => (111, 1),
            AlgKind::Rsh => (514, 1),
            AlgKind::Rexec => (512, 1),
            AlgKind::Rlogin => (513, 1),
            AlgKind::Talk => (517, 2),
            AlgKind::Traceroute => (TRACEROUTE_BASE_PORT, 8),
            AlgKind::Sip => (5060, 1),
            AlgKind::Rtsp => (554, 1),
            AlgKind::IkeEspNat => (500, 1),
            AlgKind::Sqlnet => (1521, 1),
            AlgKind::Pptp => (1723, 1),
            AlgKind::DceRpcPortmap => (135, 1),
            AlgKind::H323 => (1720, 1),
            _ => (0, 0),
        }
    }

    /// The default pinhole (expectation) lifetime in milliseconds.
    #[must_use]
    pub fn default_timeout_ms(self) -> u64 {
        match self {
            AlgKind::Dns => 5_000,
            AlgKind::Traceroute => 5_000,
            AlgKind::Tftp => 10_000,
            // Junos's `inactive-media-timeout`: how long a call's media pinhole waits.
            AlgKind::Sip => 120_000,
            _ => 30_000,
        }
    }
}

impl fmt::Display for AlgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.junos_name())
    }
}
