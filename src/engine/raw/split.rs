//! Several sender threads share one shard: thread `t` of `T` walks the positions of shard
//! `i/n` that fall in sub-shard `t`, i.e. stride `n·T` from `(i−1) + n·t`. On the way out their
//! resume points merge into one that a single cursor (any thread count) continues exactly:
//! the furthest thread's next position, plus, as pending, every position a slower thread had
//! not reached below it (a few batches' worth: the threads share one rate).
//!
//! Why threads at all: on a veth or a NIC without offload the kernel does each probe's receive
//! work in the sending thread's softirq, so one sender saturates one core while the other idles.

use crate::cursor::{Cursor, CursorState, Shard};

/// The sub-shard of thread `t` of `threads` inside `shard` (1-based like `Shard`).
pub fn sub_shard(shard: Shard, t: u64, threads: u64) -> Shard {
    Shard {
        index: shard.index + shard.count * t,
        count: shard.count * threads,
    }
}

/// Each thread's cursor for a run from `resume` (or from the start). A resumed run's pending
/// positions all go to thread 0: replaying them does not depend on their residue.
pub fn cursors(
    size: u64,
    seed: u64,
    shard: Shard,
    threads: u64,
    resume: Option<&CursorState>,
) -> Vec<Cursor> {
    (0..threads)
        .map(|t| {
            let sub = sub_shard(shard, t, threads);
            let state = resume.map(|r| CursorState {
                next_position: first_at_or_after(r.next_position, sub),
                pending: if t == 0 {
                    r.pending.clone()
                } else {
                    Vec::new()
                },
            });
            Cursor::new(size, seed, sub, state)
        })
        .collect()
}

/// The smallest position ≥ `from` that belongs to `sub`.
fn first_at_or_after(from: u64, sub: Shard) -> u64 {
    let residue = sub.index - 1;
    if from <= residue {
        return residue;
    }
    let k = (from - residue).div_ceil(sub.count);
    residue.saturating_add(k.saturating_mul(sub.count))
}

/// One resume point from the threads' own (given in thread order).
pub fn merge(size: u64, shard: Shard, states: Vec<CursorState>) -> CursorState {
    let threads = states.len() as u64;
    let furthest = states.iter().map(|s| s.next_position).max().unwrap_or(0);
    let end = furthest.min(size);
    let mut pending = Vec::new();
    for s in states {
        pending.extend(s.pending);
        let stride = shard.count * threads;
        let mut p = s.next_position;
        while p < end {
            pending.push(p);
            p = p.saturating_add(stride);
        }
    }
    pending.sort_unstable();
    pending.dedup();
    CursorState {
        next_position: furthest,
        pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        /// Threads stopped at arbitrary points, merged, resumed with another thread count:
        /// every index of the shard is probed exactly once across both runs.
        #[test]
        fn split_stop_merge_resume_covers_the_shard_once(
            size in 0u64..3000,
            count in 1u64..4,
            index_pick in 0u64..4,
            threads in 1u64..5,
            again in 1u64..5,
            stops in proptest::collection::vec(0usize..1500, 4),
            seed: u64,
        ) {
            let shard = Shard { index: 1 + index_pick % count, count };
            let mut done = Vec::new();
            let mut states = Vec::new();
            for (t, mut c) in cursors(size, seed, shard, threads, None).into_iter().enumerate() {
                for _ in 0..stops[t % stops.len()] {
                    match c.next_target() {
                        Some((_, j)) => done.push(j),
                        None => break,
                    }
                }
                states.push(c.state(std::iter::empty()));
            }
            let merged = merge(size, shard, states);
            for mut c in cursors(size, seed, shard, again, Some(&merged)) {
                while let Some((_, j)) = c.next_target() {
                    done.push(j);
                }
            }
            let unique: HashSet<u64> = done.iter().copied().collect();
            prop_assert_eq!(unique.len(), done.len(), "an index was probed twice");
            let mut whole: Vec<u64> = Vec::new();
            let mut c = Cursor::new(size, seed, shard, None);
            while let Some((_, j)) = c.next_target() {
                whole.push(j);
            }
            whole.sort_unstable();
            done.sort_unstable();
            prop_assert_eq!(done, whole);
        }
    }
}
