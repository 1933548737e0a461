//! Cancellation: the first Ctrl-C (or SIGTERM) asks for a graceful stop — no new probes, wait
//! for those in flight; the second asks to abort — abandon what is in flight. Either way the
//! outputs are closed as valid documents and a resume point is saved.

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    Running,
    Graceful,
    Abort,
}

#[derive(Clone)]
pub struct StopSignal {
    tx: std::sync::Arc<watch::Sender<StopLevel>>,
}

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal {
            tx: std::sync::Arc::new(watch::channel(StopLevel::Running).0),
        }
    }
}

impl StopSignal {
    pub fn level(&self) -> StopLevel {
        *self.tx.borrow()
    }

    /// Moves one step further (Running → Graceful → Abort); returns the new level.
    pub fn escalate(&self) -> StopLevel {
        let mut now = StopLevel::Running;
        self.tx.send_modify(|l| {
            *l = match *l {
                StopLevel::Running => StopLevel::Graceful,
                _ => StopLevel::Abort,
            };
            now = *l;
        });
        now
    }

    pub fn raise_to(&self, level: StopLevel) {
        self.tx.send_if_modified(|l| {
            let raise = level > *l;
            if raise {
                *l = level;
            }
            raise
        });
    }

    /// Resolves once the level differs from `seen` — at once if it already does, so a stop
    /// that lands between the caller's check and this wait is not missed.
    pub async fn changed_from(&self, seen: StopLevel) {
        let mut rx = self.tx.subscribe();
        // The sender lives in self, so this cannot fail while we wait.
        let _ = rx.wait_for(|l| *l != seen).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_and_never_goes_back() {
        let s = StopSignal::default();
        assert_eq!(s.level(), StopLevel::Running);
        assert_eq!(s.escalate(), StopLevel::Graceful);
        s.raise_to(StopLevel::Running);
        assert_eq!(s.level(), StopLevel::Graceful);
        assert_eq!(s.escalate(), StopLevel::Abort);
        assert_eq!(s.escalate(), StopLevel::Abort);
    }
}
