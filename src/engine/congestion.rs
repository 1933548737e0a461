//! The connect engine's window under congestion (`--rate-mode adaptive`): how many attempts
//! may be in flight, between a floor and the window the descriptor limit allows, and, once
//! congestion has been seen, how fast they leave.
//!
//! **The signal: attempts proven lost, and timeouts by the odds.** A target that stayed
//! silent and then answered a retry proves its earlier attempt was lost: dropped on a path that
//! works, or by a host whose SYN backlog or rate guard was full. A timeout alone proves
//! nothing: hosts that never answer are filtered by design, and so are the dropped ports of
//! hosts that answer on others (a firewalled host: three ports open, the rest silently
//! dropped). An earlier design counted every timeout of a host once it had lost an attempt;
//! one random loss on a firewalled host then made hundreds of its filtered ports "losses",
//! and the window fell to its floor on any such network. Proofs alone come late (a timeout
//! after the loss) and miss targets whose every attempt died, so a first attempt's timeout
//! counts as a loss by the odds the retries have shown: the share of retries answered (see
//! `lost_now`). Behind a guard that share is high and a burst of timeouts cuts before its
//! proofs come; on a firewalled network the dropped ports' retries stay silent and it stays
//! near zero.
//!
//! A UDP port that is closed answers with an ICMP error, and hosts ration those (Linux: about
//! one a second with a small burst, RFC 1812 §4.3.2.8): a closed port heard only on a retry
//! is the host's rationing, which the UDP pace handles, not the path's loss (`proves_loss`).
//!
//! **The control, once per epoch** (the first attempt's wait, about the time a loss takes to
//! show; never per timeout):
//! - loss = lost / (lost + clean), lost as `lost_now` tells it, over attempts sent since the
//!   last cut (a loss from before it was paid for already). Above `LOSS_CUT` and at least
//!   `MIN_LOST` losses, the window is cut to what the path carried: × (1 − loss), at most to a quarter per epoch
//!   (multiplicative decrease sized by the loss, so a badly overloaded host is reached in two
//!   or three epochs rather than six halvings).
//! - otherwise, if the window was what held the engine back, it grows by one slot per eight
//!   attempts finished, answered or timed out (additive per attempt, at most a thirty-second
//!   of itself per epoch for `CALM_EPOCHS` busy epochs after a cut and an eighth after that,
//!   so a fast LAN, where an epoch holds hundreds of round trips, does not jump). Timeouts
//!   count here: on a network of filtered ports an answer is rare, and a window that grew
//!   only per answer would never grow back after a cut.
//! - once cut, attempts are also paced (`pace`): a window sends in bursts, and bursts are
//!   what a SYN guard or a policer drops.
//!
//! A few random losses (a lossy path, not an overloaded one: 1 % of replies) stay under
//! `LOSS_CUT` and cut nothing. Fixed mode keeps the window at its ceiling.

use std::time::Duration;

/// The window never narrows below this (or the ceiling, if that is smaller).
pub const MIN_WINDOW: usize = 4;
/// The loss fraction above which an epoch cuts the window.
const LOSS_CUT: f64 = 1.0 / 16.0;
/// Fewer losses than this in an epoch are noise, whatever the fraction.
const MIN_LOST: u32 = 3;
/// Silent retries assumed before any is seen: the odds that a timeout is a loss start low,
/// and a proof or two cannot make every timeout a loss.
const PRIOR_SILENT: f64 = 8.0;
/// Retry outcomes remembered, about (then halved).
const FADE_AT: f64 = 1024.0;
/// Busy epochs after a cut in which the window grows slowly.
const CALM_EPOCHS: u32 = 8;
/// The deepest cut in one epoch.
const DEEPEST: f64 = 0.25;
/// How much faster than window / RTT the paced attempts go.
const PACE_GAIN: f64 = 1.25;

