//! The sender: walks the cursor, paces with the rate limiter, crafts into a batch and hands it
//! to the link. It keeps no per-probe state beyond the probes still waiting for an answer
//! (`Flight`s: 24 bytes each, so memory is rate × timeout, never the scan's size), which is
//! what retries and an exact resume point need.
//!
//! With the path monitor (adaptive rate, see `path`): its rate is this sender's share of the
//! monitor's, every probe is tagged with the measurement window it went out in, a random slot
//! in 32 (more at low rates) carries a canary, and probes of windows judged lossy are not
//! spent: a covered one (its position is in a run of `Rewalk`) comes back with the run, at
//! the rate the verdict cut to; any other goes again with the same attempt number.
//!
//! `step` does one round and returns; the caller owns time and waiting. The engine's thread
//! calls it in a loop on the real clock; the SimNet tests call it on a manual clock.

mod expire;
mod fill;
mod flight;

use super::RawOptions;
use super::host_rate::HostRate;
use super::icmp_pace::IcmpPace;
use super::path::rewalk::Rewalk;
use super::path::{PathMonitor, canary_every};
use super::table::AnsweredSet;
use crate::cursor::{Cursor, CursorState};
use crate::engine::EngineContext;
use crate::engine::pressure::{HOLD_NAP, Hold};
use crate::link::{FrameBatch, PacketTx};
use crate::packet::probe::Probe;
use crate::rate::{Pace, RateLimiter};
use crate::stop::StopLevel;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use flight::{Flight, Item, Origin};

/// Each sender picks its canary slots from its own sequence.
fn canary_seed(opts: &RawOptions) -> u64 {
    opts.thread.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sent something: call again at once.
    Busy,
    /// Nothing to do before this time (since the scan's origin).
    Idle(Duration),
    /// Every target is answered or given up on (or a stop left nothing more to do).
    Finished,
}

/// Probes parked for their host's rate at most; beyond, no new position is taken.
const PARK_LIMIT: usize = 1 << 16;
/// Attempts are counted in 16 bits; more retries than this are this many.
const MAX_RETRIES: u32 = u16::MAX as u32;
/// How soon to look again for a verdict a probe's retirement waits on.
const VERDICT_POLL: Duration = Duration::from_millis(1);

pub struct Sender<'a, P: Probe> {
    probe: &'a P,
    ctx: &'a EngineContext,
    answered: &'a AnsweredSet,
    opts: &'a RawOptions,
    cursor: Cursor,
    exhausted: bool,
    limiter: RateLimiter,
    /// Probes with attempts left, due `timeout` after sending (in send order, so in due order).
    retrying: VecDeque<Flight>,
    /// Last attempts, due `wait` after sending: the cooldown.
    last: VecDeque<Flight>,
    /// Silent after an attempt and owed another (or the same again, after a lossy window).
    resend: VecDeque<Item>,
    /// UDP retries to hosts that ration their ICMP errors, sent at `pace` (see `icmp_pace`).
    paced: VecDeque<Item>,
    pacing: Option<&'a IcmpPace>,
    pace: RateLimiter,
    /// When the pace next allows a paced retry, if it said to wait.
    paced_at: Option<Duration>,
    origin: Duration,
    /// Positions a graceful stop left owing retries: they go to the resume point.
    owed: Vec<u64>,
    batch: FrameBatch,
    /// Backpressure from the stages after the engine (see `engine::pressure`).
    hold: Hold,
    /// The adaptive rate's monitor; None in fixed mode.
    path: Option<&'a PathMonitor>,
    /// The monitor's rate this sender last took its share of.
    path_rate: u64,
    rewalk: Rewalk,
    /// Picks the slots that carry a canary: at random, since a policer passes probes in a
    /// pattern (a token bucket passes the first few of every burst) that canaries in fixed
    /// slots would alias with.
    rng: SmallRng,
    /// One slot in this many, at the monitor's present rate.
    canary_every: u32,
    host_rate: Option<HostRate<Item>>,
    /// A probe's retirement waits for its window's verdict.
    awaiting_verdict: bool,
}

