//! Port backends: what a worker receives from and transmits to.
//!
//! A backend gives each worker its own RX queue on every port and its own TX queue on every
//! port; the control core has one more TX queue per port. The worker loop is generic over
//! [`PortIo`], so the same code runs on DPDK ports (feature `dpdk`) and on the pure-Rust
//! pcap backend ([`pcap`]).

#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod pcap;

pub use svcard_config::PortId;

/// Most packets a worker handles in one burst. 64 rather than DPDK's customary 32: the
/// per-burst work (RX and TX calls, the burst's bookkeeping, the PMD's bulk mbuf
/// allocation) is spread over twice the packets; measured +2.4% at 64k sessions, two
/// builds run side by side (one per core, cores swapped between rounds).
pub const BURST: usize = 64;

/// A received frame the worker owns until it transmits or drops it (drop frees it).
pub trait PacketBuf: Send {
    /// The frame bytes.
    fn data(&self) -> &[u8];
    /// The frame length (`data().len()`, which a buffer may know without building the
    /// slice).
    #[inline]
    fn frame_len(&self) -> usize {
        self.data().len()
    }
    /// The frame bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Set the frame length (shrink, or grow within the buffer's tailroom).
    /// Returns false (and changes nothing) when the buffer cannot hold `len` bytes.
    fn set_len(&mut self, len: usize) -> bool;
    /// The largest length [`PacketBuf::set_len`] accepts.
    fn capacity(&self) -> usize;
    /// The mark a NIC's flow rule put on the frame (`rte_flow` `MARK`: svcard marks a
    /// partially offloaded session's packets with the session's ID), if any.
    #[inline]
    fn mark(&self) -> Option<u32> {
        None
    }
}

/// A bounded array of packets for one burst; lives on the stack, never allocates.
///
/// A receiver can fill the spare slots in place ([`spare_mut`](Self::spare_mut), after
/// [`clear_spare`](Self::clear_spare) if a reset left packets there) and a transmitter hand
/// the filled ones over in place ([`filled_mut`](Self::filled_mut)).
#[derive(Debug)]
pub struct Burst<P> {
    items: [Option<P>; BURST],
    len: usize,
    /// Most packets a receive puts in it (1-[`BURST`]; receivers fill up to
    /// [`room`](Self::room) or [`is_full`](Self::is_full)): a worker's receive bursts are
    /// capped by `[workers] burst`.
    limit: usize,
}

impl<P> Default for Burst<P> {
    fn default() -> Self {
        Self {
            items: [const { None }; BURST],
            len: 0,
            limit: BURST,
        }
    }
}

const _: () = assert!(BURST == svcard_config::MAX_BURST as usize);

