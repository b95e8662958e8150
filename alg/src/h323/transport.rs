//! Transport addresses as H.225 and H.245 encode them (aligned PER), shared by the call
//! signalling, H.245 and RAS readers.

use core::net::Ipv4Addr;

use super::per::Reader;

/// An address, a port and where their bytes start in the buffer read.
pub type Located = (Ipv4Addr, u16, (usize, usize));

/// An `ip` / `port` pair (4 octets, then a 16-bit constrained number, both aligned).
pub(crate) fn ip_port(r: &mut Reader<'_>) -> Option<Located> {
    let (ip_at, ip) = r.octets_at(4)?;
    let port_at = r.byte_pos();
    let port = u16::try_from(r.constrained(65536)?).ok()?;
    let addr = Ipv4Addr::new(*ip.first()?, *ip.get(1)?, *ip.get(2)?, *ip.get(3)?);
    Some((addr, port, (ip_at, port_at)))
}

/// An H.225 TransportAddress's `ipAddress` alternative.
pub(crate) fn h225_transport(r: &mut Reader<'_>) -> Option<Located> {
    // CHOICE { ipAddress, ipSourceRoute, ipxAddress, ip6Address, netBios, nsap,
    // nonStandardAddress, ... }
    if r.choice(7)?? != 0 {
        return None;
    }
    ip_port(r)
}
