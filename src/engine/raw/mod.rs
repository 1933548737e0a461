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
pub mod checkpoint;
pub mod host_rate;
pub mod icmp_pace;
pub mod launch;
pub mod path;
pub mod probed;
pub mod ring_drops;
pub mod sender;
pub mod split;
pub mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_adaptive;

use super::EngineContext;
use crate::cursor::{Cursor, CursorState, Shard};
use crate::link::{PacketRx, PacketTx};
use crate::packet::probe::Probe;
use crate::rate::{Clock, MonotonicClock};
use crate::stop::StopLevel;
use capture::{Capture, CaptureCounters};
use checkpoint::Board;
use icmp_pace::IcmpPace;
use path::{PathMonitor, PathOptions};
use ring_drops::RingDrops;
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
    /// Whether anything can answer: false for the dry run and the offline benchmark, where
    /// silence means nothing and is not counted as filtered.
    pub listening: bool,
    /// Sender threads sharing the scan (each paces its share of UDP retries).
    pub senders: u64,
    /// This sender's number among them (0-based; the launcher sets it).
    pub thread: u64,
    /// `--rate-mode adaptive`: `rate` is the ceiling, and the path sets the pace.
    pub adaptive: bool,
    /// `--min-rate`: the adaptive rate's floor.
    pub min_rate: Option<u64>,
    /// `--max-host-rate`: probes a second to any one host, at most, retries included (each
    /// sender its share).
    pub max_host_rate: Option<u64>,
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
/// … and while events wait for room in the channel, before it tries again.
const OVERFLOW_POLL: Duration = Duration::from_millis(1);
/// The longest the sender sleeps between looks at the stop signal.
const SENDER_NAP: Duration = Duration::from_millis(5);

/// Where the walk starts: the whole shard, or a resume point.
#[derive(Debug, Clone)]
pub struct Walk {
    pub size: u64,
    pub seed: u64,
    pub shard: Shard,
    pub resume: Option<CursorState>,
}

