//! Traffic recipes: captures made on demand (never committed beyond the small sample).
//!
//! The rooms: [`udp`] (the plain benchmark's flows), [`sample`] (the example's mix),
//! [`shape`] (families, protocols, frame sizes, endpoints: what the others share), [`flows`]
//! (established flows), [`churn`] (connection setup), [`ftp`] (the ALG mix), [`capture`]
//! (writing a recipe to a file).

pub mod capture;
pub mod churn;
pub mod flows;
pub mod ftp;
pub mod sample;
pub mod shape;
pub mod udp;

#[cfg(test)]
mod tests;

pub use capture::*;
pub use churn::*;
pub use flows::*;
pub use ftp::*;
pub use sample::*;
pub use shape::*;
pub use udp::*;
