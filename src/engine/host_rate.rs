//! `--max-host-rate` for the connect engine: a token bucket per host, retries included. With
//! many hosts the shuffled order spreads the probes by itself; with few hosts × many ports it
//! does not, and this holds each host to its rate: the scan as a whole then runs at hosts ×
//! PPS.
//!
//! An attempt whose host has no token waits in that host's queue (keeping its `HostGate` slot)
//! and comes out of `pop_due` when the token does. Memory is kept only for hosts sent to within
//! one token's time (1/PPS) or with attempts waiting: a bucket left alone that long holds at
//! least the one token a new bucket starts with, so forgetting it never lets a host have more.

use crate::rate::{Pace, RateLimiter};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

/// Buckets kept before the first look for forgettable ones.
const FIRST_PRUNE: usize = 64;

#[derive(Debug)]
struct Bucket<T> {
    limiter: RateLimiter,
    last_sent: Duration,
    queue: VecDeque<T>,
}

#[derive(Debug)]
pub struct HostRate<T> {
    /// Attempts per second to one host; `None`: no limit, every offer goes at once.
    rate: Option<u64>,
    buckets: HashMap<IpAddr, Bucket<T>>,
    /// When each host with a queue may next have a token (one entry per such host).
    wake: BinaryHeap<Reverse<(Duration, IpAddr)>>,
    waiting: usize,
    prune_at: usize,
}

impl<T> HostRate<T> {
    pub fn new(rate: Option<u64>) -> HostRate<T> {
        HostRate {
            rate: rate.filter(|&r| r > 0),
            buckets: HashMap::new(),
            wake: BinaryHeap::new(),
            waiting: 0,
            prune_at: FIRST_PRUNE,
        }
    }

    /// `item` for `host` goes now (returned) or waits for the host's next token.
    pub fn offer(&mut self, host: IpAddr, item: T, now: Duration) -> Option<T> {
        let Some(rate) = self.rate else {
            return Some(item);
        };
        if !self.buckets.contains_key(&host) {
            self.prune(now, rate);
        }
        let bucket = self.buckets.entry(host).or_insert_with(|| Bucket {
            limiter: RateLimiter::new(Some(rate), RateLimiter::default_burst(Some(rate)), now),
            last_sent: now,
            queue: VecDeque::new(),
        });
        if !bucket.queue.is_empty() {
            // Behind the host's earlier attempts: its order stays the walk's.
            bucket.queue.push_back(item);
            self.waiting += 1;
            return None;
        }
        match bucket.limiter.poll(now, 1) {
            Pace::Send(_) => {
                bucket.last_sent = now;
                Some(item)
            }
            Pace::Wait(d) => {
                bucket.queue.push_back(item);
                self.waiting += 1;
                self.wake.push(Reverse((now + d, host)));
                None
            }
        }
    }

    /// A waiting attempt whose host has a token now, if any.
    pub fn pop_due(&mut self, now: Duration) -> Option<(IpAddr, T)> {
        while let Some(&Reverse((at, host))) = self.wake.peek() {
            if at > now {
                return None;
            }
            self.wake.pop();
            let Some(bucket) = self.buckets.get_mut(&host) else {
                continue;
            };
            match bucket.limiter.poll(now, 1) {
                Pace::Wait(d) => self.wake.push(Reverse((now + d, host))),
                Pace::Send(_) => {
                    let Some(item) = bucket.queue.pop_front() else {
                        continue;
                    };
                    bucket.last_sent = now;
                    self.waiting -= 1;
                    if !bucket.queue.is_empty() {
                        // Polled again at once: a burst's spare token goes without a wait.
                        self.wake.push(Reverse((now, host)));
                    }
                    return Some((host, item));
                }
            }
        }
        None
    }

    /// Whether `pop_due` would give something now.
    pub fn has_due(&self, now: Duration) -> bool {
        self.wake.peek().is_some_and(|Reverse((at, _))| *at <= now)
    }

    /// When the next waiting attempt's host gets a token.
    pub fn next_wake(&self) -> Option<Duration> {
        self.wake.peek().map(|Reverse((at, _))| *at)
    }

    /// Attempts waiting for a token.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Every waiting attempt (for the resume point).
    pub fn unsent(&self) -> impl Iterator<Item = &T> {
        self.buckets.values().flat_map(|b| b.queue.iter())
    }

    /// Hosts remembered now (for tests and figures).
    pub fn remembered(&self) -> usize {
        self.buckets.len()
    }

    /// Forgets the buckets that are as good as new, once their number has doubled since the
    /// last look: amortized O(1) per new host.
    fn prune(&mut self, now: Duration, rate: u64) {
        if self.buckets.len() < self.prune_at {
            return;
        }
        let token = Duration::from_nanos(1_000_000_000u64.div_ceil(rate));
        self.buckets
            .retain(|_, b| !b.queue.is_empty() || now.saturating_sub(b.last_sent) < token);
        self.prune_at = (self.buckets.len() * 2).max(FIRST_PRUNE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([198, 18, 0, last])
    }

    #[test]
    fn a_host_without_a_token_waits_in_order_and_others_go() {
        let mut r = HostRate::new(Some(10));
        let (a, b) = (ip(1), ip(2));
        assert_eq!(r.offer(a, 1, Duration::ZERO), Some(1));
        assert_eq!(r.offer(a, 2, Duration::ZERO), None);
        assert_eq!(r.offer(a, 3, 50 * MS), None);
        assert_eq!(
            r.offer(b, 4, 50 * MS),
            Some(4),
            "other hosts are not held up"
        );
        assert_eq!((r.waiting(), r.next_wake()), (2, Some(100 * MS)));
        assert_eq!(r.pop_due(99 * MS), None);
        assert!(r.has_due(100 * MS));
        assert_eq!(r.pop_due(100 * MS), Some((a, 2)));
        assert_eq!(r.pop_due(100 * MS), None, "one token a tenth of a second");
        assert_eq!(r.pop_due(200 * MS), Some((a, 3)));
        assert_eq!((r.waiting(), r.next_wake()), (0, None));
        assert_eq!(r.unsent().count(), 0);
    }

    #[test]
    fn without_a_rate_everything_goes_and_nothing_is_kept() {
        let mut r = HostRate::new(None);
        for i in 0..100 {
            assert_eq!(r.offer(ip(1), i, Duration::ZERO), Some(i));
        }
        assert_eq!(r.remembered(), 0);
    }

    /// A sweep of many hosts, one attempt each at 1,000 new hosts a second: only the hosts of
    /// the last token's time (here 1/50 s) are remembered, never every host scanned.
    #[test]
    fn memory_is_for_recent_hosts_only() {
        let mut r = HostRate::new(Some(50));
        let mut most = 0;
        for i in 0..20_000u32 {
            let host = IpAddr::V4(std::net::Ipv4Addr::from(0xc612_0000 + i));
            assert_eq!(r.offer(host, i, MS * i), Some(i));
            most = most.max(r.remembered());
        }
        assert!(most <= 2 * 20 + FIRST_PRUNE, "{most} hosts remembered");
    }
}
