//! The svcard configuration model: ports, service sets, rules, applications, timeouts and
//! limits, parsed from TOML and validated with errors that name file, line and field.
//! No I/O beyond reading text.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod prefix;

pub use prefix::{Prefix, PrefixError};
