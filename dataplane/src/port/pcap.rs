//! The pure-Rust backend: pcap/pcapng files in, pcap files out, running the same worker
//! code as DPDK. This is what svcard uses on a machine without libdpdk.
//!
//! * RX: each port's capture is read into memory at start and split over the workers by
//!   the symmetric RSS hash, as a NIC's RSS would, so both directions of a flow meet on one
//!   worker. Replay runs as fast as the workers go, or at the capture's pace.
//! * TX: each worker has, per port, a bounded ring to the sink thread, which writes the
//!   port's output capture. Buffers come from a fixed per-worker pool; RX pauses while the
//!   pool is empty (the sink is behind), so a replay loses nothing and nothing allocates on
//!   the packet path.

use super::{Burst, PacketBuf, PortId, PortIo};
use crate::flow::{rss_queue, Family, FlowKey};
use crate::pcapfile::{self, PcapError, Record};
use crate::wire::{self, Outcome};
use crossbeam_queue::ArrayQueue;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Buffers in each worker's pool (frames in flight per worker).
pub const POOL_BUFFERS: usize = 4096;

type Pool = Arc<ArrayQueue<Box<[u8]>>>;

/// A frame in a pool buffer; returns the buffer to its pool when dropped.
#[derive(Debug)]
pub struct PcapFrame {
    buf: Option<Box<[u8]>>,
    len: usize,
    pool: Pool,
}

impl Drop for PcapFrame {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            // The pool has room for every buffer it ever gave out.
            let _ = self.pool.push(b);
        }
    }
}

impl PacketBuf for PcapFrame {
    fn data(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b[..self.len],
            None => &[],
        }
    }
    fn data_mut(&mut self) -> &mut [u8] {
        match &mut self.buf {
            Some(b) => &mut b[..self.len],
            None => &mut [],
        }
    }
    fn set_len(&mut self, len: usize) -> bool {
        if len > self.capacity() {
            return false;
        }
        self.len = len;
        true
    }
    fn capacity(&self) -> usize {
        self.buf.as_ref().map_or(0, |b| b.len())
    }
}

/// Where one port reads and writes.
#[derive(Debug, Clone, Default)]
pub struct PcapPortSpec {
    /// Capture to replay into this port.
    pub rx: Option<PathBuf>,
    /// Capture to write what leaves this port.
    pub tx: Option<PathBuf>,
}

/// Replay options.
#[derive(Debug, Clone, Copy, Default)]
pub struct PcapOptions {
    /// Deliver frames at the capture's own pace (inter-frame gaps kept).
    pub pace: bool,
    /// Replay each capture this many times (0 and 1 both mean once).
    pub repeat: u32,
}

/// Why the backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum PcapBackendError {
    /// A capture could not be read.
    #[error("{path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: PcapError,
    },
    /// An output file could not be created.
    #[error("{path}: {cause}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

struct Feed {
    frames: Vec<(u64, Box<[u8]>)>,
    cursor: usize,
    rounds_left: u32,
    /// Rounds already replayed (repeats continue the capture's timeline).
    round: u64,
    /// The capture's span, first to last frame, plus one gap.
    span: u64,
}

impl Feed {
    fn ts_at(&self, i: usize) -> u64 {
        self.frames[i].0 + self.round * self.span
    }
    fn next_ts(&self) -> Option<u64> {
        if self.cursor < self.frames.len() {
            Some(self.ts_at(self.cursor))
        } else if self.rounds_left > 1 && !self.frames.is_empty() {
            Some(self.frames[0].0 + (self.round + 1) * self.span)
        } else {
            None
        }
    }
}

/// One worker's (or the control core's) queues on every pcap port.
pub struct PcapQueues {
    feeds: Vec<Feed>,
    tx: Vec<Arc<ArrayQueue<PcapFrame>>>,
    pool: Pool,
    pace: bool,
    /// When the replay began: the first time any worker asked for a frame (shared, so the
    /// workers keep the capture's timeline together; not at open, so start-up time does
    /// not make every early frame overdue).
    start: Arc<std::sync::OnceLock<Instant>>,
    first_ts: u64,
    sent: Arc<AtomicU64>,
}

impl core::fmt::Debug for PcapQueues {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcapQueues")
            .field("ports", &self.tx.len())
            .finish_non_exhaustive()
    }
}

impl PortIo for PcapQueues {
    type Pkt = PcapFrame;

    fn port_count(&self) -> usize {
        self.tx.len()
    }

