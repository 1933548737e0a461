//! The rate controller: from what each measurement window saw (probes sent, canaries sent and
//! lost) to the rate the senders use next. Pure: no clock, no threads, so every decision is
//! tested on made-up windows.
//!
//! The model. A path that cannot carry our rate drops the excess: a policer at R passes R of
//! the s probes a second we send, so a fraction `1 − R/s` of *any* probe — a canary included —
//! is lost. Loss that does not depend on the rate (a lossy link, 1 % of replies dropped) shows
//! as the same fraction at every rate: the *baseline*. So a window whose canary loss `L` stands
//! clearly above the baseline `B` says the path carried about `s·(1 − L)/(1 − B)`, and the
//! rate moves straight there (a little under it), in one step — no halving ladder, which would
//! cost a lossy window per rung. The cut is proportional: a window that only looks a little
//! lossy through noise trims the rate a little.
//!
//! Then it cruises a few windows and probes upward: +5 %, then, while probes come back clean,
//! in steps that double (a path whose capacity came back is found again in a few probes).
//!
//! The baseline is the lower quartile of the last clean windows' loss. Loss that was there from the
//! start has no clean window to be learned from, so it is learned from the cuts themselves:
//! when two cuts in a row leave the loss where it was, lowering the rate does not lower the
//! loss — it is the path's at any rate. That loss becomes the baseline and the rate goes back
//! to where it was before those cuts.
//! Windows with too few canaries to tell, or whose answers our own capture ring dropped, move
//! nothing (see `Verdict`).

use super::significance::unlikely;

/// What one window saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStats {
    /// Probes sent in the window (all kinds), per second of the window.
    pub sent_rate: f64,
    /// The rate the senders were allowed in the window.
    pub allowed_rate: f64,
    pub canaries: u32,
    pub lost: u32,
    /// Our capture ring dropped frames while the window's answers were due.
    pub ring_drops: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Verdict {
    /// Not measured yet.
    Pending = 0,
    /// No loss beyond the baseline.
    Clean = 1,
    /// The path dropped many probes beyond the baseline: the rate was cut, and the window's
    /// silent targets are walked again.
    Lossy = 2,
    /// Our own capture ring dropped answers: not the path's doing, so no cut; the window's
    /// silent targets are walked again all the same.
    Ours = 3,
    /// Too few canaries to tell (nothing answered yet, or almost nothing does).
    Unknown = 4,
    /// A little over what the path carries (a probe upward, say): the rate was cut, and the
    /// few probes lost cost their targets an attempt, as in any window with some loss —
    /// walking the window again would cost one more probe to every silent target in it,
    /// which in a sparse network is nearly all of them.
    Over = 5,
}

impl Verdict {
    pub fn from_u8(v: u8) -> Verdict {
        match v {
            1 => Verdict::Clean,
            2 => Verdict::Lossy,
            3 => Verdict::Ours,
            4 => Verdict::Unknown,
            5 => Verdict::Over,
            _ => Verdict::Pending,
        }
    }

    /// Its silent targets may have been lost on the way: they are walked again.
    pub fn walk_again(self) -> bool {
        matches!(self, Verdict::Lossy | Verdict::Ours)
    }
}

/// A window waits for this many canaries: enough to tell 5 % of loss from none (three
/// standard deviations of 48 samples at 1 % are 4.3 %)…
pub const MIN_CANARIES: u32 = 48;
/// …but one that had to close with fewer is still judged from as few as this (8 lost of 8
/// is plain enough; `unlikely` asks more of fewer samples).
const MIN_JUDGED: u32 = 8;
/// Loss beyond the baseline that always counts (whatever the sample size).
const MIN_EXCESS: f64 = 0.03;
/// The cruise sits this far under the rate the path carried.
const CRUISE: f64 = 0.95;
/// With retries, a window is walked again only when it lost more than this beyond the
/// baseline (a retry after the cut finds what a slight overshoot lost); without retries,
/// every lossy window is.
pub const WALK_AGAIN_ABOVE: f64 = 0.25;
/// Windows to cruise after a cut before the first probe upward.
const HOLD_AFTER_CUT: u32 = 8;
/// … after a cut from a window that lost most of its canaries: what got through was a few
/// canaries, so the estimate is rough, and probing finds the rest sooner.
const HOLD_AFTER_ROUGH_CUT: u32 = 2;
/// Windows between two probes at the rate the path last carried.
const HOLD_AT_EDGE: u32 = 4;
/// Windows between two probes while probes come back clean.
const HOLD_BETWEEN_PROBES: u32 = 1;
const FIRST_STEP: f64 = 0.05;
const MAX_STEP: f64 = 0.5;
/// A sender held below this share of its allowed rate (by the link, the CPU or a slow output)
/// measured nothing about higher rates: no probe upward on its account.
const APP_LIMITED: f64 = 0.8;
/// Clean windows at one rate pooled before their loss is judged together…
const SEGMENT_WINDOWS: u32 = 4;
/// …and the loss beyond the baseline that, pooled, counts.
const SEGMENT_EXCESS: f64 = 0.01;
/// Clean windows remembered for the baseline.
const BASELINE_WINDOWS: usize = 16;

