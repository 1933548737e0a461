//! How long to wait for an answer: RFC 6298's smoothed RTT estimate over the answers so far.
//!
//! Early attempts wait `srtt + 4·rttvar` (at least `floor`, doubling per attempt); the last
//! attempt always waits the full `--timeout`, so no target is called filtered without one
//! full-length wait. On a fast path that turns "two 1 s timeouts per silent port" into "a short
//! one and a full one", without giving up recall on slow paths.

use std::time::Duration;

#[derive(Debug)]
pub struct RttEstimator {
    /// (srtt, rttvar), once the first answer has come.
    state: Option<(Duration, Duration)>,
    floor: Duration,
    ceiling: Duration,
}

impl RttEstimator {
    pub fn new(ceiling: Duration) -> RttEstimator {
        RttEstimator {
            state: None,
            floor: Duration::from_millis(100).min(ceiling),
            ceiling,
        }
    }

    pub fn observe(&mut self, rtt: Duration) {
        self.state = Some(match self.state {
            None => (rtt, rtt / 2),
            Some((srtt, var)) => {
                let err = srtt.abs_diff(rtt);
                (srtt * 7 / 8 + rtt / 8, var * 3 / 4 + err / 4)
            }
        });
    }

    /// The smoothed round-trip time, once an answer has come.
    pub fn srtt(&self) -> Option<Duration> {
        self.state.map(|(srtt, _)| srtt)
    }

    /// (srtt, rttvar), once an answer has come.
    pub fn smoothed(&self) -> Option<(Duration, Duration)> {
        self.state
    }

    /// The wait for attempt `attempt` (0-based) of `attempts`.
    pub fn timeout(&self, attempt: u32, attempts: u32) -> Duration {
        if attempt + 1 >= attempts {
            return self.ceiling;
        }
        match self.state {
            None => self.ceiling,
            Some((srtt, var)) => {
                ((srtt + var * 4) * 2u32.saturating_pow(attempt)).clamp(self.floor, self.ceiling)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_last_attempt_always_waits_the_full_timeout() {
        let mut e = RttEstimator::new(1000 * MS);
        for _ in 0..50 {
            e.observe(2 * MS);
        }
        assert_eq!(e.timeout(0, 1), 1000 * MS);
        assert_eq!(e.timeout(1, 2), 1000 * MS);
        assert_eq!(e.timeout(0, 2), 100 * MS, "fast answers: the floor");
    }

    #[test]
    fn waits_follow_the_measured_rtt_and_double_per_attempt() {
        let mut e = RttEstimator::new(5000 * MS);
        assert_eq!(e.timeout(0, 3), 5000 * MS, "nothing measured yet");
        for _ in 0..100 {
            e.observe(300 * MS);
        }
        let first = e.timeout(0, 3);
        assert!(first >= 300 * MS && first < 400 * MS, "{first:?}");
        assert_eq!(e.timeout(1, 3), (first * 2).min(5000 * MS));
        // Jitter widens the wait.
        for i in 0..100 {
            e.observe(if i % 2 == 0 { 100 * MS } else { 500 * MS });
        }
        assert!(e.timeout(0, 3) > 700 * MS, "{:?}", e.timeout(0, 3));
    }
}
