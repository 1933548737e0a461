//! UDP retries paced to what rate-limited targets can answer. A closed UDP port shows only
//! as the host's ICMP port unreachable, and hosts ration those (Linux: 1000 a second in all,
//! 6 then 1 a second to any one scanner), so at a high rate most closed ports look silent.
//! Retrying them at that rate again loses them again. A silent probe to a host that *has*
//! sent us port unreachables is therefore retried at a pace the hosts can answer; silent
//! probes to hosts that never answered go at the scan's rate.
//!
//! **The pace is found, not averaged.** (The scan-long average of arrivals it replaces paced
//! at about a third of the limit: retries begin only a timeout after the first probes, and an
//! average diluted by that wait never climbs back, since retries paced at it bring back
//! exactly it.) Over windows of pacing time (`WINDOW`) the pacer compares the port
//! unreachables that arrived with the paced retries it allowed: the *yield*. Under the hosts'
//! limit the yield holds (it is the share of retried ports that are closed); over it, arrivals
//! stop following the pace and the yield falls.
//!
//! It starts from the rate of the last `RECENT` unreachables before the first retry, less
//! `MARGIN`: they came at the end of the first pass, which is what exhausted the hosts' limit
//! if anything did, so that rate is the limit, not diluted by the wait before retries begin
//! (and past the first burst of a bucket, with three times `RECENT` in: else it starts from
//! the average). Then, each window:
//! - the yield fell by more than `DROP`: the pace goes to what arrived ÷ the steady yield (the
//!   retries the limit can answer), less `MARGIN`, and holds for `HOLD` windows while the
//!   hosts' ICMP buckets (Linux: burst 50) fill again;
//! - else it grows by a thirty-second, a gentle probe, so that a higher limit is found too (by
//!   an eighth while nothing says where the limit is: fewer than `RECENT` answers at the
//!   start, and the limit not met since).
//!
//! Retries also go to ports that are not closed, so the right pace is the limit ÷ the closed
//! share, above the arrival rate: the yield finds it, an estimate of arrivals alone would not.
//! A probe above the limit costs a few answers each time (retried if attempts remain).

use super::table::AnsweredSet;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Never pace retries slower than this (a few answers early on must not stall a scan).
const FLOOR: f64 = 100.0;
/// Never faster than this either: a pace that only grows (no retry ever answered) stays a
/// number.
const CEILING: f64 = 1e9;
/// The unreachables whose arrival rate sets the first pace.
const RECENT: usize = 64;
/// Pacing time per window of the estimate.
const WINDOW: Duration = Duration::from_millis(250);
/// And at least this many paced retries allowed in it, so slow paces are not judged on noise.
const MIN_ALLOWED: f64 = 32.0;
/// A fall of the yield by more than this share means the limit was met.
const DROP: f64 = 1.0 / 16.0;
/// Under the limit by this share once it is met.
const MARGIN: f64 = 1.0 / 16.0;
/// Windows held after the limit was met (2 s: a probe above the limit costs a few answers, so
/// not too often).
const HOLD: u32 = 8;
/// Growth per window before and after the limit was first met.
const SEARCH: f64 = 1.0 / 8.0;
const PROBE: f64 = 1.0 / 32.0;
/// Between two looks at the arrivals at most this often (callers ask once per free slot).
const LOOK_EVERY: Duration = Duration::from_millis(1);
/// A gap between looks longer than two paced retries and this was no pacing time: no retry
/// was waiting, or the sender was busy with other probes.
const IDLE_SLACK: Duration = Duration::from_millis(5);

pub struct IcmpPace {
    /// Hosts (by index in the space) that answered a UDP probe with a port unreachable.
    hosts: AnsweredSet,
    /// Port unreachables so far.
    answers: AtomicU64,
    /// The pace for all senders together (retries a second), as last worked out.
    pace: AtomicU64,
    /// Nanoseconds of scan time before which `rate` only reads `pace`.
    next_look: AtomicU64,
    estimate: Mutex<Estimate>,
    /// When the last `RECENT` unreachables arrived, oldest first.
    recent: Mutex<VecDeque<Duration>>,
}

impl IcmpPace {
    pub fn new(hosts: u64) -> IcmpPace {
        Self::with(hosts, Estimate::windowed())
    }

    fn with(hosts: u64, estimate: Estimate) -> IcmpPace {
        IcmpPace {
            hosts: AnsweredSet::new(hosts),
            answers: AtomicU64::new(0),
            pace: AtomicU64::new(FLOOR as u64),
            next_look: AtomicU64::new(0),
            estimate: Mutex::new(estimate),
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
        }
    }