#[derive(Debug, Clone)]
pub struct Controller {
    ceiling: f64,
    floor: f64,
    /// Loss beyond the baseline above which a lossy window is walked again.
    walk_again_above: f64,
    rate: f64,
    /// Loss of the last clean windows; the baseline is their least.
    recent: std::collections::VecDeque<f64>,
    hold: u32,
    step: f64,
    /// What the path carried when last measured lossy.
    carried: Option<f64>,
    /// The rate a probe upward stops at for a while: just over what the path last carried,
    /// until a clean window there shows it carries more now.
    edge: Option<f64>,
    cuts: u64,
    last_loss: f64,
    /// The cuts since the last clean window.
    trail: Option<Trail>,
    /// The rate the last clean window was sent at (when the senders kept up with it).
    last_clean: Option<f64>,
    /// The clean windows since the rate last moved, pooled: a loss too small for one window
    /// to show shows in several.
    segment: Segment,
    /// The fastest the senders have gone in any window: how fast they send when they send.
    peak: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Segment {
    rate: f64,
    windows: u32,
    canaries: f64,
    lost: f64,
    sent: f64,
}

/// Cuts in a row: whether lowering the rate lowers the loss.
#[derive(Debug, Clone)]
struct Trail {
    /// The rate allowed before the first of them.
    before: f64,
    /// The loss that caused it.
    first_loss: f64,
    /// The rate the latest cut set: a window allowed no more was sent after it.
    cut_to: f64,
    /// Windows sent after a cut and lossy still, and the loss each showed.
    after: Vec<f64>,
    /// The trail's estimates of what the path carries, pooled: weights (the inverse of each
    /// estimate's variance) and the weighted sum.
    weights: f64,
    weighted: f64,
}

impl Controller {
    /// Starts at the ceiling: on a clean path that is the fixed mode's speed from the first
    /// probe, and on a throttled one the first lossy window sets the rate (its targets are
    /// walked again, so the overshoot costs time, not results).
    pub fn new(ceiling: u64, floor: u64, walk_again_above: f64) -> Controller {
        let ceiling = ceiling.max(1) as f64;
        Controller {
            ceiling,
            floor: (floor as f64).clamp(1.0, ceiling),
            walk_again_above,
            rate: ceiling,
            recent: Default::default(),
            hold: 0,
            step: FIRST_STEP,
            carried: None,
            edge: None,
            cuts: 0,
            last_loss: 0.0,
            trail: None,
            last_clean: None,
            segment: Segment::default(),
            peak: 0.0,
        }
    }

    /// Probes per second in all, for the senders to share.
    pub fn rate(&self) -> u64 {
        self.rate.round() as u64
    }

    /// What the path carried when it was last seen dropping probes; None while it never was.
    pub fn carried(&self) -> Option<u64> {
        self.carried.map(|c| c.round() as u64)
    }

    /// How many windows cut the rate.
    pub fn cuts(&self) -> u64 {
        self.cuts
    }

    /// The loss the last measured window showed (0..1).
    pub fn last_loss(&self) -> f64 {
        self.last_loss
    }

    /// The loss the path shows whatever the rate: the lower quartile of the last clean
    /// windows' (not their median: a probe a little over the path's rate loses a little and
    /// may still be judged clean, and the baseline must not creep up with such windows).
    pub fn baseline(&self) -> f64 {
        let mut v: Vec<f64> = self.recent.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 4).copied().unwrap_or(0.0)
    }

