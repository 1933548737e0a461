//! The connect engine's window under congestion (`--rate-mode adaptive`): how many attempts
//! may be in flight, between a floor and the window the descriptor limit allows, and, once
//! congestion has been seen, how fast they leave.
//!
//! **The signal: attempts lost by hosts that answer.** A target that stayed silent and then
//! answered a retry proves its earlier attempt was lost: dropped on a path that works, or by a
//! host whose SYN backlog or rate guard was full. That marks its host *lossy* for two epochs,
//! and the host's timeouts of the last two epochs and of those two count as losses too (most
//! of an overloaded host's attempts die in bursts, retries included, and would otherwise
//! never be heard of: counted, the first cut is sized by the real loss). A timeout
//! on any other host is no evidence: hosts that never answer are filtered by design, and so
//! are the dropped ports of hosts that answer on others (a firewalled host: three ports open,
//! the rest silently dropped). Counting every timeout on a host that has answered would narrow
//! the window to its floor on any such network.
//!
//! **The control, once per epoch** (the first attempt's wait, about the time a loss takes to
//! show; never per timeout):
//! - loss = lost / (lost + clean), over attempts sent since the last cut (a loss from before
//!   it was paid for already). Above `LOSS_CUT` and at least `MIN_LOST` losses, the window is
//!   cut to what the path carried: × (1 − loss), at most to a quarter per epoch
//!   (multiplicative decrease sized by the loss, so a badly overloaded host is reached in two
//!   or three epochs rather than six halvings).
//! - otherwise, if the window was what held the engine back, it grows by one slot per eight
//!   clean answers, at most an eighth of itself per epoch (additive per answer, capped so a
//!   fast LAN, where an epoch holds hundreds of round trips, does not jump).
//! - once cut, attempts are also paced (`pace`): a window sends in bursts, and bursts are
//!   what a SYN guard or a policer drops.
//!
//! A few random losses (a lossy path, not an overloaded one: 1 % of replies) stay under
//! `LOSS_CUT` and cut nothing. Fixed mode keeps the window at its ceiling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// The window never narrows below this (or the ceiling, if that is smaller).
pub const MIN_WINDOW: usize = 4;
/// The loss fraction above which an epoch cuts the window.
const LOSS_CUT: f64 = 1.0 / 16.0;
/// Fewer losses than this in an epoch are noise, whatever the fraction.
const MIN_LOST: u32 = 3;
/// The deepest cut in one epoch.
const DEEPEST: f64 = 0.25;
/// How much faster than window / RTT the paced attempts go.
const PACE_GAIN: f64 = 1.25;
/// Epochs a host stays lossy after its last recovered loss.
const LOSSY_EPOCHS: u32 = 2;

/// What the window saw of a target's previous attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Earlier {
    /// When it went out.
    pub sent: Duration,
    /// Its timeout was counted as a loss already.
    pub counted: bool,
}

#[derive(Debug, Clone)]
pub struct Window {
    adaptive: bool,
    ceiling: usize,
    floor: usize,
    size: f64,
    epoch_start: Duration,
    epoch: Duration,
    last_cut: Duration,
    /// This epoch: first attempts answered, attempts lost, and whether the window was full at
    /// some point.
    clean: u32,
    lost: u32,
    limited: bool,
    /// Cuts so far (for figures and tests).
    cuts: u32,
    /// Hosts with a recovered loss lately, and when the last one came.
    lossy: HashMap<IpAddr, Duration>,
    /// Timeouts of other hosts, this epoch and the one before (counted if the host turns
    /// lossy): memory for hosts with timeouts in two epochs, at most two windows' worth.
    recent: HashMap<IpAddr, (u32, u32)>,
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
            epoch: Duration::ZERO,
            last_cut: now,
            clean: 0,
            lost: 0,
            limited: false,
            cuts: 0,
            lossy: HashMap::new(),
            recent: HashMap::new(),
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

    /// `host` answered attempt `attempt` (0-based), sent at `sent`; `earlier` is what was seen
    /// of the attempt before it.
    pub fn answered(
        &mut self,
        host: IpAddr,
        attempt: u32,
        sent: Duration,
        earlier: Earlier,
        now: Duration,
    ) {
        if attempt == 0 {
            if sent >= self.last_cut {
                self.clean += 1;
            }
            return;
        }
        // The attempt before this one was lost: the host answers, and lost it.
        if !self.adaptive {
            return;
        }
        self.lossy.insert(host, now);
        if !earlier.counted && earlier.sent >= self.last_cut {
            self.lost += 1;
        }
        // Its recent timeouts were losses too (one of them, most likely, this very one).
        let (this, before) = self.recent.remove(&host).unwrap_or_default();
        self.lost += (this + before).saturating_sub(1);
    }

    /// An attempt to `host`, sent at `sent`, timed out. Counted as lost (true) when the host
    /// is lossy now, so that an answer to its retry does not count it again.
    pub fn timed_out(&mut self, host: IpAddr, sent: Duration, now: Duration) -> bool {
        let lossy_for = self.epoch * LOSSY_EPOCHS;
        let lossy = self
            .lossy
            .get(&host)
            .is_some_and(|&at| now.saturating_sub(at) <= lossy_for);
        if sent < self.last_cut || !self.adaptive {
            return false;
        }
        if lossy {
            self.lost += 1;
            return true;
        }
        self.recent.entry(host).or_default().0 += 1;
        false
    }

