//! The svcard control core and the engine that starts everything ([`engine`]): event intake, the resource manager's books, the show model,
//! the command grammar, renderers, and the show server with its client.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod central;
pub mod engine;
pub mod exec;
pub mod gateway;
pub mod server;
pub mod show;
