//! The path monitor: how much of what we send the path carries, measured while scanning, and
//! the rate that follows from it (`--rate` is the ceiling; `--rate-mode fixed` turns all of
//! this off).
//!
//! ```text
//! sender ── every ~30th probe slot: a canary (a target that answered, probed again) ──┐
//!   │ tags every probe with the current window                                       ▼
//!   │                                            capture: an answer to a canary ─► answered
//!   │                                            capture thread, every pass: tick(now)
//!   │                                              closes windows, gives up on canaries
//!   │                                              whose wait is over, asks `Controller`
//!   ◄── rate, verdict per window ───────────────────┘
//! ```
//!
//! Time is cut into windows (a few smoothed RTTs, at least 5 ms). A window's verdict comes
//! once its canaries have had their wait: lossy (the rate is cut; its silent targets are walked
//! again, see `rewalk`), clean, ours (our capture ring dropped frames), or unknown (too few
//! canaries). Senders read the rate and the verdicts through atomics; the lock is taken once
//! per batch that carries canaries, per canary answer and per tick.

pub mod canary;
pub mod control;
pub mod rewalk;
mod significance;

use crate::engine::rtt::RttEstimator;
use canary::{Outstanding, Pool, Sent};
use control::{Controller, Verdict, WindowStats};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The adaptive rate's floor without `--min-rate`: low enough for any path that carries
/// anything (a path that carried less would not be scanned at any speed).
pub const DEFAULT_FLOOR: u64 = 100;
/// One probe slot in this many is a canary (when the pool has one to give)…
const CANARY_EVERY: u32 = 32;
/// …but at least this many canaries a second go out in all, so that a window at a low rate
/// gathers its canaries in a fraction of a second.
const MIN_CANARY_RATE: u64 = 500;
/// …and never more than one slot in this many.
const MOST_CANARIES: u32 = 4;

/// One probe slot in how many carries a canary, at `rate` probes a second.
pub fn canary_every(rate: u64) -> u32 {
    let every = rate / MIN_CANARY_RATE;
    (every.min(u64::from(CANARY_EVERY)) as u32).max(MOST_CANARIES)
}
/// A window with most canaries lost waits for this many answered (or four times as many
/// canaries sent): the rate it sets is what got through, and 16 measure it within ±25 %.
const MIN_ANSWERED: u32 = 16;
/// Verdicts remembered, by window number.
const RING: usize = 4096;
const MIN_WINDOW: Duration = Duration::from_millis(5);
const MAX_WINDOW: Duration = Duration::from_millis(250);
/// The shortest wait for a canary's answer: scheduling on a loaded machine alone can take
/// milliseconds, and a canary waited for too briefly is a false loss.
const MIN_CANARY_WAIT: Duration = Duration::from_millis(20);
/// Before any canary came back: how long to wait for one.
const FIRST_CANARY_WAIT: Duration = Duration::from_millis(250);

/// What the controller is given.
#[derive(Debug, Clone, Copy)]
pub struct PathOptions {
    /// Probes per second in all: `--rate` (the ceiling).
    pub ceiling: u64,
    /// `--min-rate`: the controller never goes under it.
    pub floor: u64,
    /// `--timeout`: the longest a canary is waited for.
    pub timeout: Duration,
    /// `--retries`: without any, every lossy window is walked again.
    pub retries: u32,
}

/// The figures the status line and the summary show.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathFigures {
    pub rate: u64,
    /// The loss the last measured window showed, in parts per million.
    pub loss_ppm: u64,
    /// What the path carried when it was last seen dropping probes (0: never seen).
    pub carried: u64,
    pub cuts: u64,
    pub canaries: u64,
}

#[derive(Debug)]
struct Window {
    id: u32,
    start: Duration,
    end: Option<Duration>,
    allowed_rate: u64,
    canaries: u32,
    /// Of them, answered so far.
    answered: u32,
    /// Our ring's drop count when the window opened.
    drops_at_start: u64,
}

#[derive(Debug)]
struct Inner {
    control: Controller,
    pool: Pool,
    outstanding: Outstanding,
    /// Closed windows waiting for their verdict, then the open one (at the back).
    windows: VecDeque<Window>,
    rtt: RttEstimator,
    timeout: Duration,
    drops: u64,
    canaries: u64,
    /// A window has had a measured verdict (not unknown).
    measured: bool,
    /// Windows that closed without enough canaries before any window was measured: the scan's
    /// first, sent at the ceiling before anything had answered. They take the first measured
    /// verdict (what that rate did to the path), or, after `timeout`, stay unknown.
    provisional: Vec<(u32, Duration)>,
}

