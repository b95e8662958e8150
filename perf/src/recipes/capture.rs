//! Writing a recipe to a capture file, with the figures the benchmark needs.

use std::io::Write as _;
use std::path::Path;
use svcard_dataplane::pcapfile::Writer;

/// What was written by [`write_capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureStats {
    /// Frames written (both files).
    pub frames: u64,
    /// Frames from the client side.
    pub client_frames: u64,
    /// Capture bytes of all frames (without pcap headers).
    pub bytes: u64,
    /// The longest frame.
    pub max_len: usize,
    /// Frames with an 802.1Q or 802.1ad tag.
    pub tagged: u64,
}

impl CaptureStats {
    /// Mean capture bytes per frame.
    #[must_use]
    pub fn mean_len(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.bytes as f64 / self.frames as f64
        }
    }
}

/// Whether `frame` carries a VLAN tag (EtherType 0x8100 or 0x88a8 after the addresses).
#[must_use]
pub fn is_tagged(frame: &[u8]) -> bool {
    matches!(frame.get(12..14), Some([0x81, 0x00] | [0x88, 0xa8]))
}

/// Writes `frames` as they come (nothing holds the whole capture) to `out`, one microsecond
/// apart; with `server_out`, the server side's frames go there instead (one capture per
/// port, timestamps shared so a paced replay keeps the order).
///
/// # Errors
/// I/O errors.
pub fn write_capture(
    out: &Path,
    server_out: Option<&Path>,
    frames: impl Iterator<Item = (bool, Vec<u8>)>,
) -> std::io::Result<CaptureStats> {
    let open = |p: &Path| -> std::io::Result<Writer<std::io::BufWriter<std::fs::File>>> {
        Writer::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p)?,
        ))
    };
    let mut c = open(out)?;
    let mut s = server_out.map(open).transpose()?;
    let mut st = CaptureStats::default();
    for (j, (from_client, f)) in frames.enumerate() {
        let ts = 1_700_000_000_000_000_000 + j as u64 * 1000;
        match (&mut s, from_client) {
            (Some(w), false) => w.write(ts, &f)?,
            _ => c.write(ts, &f)?,
        }
        st.frames += 1;
        st.client_frames += u64::from(from_client);
        st.bytes += f.len() as u64;
        st.max_len = st.max_len.max(f.len());
        st.tagged += u64::from(is_tagged(&f));
    }
    c.finish()?.flush()?;
    if let Some(w) = s {
        w.finish()?.flush()?;
    }
    Ok(st)
}
