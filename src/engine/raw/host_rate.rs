//! `--max-host-rate`: no host gets more than so many probes a second, whatever the order. With
//! many hosts the shuffled order already spreads the load; with few hosts × many ports it
//! does not (a /30 × 1–65535 at 100k/s is 25k probes a second to each host), and a host's
//! SYN-flood guard or ICMP limit would then decide the results.
//!
//! A virtual schedule per host recently probed (GCRA, the token bucket's twin: each host's
//! next free slot, `burst` slots of slack): a probe that may not go now *reserves* the host's
//! next slot and is parked until then, so parked probes leave at their times without asking
//! again, and a thousand probes parked for one host cost no more than one. Hosts idle for a
//! second are forgotten (their slack would be whole again anyway). Each sender thread keeps
//! its own, with its share of the limit.

use crate::rate::RateLimiter;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

/// A host's bucket is forgotten after this long without a probe.
const FORGET: Duration = Duration::from_secs(1);

pub struct HostRate<T> {
    /// The time between two probes to one host, and the slack: a burst's worth.
    interval: Duration,
    slack: Duration,
    /// Each host's next free slot (its "theoretical arrival time").
    slots: HashMap<u64, Duration>,
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
        let pps = pps.max(1);
        let interval = Duration::from_secs(1) / u32::try_from(pps).unwrap_or(u32::MAX);
        let burst = RateLimiter::default_burst(Some(pps));
        HostRate {
            interval,
            slack: interval * u32::try_from(burst.saturating_sub(1)).unwrap_or(u32::MAX),
            slots: HashMap::new(),
            parked: BinaryHeap::new(),
            arrivals: 0,
            pruned_at: Duration::ZERO,
        }
    }

    /// May a probe to `host` go now? If not, the host's next slot is reserved for it, and
    /// this says when that is (park it until then; it goes without asking again).
    pub fn admit(&mut self, host: u64, now: Duration) -> Result<(), Duration> {
        self.prune(now);
        let next = self.slots.entry(host).or_insert(now);
        let due = (*next).max(now);
        *next = due + self.interval;
        match due.checked_sub(self.slack) {
            Some(at) if at > now => Err(at),
            _ => Ok(()),
        }
    }

    /// A probe that goes only if its host has a slot now (a canary: it is not parked).
    pub fn try_admit(&mut self, host: u64, now: Duration) -> bool {
        self.prune(now);
        let next = self.slots.entry(host).or_insert(now);
        let due = (*next).max(now);
        let conforms = due.checked_sub(self.slack).is_none_or(|at| at <= now);
        if conforms {
            *next = due + self.interval;
        }
        conforms
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

    /// Hosts with a schedule now (for the memory figures and tests).
    pub fn tracked(&self) -> usize {
        self.slots.len()
    }

    fn prune(&mut self, now: Duration) {
        if now.saturating_sub(self.pruned_at) < FORGET {
            return;
        }
        self.pruned_at = now;
        self.slots.retain(|_, next| *next + FORGET > now);
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
        // The next one reserves the slot after: parked probes never compete for one.
        let Err(later) = h.admit(1, Duration::ZERO) else {
            panic!("a third at once")
        };
        assert_eq!(later, 20 * MS);
        h.park(later, 8);
        assert_eq!(h.pop_ready(9 * MS), None);
        assert_eq!(h.next_ready(), Some(10 * MS));
        assert_eq!(h.pop_ready(10 * MS), Some(7));
        assert_eq!(h.pop_ready(19 * MS), None);
        assert_eq!(h.pop_ready(20 * MS), Some(8));
        assert_eq!(
            h.admit(1, 21 * MS),
            Err(30 * MS),
            "its schedule goes on from there"
        );
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
                // Reserved: it goes at its time.
                Err(at) => {
                    now = at;
                    sent.push(at);
                }
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