pub struct PathMonitor {
    inner: Mutex<Inner>,
    rate: AtomicU64,
    window: AtomicU32,
    /// Probes sent per window, by window number modulo RING.
    sent: Box<[AtomicU64]>,
    /// (window number << 8 | verdict), by window number modulo RING.
    verdicts: Box<[AtomicU64]>,
    /// The pool is not full yet: the capture offers every answer, not a sample.
    hungry: AtomicBool,
}

impl PathMonitor {
    pub fn new(o: PathOptions, now: Duration) -> PathMonitor {
        let walk_again_above = if o.retries == 0 {
            0.0
        } else {
            control::WALK_AGAIN_ABOVE
        };
        let control = Controller::new(o.ceiling, o.floor, walk_again_above);
        let rate = control.rate();
        PathMonitor {
            inner: Mutex::new(Inner {
                control,
                pool: Pool::default(),
                outstanding: Outstanding::default(),
                windows: VecDeque::from([Window::open(0, now, rate, 0)]),
                rtt: RttEstimator::new(o.timeout),
                timeout: o.timeout,
                drops: 0,
                canaries: 0,
                measured: false,
                provisional: Vec::new(),
            }),
            rate: AtomicU64::new(rate),
            window: AtomicU32::new(0),
            sent: (0..RING).map(|_| AtomicU64::new(0)).collect(),
            verdicts: (0..RING).map(|_| AtomicU64::new(u64::MAX)).collect(),
            hungry: AtomicBool::new(true),
        }
    }

    /// Probes per second in all, for the senders to share.
    pub fn rate(&self) -> u64 {
        self.rate.load(Relaxed)
    }

    /// The window probes sent now belong to.
    pub fn window(&self) -> u32 {
        self.window.load(Relaxed)
    }

    pub fn record_sent(&self, window: u32, n: u64) {
        self.sent[window as usize % RING].fetch_add(n, Relaxed);
    }

    /// The verdict on `window`; a window too old to be remembered counts as unknown.
    pub fn verdict(&self, window: u32) -> Verdict {
        let now = self.window();
        if now.wrapping_sub(window) as usize >= RING {
            return Verdict::Unknown;
        }
        let v = self.verdicts[window as usize % RING].load(Relaxed);
        if v != u64::MAX && (v >> 8) as u32 == window {
            Verdict::from_u8(v as u8)
        } else {
            Verdict::Pending
        }
    }

    /// Whether the capture should offer every answer to the pool (else a sample will do).
    pub fn hungry(&self) -> bool {
        self.hungry.load(Relaxed)
    }

    /// A canary to send now, registered as waiting; None when no target may be one now.
    pub fn draw_canary(&self, now: Duration) -> Option<u64> {
        let mut g = self.inner.lock().ok()?;
        let inner = &mut *g;
        let window = self.window.load(Relaxed);
        let j = inner.pool.draw(now, |i| inner.outstanding.contains(i))?;
        if !inner.outstanding.add(j, Sent { window, at: now }) {
            return None;
        }
        if let Some(w) = inner.windows.back_mut() {
            w.canaries += 1;
        }
        inner.canaries += 1;
        Some(j)
    }

    /// A drawn canary that could not be sent (its host's limit, a full batch): not waited for.
    pub fn cancel_canary(&self, index: u64) {
        if let Ok(mut g) = self.inner.lock()
            && let Some(s) = g.outstanding.answered(index)
        {
            g.canaries = g.canaries.saturating_sub(1);
            if let Some(w) = g.windows.iter_mut().find(|w| w.id == s.window) {
                w.canaries = w.canaries.saturating_sub(1);
            }
        }
    }

    /// An answered target, as a candidate canary.
    pub fn offer(&self, index: u64) {
        if let Ok(mut g) = self.inner.lock() {
            g.pool.offer(index);
            if g.pool.len() >= canary::POOL {
                self.hungry.store(false, Relaxed);
            }
        }
    }

    /// A repeated answer for `index`: true if it answers a canary (it is then counted here).
    pub fn canary_answered(&self, index: u64, now: Duration) -> bool {
        let Ok(mut g) = self.inner.lock() else {
            return false;
        };
        match g.outstanding.answered(index) {
            Some(s) => {
                g.rtt.observe(now.saturating_sub(s.at));
                if let Some(w) = g.windows.iter_mut().find(|w| w.id == s.window) {
                    w.answered += 1;
                }
                true
            }
            None => false,
        }
    }