#[derive(Debug, Clone)]
pub struct Window {
    adaptive: bool,
    ceiling: usize,
    floor: usize,
    size: f64,
    epoch_start: Duration,
    last_cut: Duration,
    /// This epoch: first attempts answered, attempts proven lost, attempts that timed out
    /// (first attempts among them), and whether the window was full at some point.
    clean: u32,
    lost: u32,
    quiet: u32,
    quiet_first: u32,
    limited: bool,
    /// Retries answered (a proven loss each) and retries that timed out, over the scan with a
    /// fading memory: how likely a timeout is a loss rather than a filter.
    retries_answered: f64,
    retries_silent: f64,
    /// Cuts so far (for figures and tests).
    cuts: u32,
    /// Epochs with attempts finished since the last cut.
    busy_since_cut: u32,
}

impl Window {
    pub fn new(ceiling: usize, adaptive: bool, now: Duration) -> Window {
        let ceiling = ceiling.max(1);
        Window {
            adaptive,
            ceiling,
            floor: MIN_WINDOW.min(ceiling),
            size: ceiling as f64,
            epoch_start: now,
            last_cut: now,
            clean: 0,
            lost: 0,
            quiet: 0,
            quiet_first: 0,
            limited: false,
            retries_answered: 0.0,
            retries_silent: 0.0,
            cuts: 0,
            busy_since_cut: CALM_EPOCHS + 1,
        }
    }

    /// Attempts that may be in flight now.
    pub fn size(&self) -> usize {
        self.size as usize
    }

    pub fn cuts(&self) -> u32 {
        self.cuts
    }

    /// Attempts per second to pace at, once congestion has cut the window: `PACE_GAIN` ×
    /// window / RTT. A window alone sends in bursts (the retries of a lost burst time out
    /// together and go together); paced, the same window goes out evenly. With the gain above
    /// 1 the window, not the pace, is what holds the engine in steady state. None on a clean
    /// path (no cut yet, or grown back to the ceiling), and before any RTT is known.
    pub fn pace(&self, srtt: Option<Duration>) -> Option<u64> {
        if self.cuts == 0 || self.size() >= self.ceiling {
            return None;
        }
        let secs = srtt?.as_secs_f64().max(1e-4);
        Some(((PACE_GAIN * self.size / secs) as u64).max(1))
    }

    /// The engine had an attempt to send and the window was full.
    pub fn limited(&mut self) {
        self.limited = true;
    }

    /// Attempt `attempt` (0-based) of a target, sent at `sent`, was answered; the attempt
    /// before it went out at `earlier`. A retry's answer proves that attempt lost, unless
    /// `proves_loss` is false (an answer the host rations: see the module's notes).
    pub fn answered(&mut self, attempt: u32, sent: Duration, earlier: Duration, proves_loss: bool) {
        if attempt == 0 {
            if sent >= self.last_cut {
                self.clean += 1;
            }
        } else if proves_loss {
            self.retries_answered += 1.0;
            self.fade();
            // (A loss from before the last cut was paid for already.)
            if earlier >= self.last_cut {
                self.lost += 1;
            }
        } else if sent >= self.last_cut {
            self.quiet += 1;
        }
    }

    /// Attempt `attempt` (0-based) of a target, sent at `sent`, timed out.
    pub fn timed_out(&mut self, attempt: u32, sent: Duration) {
        if attempt > 0 {
            self.retries_silent += 1.0;
            self.fade();
        }
        if sent >= self.last_cut {
            self.quiet += 1;
            self.quiet_first += u32::from(attempt == 0);
        }
    }

    /// Halves the retry counts now and then: the odds follow the path as it changes.
    fn fade(&mut self) {
        if self.retries_answered + self.retries_silent > FADE_AT {
            self.retries_answered /= 2.0;
            self.retries_silent /= 2.0;
        }
    }

