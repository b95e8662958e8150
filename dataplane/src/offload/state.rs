//! A session's offload state and the events that move it. The worker keeps the state in
//! the session's cold record; [`OffloadState::next`] is the one place transitions are
//! decided, so that the worker, the manager's answers and the tests agree.

/// Where a session stands with offload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum OffloadState {
    /// Not offloaded (its policy may not have fired yet).
    #[default]
    None = 0,
    /// A rule was asked for; packets stay in software until it is active.
    Requested = 1,
    /// The rule matches the session's packets.
    Offloaded = 2,
    /// The request failed ([`FailReason`]); the session stays in software.
    Failed = 3,
    /// The rule was removed while the session lives (a FIN or RST): software from then on.
    Withdrawn = 4,
}

/// Why an offload request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum FailReason {
    /// No failure.
    #[default]
    None = 0,
    /// The worker's request ring was full.
    RingFull = 1,
    /// The card's cap on offloaded sessions was reached.
    Cap = 2,
    /// The insertion budget (rules per second) was spent.
    Budget = 3,
    /// The backend's table was full.
    TableFull = 4,
    /// The backend's insertion rate was exceeded.
    RateExceeded = 5,
    /// The backend refused the rule.
    Refused = 6,
    /// The device cannot offload this kind of rule.
    Unsupported = 7,
}

impl FailReason {
    /// Every reason but `None`, in order.
    pub const ALL: [FailReason; 7] = [
        FailReason::RingFull,
        FailReason::Cap,
        FailReason::Budget,
        FailReason::TableFull,
        FailReason::RateExceeded,
        FailReason::Refused,
        FailReason::Unsupported,
    ];

    /// The reason's name, as the show commands and counters print it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FailReason::None => "none",
            FailReason::RingFull => "request-ring-full",
            FailReason::Cap => "max-sessions",
            FailReason::Budget => "insert-budget",
            FailReason::TableFull => "table-full",
            FailReason::RateExceeded => "insert-rate",
            FailReason::Refused => "refused",
            FailReason::Unsupported => "unsupported",
        }
    }

    /// From the stored byte (unknown values read as `Refused`).
    #[must_use]
    pub fn from_u8(v: u8) -> FailReason {
        match v {
            0 => FailReason::None,
            1..=7 => FailReason::ALL[usize::from(v - 1)],
            _ => FailReason::Refused,
        }
    }
}

/// What happens to a session, as far as offload is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffloadEvent {
    /// Its policy fired and the request went out.
    Request,
    /// The manager says the rule is active.
    Active,
    /// The request failed.
    Fail,
    /// A FIN or RST was seen.
    TcpClose,
}

impl OffloadState {
    /// The state's name, as `extensive` prints it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            OffloadState::None => "none",
            OffloadState::Requested => "requested",
            OffloadState::Offloaded => "offloaded",
            OffloadState::Failed => "failed",
            OffloadState::Withdrawn => "withdrawn",
        }
    }

    /// From the stored byte (unknown values read as `Failed`: never the hardware path).
    #[must_use]
    pub fn from_u8(v: u8) -> OffloadState {
        match v {
            0 => OffloadState::None,
            1 => OffloadState::Requested,
            2 => OffloadState::Offloaded,
            4 => OffloadState::Withdrawn,
            _ => OffloadState::Failed,
        }
    }

    /// The state after `ev`, or `None` when `ev` does not apply (an answer for a session
    /// that no longer waits for one, a second request): the caller then leaves the state
    /// as it is. `Failed` and `Withdrawn` are final: a session is offloaded at most once.
    #[must_use]
    pub fn next(self, ev: OffloadEvent) -> Option<OffloadState> {
        use OffloadEvent as E;
        use OffloadState as S;
        match (self, ev) {
            (S::None, E::Request) => Some(S::Requested),
            (S::Requested, E::Active) => Some(S::Offloaded),
            (S::None | S::Requested, E::Fail) => Some(S::Failed),
            (S::Requested | S::Offloaded, E::TcpClose) => Some(S::Withdrawn),
            _ => None,
        }
    }

    /// Whether a rule exists or may come for the session (the manager must hear of its
    /// end).
    #[must_use]
    pub fn holds_rule(self) -> bool {
        matches!(self, OffloadState::Requested | OffloadState::Offloaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = OffloadEvent> {
        prop_oneof![
            Just(OffloadEvent::Request),
            Just(OffloadEvent::Active),
            Just(OffloadEvent::Fail),
            Just(OffloadEvent::TcpClose),
        ]
    }

    #[test]
    fn the_happy_path_and_its_ends() {
        let s = OffloadState::None;
        let s = s.next(OffloadEvent::Request).unwrap();
        assert_eq!(s, OffloadState::Requested);
        let s = s.next(OffloadEvent::Active).unwrap();
        assert_eq!(s, OffloadState::Offloaded);
        assert_eq!(s.next(OffloadEvent::Request), None);
        assert_eq!(
            s.next(OffloadEvent::TcpClose),
            Some(OffloadState::Withdrawn)
        );
        assert_eq!(
            OffloadState::Requested.next(OffloadEvent::Fail),
            Some(OffloadState::Failed)
        );
        // An answer for a session that is not waiting changes nothing.
        assert_eq!(OffloadState::None.next(OffloadEvent::Active), None);
        assert_eq!(OffloadState::Withdrawn.next(OffloadEvent::Active), None);
    }

    #[test]
    fn stored_bytes_round_trip() {
        for s in [
            OffloadState::None,
            OffloadState::Requested,
            OffloadState::Offloaded,
            OffloadState::Failed,
            OffloadState::Withdrawn,
        ] {
            assert_eq!(OffloadState::from_u8(s as u8), s);
        }
        assert_eq!(OffloadState::from_u8(200), OffloadState::Failed);
        for r in FailReason::ALL {
            assert_eq!(FailReason::from_u8(r as u8), r);
        }
        assert_eq!(FailReason::from_u8(0), FailReason::None);
    }

    proptest! {
        /// Over any sequence of events: a session is requested at most once, is offloaded
        /// only after a request, and never leaves Failed or Withdrawn.
        #[test]
        fn transitions_hold_their_invariants(evs in proptest::collection::vec(event(), 0..40)) {
            let mut s = OffloadState::None;
            let mut requests = 0;
            let mut was_requested = false;
            for ev in evs {
                let before = s;
                if let Some(n) = s.next(ev) {
                    s = n;
                }
                if before != s && ev == OffloadEvent::Request {
                    requests += 1;
                }
                was_requested |= s == OffloadState::Requested;
                if s == OffloadState::Offloaded {
                    prop_assert!(was_requested);
                }
                if matches!(before, OffloadState::Failed | OffloadState::Withdrawn) {
                    prop_assert_eq!(s, before);
                }
            }
            prop_assert!(requests <= 1);
        }
    }
}