/// Runs the scan: one sender thread per link in `txs` (each a sub-shard, the rate split
/// between them), one capture thread on `rx`.
pub fn run<P, T, R>(
    probe: &P,
    txs: Vec<T>,
    mut rx: R,
    walk: &Walk,
    ctx: &EngineContext,
    opts: &RawOptions,
) -> RawOutcome
where
    P: Probe,
    T: PacketTx + Send,
    R: PacketRx + Send,
{
    let answered = AnsweredSet::new(ctx.space.size());
    // UDP only: closed ports answer through the hosts' rationed ICMP errors.
    let pace = (ctx.space.proto() == crate::event::Proto::Udp && opts.listening)
        .then(|| IcmpPace::new(ctx.space.hosts()));
    let clock = MonotonicClock::default();
    let path = path_monitor(opts, clock.now());
    let capture_done = AtomicBool::new(false);
    let threads = txs.len().max(1) as u64;
    let board = Board::new(threads as usize);
    let cursors = split::cursors(
        walk.size,
        walk.seed,
        walk.shard,
        threads,
        walk.resume.as_ref(),
    );
    std::thread::scope(|s| {
        let capture = s.spawn(|| -> io::Result<CaptureCounters> {
            // A capture thread that died would leave the senders waiting for verdicts and
            // answers that never come: every sender stops as on abort.
            let captured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut c = Capture::new(probe, ctx, &answered)
                    .pacing(pace.as_ref())
                    .settle_within(opts.timeout)
                    .path(path.as_ref());
                let mut marks = Marks::new(ctx, &board, walk, &answered, clock.now());
                let mut drops = RingDrops::default();
                while !capture_done.load(Ordering::Acquire) {
                    // Never blocks: what the event channel cannot take waits here (see pressure).
                    c.pass(clock.now());
                    let poll = if c.waiting() > 0 {
                        OVERFLOW_POLL
                    } else {
                        CAPTURE_POLL
                    };
                    if let Err(e) = rx.recv(poll, &mut |frame| c.handle(frame, clock.now())) {
                        // Without capture no answer can be seen: every sender stops as on abort.
                        ctx.stop.raise_to(StopLevel::Abort);
                        c.finish();
                        return Err(e);
                    }
                    let now = clock.now();
                    // Read every pass: a window's canaries lost in our own ring must not pass for
                    // the path's loss (see path::control::Verdict::Ours).
                    let dropped = drops.read_now(&mut rx, ctx);
                    if let Some(p) = &path {
                        p.tick(now, dropped);
                        publish(&ctx.stats, p);
                    }
                    // Between handle calls: every answer marked so far has had its event queued.
                    if let Some(state) = marks.step(now) {
                        c.checkpoint(state);
                    }
                }
                let mut counters = c.finish();
                counters.ring_drops = drops.read_now(&mut rx, ctx);
                Ok(counters)
            }));
            captured.unwrap_or_else(|_| {
                ctx.stop.raise_to(StopLevel::Abort);
                Err(io::Error::other("the capture thread panicked"))
            })
        });
        let senders: Vec<_> = txs
            .into_iter()
            .zip(cursors)
            .enumerate()
            .map(|(t, (tx, cursor))| {
                let mut mine = opts.clone();
                mine.rate = opts.rate.map(|r| share(r, t as u64, threads));
                mine.max_host_rate = opts.max_host_rate.map(|r| share(r, t as u64, threads));
                mine.senders = threads;
                mine.thread = t as u64;
                let shared = Shared {
                    answered: &answered,
                    clock: &clock,
                    pace: pace.as_ref(),
                    board: &board,
                    thread: t,
                    path: path.as_ref(),
                };
                s.spawn(move || send_loop(probe, tx, cursor, ctx, shared, &mine))
            })
            .collect();
        let mut failure = None;
        let mut states = Vec::new();
        for h in senders {
            match h.join() {
                Ok((state, err)) => {
                    states.push(state);
                    if let Some(e) = err {
                        failure.get_or_insert(e);
                    }
                }
                Err(_) => {
                    failure.get_or_insert(io::Error::other("a sender thread panicked"));
                }
            }
        }
        capture_done.store(true, Ordering::Release);
        let counters = match capture.join() {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                failure.get_or_insert(e);
                CaptureCounters::default()
            }
            Err(_) => {
                failure.get_or_insert(io::Error::other("the capture thread panicked"));
                CaptureCounters::default()
            }
        };
        let state = split::merge(walk.size, walk.shard, states);
        RawOutcome {
            state: without_answered(state, walk, &answered),
            counters,
            failure,
        }
    })
}

/// Thread `t`'s share of `rate` among `threads` (the first ones take the remainder).
pub(crate) fn share(rate: u64, t: u64, threads: u64) -> u64 {
    (rate / threads + u64::from(t < rate % threads)).max(1)
}

/// The adaptive rate's monitor, where it applies: a live scan with a rate to keep under.
pub(crate) fn path_monitor(opts: &RawOptions, now: Duration) -> Option<PathMonitor> {
    let ceiling = opts.rate.filter(|_| opts.adaptive && opts.listening)?;
    let floor = opts.min_rate.unwrap_or(path::DEFAULT_FLOOR).min(ceiling);
    Some(PathMonitor::new(
        PathOptions {
            ceiling,
            floor,
            timeout: opts.timeout,
            retries: opts.retries,
        },
        now,
    ))
}

/// The monitor's figures, where the status line and the summary read them.
fn publish(stats: &crate::event::Stats, p: &PathMonitor) {
    let f = p.figures();
    stats.rate_now.store(f.rate, Ordering::Relaxed);
    stats.loss_ppm.store(f.loss_ppm, Ordering::Relaxed);
    stats.path_carried.store(f.carried, Ordering::Relaxed);
    stats.rate_cuts.store(f.cuts, Ordering::Relaxed);
}

