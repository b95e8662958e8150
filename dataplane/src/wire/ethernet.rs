//! Ethernet II frames and 802.1Q / 802.1ad VLAN tags.

use super::{Error, Result};

mod field {
    use core::ops::{Range, RangeFrom};
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;

    pub const TCI: Range<usize> = 0..2;
    pub const INNER_TYPE: Range<usize> = 2..4;
    pub const TAG_PAYLOAD: RangeFrom<usize> = 4..;
}

/// A read/write view of an Ethernet II frame (no FCS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Length of the Ethernet II header.
    pub const HEADER_LEN: usize = 14;

    /// Wraps a buffer without checking it; call [`check_len`](Self::check_len) before any
    /// accessor.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer and checks that the header is all there.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than the header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than the header.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DST]);
        a
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 6] {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SRC]);
        a
    }

    /// The EtherType (or TPID of a VLAN tag).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Everything after the 14-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: [u8; 6]) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a);
    }

    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, a: [u8; 6]) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a);
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&t.to_be_bytes());
    }

    /// Swaps source and destination MAC addresses (for answering a frame in place).
    #[inline]
    pub fn swap_addrs(&mut self) {
        let (dst, rest) = self.buffer.as_mut().split_at_mut(6);
        dst.swap_with_slice(&mut rest[..6]);
    }

    /// Everything after the 14-byte header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// A view of one 4-byte VLAN tag *after* its TPID: the TCI and the next EtherType, as found
/// at [`EthernetFrame::payload`] when the frame's EtherType is 0x8100 or 0x88a8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanHeader<T> {
    /// Length of the tag after its TPID.
    pub const HEADER_LEN: usize = 4;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanHeader { buffer }
    }

    /// Wraps a buffer and checks it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 4 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let v = Self::new_unchecked(buffer);
        v.check_len()?;
        Ok(v)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 4 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole tag control information (PCP, DEI, VID).
    #[inline]
    pub fn tci(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::TCI];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Priority code point (0-7).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (0-4095).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The EtherType that follows the tag.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::INNER_TYPE];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Everything after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::TAG_PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanHeader<T> {
    /// Sets the tag control information.
    #[inline]
    pub fn set_tci(&mut self, tci: u16) {
        self.buffer.as_mut()[field::TCI].copy_from_slice(&tci.to_be_bytes());
    }

    /// Sets the VLAN id, keeping PCP and DEI.
    #[inline]
    pub fn set_vid(&mut self, vid: u16) {
        let tci = (self.tci() & 0xf000) | (vid & 0x0fff);
        self.set_tci(tci);
    }

    /// Sets the EtherType that follows the tag.
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        self.buffer.as_mut()[field::INNER_TYPE].copy_from_slice(&t.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethertype;

    #[test]
    fn ethernet_and_vlan_views() {
        let mut f = [
            0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10, // dst
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // src
            0x81, 0x00, // TPID 802.1Q
            0xa0, 0x64, // PCP 5, DEI 0, VID 100
            0x08, 0x00, // IPv4
            0x45, // payload begins
        ];
        assert_eq!(EthernetFrame::new_checked(&f[..13]), Err(Error::Truncated));
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(e.dst_addr(), [0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10]);
        assert_eq!(e.src_addr(), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(e.ethertype(), ethertype::VLAN);
        let v = VlanHeader::new_checked(e.payload()).unwrap();
        assert_eq!((v.pcp(), v.dei(), v.vid()), (5, false, 100));
        assert_eq!(v.ethertype(), ethertype::IPV4);
        assert_eq!(v.payload(), &[0x45]);
        assert_eq!(
            VlanHeader::new_checked(&[0u8; 3][..]),
            Err(Error::Truncated)
        );

        let mut e = EthernetFrame::new_unchecked(&mut f[..]);
        e.swap_addrs();
        assert_eq!(e.src_addr(), [0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10]);
        assert_eq!(e.dst_addr(), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        e.set_ethertype(ethertype::QINQ);
        let mut v = VlanHeader::new_unchecked(e.payload_mut());
        v.set_vid(7);
        assert_eq!((v.pcp(), v.vid()), (5, 7));
        assert_eq!(f[12..16], [0x88, 0xa8, 0xa0, 0x07]);
    }
}
