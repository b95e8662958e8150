//! The per-worker view of the ports: one RX and one TX queue on each port, claimed so that one thread polls a queue; the PortIo the worker runs on.

use std::ptr::{self};
use std::sync::Arc;

use dpdk_sys as sys;

use crate::port::{Burst, PortId, PortIo};
use svcard_config::{QueueId, WorkerId};

use super::eal::*;
use super::error::*;
use super::ethport::*;
use super::mbuf::*;

#[derive(Debug)]
pub(super) struct QueueSlot {
    pub(super) port: Arc<PortInner>,
    /// The RX queues this handle polls on the port (none for the control core; one for a
    /// worker, or more when the port has more RX queues than there are workers).
    pub(super) rx: Vec<u16>,
    /// Which of `rx` the next receive polls (they take turns).
    pub(super) next_rx: usize,
    pub(super) tx: u16,
}

/// The RX queues worker `index` of `workers` polls on a port with `queues` RX queues:
/// `index`, `index + workers`, ... (one each when there are as many queues as workers).
#[must_use]
pub fn worker_rx_queues(index: u16, workers: u16, queues: u16) -> Vec<u16> {
    let step = usize::from(workers.max(1));
    (index..queues).step_by(step).collect()
}

/// One worker's (or the control core's) queues on every port: implements [`PortIo`].
/// The `port` argument of [`PortIo`] methods is the index into the port list given at
/// construction (equal to the DPDK port id when the ports were listed in id order).
///
/// Holds its queues exclusively until dropped, and keeps the ports alive.
#[derive(Debug)]
pub struct DpdkQueues {
    pub(super) slots: Vec<QueueSlot>,
}

impl DpdkQueues {
    /// Worker `index`: RX queue `index` and TX queue `index` of every port.
    ///
    /// # Errors
    /// [`DpdkError::QueueOutOfRange`] or [`DpdkError::QueueInUse`].
    pub fn worker(ports: &[EthPort], index: WorkerId) -> Result<DpdkQueues, DpdkError> {
        let q = QueueId::of_worker(index).0;
        Self::claim(ports, |_| (vec![q], q))
    }

    /// Worker `index` of `workers`: TX queue `index` of every port and, of a port's RX
    /// queues, those [`worker_rx_queues`] gives it (queue `index` alone when the port has
    /// one RX queue per worker; more when it has more, as `net_af_packet` with more
    /// `qpairs` than workers, whose every queue receives its share of the flows and must
    /// be polled).
    ///
    /// # Errors
    /// [`DpdkError::QueueOutOfRange`] or [`DpdkError::QueueInUse`].
    pub fn worker_of(
        ports: &[EthPort],
        worker: WorkerId,
        workers: u16,
    ) -> Result<DpdkQueues, DpdkError> {
        let index = QueueId::of_worker(worker).0;
        Self::claim(ports, |p| {
            let mut rx = worker_rx_queues(index, workers, p.rx_queues);
            if rx.is_empty() {
                // More workers than queues: claiming queue `index` reports it out of range.
                rx.push(index);
            }
            (rx, index)
        })
    }

    /// The control core: no RX queue, the last TX queue of every port.
    ///
    /// # Errors
    /// [`DpdkError::QueueInUse`] when a worker holds that TX queue (the ports were configured
    /// without the control core's extra queue).
    pub fn control(ports: &[EthPort]) -> Result<DpdkQueues, DpdkError> {
        Self::claim(ports, |p| (Vec::new(), p.tx_queues - 1))
    }

    pub(super) fn claim(
        ports: &[EthPort],
        pick: impl Fn(&PortInner) -> (Vec<u16>, u16),
    ) -> Result<DpdkQueues, DpdkError> {
        let mut q = DpdkQueues {
            slots: Vec::with_capacity(ports.len()),
        };
        for p in ports {
            let inner = &p.inner;
            let (rx, tx) = pick(inner);
            let mut st = lock(&inner.state);
            for &r in &rx {
                let Some(&claimed) = st.rx_claimed.get(usize::from(r)) else {
                    return Err(DpdkError::QueueOutOfRange {
                        port: inner.id,
                        dir: "rx",
                        queue: QueueId(r),
                        count: inner.rx_queues,
                    });
                };
                if claimed {
                    return Err(DpdkError::QueueInUse {
                        port: inner.id,
                        dir: "rx",
                        queue: QueueId(r),
                    });
                }
            }
            let Some(&claimed) = st.tx_claimed.get(usize::from(tx)) else {
                return Err(DpdkError::QueueOutOfRange {
                    port: inner.id,
                    dir: "tx",
                    queue: QueueId(tx),
                    count: inner.tx_queues,
                });
            };
            if claimed {
                return Err(DpdkError::QueueInUse {
                    port: inner.id,
                    dir: "tx",
                    queue: QueueId(tx),
                });
            }
            for &r in &rx {
                st.rx_claimed[usize::from(r)] = true;
            }
            st.tx_claimed[usize::from(tx)] = true;
            drop(st);
            // From here the Drop of `q` releases this claim if a later port fails.
            q.slots.push(QueueSlot {
                port: Arc::clone(inner),
                rx,
                next_rx: 0,
                tx,
            });
        }
        Ok(q)
    }