    fn rx_burst(&mut self, port: PortId, out: &mut Burst<PcapFrame>) -> usize {
        let p = port.index();
        if p >= self.feeds.len() {
            return 0;
        }
        // Capture order across ports: a frame is delivered only when no other port has an
        // earlier frame still waiting, so a SYN-ACK arriving on the server side never
        // overtakes the SYN on the client side.
        let others_next = self
            .feeds
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != p)
            .filter_map(|(_, f)| f.next_ts())
            .min()
            .unwrap_or(u64::MAX);
        let elapsed = if self.pace {
            self.start.get_or_init(Instant::now).elapsed().as_nanos() as u64
        } else {
            0
        };
        let feed = &mut self.feeds[p];
        let mut n = 0;
        while !out.is_full() {
            if feed.cursor >= feed.frames.len() {
                if feed.rounds_left > 1 && !feed.frames.is_empty() {
                    feed.rounds_left -= 1;
                    feed.round += 1;
                    feed.cursor = 0;
                } else {
                    break;
                }
            }
            let ts = feed.ts_at(feed.cursor);
            if ts > others_next {
                break;
            }
            if self.pace && ts.saturating_sub(self.first_ts) > elapsed {
                break;
            }
            let Some(mut buf) = self.pool.pop() else {
                break;
            };
            let frame = &feed.frames[feed.cursor].1;
            let len = frame.len().min(buf.len());
            buf[..len].copy_from_slice(&frame[..len]);
            feed.cursor += 1;
            let pkt = PcapFrame {
                buf: Some(buf),
                len,
                pool: Arc::clone(&self.pool),
            };
            if out.push(pkt).is_err() {
                break;
            }
            n += 1;
        }
        n
    }

    fn tx_burst(&mut self, port: PortId, pkts: &mut Burst<PcapFrame>) -> usize {
        let Some(ring) = self.tx.get(port.index()) else {
            // No such port: nothing is sent (the caller counts the burst as dropped).
            pkts.drain().for_each(drop);
            return 0;
        };
        let mut sent = 0;
        for p in pkts.drain() {
            if ring.push(p).is_ok() {
                sent += 1;
            }
        }
        self.sent.fetch_add(sent as u64, Ordering::Relaxed);
        sent
    }

    fn rx_finished(&self) -> bool {
        self.feeds
            .iter()
            .all(|f| f.cursor >= f.frames.len() && f.rounds_left <= 1)
    }
}

/// The thread that writes each port's output capture.
#[derive(Debug)]
pub struct PcapSink {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Result<Vec<u64>, std::io::Error>>>,
}

impl PcapSink {
    /// Stops after draining every ring, flushes the files, and returns frames written per
    /// port.
    ///
    /// # Errors
    /// The first write error the sink met.
    pub fn finish(mut self) -> std::io::Result<Vec<u64>> {
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("sink panicked"))),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for PcapSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The backend: queues for `workers` workers plus one set for the control core (the last),
/// and the sink.
#[derive(Debug)]
pub struct PcapBackend {
    /// Queues per worker; index `workers` is the control core's.
    pub queues: Vec<PcapQueues>,
    /// The output writer.
    pub sink: PcapSink,
}

/// The RX queue a frame goes to among `workers`, by the symmetric RSS hash (non-IP and
/// malformed frames go to queue 0, as a NIC's default queue).
#[must_use]
pub fn rss_worker(frame: &[u8], workers: u16) -> u16 {
    if workers <= 1 {
        return 0;
    }
    match wire::parse(frame) {
        Outcome::Ip(p) => {
            let fam = if p.family == 6 {
                Family::V6
            } else {
                Family::V4
            };
            let (k, d) = FlowKey::from_packet(fam, p.proto, p.src, p.sport, p.dst, p.dport);
            rss_queue(&k, d, workers)
        }
        _ => 0,
    }
}