impl<'a, P: Probe> Sender<'a, P> {
    pub fn new(
        probe: &'a P,
        ctx: &'a EngineContext,
        answered: &'a AnsweredSet,
        opts: &'a RawOptions,
        cursor: Cursor,
        now: Duration,
        pacing: Option<&'a IcmpPace>,
    ) -> Self {
        Sender {
            probe,
            ctx,
            answered,
            opts,
            exhausted: false,
            limiter: RateLimiter::new(opts.rate, RateLimiter::default_burst(opts.rate), now),
            retrying: VecDeque::new(),
            last: VecDeque::new(),
            resend: VecDeque::new(),
            paced: VecDeque::new(),
            pacing,
            pace: RateLimiter::new(Some(1000), 1, now),
            paced_at: None,
            origin: now,
            owed: Vec::new(),
            batch: FrameBatch::new(opts.batch),
            hold: Hold::new(opts.senders),
            path: None,
            path_rate: 0,
            rewalk: Rewalk::new(cursor.stride()),
            rng: SmallRng::seed_from_u64(canary_seed(opts)),
            canary_every: canary_every(opts.rate.unwrap_or(u64::MAX)),
            host_rate: opts.max_host_rate.map(HostRate::new),
            awaiting_verdict: false,
            cursor,
        }
    }

    /// Paces by the path monitor's rate (this sender's share of it) and its verdicts.
    pub fn with_path(mut self, path: Option<&'a PathMonitor>) -> Self {
        self.path = path.filter(|_| self.opts.listening);
        self
    }

    /// Probes waiting for an answer right now (for figures and tests).
    pub fn in_flight(&self) -> usize {
        self.retrying.len() + self.last.len()
    }

    pub fn step(
        &mut self,
        now: Duration,
        level: StopLevel,
        tx: &mut impl PacketTx,
    ) -> io::Result<Step> {
        if level == StopLevel::Abort {
            return Ok(Step::Finished);
        }
        self.follow_path(now);
        self.expire(now, level);
        // While the stages after the engine are behind, nothing new is crafted, retries
        // included: the only answers still to come are those of the probes already out.
        let held = self.hold.check(&self.ctx.report, now);
        let mut limited = None;
        if level == StopLevel::Running && !held && self.has_work(now) && !self.batch.is_full() {
            match self.limiter.poll(now, self.batch.free() as u64) {
                Pace::Wait(d) => limited = Some(now + d),
                Pace::Send(n) => self.fill(now, n as usize),
            }
        }
        let before = self.batch.len();
        if before > 0 {
            let sent = tx.send_batch(&self.batch)?;
            self.batch.consume(sent);
            if sent == 0 {
                // The device queue is full: let it drain a little.
                return Ok(Step::Idle(now + Duration::from_micros(50)));
            }
            return Ok(Step::Busy);
        }
        if let Some(at) = limited {
            return Ok(Step::Idle(at));
        }
        let running = level == StopLevel::Running;
        if held && running && self.has_work(now) {
            return Ok(Step::Idle(now + HOLD_NAP));
        }
        if running && (!self.resend.is_empty() || self.takes_new() || self.rewalk.has_todo()) {
            return Ok(Step::Busy);
        }
        let mut wake: Vec<Duration> = [self.retrying.front(), self.last.front()]
            .into_iter()
            .flatten()
            .map(Flight::due)
            .collect();
        if running {
            if !self.paced.is_empty() {
                wake.push(self.paced_at.unwrap_or(now));
            }
            wake.extend(self.host_rate.as_ref().and_then(HostRate::next_ready));
            // Runs to walk again once the rate settles, or windows whose verdict may bring
            // some: look again shortly.
            if self.rewalk.has_todo() || (self.rewalk.awaiting() && self.in_flight() == 0) {
                wake.push(now + VERDICT_POLL);
            }
        }
        if self.awaiting_verdict {
            wake.push(now + VERDICT_POLL);
        }
        Ok(match wake.into_iter().min() {
            Some(at) => Step::Idle(at.max(now)),
            None => Step::Finished,
        })
    }

    /// The resume point: where the walk stands, plus every position not finished — owed a
    /// retry by a graceful stop, or (after an abort) still waiting for its answer.
    pub fn finish(mut self, level: StopLevel) -> CursorState {
        self.settle_runs();
        self.cursor
            .state(self.unfinished(level == StopLevel::Abort))
    }

    /// A checkpoint while running: the state an abort now would leave (every probe in
    /// flight and not yet seen answered is pending), without stopping anything.
    pub fn snapshot(&self) -> CursorState {
        self.cursor.state(self.unfinished(true))
    }