    pub fn observe(&mut self, w: &WindowStats) -> Verdict {
        if w.ring_drops {
            return Verdict::Ours;
        }
        if w.canaries < MIN_JUDGED {
            return Verdict::Unknown;
        }
        self.peak = self.peak.max(w.sent_rate);
        let n = f64::from(w.canaries);
        let loss = f64::from(w.lost.min(w.canaries)) / n;
        self.last_loss = loss;
        let base = self.baseline();
        // Three standard deviations of a binomial sample of n canaries at the baseline (at
        // least at 1 %, so a baseline of zero still allows for a stray loss).
        let noise = 3.0 * (base.max(0.01) * (1.0 - base) / n).sqrt();
        let margin = MIN_EXCESS.max(noise);
        let lost = w.lost.min(w.canaries);
        if loss > base + MIN_EXCESS && unlikely(lost, w.canaries, base.max(0.01)) {
            return self.lossy(w, loss, base, margin, n);
        }
        self.trail = None;
        let app_limited = w.sent_rate < APP_LIMITED * w.allowed_rate;
        if !app_limited {
            // Proof that a rate is clean: a full window's canaries, at most one lost beyond
            // the baseline's share.
            if w.canaries >= MIN_CANARIES && f64::from(lost) <= base * n + 1.0 {
                self.last_clean = Some(w.sent_rate);
            }
            if let Some(v) = self.segment_loss(w, base) {
                return v;
            }
        }
        while self.recent.len() >= BASELINE_WINDOWS {
            self.recent.pop_front();
        }
        self.recent.push_back(loss);
        if self.rate < self.ceiling && !app_limited {
            if self.hold > 0 {
                self.hold -= 1;
            } else {
                self.probe_up();
            }
        }
        Verdict::Clean
    }

    /// A step upward. Under what the path last carried, in steps that double (a capacity
    /// that came back is found in a few); at it, by `FIRST_STEP` at a time, after a cruise —
    /// the edge is known, and a big step over it is a window of loss — until a full window
    /// above it comes back clean: then the path carries more now, and the steps grow again.
    fn probe_up(&mut self) {
        let edge = self.edge;
        // (A window's rate as sent runs a hair under the rate allowed.)
        let proven_above = matches!((self.last_clean, edge), (Some(l), Some(e)) if l >= 0.99 * e);
        if proven_above {
            self.edge = None;
        }
        let mut next = self.rate * (1.0 + self.step);
        match edge.filter(|_| !proven_above) {
            Some(e) if next > e => {
                next = e.max(self.rate * (1.0 + FIRST_STEP));
                self.step = FIRST_STEP;
                self.hold = HOLD_AT_EDGE;
            }
            _ => {
                self.step = (self.step * 2.0).min(MAX_STEP);
                self.hold = HOLD_BETWEEN_PROBES;
            }
        }
        self.rate = next.min(self.ceiling);
    }

    /// Pools a clean window with those before it at the same rate; a cut (`Over`) when
    /// together they lost more than the baseline allows.
    fn segment_loss(&mut self, w: &WindowStats, base: f64) -> Option<Verdict> {
        let seg = &mut self.segment;
        if seg.rate != w.allowed_rate {
            *seg = Segment {
                rate: w.allowed_rate,
                ..Segment::default()
            };
        }
        seg.windows += 1;
        seg.canaries += f64::from(w.canaries);
        seg.lost += f64::from(w.lost.min(w.canaries));
        seg.sent += w.sent_rate;
        if seg.windows < SEGMENT_WINDOWS {
            return None;
        }
        let n = seg.canaries;
        let loss = seg.lost / n;
        let margin = SEGMENT_EXCESS.max(3.0 * (base.max(0.01) * (1.0 - base) / n).sqrt());
        if loss <= base + margin {
            return None;
        }
        let sent = seg.sent / f64::from(seg.windows);
        self.segment = Segment::default();
        self.set_carried(sent * (1.0 - loss) / (1.0 - base).max(0.01));
        self.rate = (sent * (1.0 - (loss - base)) * CRUISE).clamp(self.floor, self.ceiling);
        self.hold = HOLD_AFTER_CUT;
        self.step = FIRST_STEP;
        self.cuts += 1;
        self.last_clean = None;
        Some(Verdict::Over)
    }

