//! What the session engine checks of TCP segments (`[tcp-session]` for the card,
//! `[service-set.tcp-session]` per service set), after Junos `security flow tcp-session`.

/// What happens to a segment outside its session's sequence window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OutOfWindow {
    /// Counted and dropped (Junos: "it drops the packet").
    #[default]
    Drop,
    /// Counted and forwarded; it changes nothing in the session (a FIN or RST outside the
    /// window still does not close it).
    Pass,
}

/// The TCP checks of a service set's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpSession {
    /// A session may start with a segment that is not a SYN (mid-stream pickup; Junos
    /// `no-syn-check`). svcard's default: on (captures and restarts pick up live
    /// connections); set `no-syn-check = false` for the SRX default, where such a segment
    /// is dropped and counted.
    pub no_syn_check: bool,
    /// Segments with data before the three-way handshake completes are dropped and counted
    /// (Junos `strict-syn-check`; excludes `no-syn-check`).
    pub strict_syn_check: bool,
    /// Sequence and acknowledgement numbers are not checked (Junos `no-sequence-check`).
    /// Default: checked, each direction against the window the other side advertised.
    pub no_sequence_check: bool,
    /// An RST closes the session only when its sequence number is the one expected next,
    /// not merely inside the window (Junos `rst-sequence-check`); others are dropped and
    /// counted.
    pub rst_sequence_check: bool,
    /// What an out-of-window segment gets (`out-of-window = "drop" | "pass"`).
    pub out_of_window: OutOfWindow,
}

impl Default for TcpSession {
    fn default() -> Self {
        TcpSession {
            no_syn_check: true,
            strict_syn_check: false,
            no_sequence_check: false,
            rst_sequence_check: false,
            out_of_window: OutOfWindow::Drop,
        }
    }
}

impl TcpSession {
    /// Sequence windows are tracked for this service set's sessions.
    #[must_use]
    pub fn tracks_windows(&self) -> bool {
        !self.no_sequence_check
    }
}
