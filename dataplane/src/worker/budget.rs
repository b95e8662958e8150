//! The card-wide session budget of each service set (`max-sessions` of a
//! `[[service-set]]`), shared by the workers: one count per service set, taken when a
//! worker creates a session and given back when it ends, so uneven RSS does not refuse
//! sessions below the card's limit (a per-worker share would: a worker that gets more than
//! its share of the flows refuses while the others hold free room). One atomic operation
//! per new or ended session, none per packet.

use core::sync::atomic::{AtomicU32, Ordering};

/// The shared counts and limits.
#[derive(Debug)]
pub struct ServiceSetBudget {
    used: Box<[AtomicU32]>,
    /// Each service set's limit (`u32::MAX`: none); a reload may change them.
    limits: Box<[AtomicU32]>,
}

impl ServiceSetBudget {
    /// A budget with these limits, one per service set (`u32::MAX`: none).
    #[must_use]
    pub fn new(limits: &[u32]) -> ServiceSetBudget {
        ServiceSetBudget {
            used: limits.iter().map(|_| AtomicU32::new(0)).collect(),
            limits: limits.iter().map(|&l| AtomicU32::new(l)).collect(),
        }
    }

    /// Whether service set `ss` has a count here (service sets a reload added after the
    /// budget was made have none: their limits are held per worker).
    #[must_use]
    pub fn covers(&self, ss: u16) -> bool {
        usize::from(ss) < self.used.len()
    }

    /// Changes service set `ss`'s limit (a reload); sessions above a lowered limit stay,
    /// and new ones wait until the count is below it.
    pub fn set_limit(&self, ss: u16, limit: u32) {
        if let Some(l) = self.limits.get(usize::from(ss)) {
            l.store(limit, Ordering::Release);
        }
    }

    /// Takes one session of service set `ss` if it has room (a service set past the end,
    /// such as sessions of ports in none, always has).
    #[must_use]
    pub fn try_take(&self, ss: u16) -> bool {
        let i = usize::from(ss);
        let (Some(used), Some(limit)) = (self.used.get(i), self.limits.get(i)) else {
            return true;
        };
        let limit = limit.load(Ordering::Acquire);
        used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok()
    }

    /// Gives one session of `ss` back.
    pub fn give_back(&self, ss: u16) {
        if let Some(used) = self.used.get(usize::from(ss)) {
            let _ = used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        }
    }

    /// Sessions of `ss` on the card now.
    #[must_use]
    pub fn used(&self, ss: u16) -> u32 {
        self.used
            .get(usize::from(ss))
            .map_or(0, |u| u.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_up_to_the_limit_and_gives_back() {
        let b = ServiceSetBudget::new(&[2, u32::MAX]);
        assert!(b.try_take(0) && b.try_take(0));
        assert!(!b.try_take(0), "at the limit");
        b.give_back(0);
        assert!(b.try_take(0));
        assert_eq!(b.used(0), 2);
        assert!((0..1000).all(|_| b.try_take(1)));
        assert!(b.try_take(7), "no such service set: no limit");
        b.give_back(7);
    }
}
