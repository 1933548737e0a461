//! The output thread: drains the event stream into the sinks and the results log, ticks the
//! progress line, saves a resume point at every checkpoint the engine sends, and at the end
//! saves the last one *before* it finishes the documents (so a failing output, or a second
//! Ctrl-C while documents are written, still leaves a resume point). The first write error
//! raises a graceful stop: the scan ends at once, its results so far saved. The documents are
//! written at the end from the log (`documents`), one host at a time.

use super::documents::{self, Doc};
use super::meta::{Figures, ScanMeta, Summary};
use super::spill::{Budget, Seen, SpillLog, SpillMark};
use super::status::Progress;
use super::store::HostGroup;
use super::{OutputConfig, Sink, open_sinks};
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::event::{Event, Listing, Stats};
use crate::safe_file::Pending;
use crate::stop::{StopLevel, StopSignal};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a resume point is saved from: the engine's state, where the results log and the
/// NDJSON file stood at that moment, and at the end whether the scan is complete.
pub struct SavePoint<'a> {
    pub state: &'a CursorState,
    pub spill: Option<SpillMark>,
    pub ndjson_len: Option<u64>,
    /// None for a checkpoint while the scan runs; Some(complete) for the end.
    pub end: Option<bool>,
    /// This run's figures at that moment.
    pub figures: Figures,
}

/// Saves resume points (run.rs writes the resume file).
pub type Saver = Box<dyn FnMut(SavePoint<'_>) -> Result<()> + Send>;

/// Where the output thread keeps what it reported: the log documents are built from (when
/// documents or resume points need one), and the hosts reported already (a resumed run's
/// from its log).
pub struct Results {
    pub log: Option<SpillLog>,
    pub seen: Seen,
}

/// How the output thread ended.
pub struct OutputEnd {
    /// The first error writing an output (the scan was stopped for it).
    pub write_error: Option<Error>,
    /// Why the last resume point could not be saved, if it could not.
    pub save_error: Option<Error>,
}

pub struct OutputThread {
    handle: std::thread::JoinHandle<OutputEnd>,
    finish: crossbeam_channel::Sender<(Summary, Option<CursorState>)>,
}

const TICK: Duration = Duration::from_millis(250);
/// How long the output thread sleeps between drains of the event channel.
const NAP: Duration = Duration::from_millis(5);
/// Events handled between looks at the clock: with bounded stages the channel may never run
/// empty while the output is the slowest stage (a pipe read slowly), and the progress line
/// must still tick.
const DRAIN_BATCH: usize = 64;

impl OutputThread {
    /// Opens every output now (so a bad path fails before any probe is sent) and starts the
    /// thread. A resumed run's `results` hold the run it resumes: documents include them,
    /// the NDJSON stream (which appends) does not repeat them.
    pub fn start(
        cfg: &OutputConfig,
        meta: ScanMeta,
        events: crossbeam_channel::Receiver<Event>,
        stats: Arc<Stats>,
        results: Results,
        stop: StopSignal,
        saver: Option<Saver>,
    ) -> Result<OutputThread> {
        // A failure part-way drops the documents opened so far: their temporary files go.
        let mut pending = Vec::new();
        let (sinks, status_json) = open_sinks(cfg, &meta, &mut pending)?;
        let progress = Progress::new(cfg.progress_on_terminal, cfg.live_results, status_json)
            .with_notices(cfg.notices);
        let (finish, finish_rx) = crossbeam_channel::bounded(1);
        let listing = cfg.listing;
        let handle = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || {
                let run = OutputLoop {
                    sinks,
                    progress,
                    listing,
                    log: results.log,
                    seen: results.seen,
                    stats,
                    meta,
                    stop,
                    saver,
                    write_error: None,
                    started: Instant::now(),
                };
                run.run(events, finish_rx, pending)
            })
            .map_err(|e| Error::Os("cannot start the output thread", e))?;
        Ok(OutputThread { handle, finish })
    }

    /// Called once the engine has returned and dropped its event sender, with its final
    /// state (None: save nothing).
    pub fn finish(self, summary: Summary, state: Option<CursorState>) -> Result<OutputEnd> {
        // The thread holds the receiver until it has read this; a send error means the thread
        // has already ended, and join() below reports why.
        let _ = self.finish.send((summary, state));
        self.handle
            .join()
            .map_err(|_| Error::Os("output thread", io::Error::other("panicked")))
    }
}

