//! Canaries: targets that already answered, probed once more to measure loss. Their answer is
//! known in advance, so a canary that stays silent was lost — on the way there or back — and
//! that works however few targets answer (an Internet sweep where 1–3 % do): the answered set
//! is the supply.
//!
//! The pool keeps the latest answers in a ring (recent ones share the path of the probes being
//! sent now); each is used at most once per `REUSE`, so no target sees more than a few extra
//! probes a second. Hosts that answer on every port (SYN proxies) are never offered: they
//! answer whatever the path does to the rest.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Answers kept to draw canaries from.
pub const POOL: usize = 4096;
/// The shortest time between two canaries to one target.
pub const REUSE: Duration = Duration::from_millis(250);
/// Canaries waiting for their answer at once, at most.
pub const MAX_OUTSTANDING: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Entry {
    index: u64,
    /// Not to be used again before this time.
    free_at: Duration,
}

/// The latest answered targets, by index in the space.
#[derive(Debug, Default)]
pub struct Pool {
    ring: Vec<Entry>,
    /// Where the next offer goes once the ring is full.
    write: usize,
    /// Where the next draw looks first.
    read: usize,
}

impl Pool {
    pub fn offer(&mut self, index: u64) {
        let e = Entry {
            index,
            free_at: Duration::ZERO,
        };
        if self.ring.len() < POOL {
            self.ring.push(e);
        } else {
            self.ring[self.write] = e;
            self.write = (self.write + 1) % POOL;
        }
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// A target that may be a canary now, round robin; None if every one was used lately.
    /// `busy` says a target is already a canary waiting for its answer.
    pub fn draw(&mut self, now: Duration, busy: impl Fn(u64) -> bool) -> Option<u64> {
        // A bounded look: a pool of recently used entries must not cost a scan of all of it
        // per canary; the next draw starts where this one stopped.
        for _ in 0..self.ring.len().min(64) {
            let i = self.read % self.ring.len();
            self.read = (i + 1) % self.ring.len();
            let e = &mut self.ring[i];
            if e.free_at <= now && !busy(e.index) {
                e.free_at = now + REUSE;
                return Some(e.index);
            }
        }
        None
    }
}

/// A canary sent and not yet answered or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub window: u32,
    pub at: Duration,
}

/// Canaries waiting for their answer: by index (to recognise the answer) and in send order
/// (to give them up once their wait is over).
#[derive(Debug, Default)]
pub struct Outstanding {
    by_index: HashMap<u64, Sent>,
    order: VecDeque<(u64, Sent)>,
}

impl Outstanding {
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    pub fn contains(&self, index: u64) -> bool {
        self.by_index.contains_key(&index)
    }

    /// False if full (the canary is then not sent).
    pub fn add(&mut self, index: u64, s: Sent) -> bool {
        if self.by_index.len() >= MAX_OUTSTANDING || self.by_index.contains_key(&index) {
            return false;
        }
        self.by_index.insert(index, s);
        self.order.push_back((index, s));
        true
    }

    /// The answer to a canary, if `index` is one: when it was sent.
    pub fn answered(&mut self, index: u64) -> Option<Sent> {
        self.by_index.remove(&index)
    }

    /// Gives up on the canaries of windows up to `window`; calls `lost` for each. Stops at
    /// the first of a later window (send order is window order).
    pub fn expire(&mut self, window: u32, mut lost: impl FnMut(Sent)) {
        while let Some(&(index, s)) = self.order.front() {
            if self.by_index.get(&index) != Some(&s) {
                self.order.pop_front(); // answered already (or replaced)
                continue;
            }
            if s.window > window {
                return;
            }
            self.order.pop_front();
            self.by_index.remove(&index);
            lost(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_target_is_drawn_at_most_once_per_reuse_and_never_while_waiting() {
        let mut p = Pool::default();
        p.offer(7);
        p.offer(9);
        let none = |_| false;
        let a = p.draw(Duration::ZERO, none).unwrap();
        let b = p.draw(Duration::ZERO, none).unwrap();
        assert_ne!(a, b);
        assert_eq!(p.draw(MS, none), None, "both used within REUSE");
        assert_eq!(p.draw(REUSE, |i| i == 7), Some(9));
        assert_eq!(p.draw(REUSE, none), Some(7));
    }

    #[test]
    fn the_pool_keeps_the_latest_answers() {
        let mut p = Pool::default();
        for i in 0..(POOL as u64 + 10) {
            p.offer(i);
        }
        assert_eq!(p.len(), POOL);
        let mut seen = std::collections::HashSet::new();
        while let Some(i) = p.draw(Duration::ZERO, |_| false) {
            seen.insert(i);
            if seen.len() == POOL {
                break;
            }
        }
        assert!(!seen.contains(&0) && seen.contains(&(POOL as u64 + 9)));
    }

    #[test]
    fn outstanding_canaries_are_answered_or_expire_in_order() {
        let mut o = Outstanding::default();
        let s = |window, ms| Sent {
            window,
            at: ms * MS,
        };
        assert!(o.add(1, s(0, 0)));
        assert!(!o.add(1, s(0, 1)), "already waiting");
        assert!(o.add(2, s(0, 1)));
        assert!(o.add(3, s(1, 5)));
        assert_eq!(o.answered(2), Some(s(0, 1)));
        assert_eq!(o.answered(2), None);
        let mut lost = vec![];
        o.expire(0, |s| lost.push(s));
        assert_eq!(lost, vec![s(0, 0)], "window 1's canary waits");
        o.expire(1, |s| lost.push(s));
        assert_eq!(lost.len(), 2);
        assert!(o.is_empty());
    }
}
