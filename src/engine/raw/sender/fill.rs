//! Filling a batch: canaries in random slots, then retries, runs walked again and new
//! positions, each past its host's limit, into the batch and, listening, into a flight.

use super::flight::{Flight, Item};
use super::{MAX_RETRIES, Sender};
use crate::engine::raw::path::PathMonitor;
use crate::packet::probe::Probe;
use rand::RngExt;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

impl<P: Probe> Sender<'_, P> {
    /// Crafts up to `n` probes into the batch: canaries, retries, runs, new targets.
    pub(super) fn fill(&mut self, now: Duration, n: usize) {
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
}
