//! UDP retries paced to what rate-limited targets can answer. A closed UDP port shows only
//! as the host's ICMP port unreachable, and hosts ration those (Linux: 1000 a second in all,
//! 6 then 1 a second to any one scanner), so at a high rate most closed ports look silent.
//! Retrying them at that rate again loses them again. A silent probe to a host that *has*
//! sent us port unreachables is therefore retried no faster than port unreachables have
//! been arriving; silent probes to hosts that never answered go at the scan's rate.

use super::table::AnsweredSet;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Never pace retries slower than this (a few answers early on must not stall a scan).
const FLOOR: u64 = 100;

pub struct IcmpPace {
    /// Hosts (by index in the space) that answered a UDP probe with a port unreachable.
    hosts: AnsweredSet,
    /// Port unreachables so far.
    answers: AtomicU64,
}

impl IcmpPace {
    pub fn new(hosts: u64) -> IcmpPace {
        IcmpPace {
            hosts: AnsweredSet::new(hosts),
            answers: AtomicU64::new(0),
        }
    }

    /// The capture saw a port unreachable from host `host`.
    pub fn record(&self, host: u64) {
        self.hosts.claim(host);
        self.answers.fetch_add(1, Relaxed);
    }

    /// Has host `host` sent us port unreachables (so its silence may be rationing)?
    pub fn rationed(&self, host: u64) -> bool {
        self.hosts.contains(host)
    }

    /// The rate port unreachables have arrived at over the scan so far (`elapsed`), split
    /// between `shares` senders; at least `FLOOR` in all.
    pub fn rate(&self, elapsed: Duration, shares: u64) -> u64 {
        let secs = elapsed.as_secs_f64().max(0.001);
        let total = (self.answers.load(Relaxed) as f64 / secs) as u64;
        (total.max(FLOOR) / shares.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_what_arrived_and_never_below_the_floor() {
        let p = IcmpPace::new(16);
        assert!(!p.rationed(3));
        for _ in 0..500 {
            p.record(3);
        }
        assert!(p.rationed(3) && !p.rationed(4));
        assert_eq!(p.rate(Duration::from_millis(500), 1), 1000);
        assert_eq!(p.rate(Duration::from_millis(500), 2), 500);
        assert_eq!(IcmpPace::new(1).rate(Duration::from_secs(10), 1), FLOOR);
    }
}