struct OutputLoop {
    sinks: Vec<Box<dyn Sink>>,
    progress: Progress,
    listing: Listing,
    log: Option<SpillLog>,
    seen: Seen,
    stats: Arc<Stats>,
    meta: ScanMeta,
    stop: StopSignal,
    saver: Option<Saver>,
    write_error: Option<io::Error>,
    started: Instant,
}

impl OutputLoop {
    /// The first write error stops the scan: nothing later can be written anyway.
    fn note(&mut self, r: io::Result<()>) {
        if let Err(e) = r
            && self.write_error.is_none()
        {
            self.write_error = Some(e);
            self.stop.raise_to(StopLevel::Graceful);
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Checkpoint(state) => match self.save(&state, None) {
                // Out of descriptors for a moment: a connect scan at its window holds them
                // all (it backs off and retries on EMFILE too). The next checkpoint, or the
                // last save once the engine has let go of its sockets, will do.
                Err(crate::Error::WriteFile(_, e)) if is_shortage(&e) => {}
                // A checkpoint that cannot be written is an output that cannot be written.
                Err(e) => self.note(Err(io::Error::other(e.to_string()))),
                Ok(()) => {}
            },
            // Sent only to be counted (the engines' reporter sends these when XML wants its
            // <extraports>): "Not shown: N closed ports".
            Event::Port(p) if !self.listing.lists(p.state) => {
                if let Some(log) = &mut self.log {
                    let r = log.count_unlisted(&p);
                    self.note(r);
                }
            }
            e => {
                if self.seen.first(&e) {
                    let mut failed = None;
                    for s in &mut self.sinks {
                        if let Err(err) = s.event(&e) {
                            failed.get_or_insert(err);
                        }
                    }
                    if let Some(err) = failed {
                        self.note(Err(err));
                    }
                    let shown = self.progress.found(&e, self.meta.port_count == 0);
                    self.note(shown);
                    if let Some(log) = &mut self.log {
                        let r = log.append(&e);
                        self.note(r);
                    }
                }
            }
        }
    }

    fn save(&mut self, state: &CursorState, end: Option<bool>) -> Result<()> {
        // After a failed write (the log, a stream), what the engine counts as done is no
        // longer all on disk: the last resume point saved before the failure is the one to
        // keep — a newer one would say "done" of results a resume could not find.
        if self.saver.is_none() || self.write_error.is_some() {
            return Ok(());
        }
        let mut ndjson_len = None;
        let mut failed = None;
        for s in &mut self.sinks {
            match s.stream_len() {
                Some(Ok(n)) => ndjson_len = Some(n),
                Some(Err(e)) => failed = Some(e),
                None => {}
            }
        }
        if let Some(e) = failed {
            // Whole lines up to the last good flush are on disk; the length says so.
            self.note(Err(e));
        }
        // The log on disk first: the resume point says how long it is.
        let (flushed, spill) = match &mut self.log {
            Some(log) => (log.flush(), log.mark()),
            None => (Ok(()), None),
        };
        self.note(flushed);
        if self.write_error.is_some() {
            return Ok(());
        }
        let Some(saver) = self.saver.as_mut() else {
            return Ok(());
        };
        let figures = Figures::read(&self.stats, self.started.elapsed().as_secs_f64());
        let refers = spill.is_some();
        saver(SavePoint {
            state,
            spill,
            ndjson_len,
            end,
            figures,
        })?;
        if refers && let Some(log) = &mut self.log {
            log.keep();
        }
        Ok(())
    }

