//! The svcard dataplane: packet views ([`wire`]), flow keys ([`flow`]), the per-core
//! session shard ([`session`]), the worker poll loop ([`worker`]), the port backends
//! ([`port`]) and the rings to and from the control core ([`ring`]).
//!
//! `unsafe` is allowed only in `port::dpdk` (feature `dpdk`); everything else is safe code
//! and builds and tests without libdpdk.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod flow;
pub mod handoff;
pub mod pcapfile;
pub mod port;
pub mod query;
pub mod ring;
pub mod session;
pub mod stats;
pub mod wire;
pub mod worker;
