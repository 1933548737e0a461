//! The sender: walks the cursor, paces with the rate limiter, crafts into a batch and hands it
//! to the link. It keeps no per-probe state beyond the probes still waiting for an answer
//! (`Flight`s: 32 bytes each, so memory is rate × timeout, never the scan's size), which is
//! what retries and an exact resume point need.
//!
//! `step` does one round and returns; the caller owns time and waiting. The engine's thread
//! calls it in a loop on the real clock; the SimNet tests call it on a manual clock.

use super::RawOptions;
use super::icmp_pace::IcmpPace;
use super::table::AnsweredSet;
use crate::cursor::{Cursor, CursorState};
use crate::engine::EngineContext;
use crate::engine::pressure::{HOLD_NAP, Hold};
use crate::engine::report::silent_state;
use crate::link::{FrameBatch, PacketTx};
use crate::packet::probe::{Probe, Slot};
use crate::rate::{Pace, RateLimiter};
use crate::stop::StopLevel;
use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// A probe sent and not yet answered or given up on.
#[derive(Debug, Clone, Copy)]
struct Flight {
    pos: u64,
    j: u64,
    due: Duration,
    attempt: u32,
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
    /// Silent after an attempt and owed another: (position, index, attempt number).
    resend: VecDeque<(u64, u64, u32)>,
    /// UDP retries to hosts that ration their ICMP errors, sent at `pace` (see `icmp_pace`).
    paced: VecDeque<(u64, u64, u32)>,
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
            cursor,
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
        }
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
        self.expire(now, level);
        // While the stages after the engine are behind, nothing new is crafted, retries
        // included: the only answers still to come are those of the probes already out.
        let held = self.hold.check(&self.ctx.report, now);
        let mut limited = None;
        if level == StopLevel::Running && !held && self.has_work() && !self.batch.is_full() {
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
        if held && level == StopLevel::Running && self.has_work() {
            return Ok(Step::Idle(now + HOLD_NAP));
        }
        let sending = level == StopLevel::Running && (!self.resend.is_empty() || !self.exhausted);
        if sending {
            return Ok(Step::Busy);
        }
        let paced = match (level, self.paced.is_empty()) {
            (StopLevel::Running, false) => Some(self.paced_at.unwrap_or(now)),
            _ => None,
        };
        let next_due = [self.retrying.front(), self.last.front()]
            .into_iter()
            .flatten()
            .map(|f| f.due)
            .chain(paced)
            .min();
        Ok(match next_due {
            Some(due) => Step::Idle(due.max(now)),
            None => Step::Finished,
        })
    }

    /// The resume point: where the walk stands, plus every position not finished — owed a
    /// retry by a graceful stop, or (after an abort) still waiting for its answer.
    pub fn finish(self, level: StopLevel) -> CursorState {
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
        unfinished.extend(self.resend.iter().map(|&(pos, ..)| pos));
        unfinished.extend(self.paced.iter().map(|&(pos, ..)| pos));
        if in_flight_too {
            for f in self.retrying.iter().chain(self.last.iter()) {
                if !self.answered.contains(f.j) {
                    unfinished.push(f.pos);
                }
            }
        }
        unfinished
    }

    fn has_work(&self) -> bool {
        !self.resend.is_empty() || !self.paced.is_empty() || !self.exhausted
    }

    /// A paced retry, if the pace allows one now.
    fn take_paced(&mut self, now: Duration) -> Option<(u64, u64, u32)> {
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

    /// Crafts up to `n` probes into the batch: retries first, then new targets.
    fn fill(&mut self, now: Duration, n: usize) {
        let sent_us = now.as_micros() as u32; // wraps every 71 minutes; RTTs are differences
        let before = self.batch.len();
        let walked = self.cursor.taken();
        self.fill_inner(now, sent_us, n);
        let walked = self.cursor.taken() - walked;
        self.ctx.stats.walked.fetch_add(walked, Relaxed);
        // Counted once per batch: an atomic add per probe was a tenth of the generator's time.
        let crafted = (self.batch.len() - before) as u64;
        self.ctx.stats.sent.fetch_add(crafted, Relaxed);
        if !self.opts.listening {
            // Nothing can answer (dry run, benchmark): a probe is finished once it is out.
            self.ctx.stats.done.fetch_add(crafted, Relaxed);
        }
    }

    fn fill_inner(&mut self, now: Duration, sent_us: u32, n: usize) {
        for _ in 0..n {
            let next = match self.resend.pop_front() {
                Some(r) => Some(r),
                None => self.take_paced(now),
            };
            let (pos, j, attempt) = match next {
                Some(r) => r,
                None if self.exhausted => return,
                None => match self.cursor.next_target() {
                    Some((pos, j)) => (pos, j, 0),
                    None => {
                        self.exhausted = true;
                        return;
                    }
                },
            };
            let (ip, slot) = self.ctx.space.probe(j);
            let IpAddr::V4(dst) = ip else {
                // The engine refuses IPv6 targets before it starts; should one slip through,
                // it is given up on rather than sent wrongly.
                self.ctx.stats.done.fetch_add(1, Relaxed);
                continue;
            };
            if self.ctx.space.skips(ip) {
                self.ctx.stats.done.fetch_add(1, Relaxed);
                continue;
            }
            let crafted = self
                .batch
                .push_with(|out| self.probe.craft(out, dst, slot, sent_us));
            if !crafted {
                self.resend.push_front((pos, j, attempt));
                return;
            }
            if !self.opts.listening {
                continue;
            }
            let final_attempt = attempt >= self.opts.retries;
            let (queue, wait) = if final_attempt {
                (&mut self.last, self.opts.wait)
            } else {
                (&mut self.retrying, self.opts.timeout)
            };
            queue.push_back(Flight {
                pos,
                j,
                due: now + wait,
                attempt,
            });
        }
    }

    /// Retires answered probes and those whose wait is over: silent ones with attempts left
    /// are resent (or, after a graceful stop, owed); silent last attempts are given up on.
    fn expire(&mut self, now: Duration, level: StopLevel) {
        while let Some(f) = self.retrying.front().copied() {
            if !self.answered.contains(f.j) && f.due > now {
                break;
            }
            self.retrying.pop_front();
            if self.answered.contains(f.j) {
                self.ctx.stats.done.fetch_add(1, Relaxed);
            } else if level == StopLevel::Running {
                let retry = (f.pos, f.j, f.attempt + 1);
                let host = f.j % self.ctx.space.hosts().max(1);
                match self.pacing {
                    Some(p) if p.rationed(host) => self.paced.push_back(retry),
                    _ => self.resend.push_back(retry),
                }
            } else {
                self.owed.push(f.pos);
            }
        }
        if level != StopLevel::Running {
            self.owed.extend(self.resend.drain(..).map(|(pos, ..)| pos));
            self.owed.extend(self.paced.drain(..).map(|(pos, ..)| pos));
        }
        while let Some(f) = self.last.front().copied() {
            if !self.answered.contains(f.j) && f.due > now {
                break;
            }
            self.last.pop_front();
            self.ctx.stats.done.fetch_add(1, Relaxed);
            if !self.answered.contains(f.j) {
                self.give_up(f.j);
            }
        }
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
