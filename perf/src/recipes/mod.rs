//! Traffic recipes: captures made on demand (never committed beyond the small sample).
//!
//! The rooms: [`udp`] (the plain benchmark's flows), [`sample`] (the example's mix),
//! [`shape`] (families, protocols, frame sizes, endpoints: what the others share), [`flows`]
//! (established flows), [`mix`] (TCP and UDP, IPv4 and IPv6, a VLAN share: traffic as a mix),
//! [`churn`] (connection setup), [`ftp`] (the ALG mix), [`capture`]
//! (writing a recipe to a file).

pub mod capture;
pub mod churn;
pub mod flows;
pub mod ftp;
pub mod mix;
pub mod sample;
pub mod shape;
pub mod udp;

#[cfg(test)]
mod tests;

pub use capture::*;
pub use churn::*;
pub use flows::*;
pub use ftp::*;
pub use mix::*;
pub use sample::*;
pub use shape::*;
pub use udp::*;
