//! Walks one shard of the shuffled index space, and knows exactly where it stands.
//!
//! Shard `s` of `N` takes positions `s-1, s-1+N, s-1+2N, …` of the permutation: shards with the
//! same seed partition the work. A resume point is the next position not yet handed out plus
//! the positions handed out but not finished (`pending`); those are replayed first.

use crate::permutation::Permutation;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based, as written on the command line (`--shard 2/4`).
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };
}

/// Where a shard's walk stands: enough to continue it exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    pub next_position: u64,
    pub pending: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Cursor {
    perm: Permutation,
    stride: u64,
    next_position: u64,
    replay: Vec<u64>,
    /// Targets handed out so far (first probes, replayed ones included).
    taken: u64,
}

impl Cursor {
    pub fn new(size: u64, seed: u64, shard: Shard, resume: Option<CursorState>) -> Cursor {
        let (next_position, mut replay) = match resume {
            Some(s) => (s.next_position, s.pending),
            None => (shard.index - 1, Vec::new()),
        };
        replay.sort_unstable_by(|a, b| b.cmp(a)); // popped from the back: lowest first
        Cursor {
            perm: Permutation::new(size, seed),
            stride: shard.count,
            next_position,
            replay,
            taken: 0,
        }
    }

    /// Targets handed out by this cursor so far.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Positions this shard has in all (first run, from its start).
    pub fn shard_len(size: u64, shard: Shard) -> u64 {
        let first = shard.index - 1;
        if size <= first {
            0
        } else {
            (size - first).div_ceil(shard.count)
        }
    }

    /// The distance between two positions of this walk (its shard's count).
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// The index in the space at position `pos` of the walk.
    pub fn index_at(&self, pos: u64) -> u64 {
        self.perm.shuffle(pos)
    }

    /// The next target comes from the positions a resumed scan owed.
    pub fn replaying(&self) -> bool {
        !self.replay.is_empty()
    }

    /// The next (position, index) to probe.
    pub fn next_target(&mut self) -> Option<(u64, u64)> {
        let pos = match self.replay.pop() {
            Some(p) => p,
            None if self.next_position < self.perm.len() => {
                let p = self.next_position;
                self.next_position = p.saturating_add(self.stride);
                p
            }
            None => return None,
        };
        self.taken += 1;
        Some((pos, self.perm.shuffle(pos)))
    }

    /// The resume point, given the positions handed out and not yet finished.
    pub fn state(&self, unfinished: impl IntoIterator<Item = u64>) -> CursorState {
        let mut pending: Vec<u64> = unfinished
            .into_iter()
            .chain(self.replay.iter().copied())
            .collect();
        pending.sort_unstable();
        pending.dedup();
        CursorState {
            next_position: self.next_position,
            pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn drain(c: &mut Cursor) -> Vec<u64> {
        std::iter::from_fn(|| c.next_target().map(|(_, j)| j)).collect()
    }

    proptest! {
        #[test]
        fn shards_partition_the_space(size in 0u64..3000, count in 1u64..9, seed: u64) {
            let mut all = Vec::new();
            for index in 1..=count {
                let shard = Shard { index, count };
                let got = drain(&mut Cursor::new(size, seed, shard, None));
                prop_assert_eq!(got.len() as u64, Cursor::shard_len(size, shard));
                all.extend(got);
            }
            all.sort_unstable();
            prop_assert_eq!(all, (0..size).collect::<Vec<_>>());
        }

        #[test]
        fn stop_anywhere_and_resume_covers_the_rest_once(
            size in 1u64..2000, stop in 0usize..2000, unfinished in 0usize..20, seed: u64
        ) {
            let shard = Shard::WHOLE;
            let mut c = Cursor::new(size, seed, shard, None);
            let handed: Vec<(u64, u64)> = std::iter::from_fn(|| c.next_target()).take(stop).collect();
            // The last `unfinished` handed out were in flight when we stopped.
            let cut = handed.len().saturating_sub(unfinished);
            let done: Vec<u64> = handed[..cut].iter().map(|&(_, j)| j).collect();
            let state = c.state(handed[cut..].iter().map(|&(p, _)| p));
            let rest = drain(&mut Cursor::new(size, seed, shard, Some(state)));
            let mut both: Vec<u64> = done.iter().chain(rest.iter()).copied().collect();
            let unique: HashSet<u64> = both.iter().copied().collect();
            prop_assert_eq!(unique.len(), both.len(), "an index was probed twice");
            both.sort_unstable();
            prop_assert_eq!(both, (0..size).collect::<Vec<_>>());
        }
    }
}
