//! The views of the commands ([`crate::commands`]): the typed show model, the Junos text
//! layouts, the XML and JSON renderers and the output pipes.
//!
//! * [`model`]: one typed tree per reply, streamed per worker section and per session
//!   ([`FlowSession`] is built from a [`SessionView`](svcard_dataplane::session::SessionView),
//!   the configuration's [`Names`] and the control core's [`SessionExtra`]); each typed
//!   value also builds the generic [`Elem`] tree XML and JSON renderers print.
//! * [`text`]: the Junos text layouts ([`FlowSessionText`]).
//! * [`pipe`]: `| count`, `| match`, … ([`Pipes`]).
//! * [`names`]: the names of indices ([`Names`], [`StaticNames`]).
//! * [`services`]: the layouts of `show services sessions` / `clear services sessions` (MS-MPC, AMS).
//! * [`alg`]: the layouts of `show services alg conversations`; [`alg_stats`], [`counters`]:
//!   of `show services alg statistics` and `show svcard statistics`.
//! * [`gate`], [`resmgr`]: the pinholes (`show security flow gate`) and the resource
//!   manager's books (`show security resource-manager …`); [`service_sets`]: `show services
//!   service-sets statistics packet-drops`.
//! * [`tree`]: the streaming XML and JSON renderers (`| display xml`, `| display json`).

pub mod alg;
pub mod alg_stats;
pub mod counters;
pub mod gate;
pub mod model;
pub mod names;
pub mod nat;
pub mod offload;
pub mod pipe;
pub mod resmgr;
pub mod service_sets;
pub mod services;
pub mod sfw;
pub mod text;
pub mod tree;

pub use model::{
    Elem, FlowDirection, FlowInfo, FlowSession, Level, NamedIndex, ResourceInfo, Section,
    SessState, SessionCounts, SessionExtra, SessionsSummary,
};
pub use names::{protocol_name, Names, StaticNames};
pub use pipe::{DisplayFormat, Pipe, Pipes};
pub use text::{FlowSessionText, IoFmt};
