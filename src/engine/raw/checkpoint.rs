//! Checkpoints of a raw scan while it runs. The capture thread asks for one every few
//! seconds (a generation number); each sender thread, between two steps, sees the request
//! and publishes a snapshot of where it stands (next position and every position not
//! finished: owed, waiting to be resent, or in flight unanswered). Once every sender has
//! answered the request, the capture thread merges the snapshots (`split::merge`) and sends
//! the result down the event stream.
//!
//! Why the capture thread sends it: an answer is marked in the table before its event is
//! sent, inside one `Capture::handle` call. A sender's snapshot leaves out a probe whose
//! answer it saw marked; the capture thread sends the checkpoint between handle calls, after
//! every snapshot was published — so after the event of every answer a snapshot left out.
//! A sender's own reports (silent ports) precede its snapshot in its own thread.
//!
//! Cost: nothing per probe (one relaxed load per step), one snapshot per sender per
//! checkpoint (a copy and sort of the positions in flight).

use super::split;
use crate::cursor::{CursorState, Shard};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A sender's published state: for which request, and whether it is its last (a finished
/// sender's state holds for every later request).
#[derive(Debug, Clone, Default)]
struct Slot {
    generation: u64,
    last: bool,
    state: Option<CursorState>,
}

#[derive(Debug)]
pub struct Board {
    wanted: AtomicU64,
    slots: Mutex<Vec<Slot>>,
}

impl Board {
    pub fn new(senders: usize) -> Board {
        Board {
            wanted: AtomicU64::new(0),
            slots: Mutex::new(vec![Slot::default(); senders]),
        }
    }

    /// The request a sender should answer, if it has not yet (it answered `seen`).
    pub fn wanted_after(&self, seen: u64) -> Option<u64> {
        let w = self.wanted.load(Ordering::Acquire);
        (w != seen).then_some(w)
    }

    /// Asks every sender for a snapshot; returns the request's number.
    pub fn request(&self) -> u64 {
        self.wanted.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Sender `t` answers request `generation` (or, `last`, all requests from now on).
    pub fn publish(&self, t: usize, generation: u64, last: bool, state: CursorState) {
        // A poisoned lock means a sender panicked: the scan ends with its failure anyway.
        if let Ok(mut slots) = self.slots.lock()
            && let Some(s) = slots.get_mut(t)
        {
            *s = Slot {
                generation,
                last,
                state: Some(state),
            };
        }
    }

    /// The merged checkpoint for request `generation`, once every sender has answered it.
    pub fn merged(&self, generation: u64, size: u64, shard: Shard) -> Option<CursorState> {
        let slots = self.slots.lock().ok()?;
        let mut states = Vec::with_capacity(slots.len());
        for s in slots.iter() {
            if !(s.last || s.generation == generation) {
                return None;
            }
            states.push(s.state.clone()?);
        }
        Some(split::merge(size, shard, states))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_waits_for_every_sender_and_a_finished_one_answers_for_good() {
        let b = Board::new(2);
        let st = |n| CursorState {
            next_position: n,
            pending: vec![],
        };
        assert_eq!(b.wanted_after(0), None);
        let g = b.request();
        assert_eq!(b.wanted_after(0), Some(g));
        b.publish(0, g, false, st(4));
        assert!(
            b.merged(g, 100, Shard::WHOLE).is_none(),
            "sender 1 has not answered"
        );
        b.publish(1, g, true, st(7));
        let m = b.merged(g, 100, Shard::WHOLE).unwrap();
        // Thread 0 (even positions) stood at 4, thread 1 (odd) at 7: 4 and 6 are owed.
        assert_eq!(m.next_position, 7);
        assert_eq!(m.pending, vec![4, 6]);
        let g2 = b.request();
        assert!(
            b.merged(g2, 100, Shard::WHOLE).is_none(),
            "sender 0's answer is old"
        );
        b.publish(0, g2, false, st(8));
        assert!(
            b.merged(g2, 100, Shard::WHOLE).is_some(),
            "sender 1 finished: still valid"
        );
    }
}
