//! The svcard control core and the engine that starts everything ([`engine`]): event
//! intake, the resource manager's books, the ALG gateway ([`gateway`]), the offload manager
//! ([`offload`]), configuration reload while running ([`reload`]), the commands ([`commands`]: one file each), their views ([`show`]: model,
//! layouts, renderers, pipes), and the show server.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Narrowing casts only where the value is known to fit, said at the cast (try_from else).
#![warn(clippy::cast_possible_truncation)]

pub mod central;
pub mod commands;
pub mod engine;
pub mod gateway;
pub mod ipfix;
pub mod logs;
pub mod metrics;
pub mod offload;
pub mod reload;
pub mod server;
pub mod show;