    /// Ends every sink, the documents written from the log in one pass.
    fn documents(&mut self, summary: &Summary) {
        let documents = self.sinks.iter().any(|s| s.document());
        let hosts: Box<dyn Iterator<Item = io::Result<HostGroup>>> = match &mut self.log {
            Some(log) if documents => match log.flush().and_then(|()| log.hosts(Budget::default()))
            {
                Ok(h) => Box::new(h),
                Err(e) => Box::new(std::iter::once(Err(e))),
            },
            _ => Box::new(std::iter::empty()),
        };
        let doc = Doc {
            meta: &self.meta,
            summary,
        };
        if let Some(e) = documents::write(&mut self.sinks, hosts, &doc) {
            self.note(Err(e));
        }
    }

    fn run(
        mut self,
        events: crossbeam_channel::Receiver<Event>,
        finish: crossbeam_channel::Receiver<(Summary, Option<CursorState>)>,
        pending: Vec<Pending>,
    ) -> OutputEnd {
        let started = self.started;
        let mut next_tick = started + TICK;
        loop {
            // Drain what has come, then nap: never blocking on the channel means a sender
            // never has to wake this thread, which at 200k events/s cost more than the work.
            let mut ended = false;
            let mut behind = false;
            'drain: loop {
                for _ in 0..DRAIN_BATCH {
                    match events.try_recv() {
                        Ok(e) => self.event(e),
                        Err(crossbeam_channel::TryRecvError::Empty) => break 'drain,
                        Err(crossbeam_channel::TryRecvError::Disconnected) => {
                            ended = true;
                            break 'drain;
                        }
                    }
                }
                if Instant::now() >= next_tick {
                    behind = true;
                    break;
                }
            }
            if ended {
                break;
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick += TICK;
                let f = Figures::read(&self.stats, started.elapsed().as_secs_f64());
                let r = self.progress.tick(&f);
                self.note(r);
                let mut failed = None;
                for s in &mut self.sinks {
                    if let Err(e) = s.tick() {
                        failed.get_or_insert(e);
                    }
                }
                if let Some(e) = failed {
                    self.note(Err(e));
                }
            }
            if !behind {
                std::thread::sleep(NAP.min(next_tick.saturating_duration_since(now)));
            }
        }
        let (summary, state) = finish.recv().unwrap_or((
            Summary {
                figures: Figures::read(&self.stats, started.elapsed().as_secs_f64()),
                complete: false,
            },
            None,
        ));
        // The resume point first, as unfinished: whatever happens to the documents, the scan
        // can go on (a resume of a scan with nothing left to probe writes them from the log).
        let mut save_error = match &state {
            Some(s) => self.save(s, Some(false)).err(),
            None => None,
        };
        self.progress.clear();
        self.documents(&summary);
        self.sinks.clear();
        for p in pending {
            if self.write_error.is_none() {
                let r = p.commit().map(drop);
                if let Err(e) = r {
                    self.write_error = Some(e);
                }
            }
            // After an error the documents are dropped, and their temporary files with them.
        }
        // Complete and every document in place: the resume point can say so (or go), and no
        // one needs the log now. A document that failed keeps both.
        if summary.complete
            && save_error.is_none()
            && self.write_error.is_none()
            && let Some(s) = &state
        {
            save_error = self.save(s, Some(true)).err();
            if save_error.is_none()
                && let Some(log) = self.log.take()
                && let Err(e) = log.remove()
            {
                self.write_error.get_or_insert(e);
            }
        }
        OutputEnd {
            write_error: self.write_error.map(|e| Error::Os("writing output", e)),
            save_error,
        }
    }
}

/// A local shortage of descriptors: says nothing about the destination.
fn is_shortage(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

#[cfg(test)]
#[path = "thread_tests.rs"]
mod tests;
