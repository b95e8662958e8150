//! The worker poll loop: one pinned core, run to completion, never blocks, never allocates
//! after start, never logs.
//!
//! Per burst, in the poll that receives it: parse, look the whole burst up with prefetch,
//! update or create sessions, act (Forward, Drop, Reject, Watch, Bypass), transmit, free
//! what was not sent. Between bursts: apply what the ALGs sent (before the receive, so a
//! pinhole holds for the next packets), advance the timer wheel (idle timeouts), work on
//! the current query in a bounded slice, publish counters.

//!
//! The rooms: [`state`] (the worker, its setup, the poll loop), [`stages`] (the per-packet
//! path), [`admit`] (what the fast path hands aside: new flows, rejects, ICMP errors),
//! [`alg`] (the ALG hand-off), [`offload`] (policy checks, requests, the manager's answers,
//! the NIC model's hardware path), [`between`] (timeouts, commands, queries), [`budget`]
//! (the service sets' card-wide session budget), [`frag`] (virtual reassembly: the
//! datagrams whose later fragments follow their first one's session), [`nat`] (source NAT:
//! translation of new sessions, the in-place rewrite, ports given back), [`tcp`] (the
//! service sets' TCP checks: SYN checks, sequence windows), [`reconfig`] (what a worker
//! derives from its configuration, and a reload taken between bursts), [`types`] (the small
//! types and helpers they share).

mod admit;
mod alg;
mod between;
mod budget;
mod frag;
mod nat;
mod offload;
mod reconfig;
mod stages;
mod state;
mod tcp;
mod types;

pub use budget::ServiceSetBudget;
pub use nat::NatShare;
pub use reconfig::Reconfig;
pub use state::{Worker, WorkerSetup};
pub use types::validity;