    /// Ends the epoch if `epoch` has passed since it began: cut, grow, or stay.
    pub fn tick(&mut self, now: Duration, epoch: Duration) {
        self.epoch = epoch;
        if now.saturating_sub(self.epoch_start) < epoch {
            return;
        }
        if self.adaptive {
            let answers = self.clean + self.lost;
            let loss = if answers == 0 {
                0.0
            } else {
                f64::from(self.lost) / f64::from(answers)
            };
            if self.lost >= MIN_LOST && loss > LOSS_CUT {
                self.size = (self.size * (1.0 - loss).max(DEEPEST)).max(self.floor as f64);
                self.last_cut = now;
                self.cuts += 1;
            } else if self.limited {
                let step = (f64::from(self.clean) / 8.0).min(self.size / 8.0 + 1.0);
                self.size = (self.size + step).min(self.ceiling as f64);
            }
            let lossy_for = epoch * LOSSY_EPOCHS;
            self.lossy
                .retain(|_, at| now.saturating_sub(*at) <= lossy_for);
            self.recent.retain(|_, counts| {
                *counts = (0, counts.0);
                counts.1 > 0
            });
        }
        self.epoch_start = now;
        self.clean = 0;
        self.lost = 0;
        self.limited = false;
    }

    /// Hosts remembered as lossy now (for tests and figures).
    pub fn lossy_hosts(&self) -> usize {
        self.lossy.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 1));

    fn sent_at(sent: Duration) -> Earlier {
        Earlier {
            sent,
            counted: false,
        }
    }

    /// One epoch of `clean` first-attempt answers and `lost` answered retries, all sent since
    /// the last cut, with the window full; returns the size after it.
    fn epoch(w: &mut Window, at: &mut Duration, clean: u32, lost: u32) -> usize {
        for _ in 0..clean {
            w.answered(HOST, 0, *at, Earlier::default(), *at);
        }
        for _ in 0..lost {
            w.answered(HOST, 1, *at, sent_at(*at), *at);
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
            w.answered(HOST, 1, at, sent_at(at - 50 * MS), at);
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
        assert_eq!(epoch(&mut w, &mut at, 990, 10), 1000);
        assert_eq!(epoch(&mut w, &mut at, 0, 100), 250);
        // Growth: an eighth of the window per epoch at most, then the ceiling.
        let mut last = w.size();
        for _ in 0..20 {
            let now = epoch(&mut w, &mut at, 10_000, 0);
            // (+2: sizes are shown whole, kept fractional)
            assert!(now as f64 <= last as f64 * 1.125 + 2.0, "{last} -> {now}");
            last = now;
        }
        assert_eq!(last, 1000);
    }

    /// A timeout says nothing until its host answers a retry: then that host's timeouts of the
    /// last two epochs count, and its next ones do too, until two epochs pass without a
    /// recovered loss. Other hosts' timeouts never count.
    #[test]
    fn timeouts_count_only_on_hosts_that_lately_lost_and_answered() {
        let other = IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, 2));
        let mut at = Duration::ZERO;
        let mut w = Window::new(100, true, at);
        for _ in 0..50 {
            assert!(!w.timed_out(HOST, at, at), "a firewall looks the same");
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!((w.size(), w.cuts()), (100, 0));
        for _ in 0..10 {
            w.timed_out(HOST, at, at);
        }
        // Its retry is answered: 60 losses (this one among them), and the next timeout is one.
        w.answered(HOST, 1, at, sent_at(at), at);
        assert!(w.timed_out(HOST, at, at));
        assert!(!w.timed_out(other, at, at));
        for _ in 0..39 {
            w.answered(other, 0, at, Earlier::default(), at);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!((w.size(), w.cuts()), (39, 1), "61 of 100 lost");
        assert_eq!(w.lossy_hosts(), 1);
        for _ in 0..2 {
            at += 100 * MS;
            w.tick(at, 100 * MS);
        }
        assert_eq!(w.lossy_hosts(), 0);
        assert!(!w.timed_out(HOST, at, at));
    }

    #[test]
    fn an_idle_window_does_not_grow_and_fixed_mode_never_moves() {
        let mut at = Duration::ZERO;
        let mut w = Window::new(100, true, at);
        epoch(&mut w, &mut at, 10, 90);
        let cut = w.size();
        // Answers, but the window was never full: nothing shows it could carry more.
        for _ in 0..100 {
            w.answered(HOST, 0, at, Earlier::default(), at);
        }
        at += 100 * MS;
        w.tick(at, 100 * MS);
        assert_eq!(w.size(), cut);
        // The epoch has not ended: nothing moves.
        let mut w = Window::new(100, true, at);
        for _ in 0..100 {
            w.answered(HOST, 1, at, sent_at(at), at);
        }
        w.tick(at + 99 * MS, 100 * MS);
        assert_eq!(w.size(), 100);
        let mut fixed = Window::new(100, false, at);
        assert_eq!(epoch(&mut fixed, &mut at, 0, 100), 100);
        assert_eq!(fixed.cuts(), 0);
    }
}