impl<P> Burst<P> {
    /// Number of packets held.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when it holds its limit ([`BURST`] unless [`set_limit`](Self::set_limit)).
    #[inline]
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len >= self.limit
    }
    /// How many more packets a receive may put in it.
    #[inline]
    #[must_use]
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.len)
    }
    /// Caps the packets it takes at `n`, clamped to 1-[`BURST`] (a receive burst of the
    /// configured size).
    pub fn set_limit(&mut self, n: usize) {
        self.limit = n.clamp(1, BURST);
    }
    /// Appends a packet; gives it back when all [`BURST`] places are taken. (The limit is
    /// for receivers, which fill up to [`room`](Self::room): checking it here cost 14
    /// instructions a packet, this being called twice per packet.)
    #[inline]
    pub fn push(&mut self, p: P) -> Result<(), P> {
        let Some(slot) = self.items.get_mut(self.len) else {
            return Err(p);
        };
        *slot = Some(p);
        self.len += 1;
        Ok(())
    }
    /// Puts a packet back into filled slot `i`, emptied by [`take`](Self::take); gives it
    /// back if `i` is not a filled slot or still holds a packet.
    #[inline]
    pub fn put_back(&mut self, i: usize, p: P) -> Result<(), P> {
        match self.items[..self.len.min(BURST)].get_mut(i) {
            Some(slot @ None) => {
                *slot = Some(p);
                Ok(())
            }
            _ => Err(p),
        }
    }
    /// Empties the burst once its packets were taken one by one ([`take`](Self::take)):
    /// the length goes to zero without a walk over the slots. A packet still in a slot
    /// stays owned there and is dropped when that slot is pushed to or received into again,
    /// or the burst is dropped, so nothing leaks.
    #[inline]
    pub fn reset(&mut self) {
        self.len = 0;
    }
    /// The slots after the filled ones, up to the limit, for a receiver that fills them in
    /// place, from the first, and then counts what it filled with
    /// [`filled`](Self::filled). They are empty unless a [`reset`](Self::reset) left
    /// packets there: a receiver that overwrites slots without dropping what they hold
    /// checks, and calls [`clear_spare`](Self::clear_spare) when they are not.
    #[inline]
    pub fn spare_mut(&mut self) -> &mut [Option<P>] {
        let end = self.limit.clamp(self.len, BURST);
        &mut self.items[self.len..end]
    }
    /// Drops the packets a [`reset`](Self::reset) left in the spare slots.
    #[cold]
    pub fn clear_spare(&mut self) {
        for s in self.spare_mut() {
            *s = None;
        }
    }
    /// Moves the packets in the filled slots to the front, in order, closing the holes
    /// [`take`](Self::take) left; the length becomes their number.
    pub fn compact(&mut self) {
        let n = self.len.min(BURST);
        let mut k = 0;
        for i in 0..n {
            if self.items[i].is_some() {
                self.items.swap(k, i);
                k += 1;
            }
        }
        self.len = k;
    }
    /// Counts the first `n` spare slots as filled (after [`spare_mut`](Self::spare_mut)).
    /// A slot counted but left empty is skipped like a taken one.
    #[inline]
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(BURST);
    }
    /// The filled slots, for a transmitter that hands their packets over in place, empties
    /// the slots it handed over, and then calls [`reset`](Self::reset) (the packets it did
    /// not take stay owned by their slots until they are dropped or overwritten).
    #[inline]
    pub fn filled_mut(&mut self) -> &mut [Option<P>] {
        let n = self.len.min(BURST);
        &mut self.items[..n]
    }
    /// Takes every packet out, in order, leaving the burst empty.
    #[inline]
    pub fn drain(&mut self) -> impl Iterator<Item = P> + '_ {
        let n = self.len;
        self.len = 0;
        self.items[..n].iter_mut().filter_map(Option::take)
    }
    /// The packet at `i`.
    #[inline]
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&P> {
        self.items.get(i).and_then(Option::as_ref)
    }
    /// The packet at `i`, mutable.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut P> {
        self.items.get_mut(i).and_then(Option::as_mut)
    }
    /// Takes the packet at `i` out (its place stays empty until the burst is drained).
    #[inline]
    pub fn take(&mut self, i: usize) -> Option<P> {
        self.items.get_mut(i).and_then(Option::take)
    }
}

/// Counters a port reports (what `show interfaces` would read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Frames received.
    pub ipackets: u64,
    /// Frames transmitted.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes transmitted.
    pub obytes: u64,
    /// Frames the device dropped on receive (no buffer, queue full).
    pub imissed: u64,
    /// Receive errors.
    pub ierrors: u64,
    /// Transmit errors.
    pub oerrors: u64,
}

/// A port's state as an operator reads it (`show interfaces`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortStatus {
    /// The device (`net_pcap0`, `0000:03:00.0`).
    pub device: String,
    /// Link up (none: the backend cannot tell).
    pub link_up: Option<bool>,
    /// Speed, Mbit/s (0: unknown).
    pub speed_mbps: u32,
    /// Its counters (none: the backend keeps none).
    pub stats: Option<PortStats>,
}

/// Reads every port's status, in configuration order. The show server calls it, never a
/// worker.
pub trait PortStatusSource: Send + Sync {
    /// Each port's status.
    fn ports(&self) -> Vec<PortStatus>;
}

