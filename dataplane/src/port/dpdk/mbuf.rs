//! The mbuf: the one owner of a received frame (not Clone; freed on drop, taken by TX).

use std::fmt;
use std::ptr::NonNull;

use dpdk_sys as sys;

use crate::port::PacketBuf;

/// One DPDK packet buffer, owned: not `Clone`, freed (`rte_pktmbuf_free`) on drop. The
/// ports receive into and transmit from a [`Burst`]'s slots in place, as raw pointers.
///
/// [`PacketBuf::data`] is the first segment; svcard's pools and ports give single-segment
/// mbufs (no scatter), and [`PacketBuf::set_len`] refuses to change a chained mbuf.
#[repr(transparent)]
pub struct Mbuf {
    pub(super) raw: NonNull<sys::rte_mbuf>,
}

// `Option<Mbuf>` is a nullable `*mut rte_mbuf` (a `repr(transparent)` struct around a
// `NonNull` has the null-pointer niche, as the standard library documents for `Option`):
// the ports receive into and transmit from a burst's slots in place.
const _: () = assert!(
    core::mem::size_of::<Option<Mbuf>>() == core::mem::size_of::<*mut sys::rte_mbuf>()
        && core::mem::align_of::<Option<Mbuf>>() == core::mem::align_of::<*mut sys::rte_mbuf>()
        && core::mem::size_of::<Option<Mbuf>>() == core::mem::size_of::<usize>()
        && core::mem::align_of::<Option<Mbuf>>() == core::mem::align_of::<usize>()
);

// SAFETY: an Mbuf is the only owner of its rte_mbuf (not Clone; only the pool and the ports'
// receive make one), and freeing an mbuf into its MP/MC pool is safe from any thread.
unsafe impl Send for Mbuf {}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.hdr();
        f.debug_struct("Mbuf")
            .field("ptr", &self.raw)
            .field("data_off", &m.data_off)
            .field("data_len", &m.data_len)
            .field("pkt_len", &m.pkt_len)
            .field("nb_segs", &m.nb_segs)
            .finish()
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: self owns the mbuf, which is live (its pool outlives it: see the module
        // docs); it is not used after this.
        unsafe { sys::svcard_rte_pktmbuf_free(self.raw.as_ptr()) }
    }
}

impl Mbuf {
    /// The raw mbuf, still owned by `self`.
    #[inline]
    #[must_use]
    pub fn as_ptr(&self) -> *const sys::rte_mbuf {
        self.raw.as_ptr()
    }

    #[inline]
    pub(super) fn hdr(&self) -> &sys::rte_mbuf {
        // SAFETY: self owns a live mbuf; &self gives shared access to its header.
        unsafe { self.raw.as_ref() }
    }

    #[inline]
    pub(super) fn hdr_mut(&mut self) -> &mut sys::rte_mbuf {
        // SAFETY: self owns a live mbuf; &mut self gives exclusive access to its header.
        unsafe { self.raw.as_mut() }
    }

    /// The DPDK port the frame arrived on.
    #[inline]
    #[must_use]
    pub fn port(&self) -> u16 {
        self.hdr().port
    }

    /// Bytes free before the data.
    #[inline]
    #[must_use]
    pub fn headroom(&self) -> usize {
        usize::from(self.hdr().data_off)
    }

    /// Bytes free after the data in this (the last, for single-segment mbufs) segment.
    #[inline]
    #[must_use]
    pub fn tailroom(&self) -> usize {
        let m = self.hdr();
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off) + usize::from(m.data_len))
    }

    /// Number of segments.
    #[inline]
    #[must_use]
    pub fn segments(&self) -> u16 {
        self.hdr().nb_segs
    }

    /// The whole-packet length (`pkt_len`, all segments).
    #[inline]
    #[must_use]
    pub fn pkt_len(&self) -> u32 {
        self.hdr().pkt_len
    }

    /// Prefetches the first cache line of the frame (`rte_prefetch0`).
    #[inline]
    pub fn prefetch(&self) {
        let p = self.data_ptr();
        // SAFETY: a prefetch is a hint and never faults; p points into the mbuf's buffer.
        unsafe { sys::svcard_rte_prefetch0(p.cast()) }
    }

    #[inline]
    pub(super) fn data_ptr(&self) -> *mut u8 {
        let m = self.hdr();
        // buf_addr + data_off is rte_pktmbuf_mtod; data_off <= buf_len by DPDK's invariants,
        // so the address stays in the buffer.
        m.buf_addr
            .cast::<u8>()
            .wrapping_add(usize::from(m.data_off))
    }
}

/// `RTE_MBUF_F_RX_FDIR_ID` (rte_mbuf_core.h): the flow director ID (an `rte_flow` `MARK`)
/// is in `hash.fdir.hi`.
const RX_FDIR_ID: u64 = 1 << 13;

impl PacketBuf for Mbuf {
    #[inline]
    fn mark(&self) -> Option<u32> {
        let m = self.hdr();
        if m.ol_flags & RX_FDIR_ID == 0 {
            return None;
        }
        // SAFETY: the union's one member is the hash union, of plain integers (any bit
        // pattern is valid).
        let hash = unsafe { m.__bindgen_anon_2.hash };
        // SAFETY: as above; with RX_FDIR_ID set the PMD wrote the mark into fdir.hi.
        Some(unsafe { hash.fdir }.hi)
    }

    #[inline]
    fn frame_len(&self) -> usize {
        usize::from(self.hdr().data_len)
    }

    #[inline]
    fn data(&self) -> &[u8] {
        let len = usize::from(self.hdr().data_len);
        // SAFETY: mtod .. mtod + data_len lies inside the mbuf's buffer and is initialised
        // frame data (DPDK's invariant: data_off + data_len <= buf_len); self owns the mbuf,
        // so nothing writes it while the shared borrow lives.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), len) }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.hdr().data_len);
        let p = self.data_ptr();
        // SAFETY: as in data(); &mut self makes the borrow exclusive. An mbuf received from a
        // PMD or allocated from a pool has refcnt 1 and no indirect attachment in svcard, so
        // the buffer is not shared with another mbuf.
        unsafe { std::slice::from_raw_parts_mut(p, len) }
    }

    #[inline]
    fn set_len(&mut self, len: usize) -> bool {
        if self.segments() != 1 {
            return len == usize::from(self.hdr().data_len);
        }
        let Ok(len16) = u16::try_from(len) else {
            return false;
        };
        if len > self.capacity() {
            return false;
        }
        // Growing exposes buffer bytes that may hold an earlier frame's data, never
        // uninitialised memory: DPDK's memory comes from mmap (zero-filled by the kernel) and
        // is only ever written with bytes, so every byte of the buffer is a valid u8.
        let m = self.hdr_mut();
        m.data_len = len16;
        m.pkt_len = u32::from(len16);
        true
    }

    #[inline]
    fn capacity(&self) -> usize {
        let m = self.hdr();
        if m.nb_segs != 1 {
            return usize::from(m.data_len);
        }
        usize::from(m.buf_len).saturating_sub(usize::from(m.data_off))
    }
}