    /// Closes the open window when its time is up, and judges the closed windows whose
    /// canaries have had their wait. `ring_drops`: our capture ring's drop count so far.
    pub fn tick(&self, now: Duration, ring_drops: u64) {
        let Ok(mut g) = self.inner.lock() else { return };
        let inner = &mut *g;
        inner.drops = inner.drops.max(ring_drops);
        let (srtt, wait) = inner.waits();
        let rate = inner.control.rate();
        // A window is sent at one rate: a new rate starts a new window.
        if let Some(open) = inner.windows.back_mut()
            && (open.ready_to_close(now, srtt) || open.allowed_rate != rate)
        {
            open.end = Some(now);
            let next = open.id.wrapping_add(1);
            inner
                .windows
                .push_back(Window::open(next, now, rate, inner.drops));
            self.sent[next as usize % RING].store(0, Relaxed);
            self.window.store(next, Relaxed);
        }
        while let Some(w) = inner.windows.front() {
            let Some(end) = w.end else { break };
            // The wait as it stands now: the first windows close before any canary came
            // back, and must not wait out the generous first guess once RTTs are known.
            if now < end + wait {
                break;
            }
            let (id, start) = (w.id, w.start);
            let mut lost = 0;
            inner.outstanding.expire(id, |_| lost += 1);
            let Some(w) = inner.windows.pop_front() else {
                break;
            };
            let secs = end.saturating_sub(start).as_secs_f64().max(1e-6);
            let stats = WindowStats {
                sent_rate: self.sent[id as usize % RING].load(Relaxed) as f64 / secs,
                allowed_rate: w.allowed_rate as f64,
                canaries: w.canaries,
                lost,
                ring_drops: inner.drops > w.drops_at_start,
            };
            let verdict = inner.control.observe(&stats);
            if verdict == Verdict::Unknown && !inner.measured {
                inner.provisional.push((id, end));
                continue;
            }
            if verdict != Verdict::Unknown && !inner.measured {
                inner.measured = true;
                for (early, _) in std::mem::take(&mut inner.provisional) {
                    self.publish(early, verdict);
                }
            }
            self.publish(id, verdict);
            self.rate.store(inner.control.rate(), Relaxed);
        }
        let timeout = inner.timeout;
        inner.provisional.retain(|&(id, end)| {
            let waiting = now < end + timeout;
            if !waiting {
                self.publish(id, Verdict::Unknown);
            }
            waiting
        });
    }

    fn publish(&self, window: u32, v: Verdict) {
        self.verdicts[window as usize % RING].store(u64::from(window) << 8 | v as u64, Relaxed);
    }

    pub fn figures(&self) -> PathFigures {
        let Ok(g) = self.inner.lock() else {
            return PathFigures::default();
        };
        PathFigures {
            rate: g.control.rate(),
            loss_ppm: (g.control.last_loss() * 1e6).round() as u64,
            carried: g.control.carried().unwrap_or(0),
            cuts: g.control.cuts(),
            canaries: g.canaries,
        }
    }
}

impl Window {
    fn open(id: u32, start: Duration, allowed_rate: u64, drops_at_start: u64) -> Window {
        Window {
            id,
            start,
            end: None,
            allowed_rate,
            canaries: 0,
            answered: 0,
            drops_at_start,
        }
    }

    /// A window lasts two smoothed RTTs (at least `MIN_WINDOW`), longer while it has too few
    /// canaries to say anything — or, when most are lost, too few answered to say how much
    /// gets through — but never more than `MAX_WINDOW`.
    fn ready_to_close(&self, now: Duration, srtt: Option<Duration>) -> bool {
        let age = now.saturating_sub(self.start);
        let longest = longest_window(self.allowed_rate);
        let length = srtt.map_or(MIN_WINDOW, |s| (2 * s).clamp(MIN_WINDOW, longest));
        let enough = self.canaries >= control::MIN_CANARIES
            && (self.answered >= MIN_ANSWERED || self.canaries >= 4 * control::MIN_CANARIES);
        age >= longest || (age >= length && enough)
    }
}

/// The longest a window waits for its canaries: `MAX_WINDOW`, or at a rate so low that
/// fewer than 16 canaries would go out in it, long enough for 16 (at most 2 s) — a window
/// with too few is judged by nothing, and a slow rate must still measure its way up.
fn longest_window(rate: u64) -> Duration {
    let canaries_per_sec = rate.max(1) as f64 / f64::from(canary_every(rate));
    Duration::from_secs_f64(16.0 / canaries_per_sec).clamp(MAX_WINDOW, Duration::from_secs(2))
}

impl Inner {
    /// The smoothed RTT (if any canary came back) and how long a canary is waited for: RFC
    /// 6298's retransmission timeout, generously floored, never beyond `--timeout`.
    fn waits(&self) -> (Option<Duration>, Duration) {
        match self.rtt.smoothed() {
            Some((srtt, var)) => {
                let wait =
                    (2 * srtt + 4 * var).clamp(MIN_CANARY_WAIT, self.timeout.max(MIN_CANARY_WAIT));
                (Some(srtt), wait)
            }
            None => (
                None,
                FIRST_CANARY_WAIT.min(self.timeout).max(MIN_CANARY_WAIT),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
