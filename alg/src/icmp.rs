//! ICMP and ICMPv6 errors: which ones are errors, the flow they quote, and how they relate
//! to a session.
//!
//! An ICMP error (destination unreachable, time exceeded, packet too big, parameter
//! problem, ...) carries the head of the packet that caused it: the *quoted* packet, as its
//! sender sent it. The error belongs to the session of that packet: the dataplane parses
//! the quote (its one ICMP quote parser, `svcard_dataplane::wire::parse_icmp_error_inner`),
//! looks the session up with the quoted tuple, counts the error there and passes it only if
//! that session exists. This module only classifies ICMP types ([`classify`]), for the
//! traceroute ALG.

/// What an ICMP / ICMPv6 message is, for session handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpClass {
    /// Destination unreachable; `port` is true for port unreachable (a traceroute probe
    /// reached its destination).
    DestUnreachable {
        /// Port unreachable (v4 code 3, v6 code 4).
        port: bool,
    },
    /// Time exceeded in transit (a traceroute hop's answer) or in reassembly.
    TimeExceeded,
    /// Packet too big (ICMPv6 2; ICMP "fragmentation needed" is `DestUnreachable`).
    PacketTooBig,
    /// Parameter problem.
    ParamProblem,
    /// Source quench or redirect: errors that svcard does not pass.
    Other,
    /// Not an error (echo, neighbour discovery, ...): a flow of its own.
    NotError,
}

impl IcmpClass {
    /// True for the error classes that quote a packet.
    #[must_use]
    pub fn is_error(self) -> bool {
        !matches!(self, IcmpClass::NotError)
    }
}

/// Classifies an ICMP (`v6` false) or ICMPv6 (`v6` true) type and code.
#[must_use]
pub fn classify(v6: bool, icmp_type: u8, code: u8) -> IcmpClass {
    if v6 {
        match icmp_type {
            1 => IcmpClass::DestUnreachable { port: code == 4 },
            2 => IcmpClass::PacketTooBig,
            3 => IcmpClass::TimeExceeded,
            4 => IcmpClass::ParamProblem,
            _ => IcmpClass::NotError,
        }
    } else {
        match icmp_type {
            3 => IcmpClass::DestUnreachable { port: code == 3 },
            11 => IcmpClass::TimeExceeded,
            12 => IcmpClass::ParamProblem,
            4 | 5 => IcmpClass::Other,
            _ => IcmpClass::NotError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quote in a time-exceeded answer to a Linux traceroute probe:
    /// 192.0.2.10:45000 -> 198.51.100.20:33435 UDP, TTL 1.

    #[test]
    fn classify_types() {
        assert_eq!(classify(false, 11, 0), IcmpClass::TimeExceeded);
        assert_eq!(
            classify(false, 3, 3),
            IcmpClass::DestUnreachable { port: true }
        );
        assert_eq!(
            classify(false, 3, 4),
            IcmpClass::DestUnreachable { port: false }
        );
        assert_eq!(classify(false, 8, 0), IcmpClass::NotError);
        assert_eq!(classify(false, 5, 1), IcmpClass::Other);
        assert_eq!(classify(true, 3, 0), IcmpClass::TimeExceeded);
        assert_eq!(
            classify(true, 1, 4),
            IcmpClass::DestUnreachable { port: true }
        );
        assert_eq!(classify(true, 2, 0), IcmpClass::PacketTooBig);
        assert_eq!(classify(true, 128, 0), IcmpClass::NotError);
        assert!(!IcmpClass::NotError.is_error());
    }
}
