//! svcard: the service-card dataplane.
#![forbid(unsafe_code)]
fn main() {}
