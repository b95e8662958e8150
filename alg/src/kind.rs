//! Which application-layer gateway: the one list of ALGs, by their Junos names. The
//! configuration names ALGs with it (`[alg.NAME]`, an application's ALG), the dataplane
//! marks Watch sessions with it, the control core and the show commands count and print by
//! it; [`AlgKind::has_engine`] says which this crate implements.

use core::fmt;

use crate::types::PortList;

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
    pub const ENGINES: [AlgKind; 9] = [
        AlgKind::Ftp,
        AlgKind::Tftp,
        AlgKind::Dns,
        AlgKind::RpcPortmap,
        AlgKind::Rsh,
        AlgKind::Rexec,
        AlgKind::Rlogin,
        AlgKind::Talk,
        AlgKind::Traceroute,
    ];

    /// Whether this crate runs an engine for the ALG.
    #[must_use]
    pub fn has_engine(self) -> bool {
        Self::ENGINES.contains(&self)
    }

    /// The parent's transport protocols and default ports, as Junos predefines them.
    #[must_use]
    pub fn default_ports(self) -> PortList {
        match self {
            AlgKind::Ftp => PortList::from_slice(&[21]),
            AlgKind::Tftp => PortList::from_slice(&[69]),
            AlgKind::Dns => PortList::from_slice(&[53]),
            AlgKind::RpcPortmap => PortList::from_slice(&[111]),
            AlgKind::Rsh => PortList::from_slice(&[514]),
            AlgKind::Rexec => PortList::from_slice(&[512]),
            AlgKind::Rlogin => PortList::from_slice(&[513]),
            AlgKind::Talk => PortList::from_slice(&[517, 518]),
            AlgKind::Traceroute => PortList::range(crate::traceroute::BASE_PORT, 8),
            _ => PortList::from_slice(&[]),
        }
    }

    /// The default pinhole (expectation) lifetime in milliseconds.
    #[must_use]
    pub fn default_timeout_ms(self) -> u64 {
        match self {
            AlgKind::Dns => 5_000,
            AlgKind::Traceroute => 5_000,
            AlgKind::Tftp => 10_000,
            _ => 30_000,
        }
    }
}

impl fmt::Display for AlgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.junos_name())
    }
}
