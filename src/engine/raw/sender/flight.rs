//! What the sender keeps of a probe: where its position came from, its attempt, and — while
//! it waits for an answer — when its wait is over and which window it went out in.

use std::time::Duration;

/// Where a probe's position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
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
pub(super) struct Item {
    pub(super) pos: u64,
    pub(super) attempt: u16,
    pub(super) origin: Origin,
    pub(super) again: u8,
}

/// A probe goes again for the path's loss at most this many times without spending its
/// attempt: a path that stays lossy at the rate's floor must not keep a scan from ending.
pub(super) const MAX_AGAIN: u8 = 2;

impl Item {
    pub(super) fn first(pos: u64, origin: Origin) -> Item {
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
    pub(super) fn covered(self) -> bool {
        self.attempt == 0 && self.again < MAX_AGAIN
    }

    /// Finishing it counts a target as done (a run's probes were counted the first time).
    pub(super) fn counts(self) -> bool {
        self.origin != Origin::Rewalk
    }
}

/// A probe sent and not yet answered or given up on. Its index in the space is the cursor's
/// permutation of its position, computed again when needed: 24 bytes rather than 40 for each
/// of the rate × timeout probes in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flight {
    pub(super) pos: u64,
    /// When its wait is over, in nanoseconds since the scan's origin.
    pub(super) due_ns: u64,
    pub(super) window: u32,
    pub(super) attempt: u16,
    pub(super) origin: Origin,
    pub(super) again: u8,
}

impl Flight {
    pub(super) fn new(item: Item, due: Duration, window: u32) -> Flight {
        Flight {
            pos: item.pos,
            due_ns: due.as_nanos().min(u128::from(u64::MAX)) as u64,
            window,
            attempt: item.attempt,
            origin: item.origin,
            again: item.again,
        }
    }

    pub(super) fn item(&self) -> Item {
        Item {
            pos: self.pos,
            attempt: self.attempt,
            origin: self.origin,
            again: self.again,
        }
    }

    pub(super) fn due(&self) -> Duration {
        Duration::from_nanos(self.due_ns)
    }
}
