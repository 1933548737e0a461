//! The raw engine: a sender thread and a capture thread around one shared state table.
//!
//! ```text
//! cursor ─► Sender::step (limiter → Probe::craft → batch) ─► PacketTx
//! PacketRx ─► Capture::handle (Probe::classify, cookie) ─► AnsweredSet ─► events
//!                      ▲ sender reads it: retries only the silent, finishes the answered
//! ```
//!
//! Both loops are plain step functions; `run` gives each a thread and the real clock, and the
//! SimNet tests drive the same functions on a manual clock.

pub mod capture;
pub mod launch;
pub mod sender;
pub mod table;
#[cfg(test)]
mod tests;

use super::EngineContext;
use crate::cursor::{Cursor, CursorState};
use crate::link::{PacketRx, PacketTx};
use crate::packet::probe::Probe;
use crate::rate::{Clock, MonotonicClock};
use crate::stop::StopLevel;
use capture::{Capture, CaptureCounters};
use sender::{Sender, Step};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use table::AnsweredSet;

#[derive(Debug, Clone)]
pub struct RawOptions {
    /// Probes per second (retries included); `None` = as fast as the link takes them.
    pub rate: Option<u64>,
    /// Extra probes for targets still silent `timeout` after the one before.
    pub retries: u32,
    /// How long a silent probe waits before it is retried.
    pub timeout: Duration,
    /// How long a target's last probe waits before it is given up on: the cooldown.
    pub wait: Duration,
    /// Frames per send call.
    pub batch: usize,
    /// Report silent ports as filtered (`--show-closed`).
    pub report_silent: bool,
    /// Whether anything can answer: false for the dry run and the offline benchmark, where
    /// silence means nothing and is not counted as filtered.
    pub listening: bool,
}

/// How a raw scan ended: where it stood, what the capture thread saw, and the error that
/// ended it early, if one did (the caller still writes the results and the resume point).
#[derive(Debug)]
pub struct RawOutcome {
    pub state: CursorState,
    pub counters: CaptureCounters,
    pub failure: Option<io::Error>,
}

/// How long the capture thread blocks before it looks at the stop flag again.
const CAPTURE_POLL: Duration = Duration::from_millis(20);
/// The longest the sender sleeps between looks at the stop signal.
const SENDER_NAP: Duration = Duration::from_millis(5);

pub fn run<P, T, R>(
    probe: &P,
    mut tx: T,
    mut rx: R,
    cursor: Cursor,
    ctx: &EngineContext,
    opts: &RawOptions,
) -> RawOutcome
where
    P: Probe,
    T: PacketTx,
    R: PacketRx + Send,
{
    let answered = AnsweredSet::new(ctx.space.size());
    let clock = MonotonicClock::default();
    let capture_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let capture = s.spawn(|| -> io::Result<CaptureCounters> {
            let mut c = Capture::new(probe, ctx, &answered);
            while !capture_done.load(Ordering::Acquire) {
                rx.recv(CAPTURE_POLL, &mut |frame| c.handle(frame, clock.now()))?;
            }
            Ok(c.counters)
        });
        lower_timer_slack();
        let mut sender = Sender::new(probe, ctx, &answered, opts, cursor, clock.now());
        let mut level;
        let mut failure = None;
        loop {
            level = ctx.stop.level();
            if capture.is_finished() {
                // The capture thread only ends early on an error: without it no answer can
                // be seen, so stop as an abort would (everything in flight is pending).
                level = StopLevel::Abort;
                break;
            }
            let now = clock.now();
            match sender.step(now, level, &mut tx) {
                Ok(Step::Busy) => {}
                Ok(Step::Idle(until)) => {
                    std::thread::sleep(until.saturating_sub(now).min(SENDER_NAP))
                }
                Ok(Step::Finished) => break,
                Err(e) => {
                    failure = Some(e);
                    level = StopLevel::Abort;
                    break;
                }
            }
        }
        capture_done.store(true, Ordering::Release);
        let counters = match capture.join() {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                failure.get_or_insert(e);
                level = StopLevel::Abort;
                CaptureCounters::default()
            }
            Err(_) => {
                failure.get_or_insert(io::Error::other("the capture thread panicked"));
                level = StopLevel::Abort;
                CaptureCounters::default()
            }
        };
        RawOutcome {
            state: sender.finish(level),
            counters,
            failure,
        }
    })
}

/// Sleeps of a few microseconds are otherwise rounded up by the default 50 µs timer slack,
/// which the rate limiter's burst credit would have to absorb.
fn lower_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with an integer argument affects only the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}
