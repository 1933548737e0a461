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

use super::RawOptions;
use super::host_rate::HostRate;
use super::icmp_pace::IcmpPace;
use super::path::control::Verdict;
use super::path::rewalk::Rewalk;
use super::path::{PathMonitor, canary_every};
use super::table::AnsweredSet;
use crate::cursor::{Cursor, CursorState};
use crate::engine::EngineContext;
use crate::engine::pressure::{HOLD_NAP, Hold};
use crate::engine::report::silent_state;
use crate::link::{FrameBatch, PacketTx};
use crate::packet::probe::{Probe, Slot};
use crate::rate::{Pace, RateLimiter};
use crate::stop::StopLevel;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Where a probe's position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The walk of new positions.
    Walk,
    /// A lossy window's run, walked again: already counted as done once.
    Rewalk,
    /// A position a resumed scan owed (a run of one, in its window).
    Replay,
}

/// A probe to send: a position of the walk, its attempt, where it came from, and how many
/// times a lossy path sent it again without spending an attempt.
#[derive(Debug, Clone, Copy)]
struct Item {
    pos: u64,
    attempt: u16,
    origin: Origin,
    again: u8,
}

/// A probe goes again for the path's loss at most this many times without spending its
/// attempt: a path that stays lossy at the rate's floor must not keep a scan from ending.
const MAX_AGAIN: u8 = 2;

impl Item {
    fn first(pos: u64, origin: Origin) -> Item {
        Item {
            pos,
            attempt: 0,
            origin,
            again: 0,
        }
    }

    /// Its position is in a run of its window (a first attempt, not walked again too often
    /// already), so a lossy verdict brings it back with the run at once, without waiting
    /// out its timeout.
    fn covered(self) -> bool {
        self.attempt == 0 && self.again < MAX_AGAIN
    }

    /// Finishing it counts a target as done (a run's probes were counted the first time).
    fn counts(self) -> bool {
        self.origin != Origin::Rewalk
    }
}

/// A probe sent and not yet answered or given up on. Its index in the space is the cursor's
/// permutation of its position, computed again when needed: 24 bytes rather than 40 for each
/// of the rate × timeout probes in flight.
#[derive(Debug, Clone, Copy)]
struct Flight {
    pos: u64,
    /// When its wait is over, in nanoseconds since the scan's origin.
    due_ns: u64,
    window: u32,
    attempt: u16,
    origin: Origin,
    again: u8,
}

impl Flight {
    fn new(item: Item, due: Duration, window: u32) -> Flight {
        Flight {
            pos: item.pos,
            due_ns: due.as_nanos().min(u128::from(u64::MAX)) as u64,
            window,
            attempt: item.attempt,
            origin: item.origin,
            again: item.again,
        }
    }

    fn item(&self) -> Item {
        Item {
            pos: self.pos,
            attempt: self.attempt,
            origin: self.origin,
            again: self.again,
        }
    }

