//! Traffic recipes and the benchmark runner.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