    fn set_carried(&mut self, carried: f64) {
        self.carried = Some(carried);
        self.edge = Some(carried * (1.0 + FIRST_STEP));
    }

    fn lossy(&mut self, w: &WindowStats, loss: f64, base: f64, margin: f64, n: f64) -> Verdict {
        // The rate the path was offered. A window sent well under its allowed rate had little
        // to send (retries, a run walked again) and sent it in bursts at the allowed pace, as
        // fast as the senders go: that, not the window's average, is what the path dropped.
        let offered = if w.sent_rate < APP_LIMITED * w.allowed_rate {
            w.allowed_rate.min(self.peak.max(w.sent_rate))
        } else {
            w.sent_rate
        };
        let after_cut = self
            .trail
            .as_ref()
            .is_some_and(|t| w.allowed_rate <= t.cut_to * 1.001);
        if let Some(t) = self.trail.as_mut().filter(|_| after_cut) {
            t.after.push(loss);
            if t.after.len() >= 2 && loss >= t.first_loss - margin {
                // Two cuts, and the loss stays: it is no congestion. It is the baseline now,
                // and the rate goes back to before the cuts; these windows' silent targets
                // get their retries like those of any window with that loss.
                let before = t.before;
                let keep = t.after.len().saturating_sub(BASELINE_WINDOWS);
                self.recent = t.after[keep..].iter().copied().collect();
                self.rate = before.clamp(self.floor, self.ceiling);
                self.trail = None;
                self.hold = HOLD_AFTER_CUT;
                self.step = FIRST_STEP;
                return Verdict::Clean;
            }
        }
        // Every canary lost says little about how little got through: count one.
        let through = (1.0 - loss).max(1.0 / n);
        let estimate = offered * through / (1.0 - base).max(0.01);
        let trail = self.trail.get_or_insert(Trail {
            before: w.allowed_rate,
            first_loss: loss,
            cut_to: 0.0,
            after: Vec::new(),
            weights: 0.0,
            weighted: 0.0,
        });
        // One window's canaries make a rough estimate, the rougher the more of them were lost
        // (its variance is rate² · L(1 − L) / n): the trail's windows pooled by the inverse of
        // their variances make a better one, and a window after a capacity drop, lossy but
        // less so, outweighs the guesses made while far above it.
        let weight = n / (offered.max(1.0).powi(2) * (loss * (1.0 - loss)).max(0.01));
        // Unless the path changed under the trail: an estimate three standard deviations away
        // from the pool's starts the pool again (a capacity that dropped is not averaged in).
        if trail.weights > 0.0 {
            let pooled = trail.weighted / trail.weights;
            let spread = (weight.recip() + trail.weights.recip()).sqrt();
            if (estimate - pooled).abs() > 3.0 * spread {
                trail.weights = 0.0;
                trail.weighted = 0.0;
            }
        }
        trail.weights += weight;
        trail.weighted += estimate * weight;
        let carried = trail.weighted / trail.weights;
        // A probe above a rate that was clean just before goes back to that rate, not under
        // it: estimates come from windows picked for looking lossy, so they run low.
        let proven = match (self.last_clean, after_cut) {
            (Some(clean), false) if clean < 0.99 * offered => clean,
            _ => 0.0,
        };
        // At most an eighth at once: a window that lost every canary (an outage of a moment,
        // a host that stopped answering) says little of how little got through, and a rate
        // cut too far is slow to measure its way back (its windows hold few canaries).
        let at_floor = self.rate <= self.floor * 1.01;
        self.rate = (carried * CRUISE)
            .max(proven)
            .max(offered / 8.0)
            .clamp(self.floor, self.ceiling);
        trail.cut_to = self.rate;
        self.set_carried(carried);
        self.hold = if loss > 0.5 {
            HOLD_AFTER_ROUGH_CUT
        } else {
            HOLD_AFTER_CUT
        };
        self.step = FIRST_STEP;
        self.cuts += 1;
        // At the floor, going again would only meet the same loss: the attempts are spent.
        if loss - base > self.walk_again_above && !at_floor {
            Verdict::Lossy
        } else {
            Verdict::Over
        }
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
