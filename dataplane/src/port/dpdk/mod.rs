#![allow(unsafe_code)]
//! The safe DPDK layer (feature `dpdk`): the EAL, mbuf pools, mbufs, Ethernet ports and the
//! per-worker queue view that implements [`PortIo`].
//!
//! Raw symbols come from the `dpdk-sys` crate; this module is the only place in the dataplane
//! that calls them, and every `unsafe` block says why it is sound.
//!
//! # Lifetimes of DPDK objects
//!
//! DPDK frees everything in `rte_eal_cleanup`, after which every DPDK pointer dangles. The
//! handles here keep what they depend on alive with reference counts taken at set-up time
//! (never per packet):
//!
//! * a [`Mempool`] keeps the EAL alive; an [`EthPort`] keeps its pool alive; a [`DpdkQueues`]
//!   keeps its ports alive. `rte_eal_cleanup` runs when the [`Eal`] and the last handle that
//!   depends on it are gone.
//! * An [`Mbuf`] holds no count (that would cost an atomic per packet). Instead a pool that is
//!   dropped while some of its mbufs are still out is *not* freed, and the EAL is then not
//!   cleaned up either (a warning says so): an outstanding mbuf never points into unmapped
//!   memory.
//!
//! # Threads
//!
//! A queue of a DPDK port must be polled by one thread at a time; [`DpdkQueues`] claims its
//! queues and [`DpdkQueues::worker`] / [`DpdkQueues::control`] refuse a queue another handle
//! holds. A thread that DPDK did not launch has no lcore id and so no mempool cache: pinned
//! worker threads call [`register_thread`] first.

//!
//! The rooms: [`error`], [`eal`], [`mempool`], [`mbuf`], [`ethport`], [`queues`], [`flow`]
//! (the `rte_flow` offload backend), [`telemetry`] (svcard's commands in DPDK's telemetry).

mod eal;
mod error;
mod ethport;
mod flow;
mod mbuf;
mod mempool;
mod queues;
pub mod telemetry;

pub use eal::{eal_running, lcore_id, register_thread, unregister_thread, DpdkLink, Eal};
pub use error::DpdkError;
pub use ethport::{EthPort, Link, PortConfig, RSS_HF};
pub use flow::{probe as probe_flow, PortFlowSupport, RteFlowBackend};
pub use mbuf::Mbuf;
pub use mempool::{alloc, Mempool};
pub use queues::{worker_rx_queues, DpdkQueues};