    /// Attempts of this epoch lost, as far as can be told: the first attempts that timed out
    /// times the odds that such a timeout is a loss (how often a retry is answered), or the
    /// proofs, whichever is more (the proofs of this epoch are of timeouts counted in earlier
    /// ones: the two are not added). On a firewalled network the retries of dropped ports
    /// stay silent and the odds stay near zero; behind a guard most retries are answered.
    fn lost_now(&self) -> f64 {
        let seen = self.retries_answered + self.retries_silent + PRIOR_SILENT;
        let odds = self.retries_answered / seen;
        f64::from(self.lost).max(odds * f64::from(self.quiet_first))
    }

    /// Ends the epoch if `epoch` has passed since it began: cut, grow, or stay.
    pub fn tick(&mut self, now: Duration, epoch: Duration) {
        if now.saturating_sub(self.epoch_start) < epoch {
            return;
        }
        if self.adaptive {
            if self.clean + self.lost + self.quiet > 0 {
                self.busy_since_cut = self.busy_since_cut.saturating_add(1);
            }
            let lost = self.lost_now();
            let answers = f64::from(self.clean) + lost;
            let loss = if answers == 0.0 { 0.0 } else { lost / answers };
            if lost >= f64::from(MIN_LOST) && loss > LOSS_CUT {
                self.size = (self.size * (1.0 - loss).max(DEEPEST)).max(self.floor as f64);
                self.last_cut = now;
                self.cuts += 1;
                self.busy_since_cut = 0;
            } else if self.limited {
                let finished = f64::from(self.clean + self.quiet + self.lost);
                // Near the last cut the window is near what the path carries: probe
                // gently there (a thirty-second per epoch), faster once it has held.
                let share = if self.busy_since_cut > CALM_EPOCHS {
                    8.0
                } else {
                    32.0
                };
                let step = (finished / 8.0).min(self.size / share + 1.0);
                self.size = (self.size + step).min(self.ceiling as f64);
            }
        }
        self.epoch_start = now;
        self.clean = 0;
        self.lost = 0;
        self.quiet = 0;
        self.quiet_first = 0;
        self.limited = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// One epoch of `clean` first-attempt answers and `lost` answered retries, all sent since
    /// the last cut, with the window full; returns the size after it.
    fn epoch(w: &mut Window, at: &mut Duration, clean: u32, lost: u32) -> usize {
        for _ in 0..clean {
            w.answered(0, *at, Duration::ZERO, true);
        }
        for _ in 0..lost {
            w.answered(1, *at, *at, true);
        }
        w.limited();
        *at += 100 * MS;
        w.tick(*at, 100 * MS);
        w.size()
    }

    #[test]
    fn heavy_loss_cuts_by_what_was_carried_once_per_epoch() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(256, true, at);
        // Half the answers came only on a retry: the window halves, once.
        assert_eq!(epoch(&mut w, &mut at, 50, 50), 128);
        // 90 % lost: at most a quarter per epoch.
        assert_eq!(epoch(&mut w, &mut at, 10, 90), 32);
        assert_eq!(w.cuts(), 2);
        // Losses of attempts sent before the last cut were paid for already.
        for _ in 0..50 {
            w.answered(1, at, at - 50 * MS, true);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!(w.cuts(), 2);
        // Never below the floor.
        for _ in 0..10 {
            epoch(&mut w, &mut at, 0, 100);
        }
        assert_eq!(w.size(), MIN_WINDOW);
    }

    #[test]
    fn a_few_random_losses_cut_nothing_and_clean_epochs_grow_to_the_ceiling() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(1000, true, at);
        assert_eq!(
            epoch(&mut w, &mut at, 500, 50),
            909,
            "9 % lost: cut by that"
        );
        // Two losses in a small epoch, or 1 % lost: noise, and the window grows back.
        assert_eq!(epoch(&mut w, &mut at, 10, 2), 910);
        // Near the last cut, a thirty-second of the window per epoch.
        assert_eq!(epoch(&mut w, &mut at, 990, 10), 940);
        assert_eq!(epoch(&mut w, &mut at, 0, 100), 235);
        // Growth: an eighth of the window per epoch at most, then the ceiling.
        let mut last = w.size();
        for _ in 0..40 {
            let now = epoch(&mut w, &mut at, 10_000, 0);
            // (+2: sizes are shown whole, kept fractional)
            assert!(now as f64 <= last as f64 * 1.125 + 2.0, "{last} -> {now}");
            last = now;
        }
        assert_eq!(last, 1000);
    }

