//! Per-host session limits (`max-sessions-per-host` on a pool): a worker counts each private
//! host's translated sessions in a fixed table (open addressing by host address, backward
//! shift deletion: no tombstones, no allocation after start) and refuses a host's new
//! session at the limit. Each worker keeps its own count (a host's sessions reach every
//! worker; see docs/configuration.md for how the limit is shared).

/// An empty cell (0.0.0.0 is never a session's source).
const EMPTY: u32 = 0;

/// The counts of one pool's hosts on one worker.
#[derive(Debug)]
pub struct HostCounts {
    keys: Vec<u32>,
    counts: Vec<u32>,
    mask: usize,
    len: usize,
    /// Hosts the table holds at most.
    cap: usize,
    /// Sessions a host may have here.
    limit: u32,
    /// New sessions refused at the limit.
    pub refused: u64,
}

fn home(host: u32, mask: usize) -> usize {
    (u64::from(host).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl HostCounts {
    /// Room for `capacity` hosts, `limit` sessions each.
    #[must_use]
    pub fn new(capacity: u32, limit: u32) -> Self {
        let cap = capacity.max(1) as usize;
        let cells = (cap * 2).next_power_of_two();
        HostCounts {
            keys: vec![EMPTY; cells],
            counts: vec![0; cells],
            mask: cells - 1,
            len: 0,
            cap,
            limit,
            refused: 0,
        }
    }

    fn find(&self, host: u32) -> Result<usize, usize> {
        let mut i = home(host, self.mask);
        loop {
            match self.keys[i] {
                k if k == host => return Ok(i),
                EMPTY => return Err(i),
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    /// One more session of `host`; false (counted) when it has the limit already.
    pub fn take(&mut self, host: u32) -> bool {
        match self.find(host) {
            Ok(i) if self.counts[i] >= self.limit => {
                self.refused += 1;
                false
            }
            Ok(i) => {
                self.counts[i] += 1;
                true
            }
            Err(_) if self.len >= self.cap || host == EMPTY => {
                self.refused += 1;
                false
            }
            Err(i) => {
                self.keys[i] = host;
                self.counts[i] = 1;
                self.len += 1;
                true
            }
        }
    }

    /// One session of `host` fewer; the host leaves the table with its last.
    pub fn give(&mut self, host: u32) {
        let Ok(mut i) = self.find(host) else {
            return;
        };
        self.counts[i] -= 1;
        if self.counts[i] > 0 {
            return;
        }
        self.keys[i] = EMPTY;
        self.len -= 1;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let k = self.keys[j];
            if k == EMPTY {
                return;
            }
            let h = home(k, self.mask);
            if (i.wrapping_sub(h) & self.mask) <= (j.wrapping_sub(h) & self.mask) {
                self.keys[i] = k;
                self.counts[i] = self.counts[j];
                self.keys[j] = EMPTY;
                i = j;
            }
        }
    }

    /// Sessions `host` has here.
    #[must_use]
    pub fn of(&self, host: u32) -> u32 {
        self.find(host).map_or(0, |i| self.counts[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against a map: a host never holds more than the limit, counts follow takes and
        /// gives, and hosts leave with their last session.
        #[test]
        fn counts_match_a_model(ops in proptest::collection::vec((1u32..40, any::<bool>()), 1..600)) {
            let mut t = HostCounts::new(64, 3);
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (host, take) in ops {
                if take {
                    let n = model.entry(host).or_default();
                    let ok = t.take(host);
                    prop_assert_eq!(ok, *n < 3);
                    if ok {
                        *n += 1;
                    }
                } else if model.get(&host).is_some_and(|&n| n > 0) {
                    t.give(host);
                    *model.get_mut(&host).unwrap() -= 1;
                }
                model.retain(|_, n| *n > 0);
                for (&h, &n) in &model {
                    prop_assert_eq!(t.of(h), n);
                }
                prop_assert_eq!(t.len, model.len());
            }
        }
    }
}
