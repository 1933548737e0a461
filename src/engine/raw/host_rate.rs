//! `--max-host-rate`: no host gets more than so many probes a second, whatever the order. With
//! many hosts the shuffled order already spreads the load; with few hosts × many ports it
//! does not (a /30 × 1–65535 at 100k/s is 25k probes a second to each host), and a host's
//! SYN-flood guard or ICMP limit would then decide the results.
//!
//! A token bucket per host recently probed (hosts idle for a second are forgotten: their
//! bucket would be full again anyway), and probes that must wait parked by the time they may
//! go. Each sender thread keeps its own, with its share of the limit.

use crate::rate::{Pace, RateLimiter};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

/// A host's bucket is forgotten after this long without a probe.
const FORGET: Duration = Duration::from_secs(1);

pub struct HostRate<T> {
    pps: u64,
    buckets: HashMap<u64, (RateLimiter, Duration)>,
    /// Probes waiting for their host's bucket: (when it may go, arrival order, probe).
    parked: BinaryHeap<Reverse<(Duration, u64, Parked<T>)>>,
    arrivals: u64,
    pruned_at: Duration,
}

/// A parked probe; ordered by nothing (the heap orders by time and arrival).
#[derive(Debug)]
struct Parked<T>(T);

impl<T> PartialEq for Parked<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Parked<T> {}
impl<T> PartialOrd for Parked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Parked<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> HostRate<T> {
    /// `pps`: this sender's share of the limit (at least 1).
    pub fn new(pps: u64) -> HostRate<T> {
        HostRate {
            pps: pps.max(1),
            buckets: HashMap::new(),
            parked: BinaryHeap::new(),
            arrivals: 0,
            pruned_at: Duration::ZERO,
        }
    }

    /// May a probe to `host` go now? If not, when it may.
    pub fn admit(&mut self, host: u64, now: Duration) -> Result<(), Duration> {
        self.prune(now);
        let pps = self.pps;
        let (bucket, last) = self.buckets.entry(host).or_insert_with(|| {
            (
                RateLimiter::new(Some(pps), RateLimiter::default_burst(Some(pps)), now),
                now,
            )
        });
        *last = now;
        match bucket.poll(now, 1) {
            Pace::Send(_) => Ok(()),
            Pace::Wait(d) => Err(now + d),
        }
    }

    pub fn park(&mut self, at: Duration, item: T) {
        self.arrivals += 1;
        self.parked.push(Reverse((at, self.arrivals, Parked(item))));
    }

    /// A parked probe whose time has come.
    pub fn pop_ready(&mut self, now: Duration) -> Option<T> {
        match self.parked.peek() {
            Some(Reverse((at, ..))) if *at <= now => {
                self.parked.pop().map(|Reverse((_, _, Parked(t)))| t)
            }
            _ => None,
        }
    }

    /// When the next parked probe may go.
    pub fn next_ready(&self) -> Option<Duration> {
        self.parked.peek().map(|Reverse((at, ..))| *at)
    }

    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    /// Every parked probe (for a resume point).
    pub fn parked_items(&self) -> impl Iterator<Item = &T> {
        self.parked.iter().map(|Reverse((_, _, Parked(t)))| t)
    }

    /// Takes every parked probe out (a stop: they are owed).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.parked.drain().map(|Reverse((_, _, Parked(t)))| t)
    }

    /// Hosts with a bucket now (for the memory figures and tests).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    fn prune(&mut self, now: Duration) {
        if now.saturating_sub(self.pruned_at) < FORGET {
            return;
        }
        self.pruned_at = now;
        self.buckets
            .retain(|_, (_, last)| now.saturating_sub(*last) < FORGET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn one_host_is_held_to_its_rate_and_others_are_not_held_up() {
        let mut h: HostRate<u32> = HostRate::new(100); // burst 1: one every 10 ms
        assert_eq!(h.admit(1, Duration::ZERO), Ok(()));
        let Err(at) = h.admit(1, Duration::ZERO) else {
            panic!("a second probe at once")
        };
        assert_eq!(at, 10 * MS);
        assert_eq!(h.admit(2, Duration::ZERO), Ok(()), "another host");
        h.park(at, 7);
        h.park(at, 8);
        assert_eq!(h.pop_ready(9 * MS), None);
        assert_eq!(h.next_ready(), Some(10 * MS));
        assert_eq!(h.pop_ready(10 * MS), Some(7), "in arrival order");
        assert_eq!(h.admit(1, 10 * MS), Ok(()));
        assert_eq!(h.parked_items().copied().collect::<Vec<_>>(), vec![8]);
    }

    #[test]
    fn idle_hosts_are_forgotten() {
        let mut h: HostRate<()> = HostRate::new(1000);
        for host in 0..500 {
            let _ = h.admit(host, Duration::ZERO);
        }
        assert_eq!(h.tracked(), 500);
        let _ = h.admit(9999, 2 * FORGET);
        assert_eq!(h.tracked(), 1);
    }

    #[test]
    fn over_any_second_a_host_gets_its_rate_and_one_burst_at_most() {
        let mut h: HostRate<()> = HostRate::new(1000);
        let mut sent = Vec::new();
        let mut now = Duration::ZERO;
        while now < 3 * FORGET {
            match h.admit(5, now) {
                Ok(()) => sent.push(now),
                Err(at) => now = at,
            }
        }
        let burst = RateLimiter::default_burst(Some(1000)) as usize;
        for (i, t) in sent.iter().enumerate() {
            let in_second = sent[i..].iter().take_while(|&&u| u < *t + FORGET).count();
            assert!(
                in_second <= 1000 + burst,
                "{in_second} in the second from {t:?}"
            );
        }
        assert!(sent.len() >= 2999, "{}", sent.len());
    }
}
