//! Walking lossy windows again. A window the path was losing in (see `control::Verdict`)
//! leaves targets that look silent only because their probe was dropped. Rather than a list
//! of them (97–99 % of an Internet sweep is silent: such a list would be most of the
//! window), a sender remembers which stretches of its walk each window covered — a few runs
//! of positions per window — and once the verdict says "lossy" (and so has cut the rate)
//! walks those runs again, skipping what answered in between. A probe covered by a run is
//! simply dropped when it times out in a lossy window: its run brings it back, with its
//! attempts whole.

use super::control::Verdict;
use std::collections::VecDeque;

/// The positions `first, first + stride, …, last` of one sender's walk, walked again `walks`
/// times so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub first: u64,
    pub last: u64,
    pub walks: u8,
}

#[derive(Debug)]
pub struct Rewalk {
    /// The distance between two positions of this sender's walk.
    stride: u64,
    /// Windows still waiting for their verdict, each with the runs it covered.
    spans: VecDeque<(u32, Vec<Run>)>,
    /// Runs of lossy windows, to walk again.
    todo: VecDeque<Run>,
}

impl Rewalk {
    pub fn new(stride: u64) -> Rewalk {
        Rewalk {
            stride: stride.max(1),
            spans: VecDeque::new(),
            todo: VecDeque::new(),
        }
    }

    /// Position `pos` was probed (a first attempt from the walk or from a run walked again
    /// `walks` times) in `window`.
    pub fn record(&mut self, window: u32, pos: u64, walks: u8) {
        let stride = self.stride;
        let run = Run {
            first: pos,
            last: pos,
            walks,
        };
        match self.spans.back_mut() {
            Some((w, runs)) if *w == window => {
                // A window holds a run of new positions and, interleaved, a run walked again:
                // one of the last two extends (positions a resumed scan owed are runs of one).
                match runs
                    .iter_mut()
                    .rev()
                    .take(2)
                    .find(|r| r.walks == walks && r.last.checked_add(stride) == Some(pos))
                {
                    Some(r) => r.last = pos,
                    None => runs.push(run),
                }
            }
            _ => self.spans.push_back((window, vec![run])),
        }
    }

    /// Hands the windows whose verdict is in to the walk again (lossy ones) or forgets them.
    pub fn settle(&mut self, verdict: impl Fn(u32) -> Verdict) {
        while let Some((w, _)) = self.spans.front() {
            let v = verdict(*w);
            if v == Verdict::Pending {
                return;
            }
            if let Some((_, runs)) = self.spans.pop_front()
                && v.walk_again()
            {
                self.todo.extend(runs);
            }
        }
    }

    /// The next position to walk again, and how many times it was walked again before.
    pub fn next_position(&mut self) -> Option<(u64, u8)> {
        let r = self.todo.front_mut()?;
        let (pos, walks) = (r.first, r.walks);
        match r.first.checked_add(self.stride) {
            Some(n) if n <= r.last => r.first = n,
            _ => {
                self.todo.pop_front();
            }
        }
        Some((pos, walks))
    }

    /// Something to walk again now.
    pub fn has_todo(&self) -> bool {
        !self.todo.is_empty()
    }

    /// Windows still waiting for a verdict that may send positions back.
    pub fn awaiting(&self) -> bool {
        !self.spans.is_empty()
    }

    /// Every position still to walk again (for a resume point; the caller leaves out what
    /// has answered).
    pub fn todo_positions(&self) -> impl Iterator<Item = u64> + '_ {
        let stride = self.stride;
        self.todo
            .iter()
            .flat_map(move |r| (0..=(r.last - r.first) / stride).map(move |k| r.first + k * stride))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_windows_come_back_whole_and_clean_ones_are_forgotten() {
        let mut r = Rewalk::new(3);
        for pos in [0, 3, 6] {
            r.record(0, pos, 0);
        }
        r.record(1, 9, 0);
        r.record(1, 100, 1); // a position walked again, between new ones
        r.record(1, 12, 0);
        r.record(1, 103, 1);
        r.record(2, 15, 0);
        let verdicts = |w: u32| match w {
            0 => Verdict::Clean,
            1 => Verdict::Lossy,
            _ => Verdict::Pending,
        };
        r.settle(verdicts);
        assert!(r.awaiting(), "window 2 waits for its verdict");
        let again: Vec<u64> = r.todo_positions().collect();
        assert_eq!(again, vec![9, 12, 100, 103]);
        let walked: Vec<(u64, u8)> = std::iter::from_fn(|| r.next_position()).collect();
        assert_eq!(walked, vec![(9, 0), (12, 0), (100, 1), (103, 1)]);
        assert!(!r.has_todo());
        r.settle(|_| Verdict::Ours);
        assert_eq!(
            r.next_position(),
            Some((15, 0)),
            "our own drops are walked again too"
        );
        assert!(!r.awaiting());
    }

    #[test]
    fn runs_reach_the_end_of_the_index_space_without_overflow() {
        let mut r = Rewalk::new(u64::MAX / 2);
        r.record(0, 1, 0);
        r.record(0, 1 + u64::MAX / 2, 0);
        r.settle(|_| Verdict::Lossy);
        assert_eq!(r.todo_positions().count(), 2);
        assert_eq!(r.next_position(), Some((1, 0)));
        assert_eq!(r.next_position(), Some((1 + u64::MAX / 2, 0)));
        assert_eq!(r.next_position(), None);
    }
}
