//! The state table shared by the capture and sender threads: which indices have been answered.
//!
//! It does three jobs with one bit per index: dedup (a target is reported once, however many
//! SYN-ACK retransmissions arrive), the retry pass (only silent targets are probed again), and
//! the end-of-scan silent report. Memory: one bit per probe of the whole space while that is at
//! most `DENSE_LIMIT` bits (32 MiB); beyond that, a hash set that costs about 16 bytes per
//! *answer*, so a sparse Internet-scale sweep pays for what answered, not for what it probed.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest space kept as a bitmap: 2^28 bits = 32 MiB.
pub const DENSE_LIMIT: u64 = 1 << 28;

pub enum AnsweredSet {
    /// Lock-free: `fetch_or` on 64-bit words, so the capture thread never waits on the sender.
    Dense(Vec<AtomicU64>),
    /// Uncontended in practice: the sender only looks at it once per expiring probe.
    Sparse(Mutex<HashSet<u64>>),
}

impl AnsweredSet {
    pub fn new(space_size: u64) -> AnsweredSet {
        if space_size <= DENSE_LIMIT {
            let words = space_size.div_ceil(64) as usize;
            AnsweredSet::Dense((0..words).map(|_| AtomicU64::new(0)).collect())
        } else {
            AnsweredSet::Sparse(Mutex::new(HashSet::new()))
        }
    }

    /// Marks `j` answered; true if it was not already (the caller reports it), false for a
    /// duplicate. Indices past the end are never claimed.
    pub fn claim(&self, j: u64) -> bool {
        match self {
            AnsweredSet::Dense(words) => {
                let Some(w) = words.get((j / 64) as usize) else {
                    return false;
                };
                let bit = 1u64 << (j % 64);
                w.fetch_or(bit, Ordering::AcqRel) & bit == 0
            }
            AnsweredSet::Sparse(set) => match set.lock() {
                Ok(mut s) => s.insert(j),
                // A poisoned lock means a thread panicked while inserting: the set itself is
                // still a valid set, so keep using it.
                Err(poisoned) => poisoned.into_inner().insert(j),
            },
        }
    }

    pub fn contains(&self, j: u64) -> bool {
        match self {
            AnsweredSet::Dense(words) => words
                .get((j / 64) as usize)
                .is_some_and(|w| w.load(Ordering::Acquire) & (1u64 << (j % 64)) != 0),
            AnsweredSet::Sparse(set) => match set.lock() {
                Ok(s) => s.contains(&j),
                Err(poisoned) => poisoned.into_inner().contains(&j),
            },
        }
    }

    /// Bytes held, for the docs' memory figures and the benchmark.
    pub fn bytes(&self) -> usize {
        match self {
            AnsweredSet::Dense(w) => w.len() * 8,
            AnsweredSet::Sparse(set) => set
                .lock()
                .map_or(0, |s| s.capacity() * (std::mem::size_of::<u64>() + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dense_and_sparse_agree(indices in proptest::collection::vec(0u64..5000, 0..300)) {
            let dense = AnsweredSet::new(5000);
            let sparse = AnsweredSet::Sparse(Mutex::new(HashSet::new()));
            prop_assert!(matches!(dense, AnsweredSet::Dense(_)));
            let mut seen = HashSet::new();
            for j in indices {
                let first = seen.insert(j);
                prop_assert_eq!(dense.claim(j), first);
                prop_assert_eq!(sparse.claim(j), first);
                prop_assert!(dense.contains(j) && sparse.contains(j));
            }
            for j in 0..5000 {
                prop_assert_eq!(dense.contains(j), seen.contains(&j));
            }
        }
    }

    #[test]
    fn out_of_range_and_large_spaces() {
        let s = AnsweredSet::new(100);
        assert!(!s.claim(128) && !s.contains(128));
        assert!(s.claim(99) && !s.claim(99));
        assert_eq!(s.bytes(), 16);
        assert!(matches!(
            AnsweredSet::new(DENSE_LIMIT + 1),
            AnsweredSet::Sparse(_)
        ));
    }
}
