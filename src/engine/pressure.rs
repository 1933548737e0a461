//! Backpressure from the post stages to the engines.
//!
//! Every queue between stages is bounded, so a slow stage (a slow output, banner grabs, a
//! name server) fills the queue in front of it and the stage before it blocks on its send:
//! the wait travels back stage by stage to the engine's channel. There it stops: the
//! threads that *receive* answers (the raw capture thread, the connect engine's task) never
//! block. What does not fit waits in their own `Outbox`, drained first on every pass, and
//! while the engine's channel is above its high-water mark or any outbox is not empty the
//! engine is *held*: it starts nothing new (the raw sender crafts no probe, the connect
//! engine starts no attempt). The answers still to come are then only those of probes
//! already out, so an outbox holds at most what was in flight when the hold began.

use super::report::Reporter;
use crate::event::Event;
use crossbeam_channel::{Sender, TrySendError};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

/// How long a held engine waits before it looks at the gauge again.
pub const HOLD_NAP: Duration = Duration::from_millis(1);

/// The shared gauge: how much waits in the engine threads' outboxes, and how often the
/// engine was held back.
#[derive(Debug, Default)]
pub struct Pressure {
    /// Events waiting in outboxes (all reporting threads together).
    overflow: AtomicUsize,
    /// The most that ever waited in one outbox.
    overflow_peak: AtomicUsize,
    /// Times a sender found itself held after it was not.
    holds: AtomicU64,
}

impl Pressure {
    pub fn overflow(&self) -> usize {
        self.overflow.load(Relaxed)
    }

    pub fn overflow_peak(&self) -> usize {
        self.overflow_peak.load(Relaxed)
    }

    pub fn holds(&self) -> u64 {
        self.holds.load(Relaxed)
    }
}

/// The engine's channel is held back above this share of its capacity: the rest is room for
/// the answers of the probes already out, which keep coming while the sender waits.
pub fn high_water(capacity: usize) -> usize {
    (capacity / 2).max(1)
}

/// A reporting thread's events, sent without ever blocking: in order, through the channel
/// when it has room, else through a local queue that the next `flush` empties first.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Event>,
}

impl Outbox {
    pub fn push(&mut self, tx: &Sender<Event>, pressure: &Pressure, e: Event) {
        if self.queue.is_empty() {
            match tx.try_send(e) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(e)) => self.queue.push_back(e),
            }
        } else {
            self.queue.push_back(e);
        }
        pressure.overflow.fetch_add(1, Relaxed);
        pressure.overflow_peak.fetch_max(self.queue.len(), Relaxed);
    }

    /// Moves what fits into the channel; true when nothing is left waiting.
    pub fn flush(&mut self, tx: &Sender<Event>, pressure: &Pressure) -> bool {
        let before = self.queue.len();
        while let Some(e) = self.queue.pop_front() {
            match tx.try_send(e) {
                Ok(()) => {}
                Err(TrySendError::Full(e)) => {
                    self.queue.push_front(e);
                    break;
                }
                // Nobody reads any more (the process is ending): nothing can be delivered.
                Err(TrySendError::Disconnected(_)) => self.queue.clear(),
            }
        }
        let sent = before - self.queue.len();
        if sent > 0 {
            pressure.overflow.fetch_sub(sent, Relaxed);
        }
        self.queue.is_empty()
    }

    /// Waits until everything has gone: for the end of a thread, when it receives nothing
    /// more and blocking holds nothing up.
    pub fn flush_blocking(&mut self, tx: &Sender<Event>, pressure: &Pressure) {
        let n = self.queue.len();
        for e in self.queue.drain(..) {
            let _ = tx.send(e);
        }
        pressure.overflow.fetch_sub(n, Relaxed);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// One sending loop's view of the gauge: read once per batch, with the time spent held
/// added to `Stats::held_ns` (as a share of `loops`, so that the figure is the fraction of
/// the engine's sending time, whatever the number of sender threads).
#[derive(Debug)]
pub struct Hold {
    since: Option<Duration>,
    loops: u64,
}

impl Hold {
    pub fn new(loops: u64) -> Hold {
        Hold {
            since: None,
            loops: loops.max(1),
        }
    }

    /// Whether to start nothing new now.
    pub fn check(&mut self, report: &Reporter, now: Duration) -> bool {
        let held = report.held();
        if let Some(t) = self.since {
            let share = now.saturating_sub(t).as_nanos() as u64 / self.loops;
            report.stats().held_ns.fetch_add(share, Relaxed);
        }
        if held && self.since.is_none() {
            report.pressure().holds.fetch_add(1, Relaxed);
        }
        self.since = held.then_some(now);
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{NameResult, Stats};
    use std::sync::Arc;

    fn name(i: u8) -> Event {
        Event::Name(NameResult {
            ip: std::net::IpAddr::from([198, 18, 0, i]),
            ptr: format!("h{i}.lab"),
            ts: 0.0,
        })
    }

    fn ptr(e: &Event) -> String {
        match e {
            Event::Name(n) => n.ptr.clone(),
            _ => String::new(),
        }
    }

    #[test]
    fn what_does_not_fit_waits_in_order_and_goes_first() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let p = Pressure::default();
        let mut out = Outbox::default();
        for i in 0..5 {
            out.push(&tx, &p, name(i));
        }
        assert_eq!((out.len(), p.overflow(), p.overflow_peak()), (3, 3, 3));
        assert_eq!(ptr(&rx.recv().unwrap()), "h0.lab");
        // A new event goes behind those waiting, even though the channel has room now.
        out.push(&tx, &p, name(5));
        assert!(!out.flush(&tx, &p), "one slot, three waiting");
        let got: Vec<String> = rx.try_iter().map(|e| ptr(&e)).collect();
        assert_eq!(got, ["h1.lab", "h2.lab"]);
        assert!(!out.flush(&tx, &p));
        let mut got: Vec<String> = rx.try_iter().map(|e| ptr(&e)).collect();
        assert!(out.flush(&tx, &p));
        got.extend(rx.try_iter().map(|e| ptr(&e)));
        assert_eq!(got, ["h3.lab", "h4.lab", "h5.lab"]);
        assert_eq!(p.overflow(), 0);
        assert_eq!(p.overflow_peak(), 4);
    }

    #[test]
    fn held_time_is_counted_per_loop_share() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        let stats = Arc::new(Stats::default());
        let r = Reporter::new(
            Default::default(),
            stats.clone(),
            tx.clone(),
            Default::default(),
        );
        let mut hold = Hold::new(2);
        let ms = Duration::from_millis;
        assert!(!hold.check(&r, ms(0)));
        for i in 0..2 {
            tx.send(name(i)).unwrap(); // high water: half of 4
        }
        assert!(hold.check(&r, ms(10)));
        assert!(hold.check(&r, ms(30)));
        drop(rx.recv());
        assert!(!hold.check(&r, ms(50)));
        // Held from 10 to 50 ms, counted as one of two loops' share.
        assert_eq!(stats.held_ns.load(Relaxed), 20_000_000);
        assert_eq!(r.pressure().holds(), 1);
    }
}