    fn due(&self) -> Duration {
        Duration::from_nanos(self.due_ns)
    }
}

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

    /// Crafts up to `n` probes into the batch: canaries, retries, runs, new targets.
    fn fill(&mut self, now: Duration, n: usize) {
        let sent_us = now.as_micros() as u32; // wraps every 71 minutes; RTTs are differences
        let before = self.batch.len();
        let walked = self.cursor.taken();
        let window = self.path.map_or(0, PathMonitor::window);
        // A probe parked for its host takes a turn of the loop, not a slot: bounded all the same.
        for _ in 0..4 * n {
            if self.batch.len() - before >= n {
                break;
            }
            if self.path.is_some()
                && self.rng.random_ratio(1, self.canary_every)
                && self.send_canary(now, sent_us)
            {
                continue;
            }
            let Some((item, j, reserved)) = self.next_item(now) else {
                break;
            };
            if !self.send_one(now, sent_us, window, item, j, reserved) {
                break;
            }
        }
        let walked = self.cursor.taken() - walked;
        self.ctx.stats.walked.fetch_add(walked, Relaxed);
        // Counted once per batch: an atomic add per probe was a tenth of the generator's time.
        let crafted = (self.batch.len() - before) as u64;
        self.ctx.stats.sent.fetch_add(crafted, Relaxed);
        if let Some(path) = self.path {
            path.record_sent(window, crafted);
        }
        if !self.opts.listening {
            // Nothing can answer (dry run, benchmark): a probe is finished once it is out.
            self.ctx.stats.done.fetch_add(crafted, Relaxed);
        }
    }

    /// Crafts one probe and keeps its flight; false when the batch is full (it waits).
    fn send_one(
        &mut self,
        now: Duration,
        sent_us: u32,
        window: u32,
        item: Item,
        j: u64,
        reserved: bool,
    ) -> bool {
        let (ip, slot) = self.ctx.space.probe(j);
        let IpAddr::V4(dst) = ip else {
            // The engine refuses IPv6 targets before it starts; should one slip through,
            // it is given up on rather than sent wrongly.
            self.ctx.stats.done.fetch_add(1, Relaxed);
            return true;
        };
        if self.ctx.space.skips(ip) {
            self.ctx.stats.done.fetch_add(1, Relaxed);
            return true;
        }
        if let Some(h) = self.host_rate.as_mut().filter(|_| !reserved) {
            let host = j % self.ctx.space.hosts().max(1);
            if let Err(at) = h.admit(host, now) {
                h.park(at, item);
                return true;
            }
        }
        let crafted = self
            .batch
            .push_with(|out| self.probe.craft(out, dst, slot, sent_us));
        if !crafted {
            self.resend.push_front(item);
            return false;
        }
        if !self.opts.listening {
            return true;
        }
        if item.covered() && self.path.is_some() {
            self.rewalk.record(window, item.pos, item.again);
        }
        let final_attempt = u32::from(item.attempt) >= self.opts.retries.min(MAX_RETRIES);
        let (queue, wait) = if final_attempt {
            (&mut self.last, self.opts.wait)
        } else {
            (&mut self.retrying, self.opts.timeout)
        };
        queue.push_back(Flight::new(item, now + wait, window));
        true
    }

    /// A canary in this slot, if the monitor has one to give: a probe like any other (its
    /// host's limit included) that no flight tracks; the monitor waits for its answer.
    fn send_canary(&mut self, now: Duration, sent_us: u32) -> bool {
        let Some(path) = self.path else { return false };
        let Some(j) = path.draw_canary(now) else {
            return false;
        };
        let (ip, slot) = self.ctx.space.probe(j);
        let host = j % self.ctx.space.hosts().max(1);
        // A host recognised as answering everything since it was offered is no canary.
        let allowed = !self.ctx.report.answers_all().contains(host)
            && self
                .host_rate
                .as_mut()
                .is_none_or(|h| h.try_admit(host, now));
        let sent = match ip {
            IpAddr::V4(dst) if allowed => self
                .batch
                .push_with(|out| self.probe.craft(out, dst, slot, sent_us)),
            _ => false,
        };
        if !sent {
            path.cancel_canary(j);
        }
        sent
    }

    /// Retires answered probes and those whose wait is over: silent ones with attempts left
    /// are resent (or, after a graceful stop, owed); silent last attempts are given up on.
    /// A silent probe of a lossy window is not spent (see the module's note); its retirement
    /// waits for its window's verdict.
    fn expire(&mut self, now: Duration, level: StopLevel) {
        self.awaiting_verdict = false;
        let running = level == StopLevel::Running;
        for last in [false, true] {
            loop {
                let queue = if last { &self.last } else { &self.retrying };
                let Some(f) = queue.front().copied() else {
                    break;
                };
                let j = self.cursor.index_at(f.pos);
                let answered = self.answered.contains(j);
                if !answered && f.due() > now {
                    break;
                }
                let verdict = match (answered, self.path) {
                    (false, Some(path)) => path.verdict(f.window),
                    _ => Verdict::Clean,
                };
                if verdict == Verdict::Pending {
                    self.awaiting_verdict = true;
                    break;
                }
                if last {
                    self.last.pop_front();
                } else {
                    self.retrying.pop_front();
                }
                self.retire(f, j, answered, verdict, last, running);
            }
        }
        if !running {
            self.owed.extend(self.resend.drain(..).map(|i| i.pos));
            self.owed.extend(self.paced.drain(..).map(|i| i.pos));
            if let Some(h) = &mut self.host_rate {
                self.owed.extend(h.drain().map(|i| i.pos));
            }
        }
        // Probes just dropped for their run: the run must be in `rewalk` before anyone
        // takes a resume point.
        self.settle_runs();
    }

    fn retire(
        &mut self,
        f: Flight,
        j: u64,
        answered: bool,
        verdict: Verdict,
        last: bool,
        running: bool,
    ) {
        let item = f.item();
        // A first attempt of a lossy window comes back with its run; a retry lost to the
        // path — in a lossy window, or one a little over what the path carries — goes again
        // with the same attempt (there are few retries, and each is a target's last chances).
        let lossy = if item.covered() {
            verdict.walk_again()
        } else {
            (verdict.walk_again() || verdict == Verdict::Over) && item.again < MAX_AGAIN
        };
        let done = |s: &Self| {
            if item.counts() {
                s.ctx.stats.done.fetch_add(1, Relaxed);
            }
        };
        if answered {
            return done(self);
        }
        if lossy {
            if item.covered() {
                // Its run comes back (or, after a stop, goes to the resume point).
                return done(self);
            }
            // The same attempt again: the path, not the target, was silent.
            let again = Item {
                again: item.again + 1,
                ..item
            };
            return match running {
                true => self.resend.push_back(again),
                false => self.owed.push(item.pos),
            };
        }
        if !last {
            let retry = Item {
                attempt: item.attempt.saturating_add(1),
                ..item
            };
            let host = j % self.ctx.space.hosts().max(1);
            match (running, self.pacing) {
                (false, _) => self.owed.push(item.pos),
                (true, Some(p)) if p.rationed(host) => self.paced.push_back(retry),
                (true, _) => self.resend.push_back(retry),
            }
            return;
        }
        done(self);
        self.give_up(j);
    }

    /// A target silent after its last attempt: filtered (no response). Reported only when
    /// asked; then it is claimed in the table, so an answer arriving even later is a
    /// duplicate rather than a second, contradicting report.
    fn give_up(&self, j: u64) {
        let (ip, slot) = self.ctx.space.probe(j);
        let Slot::Port(port) = slot else {
            return; // a host silent to a ping is simply not reported up
        };
        if !self.opts.listening {
            return;
        }
        let proto = self.ctx.space.proto();
        let reported = self.ctx.report.reports(silent_state(proto));
        if reported && !self.answered.claim(j) {
            return; // answered between the check and now: the capture thread reported it
        }
        self.ctx.report.silent(ip, port, proto);
    }
}