/// A resume point without the positions answered by now. Senders take their part while
/// answers still arrive; an answer marked after a sender's look had its event sent before
/// this point is sent on (the capture thread marks and reports in one call), so continuing
/// from it finds nothing twice.
pub(crate) fn without_answered(
    mut state: CursorState,
    walk: &Walk,
    answered: &AnsweredSet,
) -> CursorState {
    if state.pending.is_empty() {
        return state;
    }
    let perm = crate::permutation::Permutation::new(walk.size, walk.seed);
    state
        .pending
        .retain(|&pos| pos >= walk.size || !answered.contains(perm.shuffle(pos)));
    state
}

/// What every sender thread shares with the others and the capture thread.
#[derive(Clone, Copy)]
struct Shared<'a> {
    answered: &'a AnsweredSet,
    clock: &'a MonotonicClock,
    pace: Option<&'a IcmpPace>,
    board: &'a Board,
    /// This sender's number (its slot on the board).
    thread: usize,
    path: Option<&'a PathMonitor>,
}

/// The capture thread's side of checkpoints: asks the senders for one every
/// `checkpoint_every`, and sends the merged state once all have answered.
struct Marks<'a> {
    ctx: &'a EngineContext,
    board: &'a Board,
    walk: &'a Walk,
    answered: &'a AnsweredSet,
    next: Option<Duration>,
    asked: Option<u64>,
}

impl<'a> Marks<'a> {
    fn new(
        ctx: &'a EngineContext,
        board: &'a Board,
        walk: &'a Walk,
        answered: &'a AnsweredSet,
        now: Duration,
    ) -> Self {
        Marks {
            ctx,
            board,
            walk,
            answered,
            next: ctx.checkpoint_every.map(|every| now + every),
            asked: None,
        }
    }

    /// The merged resume point, once every sender has answered the last request.
    fn step(&mut self, now: Duration) -> Option<CursorState> {
        let mut ready = None;
        if let Some(g) = self.asked
            && let Some(state) = self.board.merged(g, self.walk.size, self.walk.shard)
        {
            ready = Some(without_answered(state, self.walk, self.answered));
            self.asked = None;
        }
        if let (Some(at), Some(every)) = (self.next, self.ctx.checkpoint_every)
            && now >= at
            && self.asked.is_none()
        {
            self.asked = Some(self.board.request());
            self.next = Some(now + every);
        }
        ready
    }
}

/// One sender thread: steps until its sub-shard is finished or a stop (or an error) ends it.
fn send_loop<P: Probe, T: PacketTx>(
    probe: &P,
    mut tx: T,
    cursor: Cursor,
    ctx: &EngineContext,
    shared: Shared,
    opts: &RawOptions,
) -> (CursorState, Option<io::Error>) {
    lower_timer_slack();
    let Shared {
        answered,
        clock,
        pace,
        board,
        thread,
        path,
    } = shared;
    let mut sender =
        Sender::new(probe, ctx, answered, opts, cursor, clock.now(), pace).with_path(path);
    let mut answered_request = 0;
    let end = |state: CursorState| {
        // Stands for every checkpoint still to come: this sender does nothing more.
        board.publish(thread, 0, true, state.clone());
        state
    };
    loop {
        if let Some(g) = board.wanted_after(answered_request) {
            board.publish(thread, g, false, sender.snapshot());
            answered_request = g;
        }
        let level = ctx.stop.level();
        let now = clock.now();
        match sender.step(now, level, &mut tx) {
            Ok(Step::Busy) => {}
            Ok(Step::Idle(until)) => {
                std::thread::sleep(until.saturating_sub(now).min(SENDER_NAP));
            }
            Ok(Step::Finished) => return (end(sender.finish(level)), None),
            Err(e) => {
                // The others stop too: the scan ends here, with a resume point.
                ctx.stop.raise_to(StopLevel::Abort);
                return (end(sender.finish(StopLevel::Abort)), Some(e));
            }
        }
    }
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