    /// The pace of the scan-long average this pacer replaced, kept to measure against.
    #[cfg(test)]
    pub fn scan_long_average(hosts: u64) -> IcmpPace {
        Self::with(hosts, Estimate::ScanLong)
    }

    /// The capture saw a port unreachable from host `host` at `now` (the senders' clock).
    pub fn record(&self, host: u64, now: Duration) {
        self.hosts.claim(host);
        self.answers.fetch_add(1, Relaxed);
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(now);
        }
    }

    /// Unreachables a second over the last `RECENT`, once that many came.
    fn recent_rate(&self) -> Option<f64> {
        let recent = self.recent.lock().ok()?;
        let (first, last) = (recent.front()?, recent.back()?);
        let span = last.saturating_sub(*first).as_secs_f64();
        (recent.len() == RECENT && span > 0.0).then(|| (RECENT - 1) as f64 / span)
    }

    /// Has host `host` sent us port unreachables (so its silence may be rationing)?
    pub fn rationed(&self, host: u64) -> bool {
        self.hosts.contains(host)
    }

    /// Paced retries a second for one of `shares` senders, `elapsed` into the scan. Senders
    /// call it while retries wait to be paced, so the time between calls is pacing time.
    pub fn rate(&self, elapsed: Duration, shares: u64) -> u64 {
        let now = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        if now >= self.next_look.load(Relaxed)
            && let Ok(mut estimate) = self.estimate.try_lock()
        {
            // Another sender looking right now: this one keeps the last pace.
            let pace = estimate.look(elapsed, self.answers.load(Relaxed), || self.recent_rate());
            self.pace.store(pace.max(FLOOR) as u64, Relaxed);
            let every = LOOK_EVERY.as_nanos() as u64;
            self.next_look.store(now.saturating_add(every), Relaxed);
        }
        (self.pace.load(Relaxed) / shares.max(1)).max(1)
    }
}

/// How the pace is worked out from the arrivals.
enum Estimate {
    Windowed(Windowed),
    /// Port unreachables so far ÷ time so far: the estimate before this one (tests compare).
    #[cfg(test)]
    ScanLong,
}

impl Estimate {
    fn windowed() -> Estimate {
        Estimate::Windowed(Windowed::default())
    }

    fn look(&mut self, now: Duration, answers: u64, recent: impl FnOnce() -> Option<f64>) -> f64 {
        match self {
            Estimate::Windowed(w) => w.look(now, answers, recent),
            #[cfg(test)]
            Estimate::ScanLong => answers as f64 / now.as_secs_f64().max(0.001),
        }
    }
}

#[derive(Debug, Default)]
struct Windowed {
    /// Retries a second, for all senders; 0 before the first look.
    pace: f64,
    /// The last look: when, and the port unreachables by then.
    last: Option<(Duration, u64)>,
    /// This window: pacing time, retries the pace allowed in it, port unreachables in it.
    busy: Duration,
    allowed: f64,
    arrived: u64,
    /// The yield while under the limit.
    steady: Option<f64>,
    limit_met: bool,
    hold: u32,
}

impl Windowed {
    fn look(&mut self, now: Duration, answers: u64, recent: impl FnOnce() -> Option<f64>) -> f64 {
        let Some((then, before)) = self.last.replace((now, answers)) else {
            // The first paced retry: start from the rate the first pass's answers came at,
            // under it by the margin while the hosts' buckets fill again. Without enough of
            // them, from the average so far, searching.
            self.pace = match recent().filter(|_| answers >= 3 * RECENT as u64) {
                Some(rate) => {
                    // As after meeting it: the buckets the first pass emptied fill first.
                    self.limit_met = true;
                    self.hold = HOLD / 2;
                    rate * (1.0 - MARGIN)
                }
                None => answers as f64 / now.as_secs_f64().max(0.001),
            }
            .max(FLOOR);
            return self.pace;
        };
        let gap = now.saturating_sub(then);
        let idle = Duration::from_secs_f64(2.0 / self.pace) + IDLE_SLACK;
        if gap <= idle {
            self.busy += gap;
            self.allowed += self.pace * gap.as_secs_f64();
            self.arrived += answers.saturating_sub(before);
        }
        if self.busy >= WINDOW && self.allowed >= MIN_ALLOWED {
            self.close_window();
        }
        self.pace
    }

