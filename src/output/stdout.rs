//! Standard output as the sinks write it. A reader that closes it (`synsweep … -oD - | head -1`)
//! has had all it wanted: that is a stop, not a failure. The first EPIPE raises the stop signal
//! to Graceful, so the scan ends as it does for Ctrl-C (documents closed, resume point saved),
//! and whatever is written to standard output after it is dropped. Every other write error is
//! returned as it is, and so is EPIPE on any other destination.

use crate::stop::{StopLevel, StopSignal};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Whether standard output's reader has gone, shared by every writer to it and by the runner
/// that reports the stop.
#[derive(Clone, Default)]
pub struct StdoutGuard {
    closed: Arc<AtomicBool>,
    /// Raised to Graceful when the reader goes (none: the writes are only dropped).
    stop: Option<StopSignal>,
}

impl std::fmt::Debug for StdoutGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdoutGuard")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl StdoutGuard {
    pub fn new(stop: StopSignal) -> StdoutGuard {
        StdoutGuard {
            closed: Arc::default(),
            stop: Some(stop),
        }
    }

    /// Did a write find standard output closed?
    pub fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    fn close(&self) {
        self.closed.store(true, Relaxed);
        if let Some(s) = &self.stop {
            s.raise_to(StopLevel::Graceful);
        }
    }

    /// A writer over `inner` (standard output) that this guard watches.
    pub fn writer<W: Write>(&self, inner: W) -> Guarded<W> {
        Guarded {
            inner,
            guard: self.clone(),
        }
    }
}

pub struct Guarded<W> {
    inner: W,
    guard: StdoutGuard,
}

impl<W: Write> Guarded<W> {
    /// Runs `op` unless the reader has gone; an EPIPE closes the guard and counts as done.
    fn attempt<T>(&mut self, done: T, op: impl FnOnce(&mut W) -> io::Result<T>) -> io::Result<T> {
        if self.guard.is_closed() {
            return Ok(done);
        }
        match op(&mut self.inner) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.guard.close();
                Ok(done)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.attempt(buf.len(), |w| w.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.attempt((), |w| w.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails with `kind`.
    struct Pipe {
        room: usize,
        kind: io::ErrorKind,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(self.kind.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stops_the_scan_gracefully_and_swallows_the_rest() {
        let stop = StopSignal::default();
        let guard = StdoutGuard::new(stop.clone());
        let mut w = guard.writer(Pipe {
            room: 4,
            kind: io::ErrorKind::BrokenPipe,
        });
        assert_eq!(w.write(b"abcdef").unwrap(), 4);
        assert_eq!(stop.level(), StopLevel::Running);
        assert!(!guard.is_closed());
        w.write_all(b"more").unwrap();
        assert!(guard.is_closed());
        assert_eq!(stop.level(), StopLevel::Graceful);
        w.write_all(b"and more").unwrap();
        w.flush().unwrap();
    }

    #[test]
    fn other_write_errors_are_not_taken_for_a_closed_pipe() {
        let stop = StopSignal::default();
        let guard = StdoutGuard::new(stop.clone());
        let mut w = guard.writer(Pipe {
            room: 0,
            kind: io::ErrorKind::StorageFull,
        });
        assert_eq!(
            w.write_all(b"x").unwrap_err().kind(),
            io::ErrorKind::StorageFull
        );
        assert!(!guard.is_closed());
        assert_eq!(stop.level(), StopLevel::Running);
    }
}
