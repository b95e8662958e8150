//! Traffic recipes (pcap writers for N flows, sample mixes) and the benchmark runner
//! (`svcard bench`, [`bench`]). Captures are made on demand.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod frames;
pub mod hist;
pub mod hugepages;
pub mod recipes;
pub mod svg;

use std::path::Path;
use svcard_dataplane::pcapfile::{Record, Writer};

/// Writes records to a pcap file.
///
/// # Errors
/// I/O errors.
pub fn write_pcap(path: &Path, recs: &[Record]) -> std::io::Result<()> {
    let f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = Writer::new(f)?;
    for r in recs {
        w.write(r.ts_ns, &r.data)?;
    }
    w.finish()?;
    Ok(())
}
