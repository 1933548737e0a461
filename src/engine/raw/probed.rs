//! The raw engine's estimate of how many ports of each host could have answered by now, for
//! the rule on hosts that answer everything (`engine::answers_all`).
//!
//! The shuffled order gives every host about the same share of the positions walked: after
//! `k` first probes, about `k × ports / size` went to each host (with several shards or a
//! resume too: their positions are a uniform sample of the order as well). The senders add
//! their first probes to `Stats::walked` once per batch; the capture thread samples it with
//! its clock on every pass into a small ring and reads the value of `now − settle`, since a
//! probe sent less than a round trip ago cannot have been answered yet (a scan of one host at
//! 100k probes/s with 100 ms round trips has 10,000 of its probes out at any moment).
//! `settle` is three smoothed RTTs (from the timestamps the SYN-ACKs echo), never more than
//! the timeout; the timeout itself until an RTT is known.

use std::collections::VecDeque;
use std::time::Duration;

/// Samples kept over one timeout: the estimate's time resolution is timeout / this.
const SAMPLES: u32 = 64;

#[derive(Debug)]
pub struct ProbedByNow {
    /// (time, positions walked by then), oldest first.
    samples: VecDeque<(Duration, u64)>,
    spacing: Duration,
    timeout: Duration,
    /// Smoothed RTT (RFC 6298's α = 1/8).
    srtt: Option<Duration>,
    ports: usize,
    size: u64,
}

impl ProbedByNow {
    /// For a space of `size` targets with `ports` ports per host, probes waiting `timeout`.
    pub fn new(size: u64, ports: usize, timeout: Duration) -> ProbedByNow {
        ProbedByNow {
            samples: VecDeque::new(),
            spacing: (timeout / SAMPLES).max(Duration::from_millis(1)),
            timeout,
            srtt: None,
            ports,
            size,
        }
    }

    pub fn observe_rtt(&mut self, rtt: Duration) {
        self.srtt = Some(match self.srtt {
            None => rtt,
            Some(s) => (s * 7 + rtt) / 8,
        });
    }

    /// How long after sending a probe its answer is expected.
    pub fn settle(&self) -> Duration {
        self.srtt
            .map_or(self.timeout, |s| (s * 3).max(Duration::from_millis(1)))
            .min(self.timeout)
    }

    /// Records the walk's progress at `now` (cheap: at most one sample per `spacing`).
    pub fn sample(&mut self, now: Duration, walked: u64) {
        if let Some(&(t, _)) = self.samples.back()
            && now < t + self.spacing
        {
            return;
        }
        self.samples.push_back((now, walked));
        // Keep one sample at or before the oldest moment `settle` can ask for.
        let horizon = now.saturating_sub(self.timeout);
        while self.samples.len() > 1 && self.samples[1].0 <= horizon {
            self.samples.pop_front();
        }
    }

    /// About how many ports of each host could have answered by `now`.
    pub fn per_host(&self, now: Duration) -> u64 {
        let Some(at) = now.checked_sub(self.settle()) else {
            return 0;
        };
        let i = self.samples.partition_point(|&(t, _)| t <= at);
        let walked = match i {
            0 => 0,
            i => self.samples[i - 1].1,
        };
        crate::engine::answers_all::per_host(walked, self.ports, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn probes_younger_than_the_settle_time_do_not_count() {
        // 10 hosts × 100 ports; the walk goes 1,000 positions a second.
        let mut p = ProbedByNow::new(1000, 100, MS(1000));
        for ms in 0..=2000 {
            p.sample(MS(ms), ms);
        }
        assert_eq!(p.settle(), MS(1000), "no RTT yet: the timeout");
        // At 2 s, what was walked by 1 s: 1,000 positions, 100 per host.
        // (to the sample spacing, timeout / 64 ≈ 16 ms: samples at 0, 16, 32 … 992 ms).
        assert_eq!(p.per_host(MS(2000)), 99);
        for _ in 0..50 {
            p.observe_rtt(MS(20));
        }
        assert_eq!(p.settle(), MS(60));
        let got = p.per_host(MS(2000));
        // What was walked by 1.94 s.
        assert!((192..=194).contains(&got), "{got}");
        assert!(p.samples.len() <= 66, "{} samples", p.samples.len());
    }

    #[test]
    fn nothing_is_counted_before_the_first_answers_could_come() {
        let mut p = ProbedByNow::new(500, 50, MS(300));
        p.observe_rtt(MS(50));
        p.sample(MS(0), 0);
        p.sample(MS(100), 400);
        assert_eq!(p.per_host(MS(100)), 0, "walked by −50 ms");
        assert_eq!(p.per_host(MS(300)), 40, "400 walked by 150 ms: 40 per host");
        // A long RTT is bounded by the timeout.
        p.observe_rtt(MS(60_000));
        assert_eq!(p.settle(), MS(300));
    }
}