impl PcapBackend {
    /// [`open`](Self::open) on the ports of `config` (their `pcap-rx` / `pcap-tx`) for its
    /// worker count.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn for_config(
        config: &svcard_config::Config,
        opts: PcapOptions,
    ) -> Result<PcapBackend, PcapBackendError> {
        let specs: Vec<PcapPortSpec> = config
            .ports
            .iter()
            .map(|p| PcapPortSpec {
                rx: p.pcap_rx.clone(),
                tx: p.pcap_tx.clone(),
            })
            .collect();
        Self::open(&specs, config.workers.count, opts)
    }

    /// The workers' queues (one set each), the control core's (it transmits ALG packets)
    /// and the output writer.
    #[must_use]
    pub fn into_parts(self) -> (Vec<PcapQueues>, Option<PcapQueues>, PcapSink) {
        let PcapBackend { mut queues, sink } = self;
        // The last set of queues is the control core's.
        let control = queues.pop();
        (queues, control, sink)
    }

    /// Reads the captures, splits them over `workers` by RSS, creates the outputs and starts
    /// the sink thread.
    ///
    /// # Errors
    /// A capture that cannot be read or an output that cannot be created.
    pub fn open(
        ports: &[PcapPortSpec],
        workers: u16,
        opts: PcapOptions,
    ) -> Result<PcapBackend, PcapBackendError> {
        let workers = workers.max(1);
        let nq = usize::from(workers) + 1;
        let mut per_worker: Vec<Vec<Feed>> = (0..nq).map(|_| Vec::new()).collect();
        let mut max_len = 2048usize;
        let mut first_ts = u64::MAX;
        for spec in ports {
            let recs: Vec<Record> = match &spec.rx {
                Some(p) => pcapfile::read_file(p).map_err(|cause| PcapBackendError::Read {
                    path: p.clone(),
                    cause,
                })?,
                None => Vec::new(),
            };
            let mut split: Vec<Vec<(u64, Box<[u8]>)>> = (0..nq).map(|_| Vec::new()).collect();
            for r in recs {
                max_len = max_len.max(r.data.len() + 128);
                first_ts = first_ts.min(r.ts_ns);
                let q = usize::from(rss_worker(&r.data, workers));
                split[q].push((r.ts_ns, r.data.into_boxed_slice()));
            }
            for (w, frames) in split.into_iter().enumerate() {
                per_worker[w].push(Feed {
                    frames,
                    cursor: 0,
                    rounds_left: opts.repeat.max(1),
                    round: 0,
                    span: 0,
                });
            }
        }
        // Repeats continue the timeline: the capture-wide span (first to last frame, plus one
        // mean gap) is added per round, so the cross-port order holds in every round.
        let (lo, hi, count) = per_worker
            .iter()
            .flatten()
            .flat_map(|f| f.frames.iter())
            .fold((u64::MAX, 0u64, 0u64), |(lo, hi, n), (ts, _)| {
                (lo.min(*ts), hi.max(*ts), n + 1)
            });
        let span = if count == 0 {
            0
        } else {
            hi - lo + (hi - lo) / count.max(1) + 1
        };
        for f in per_worker.iter_mut().flatten() {
            f.span = span;
        }
        let mut writers = Vec::new();
        for spec in ports {
            let w = match &spec.tx {
                Some(p) => {
                    let f = File::create(p).map_err(|cause| PcapBackendError::Write {
                        path: p.clone(),
                        cause,
                    })?;
                    Some(
                        pcapfile::Writer::new(BufWriter::with_capacity(1 << 20, f)).map_err(
                            |cause| PcapBackendError::Write {
                                path: p.clone(),
                                cause,
                            },
                        )?,
                    )
                }
                None => None,
            };
            writers.push(w);
        }
        let start = Arc::new(std::sync::OnceLock::new());
        let mut queues = Vec::new();
        let mut rings: Vec<Vec<Arc<ArrayQueue<PcapFrame>>>> = Vec::new();
        let sent = Arc::new(AtomicU64::new(0));
        for feeds in per_worker {
            let pool: Pool = Arc::new(ArrayQueue::new(POOL_BUFFERS));
            for _ in 0..POOL_BUFFERS {
                let _ = pool.push(vec![0u8; max_len].into_boxed_slice());
            }
            let tx: Vec<_> = ports
                .iter()
                .map(|_| Arc::new(ArrayQueue::new(POOL_BUFFERS)))
                .collect();
            rings.push(tx.clone());
            queues.push(PcapQueues {
                feeds,
                tx,
                pool,
                pace: opts.pace,
                start: Arc::clone(&start),
                first_ts: if first_ts == u64::MAX { 0 } else { first_ts },
                sent: Arc::clone(&sent),
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("pcap-sink".into())
            .spawn(move || sink_loop(rings, writers, &stop2))
            .map_err(|cause| PcapBackendError::Write {
                path: PathBuf::from("<sink thread>"),
                cause,
            })?;
        Ok(PcapBackend {
            queues,
            sink: PcapSink {
                stop,
                handle: Some(handle),
            },
        })
    }
}

fn sink_loop(
    rings: Vec<Vec<Arc<ArrayQueue<PcapFrame>>>>,
    mut writers: Vec<Option<pcapfile::Writer<BufWriter<File>>>>,
    stop: &AtomicBool,
) -> std::io::Result<Vec<u64>> {
    let mut written = vec![0u64; writers.len()];
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let mut moved = 0usize;
        for worker in &rings {
            for (port, ring) in worker.iter().enumerate() {
                while let Some(frame) = ring.pop() {
                    if let Some(w) = writers[port].as_mut() {
                        let ts = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos() as u64);
                        w.write(ts, frame.data())?;
                    }
                    written[port] += 1;
                    moved += 1;
                }
            }
        }
        if moved == 0 {
            if stopping {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    for w in writers.into_iter().flatten() {
        w.finish()?;
    }
    Ok(written)
}