    fn unfinished(&self, in_flight_too: bool) -> Vec<u64> {
        let mut unfinished = self.owed.clone();
        let items = self.resend.iter().chain(self.paced.iter());
        unfinished.extend(items.map(|i| i.pos));
        if let Some(h) = &self.host_rate {
            unfinished.extend(h.parked_items().map(|i| i.pos));
        }
        let silent = |pos: &u64| !self.answered.contains(self.cursor.index_at(*pos));
        unfinished.extend(self.rewalk.todo_positions().filter(silent));
        if in_flight_too {
            for f in self.retrying.iter().chain(self.last.iter()) {
                if silent(&f.pos) {
                    unfinished.push(f.pos);
                }
            }
        }
        unfinished
    }

    /// New positions are there to take (not all walked, and the hosts' limit leaves room).
    fn takes_new(&self) -> bool {
        !self.exhausted
            && self
                .host_rate
                .as_ref()
                .is_none_or(|h| h.parked() < PARK_LIMIT)
    }

    fn has_work(&self, now: Duration) -> bool {
        !self.resend.is_empty()
            || !self.paced.is_empty()
            || self.takes_new()
            || self.rewalk.has_todo()
            || self
                .host_rate
                .as_ref()
                .and_then(HostRate::next_ready)
                .is_some_and(|at| at <= now)
    }

    /// Takes this sender's share of the monitor's rate, and the verdicts that came in.
    fn follow_path(&mut self, now: Duration) {
        let Some(path) = self.path else { return };
        let rate = path.rate();
        if rate != self.path_rate {
            self.path_rate = rate;
            self.canary_every = canary_every(rate);
            let share = super::share(rate, self.opts.thread, self.opts.senders.max(1));
            self.limiter.retune(share, now);
        }
        self.settle_runs();
    }

    fn settle_runs(&mut self) {
        if let Some(path) = self.path {
            self.rewalk.settle(|w| path.verdict(w));
        }
    }

    /// A paced retry, if the pace allows one now.
    fn take_paced(&mut self, now: Duration) -> Option<Item> {
        let pacing = self.pacing?;
        if self.paced.is_empty() {
            return None;
        }
        let shares = self.opts.senders.max(1);
        self.pace.set_rate(
            Some(pacing.rate(now.saturating_sub(self.origin), shares)),
            now,
        );
        match self.pace.poll(now, 1) {
            Pace::Send(_) => {
                self.paced_at = None;
                self.paced.pop_front()
            }
            Pace::Wait(d) => {
                self.paced_at = Some(now + d);
                None
            }
        }
    }

    /// The next probe to send: parked ones whose host slot has come (reserved: they go
    /// without asking again), then retries, then runs of lossy windows, then new positions.
    fn next_item(&mut self, now: Duration) -> Option<(Item, u64, bool)> {
        if let Some(item) = self.host_rate.as_mut().and_then(|h| h.pop_ready(now)) {
            return Some((item, self.cursor.index_at(item.pos), true));
        }
        self.next_unreserved(now).map(|(item, j)| (item, j, false))
    }

    fn next_unreserved(&mut self, now: Duration) -> Option<(Item, u64)> {
        let item = match self.resend.pop_front() {
            Some(r) => Some(r),
            None => self.take_paced(now),
        };
        if let Some(item) = item {
            return Some((item, self.cursor.index_at(item.pos)));
        }
        if self
            .host_rate
            .as_ref()
            .is_some_and(|h| h.parked() >= PARK_LIMIT)
        {
            return None; // the hosts' limit holds the scan back: nothing new for now
        }
        // The verdict that sent runs back cut the rate first: they go at the rate the path
        // was found to carry.
        if self.rewalk.has_todo() {
            while let Some((pos, walks)) = self.rewalk.next_position() {
                let j = self.cursor.index_at(pos);
                if !self.answered.contains(j) {
                    let again = walks.saturating_add(1);
                    return Some((
                        Item {
                            again,
                            ..Item::first(pos, Origin::Rewalk)
                        },
                        j,
                    ));
                }
            }
        }
        if self.exhausted {
            return None;
        }
        let origin = if self.cursor.replaying() {
            Origin::Replay
        } else {
            Origin::Walk
        };
        match self.cursor.next_target() {
            Some((pos, j)) => Some((Item::first(pos, origin), j)),
            None => {
                self.exhausted = true;
                None
            }
        }
    }
}
