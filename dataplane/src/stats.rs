//! Worker counters, declared once with their names: the worker keeps them as plain `u64`s
//! in its own struct and publishes a snapshot to shared atomics between bursts, where the
//! control core and show commands read them. Nothing here costs a locked instruction on the
//! packet path.

use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[doc = $doc:literal])* $var:ident => $label:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        $vis enum $name { $($(#[doc = $doc])* $var,)* }
        impl $name {
            /// Every counter, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// How many counters there are.
            pub const COUNT: usize = $name::ALL.len();
            /// The counter's name as shown by `show services … statistics` style commands.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $label,)* }
            }
        }
    };
}

counters! {
    /// What a worker counts.
    pub enum Counter {
        /// Frames received.
        RxPackets => "rx-packets",
        /// Bytes received.
        RxBytes => "rx-bytes",
        /// Frames transmitted.
        TxPackets => "tx-packets",
        /// Frames the TX queue did not take.
        TxDropped => "tx-queue-full-drops",
        /// Frames that are not IP, passed through untouched.
        NonIpPassed => "non-ip-passed",
        /// Frames dropped as malformed (see the per-reason counters).
        Malformed => "malformed-drops",
        /// Packets dropped by a discard rule or a Drop session.
        PolicyDropped => "policy-drops",
        /// Packets rejected (answered with RST or ICMP unreachable).
        Rejected => "policy-rejects",
        /// TCP RSTs sent for rejected packets.
        RstSent => "tcp-rst-sent",
        /// ICMP unreachables sent for rejected packets.
        IcmpUnreachSent => "icmp-unreachable-sent",
        /// Rejected packets that could not be answered (no room, an ICMP error).
        RejectUnanswered => "reject-unanswered",
        /// Sessions created.
        SessionsCreated => "sessions-created",
        /// Sessions that ended (any reason).
        SessionsClosed => "sessions-closed",
        /// Sessions ended by the idle timeout.
        SessionsIdleExpired => "sessions-idle-expired",
        /// Sessions ended by the absolute lifetime.
        SessionsLifetimeExpired => "sessions-lifetime-expired",
        /// Sessions ended by TCP close.
        SessionsTcpClosed => "sessions-tcp-closed",
        /// Sessions removed by a clear command.
        SessionsCleared => "sessions-cleared",
        /// New sessions refused: card or service-set session limit (Junos flag 0x2).
        SessionLimitDrops => "session-limit-drops",
        /// New flows passed without a session at the limit (bypass policy).
        SessionLimitBypassed => "session-limit-bypassed",
        /// New sessions refused: the table had no free slot (Junos flag 0x3/0x4).
        TableFullDrops => "table-full-drops",
        /// New sessions refused by the setup-rate limit.
        SetupRateDrops => "setup-rate-drops",
        /// Non-first fragments without a session (no ports to match).
        FragmentsNoSession => "fragments-without-session",
        /// Events lost because the event ring was full.
        EventRingFull => "event-ring-full",
        /// Query replies deferred because the reply ring was full.
        ReplyRingFull => "reply-ring-full",
        /// Packets of Watch sessions handed to the control core (ALG).
        HandedOff => "alg-handed-off",
        /// Packets of Watch sessions lost because the hand-off ring was full.
        HandoffRingFull => "alg-handoff-ring-full",
        /// Packets the control core gave back for this worker to transmit.
        ReturnedSent => "alg-returned",
        /// New sessions opened through an ALG pinhole.
        PinholeMatches => "pinhole-matches",
        /// Sessions an ALG closed (a DNS answer seen).
        SessionsAlgClosed => "sessions-alg-closed",
        /// ICMP errors passed because the session they quote exists (counted there).
        IcmpErrorsRelated => "icmp-errors-related",
        /// ICMP errors dropped: no session for the packet they quote.
        IcmpErrorsNoSession => "icmp-errors-without-session",
        /// Worker loop iterations.
        Loops => "loops",
        /// Loop iterations that received nothing.
        IdleLoops => "idle-loops",
    }
}

counters! {
    /// Gauges a worker publishes: the state of its table now.
    pub enum Gauge {
        /// Live sessions.
        Sessions => "sessions",
        /// Valid sessions.
        Valid => "valid",
        /// Pending sessions (TCP handshake incomplete).
        Pending => "pending",
        /// Invalidated sessions (closing).
        Invalidated => "invalidated",
        /// Sessions in other states.
        Other => "other",
        /// Table capacity.
        Capacity => "capacity",
        /// Bytes the session table allocated.
        TableBytes => "table-bytes",
        /// Failed sessions (creation refused, any reason), cumulative.
        Failed => "failed",
        /// Sessions whose action drops (Drop or Reject).
        DropFlow => "drop-flow",
    }
}

/// A worker's published counters, drop reasons and gauges.
#[derive(Debug)]
pub struct SharedStats {
    counters: [AtomicU64; Counter::COUNT],
    drops: [AtomicU64; crate::wire::DropReason::COUNT],
    gauges: [AtomicU64; Gauge::COUNT],
}

impl Default for SharedStats {
    fn default() -> Self {
        Self {
            counters: [const { AtomicU64::new(0) }; Counter::COUNT],
            drops: [const { AtomicU64::new(0) }; crate::wire::DropReason::COUNT],
            gauges: [const { AtomicU64::new(0) }; Gauge::COUNT],
        }
    }
}

/// The worker's own, plain counters.
#[derive(Debug, Clone)]
pub struct LocalStats {
    /// Counters by [`Counter`].
    pub counters: [u64; Counter::COUNT],
    /// Malformed-frame drops by [`crate::wire::DropReason`].
    pub drops: [u64; crate::wire::DropReason::COUNT],
    /// Gauges by [`Gauge`].
    pub gauges: [u64; Gauge::COUNT],
}

impl Default for LocalStats {
    fn default() -> Self {
        Self {
            counters: [0; Counter::COUNT],
            drops: [0; crate::wire::DropReason::COUNT],
            gauges: [0; Gauge::COUNT],
        }
    }
}

impl LocalStats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.counters[c as usize] += n;
    }
    /// Adds one to a counter.
    #[inline]
    pub fn inc(&mut self, c: Counter) {
        self.counters[c as usize] += 1;
    }
    /// A counter's value.
    #[inline]
    #[must_use]
    pub fn get(&self, c: Counter) -> u64 {
        self.counters[c as usize]
    }
    /// Sets a gauge.
    #[inline]
    pub fn set_gauge(&mut self, g: Gauge, v: u64) {
        self.gauges[g as usize] = v;
    }
    /// A gauge's value.
    #[inline]
    #[must_use]
    pub fn gauge(&self, g: Gauge) -> u64 {
        self.gauges[g as usize]
    }
}

impl SharedStats {
    /// Publishes a snapshot (single writer: the owning worker).
    pub fn publish(&self, s: &LocalStats) {
        for (a, v) in self.counters.iter().zip(s.counters.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in self.drops.iter().zip(s.drops.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in self.gauges.iter().zip(s.gauges.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
    }
    /// Reads the last published snapshot.
    #[must_use]
    pub fn snapshot(&self) -> LocalStats {
        let mut s = LocalStats::default();
        for (v, a) in s.counters.iter_mut().zip(self.counters.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        for (v, a) in s.drops.iter_mut().zip(self.drops.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        for (v, a) in s.gauges.iter_mut().zip(self.gauges.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        s
    }
}