    fn close_window(&mut self) {
        // A paced retry brings back one unreachable at most; more came from other probes (a
        // first pass still running), and would set the yield where retries never reach.
        let got = (self.arrived as f64 / self.allowed).min(1.0);
        let arrival_rate = self.arrived as f64 / self.busy.as_secs_f64();
        match self.steady {
            Some(steady) if got < steady * (1.0 - DROP) => {
                // Over the limit: what arrived is what it answers.
                self.pace = (arrival_rate / steady * (1.0 - MARGIN)).max(FLOOR);
                self.limit_met = true;
                self.hold = HOLD;
            }
            // Just under the limit: the yield there is the one to keep.
            _ if self.hold > 0 => {
                self.hold -= 1;
                self.steady = Some(got);
            }
            steady => {
                self.steady = Some(steady.map_or(got, |s| s * 0.75 + got * 0.25));
                self.pace *= 1.0 + if self.limit_met { PROBE } else { SEARCH };
                self.pace = self.pace.min(CEILING);
            }
        }
        self.busy = Duration::ZERO;
        self.allowed = 0.0;
        self.arrived = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Hosts that answer `closed` of the retries, at most `limit` unreachables a second (a
    /// token bucket with Linux's burst of 50), after a first pass of 250 ms that brought
    /// them at `first` a second (after the bucket's burst, if `first` is the limit); the
    /// retries begin at `start` and run until `secs`. Returns the unreachables answered a
    /// second over the last half, and the retries that went unanswered though closed.
    fn drive(limit: f64, closed: f64, first: f64, start: Duration, secs: u64) -> (f64, f64) {
        let p = IcmpPace::new(1);
        let burst = if first >= limit { 50 } else { 0 };
        let first_pass = burst + (first / 4.0) as u64;
        for i in 0..first_pass {
            let at = Duration::from_secs_f64(i.saturating_sub(burst) as f64 / first);
            p.record(0, at);
        }
        let (mut now, mut bucket, mut lost) = (start, 0.0f64, 0.0);
        let mut answers = first_pass as f64;
        let half = (start + Duration::from_secs(secs)) / 2;
        let mut answered_late = 0.0;
        while now < Duration::from_secs(secs) {
            // One millisecond of pacing: `closed` of the retries ask for an unreachable the
            // bucket may or may not hold.
            bucket = (bucket + limit / 1000.0).min(50.0);
            let asked = p.rate(now, 1) as f64 / 1000.0 * closed;
            let given = asked.min(bucket);
            bucket -= given;
            lost += asked - given;
            answers += given;
            if now >= half {
                answered_late += given;
            }
            for _ in p.answers.load(Relaxed)..answers as u64 {
                p.record(0, now);
            }
            now += MS;
        }
        let late_secs = (Duration::from_secs(secs) - half).as_secs_f64();
        (answered_late / late_secs, lost)
    }

    /// After a first pass that met the limit the pace starts at it, however long the wait
    /// before the retries (the scan-long average started at a third of it with a 1 s wait),
    /// and keeps just under it; with a fifth of the retried ports open|filtered it runs above
    /// the arrival rate by as much. Probing above costs about 1 % of the answers.
    #[test]
    fn the_pace_starts_at_the_limit_and_keeps_to_it() {
        for (closed, start_ms) in [(1.0, 300), (1.0, 1000), (0.8, 1000)] {
            let start = start_ms * MS;
            let (answered, lost) = drive(1000.0, closed, 1000.0, start, 20);
            assert!(
                answered > 900.0 && answered <= 1000.0,
                "closed {closed}, from {start_ms} ms: {answered:.0} answered a second"
            );
            assert!(
                lost < 20.0 * 1000.0 * 0.015,
                "closed {closed}: {lost:.0} lost"
            );
        }
    }

    /// A first pass that did not meet the limit (1,000 a second under a limit of 3,000): the
    /// gentle probe finds the higher limit.
    #[test]
    fn a_higher_limit_is_found() {
        let (answered, lost) = drive(3000.0, 1.0, 1000.0, 300 * MS, 30);
        assert!(answered > 2700.0, "{answered:.0} answered a second");
        assert!(lost < 30.0 * 3000.0 * 0.015, "{lost:.0} lost");
    }

    #[test]
    fn the_scan_long_average_never_climbs_from_a_low_start() {
        let p = IcmpPace::scan_long_average(1);
        for _ in 0..300 {
            p.record(0, Duration::ZERO);
        }
        assert_eq!(p.rate(Duration::from_secs(1), 1), 300);
        assert_eq!(p.rate(Duration::from_secs(1), 2), 150);
    }

    #[test]
    fn the_pace_is_shared_and_never_below_the_floor() {
        let p = IcmpPace::new(16);
        assert!(!p.rationed(3));
        p.record(3, Duration::ZERO);
        assert!(p.rationed(3) && !p.rationed(4));
        assert_eq!(p.rate(Duration::from_secs(10), 1), FLOOR as u64);
        assert_eq!(p.rate(Duration::from_secs(10), 4), FLOOR as u64 / 4);
    }
}
