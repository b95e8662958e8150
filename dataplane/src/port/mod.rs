//! Port backends: what a worker receives from and transmits to.
//!
//! A backend gives each worker its own RX queue on every port and its own TX queue on every
//! port; the control core has one more TX queue per port. The worker loop is generic over
//! [`PortIo`], so the same code runs on DPDK ports (feature `dpdk`) and on the pure-Rust
//! pcap backend ([`pcap`]).

#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod pcap;

/// Most packets a worker handles in one burst. 64 rather than DPDK's customary 32: the
/// per-burst work (RX and TX calls, the pipeline's bookkeeping, the PMD's bulk mbuf
/// allocation) is spread over twice the packets; measured +2.4% at 64k sessions, two
/// builds run side by side (one per core, cores swapped between rounds).
pub const BURST: usize = 64;

/// A received frame the worker owns until it transmits or drops it (drop frees it).
pub trait PacketBuf: Send {
    /// The frame bytes.
    fn data(&self) -> &[u8];
    /// The frame bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Set the frame length (shrink, or grow within the buffer's tailroom).
    /// Returns false (and changes nothing) when the buffer cannot hold `len` bytes.
    fn set_len(&mut self, len: usize) -> bool;
    /// The largest length [`PacketBuf::set_len`] accepts.
    fn capacity(&self) -> usize;
}

/// A bounded array of packets for one burst; lives on the stack, never allocates.
#[derive(Debug)]
pub struct Burst<P> {
    items: [Option<P>; BURST],
    len: usize,
}

impl<P> Default for Burst<P> {
    fn default() -> Self {
        Self {
            items: [const { None }; BURST],
            len: 0,
        }
    }
}

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
    /// True when no more packets fit.
    #[inline]
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len == BURST
    }
    /// Appends a packet; gives it back when the burst is full.
    #[inline]
    pub fn push(&mut self, p: P) -> Result<(), P> {
        let Some(slot) = self.items.get_mut(self.len) else {
            return Err(p);
        };
        // Drops whatever a `reset` left there.
        *slot = Some(p);
        self.len += 1;
        Ok(())
    }
    /// Empties the burst once its packets were taken one by one ([`take`](Self::take)):
    /// the length goes to zero without a walk over the slots. A packet still in a slot
    /// stays owned there and is dropped when that slot is pushed to again or the burst
    /// is dropped, so nothing leaks.
    #[inline]
    pub fn reset(&mut self) {
        self.len = 0;
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

/// One worker's (or the control core's) view of the ports: an RX queue on each port and a
/// TX queue on each port. Implementations never block.
pub trait PortIo: Send {
    /// The packet type.
    type Pkt: PacketBuf;
    /// Number of ports.
    fn port_count(&self) -> usize;
    /// Receives up to the burst's free room from `port`; returns how many were added.
    fn rx_burst(&mut self, port: u16, out: &mut Burst<Self::Pkt>) -> usize;
    /// Transmits the burst on `port`; what the queue did not take is dropped (freed) and
    /// counted by the caller from the return value. Returns how many were sent. Leaves the
    /// burst empty.
    fn tx_burst(&mut self, port: u16, pkts: &mut Burst<Self::Pkt>) -> usize;
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
