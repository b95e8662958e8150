//! The svcard dataplane: packet views ([`wire`]), flow keys ([`flow`]), the per-core
//! session shard ([`session`]), the worker poll loop ([`worker`]), the port backends
//! ([`port`]) and the rings to and from the control core ([`ring`]).
//!
//! `unsafe` is allowed only in `port::dpdk` (feature `dpdk`) and in [`mem`] (huge-page
//! table arrays, prefetch, the SIMD tag compare: chosen by target, not by feature, so both
//! builds run the same session table); everything else is safe code and builds and tests
//! without libdpdk.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod flow;
pub mod handoff;
pub mod mem;
pub mod nat;
pub mod offload;
pub mod pcapfile;
pub mod port;
pub mod query;
pub mod ring;
pub mod session;
pub mod stats;
pub mod wire;
pub mod worker;