    /// The DPDK port id behind index `port`.
    #[must_use]
    pub fn port_id(&self, port: u16) -> Option<u16> {
        self.slots.get(usize::from(port)).map(|s| s.port.id)
    }
}

impl Drop for DpdkQueues {
    fn drop(&mut self) {
        for s in &self.slots {
            let mut st = lock(&s.port.state);
            for &r in &s.rx {
                st.rx_claimed[usize::from(r)] = false;
            }
            st.tx_claimed[usize::from(s.tx)] = false;
        }
    }
}

/// A burst's slots as the words they are: 0 for an empty slot, the mbuf's address for a
/// filled one (Option<Mbuf> has the size and alignment of a usize: asserted at Mbuf).
#[inline]
pub(super) fn slot_words(slots: &[Option<Mbuf>]) -> &[usize] {
    // SAFETY: same size and alignment, and a pointer or null is a valid usize; the shared
    // borrow keeps the slots unchanged while the words are read.
    unsafe { core::slice::from_raw_parts(slots.as_ptr().cast::<usize>(), slots.len()) }
}

impl PortIo for DpdkQueues {
    type Pkt = Mbuf;

    fn thread_init(&mut self) -> Result<(), String> {
        register_thread().map(|_| ()).map_err(|e| e.to_string())
    }

    fn port_count(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn rx_burst(&mut self, port: PortId, out: &mut Burst<Mbuf>) -> usize {
        let Some(slot) = self.slots.get_mut(port.index()) else {
            return 0;
        };
        let queue = match slot.rx.len() {
            0 => return 0,
            1 => slot.rx[0],
            n => {
                // Several queues: each receive polls the next.
                let q = slot.rx[slot.next_rx % n];
                slot.next_rx = (slot.next_rx + 1) % n;
                q
            }
        };
        // One OR over the spare slots (vectorised): packets a reset left there are dropped
        // before the slots are overwritten.
        if slot_words(out.spare_mut()).iter().fold(0, |a, &w| a | w) != 0 {
            out.clear_spare();
        }
        let spare = out.spare_mut();
        let want = spare.len();
        if want == 0 {
            return 0;
        }
        let raw = spare.as_mut_ptr().cast::<*mut sys::rte_mbuf>();
        // want <= BURST = 64 fits u16. The slots are all empty (cleared above): null
        // *mut rte_mbuf, the layout of Option<Mbuf> (asserted at Mbuf).
        let (id, want16) = (slot.port.id, want as u16);
        // SAFETY: this handle owns RX queue `queue` of the live port (claimed, slot holds
        // it); raw[..want] are writable empty slots of the burst.
        let n = unsafe { sys::svcard_rte_eth_rx_burst(id, queue, raw, want16) };
        let n = usize::from(n).min(want);
        if n < want {
            // A vector PMD may have written pointers past the ones it returned (not handed
            // over): those slots go back to empty.
            // SAFETY: n < want, so raw + n is inside the burst's slots.
            let rest = unsafe { raw.add(n) };
            // SAFETY: rest[..want - n] are slots of the burst (in bounds); null is None.
            unsafe { ptr::write_bytes(rest, 0, want - n) };
        }
        // raw[..n] now hold the n received mbufs, owned by the burst's slots from here (each
        // freed when its Option<Mbuf> is dropped).
        out.filled(n);
        n
    }

    #[inline]
    fn tx_burst(&mut self, port: PortId, pkts: &mut Burst<Mbuf>) -> usize {
        if slot_words(pkts.filled_mut()).contains(&0) {
            // A packet was taken out of the middle: DPDK must not see the empty slot.
            pkts.compact();
        }
        let items = pkts.filled_mut();
        let n = items.len();
        if n == 0 {
            return 0;
        }
        let raw = items.as_mut_ptr().cast::<*mut sys::rte_mbuf>();
        let sent = match self.slots.get(port.index()) {
            Some(slot) => {
                // n <= BURST = 64 fits u16. Every filled slot holds an mbuf (compacted above),
                // as a *mut rte_mbuf (layout asserted at Mbuf).
                let (id, q, n16) = (slot.port.id, slot.tx, n as u16);
                // SAFETY: this handle holds TX queue `q` exclusively; raw[..n] are live mbufs
                // the burst owns; TX takes ownership of the first `sent`.
                let sent = unsafe { sys::svcard_rte_eth_tx_burst(id, q, raw, n16) };
                usize::from(sent).min(n)
            }
            None => 0,
        };
        // SAFETY: raw[..sent] are slots of the burst whose mbufs DPDK now owns: emptied (null
        // is None) without freeing them.
        unsafe { ptr::write_bytes(raw, 0, sent) };
        // Frees the ones TX did not take, now.
        for s in &mut pkts.filled_mut()[sent..] {
            *s = None;
        }
        pkts.reset();
        sent
    }
}