/// One worker's (or the control core's) view of the ports: an RX queue on each port and a
/// TX queue on each port. Implementations never block.
pub trait PortIo: Send {
    /// The packet type.
    type Pkt: PacketBuf;
    /// Number of ports.
    fn port_count(&self) -> usize;
    /// Receives up to the burst's free room from `port`; returns how many were added.
    fn rx_burst(&mut self, port: PortId, out: &mut Burst<Self::Pkt>) -> usize;
    /// Transmits the burst on `port`; what the queue did not take is dropped (freed) and
    /// counted by the caller from the return value. Returns how many were sent. Leaves the
    /// burst empty.
    fn tx_burst(&mut self, port: PortId, pkts: &mut Burst<Self::Pkt>) -> usize;
    /// Called once on the thread that will poll these queues, before the first burst
    /// (DPDK registers the thread with the EAL here: an lcore id and a mempool cache).
    ///
    /// # Errors
    /// Text saying why the thread cannot poll.
    fn thread_init(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// True once every RX source is exhausted for good (a pcap replay that ended). Live
    /// devices always say false.
    fn rx_finished(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_receive_and_reset_keep_spare_slots_empty() {
        use std::rc::Rc;
        let token = Rc::new(());
        let mut b: Burst<Rc<()>> = Burst::default();
        b.set_limit(8);
        assert!(b.push(Rc::clone(&token)).is_ok());
        // A receiver fills the spare slots in place, then counts them.
        let spare = b.spare_mut();
        assert_eq!(spare.len(), 7);
        assert!(spare.iter().all(Option::is_none));
        spare[0] = Some(Rc::clone(&token));
        spare[1] = Some(Rc::clone(&token));
        b.filled(2);
        assert_eq!(b.len(), 3);
        assert_eq!(b.filled_mut().len(), 3);
        assert_eq!(Rc::strong_count(&token), 4);
        drop(b.take(0));
        assert_eq!(Rc::strong_count(&token), 3);
        // Left in their slots by a reset: owned there until cleared (or pushed over).
        b.reset();
        assert!(b.is_empty());
        assert_eq!(Rc::strong_count(&token), 3);
        assert!(b.spare_mut().iter().any(Option::is_some));
        b.clear_spare();
        assert!(b.spare_mut().iter().all(Option::is_none));
        assert_eq!(Rc::strong_count(&token), 1);
        // Holes closed in order.
        b.reset();
        b.clear_spare();
        for i in 0..4 {
            assert!(b.push(Rc::new(())).is_ok());
            assert_eq!(Rc::strong_count(b.get(i).unwrap()), 1);
        }
        let (third, fourth) = (Rc::clone(b.get(2).unwrap()), Rc::clone(b.get(3).unwrap()));
        drop(b.take(0));
        drop(b.take(1));
        b.compact();
        assert_eq!(b.len(), 2);
        assert!(Rc::ptr_eq(b.get(0).unwrap(), &third) && Rc::ptr_eq(b.get(1).unwrap(), &fourth));
        assert!(b.spare_mut().iter().all(Option::is_none));
        b.reset();
        b.clear_spare();
        // Counting more than the spare slots stops at the array's end.
        b.filled(BURST + 5);
        assert_eq!(b.len(), BURST);
        assert_eq!(b.get(0), None);
    }

    #[test]
    fn a_packet_goes_back_only_into_its_own_emptied_slot() {
        let mut b: Burst<u32> = Burst::default();
        for v in [10, 11, 12] {
            b.push(v).unwrap();
        }
        assert_eq!(b.take(1), Some(11));
        // Occupied, or not a filled slot: given back.
        assert_eq!(b.put_back(0, 20), Err(20));
        assert_eq!(b.put_back(3, 23), Err(23));
        assert_eq!(b.put_back(1, 21), Ok(()));
        assert_eq!(b.put_back(1, 31), Err(31));
        assert_eq!(b.drain().collect::<Vec<_>>(), vec![10, 21, 12]);
    }

    #[test]
    fn a_limited_burst_has_room_up_to_its_limit() {
        let mut b: Burst<u32> = Burst::default();
        assert_eq!(b.room(), BURST);
        b.set_limit(4);
        for i in 0..4 {
            assert!(b.push(i).is_ok());
        }
        assert!(b.is_full());
        assert_eq!(b.room(), 0);
        assert_eq!(b.drain().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        // Pushing stops only at the array's end.
        for i in 0..BURST {
            assert!(b.push(i as u32).is_ok());
        }
        assert_eq!(b.push(9), Err(9));
        assert_eq!(b.room(), 0);
        b.reset();
        b.set_limit(0);
        assert_eq!(b.room(), 1);
        b.set_limit(10_000);
        assert_eq!(b.room(), BURST);
    }
}
