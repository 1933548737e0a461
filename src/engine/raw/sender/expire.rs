//! Retiring probes whose wait is over: answered, resent, owed, walked again with their run,
//! or given up on.

use super::Sender;
use super::flight::{Flight, Item, MAX_AGAIN};
use crate::engine::raw::path::control::Verdict;
use crate::engine::report::silent_state;
use crate::packet::probe::{Probe, Slot};
use crate::stop::StopLevel;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

impl<P: Probe> Sender<'_, P> {
    /// Retires answered probes and those whose wait is over: silent ones with attempts left
    /// are resent (or, after a graceful stop, owed); silent last attempts are given up on.
    /// A silent probe of a lossy window is not spent (see the module's note); its retirement
    /// waits for its window's verdict.
    pub(super) fn expire(&mut self, now: Duration, level: StopLevel) {
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