    /// One epoch with the window full: `clean` first attempts answered, and `timeouts` first
    /// attempts and `silent` retries timed out.
    fn quiet_epoch(w: &mut Window, at: &mut Duration, clean: u32, timeouts: u32, silent: u32) {
        for _ in 0..clean {
            w.answered(0, *at, Duration::ZERO, true);
        }
        for _ in 0..timeouts {
            w.timed_out(0, *at);
        }
        for _ in 0..silent {
            w.timed_out(1, *at);
        }
        w.limited();
        *at += 100 * MS;
        w.tick(*at, 100 * MS);
    }

    /// A firewalled network: most attempts time out, and so do their retries. That is no
    /// loss, however many: the window keeps its size, and a window cut on a lossy stretch
    /// grows back on timeouts alone (answers are rare there).
    #[test]
    fn a_firewalled_network_keeps_its_window_and_grows_back_after_a_cut() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(100, true, at);
        for _ in 0..5 {
            quiet_epoch(&mut w, &mut at, 50, 500, 500);
        }
        assert_eq!((w.size(), w.cuts()), (100, 0));
        assert_eq!(epoch(&mut w, &mut at, 0, 10), 25);
        for _ in 0..40 {
            quiet_epoch(&mut w, &mut at, 5, 100, 100);
        }
        assert_eq!((w.size(), w.cuts()), (100, 1));
    }

    /// Behind a guard most retries are answered: a first attempt's timeout is then most likely
    /// a loss, and an epoch of timeouts cuts before their proofs come. The same epoch after
    /// silent retries cuts nothing.
    #[test]
    fn the_retries_odds_decide_what_a_timeout_means() {
        let mut at = Duration::from_secs(1);
        let mut guarded = Window::new(100, true, at);
        let mut firewalled = Window::new(100, true, at);
        // Retries of attempts sent before the windows began: odds, not losses of this epoch.
        for _ in 0..40 {
            guarded.answered(1, at, Duration::ZERO, true);
            firewalled.timed_out(1, at);
        }
        at += MS;
        for w in [&mut guarded, &mut firewalled] {
            quiet_epoch(w, &mut at, 40, 40, 0);
        }
        assert_eq!((guarded.cuts(), firewalled.cuts()), (1, 0));
        assert!(guarded.size() < 60, "{}", guarded.size());
    }

    /// A UDP port heard only on its retry, closed: the host rationed its ICMP errors, which
    /// proves nothing about the path.
    #[test]
    fn an_answer_the_host_rations_proves_no_loss() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(100, true, at);
        for _ in 0..100 {
            w.answered(1, at, at, false);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!((w.size(), w.cuts()), (100, 0));
        for _ in 0..100 {
            w.answered(1, at, at, true);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!(w.cuts(), 1, "the same answers, proving loss, cut");
    }

    #[test]
    fn an_idle_window_does_not_grow_and_fixed_mode_never_moves() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(100, true, at);
        epoch(&mut w, &mut at, 10, 90);
        let cut = w.size();
        // Answers, but the window was never full: nothing shows it could carry more.
        for _ in 0..100 {
            w.answered(0, at, Duration::ZERO, true);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!(w.size(), cut);
        // The epoch has not ended: nothing moves.
        let mut w = Window::new(100, true, at);
        for _ in 0..100 {
            w.answered(1, at, at, true);
        }
        w.tick(at + 99 * MS, 100 * MS);
        assert_eq!(w.size(), 100);
        let mut fixed = Window::new(100, false, at);
        assert_eq!(epoch(&mut fixed, &mut at, 0, 100), 100);
        assert_eq!(fixed.cuts(), 0);
    }
}
