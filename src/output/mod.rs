//! Everything a user sees is a Sink reading the one event stream; only the output thread
//! touches the terminal or output files.

pub mod banner_lines;
pub mod clean;
pub mod grepable;
pub mod json;
pub mod meta;
pub mod ndjson;
pub mod service_lines;
pub mod status;
pub mod stdout;
pub mod store;
pub mod table;
pub mod xml;
pub mod xml_service;

use crate::error::{Error, Result};
use crate::event::{Event, Listing, Stats};
use meta::{Figures, ScanMeta, Summary};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::ResultStore;

pub trait Sink: Send {
    /// A result as it is found (streaming formats write it now).
    fn event(&mut self, _e: &Event) -> io::Result<()> {
        Ok(())
    }
    /// A few times a second: flush what was written.
    fn tick(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The end (complete or stopped): write the whole document.
    fn finish(&mut self, store: &ResultStore, meta: &ScanMeta, summary: &Summary)
    -> io::Result<()>;
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl Dest {
    pub fn parse(s: &str) -> Dest {
        if s == "-" {
            Dest::Stdout
        } else {
            Dest::File(PathBuf::from(s))
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct OutputConfig {
    /// Which port states are listed; the rest, where they arrive at all, are counted.
    pub listing: Listing,
    pub json: Option<Dest>,
    pub ndjson: Option<Dest>,
    pub grepable: Option<Dest>,
    pub xml: Option<Dest>,
    pub status_json: Option<PathBuf>,
    pub progress_on_terminal: bool,
    /// A resumed scan appends to its NDJSON file instead of replacing it.
    pub append_ndjson: bool,
    /// Watches standard output for a reader that went away (EPIPE: a stop, not a failure).
    pub stdout: stdout::StdoutGuard,
}

impl OutputConfig {
    fn any_to_stdout(&self) -> bool {
        [&self.json, &self.ndjson, &self.grepable, &self.xml]
            .iter()
            .any(|d| matches!(d, Some(Dest::Stdout)))
    }
}

/// A document file is written beside its final name and renamed into place when complete,
/// so a reader never sees half a document.
struct PendingRename {
    tmp: PathBuf,
    path: PathBuf,
}

type Writer = Box<dyn Write + Send>;

/// Stdout is line-buffered: a 200k-row table cost a write(2) per row. Every sink flushes in
/// `finish`, and the streaming one on every tick, so nothing waits longer than a tick.
fn buffered_stdout(guard: &stdout::StdoutGuard) -> Writer {
    Box::new(BufWriter::with_capacity(
        1 << 16,
        guard.writer(io::stdout()),
    ))
}

fn open_document(
    dest: &Dest,
    guard: &stdout::StdoutGuard,
    renames: &mut Vec<PendingRename>,
) -> Result<Writer> {
    match dest {
        Dest::Stdout => Ok(buffered_stdout(guard)),
        Dest::File(path) => {
            let mut tmp = path.clone().into_os_string();
            tmp.push(".part");
            let tmp = PathBuf::from(tmp);
            let f = File::create(&tmp).map_err(|e| Error::WriteFile(path.clone(), e))?;
            renames.push(PendingRename {
                tmp,
                path: path.clone(),
            });
            Ok(Box::new(BufWriter::new(f)))
        }
    }
}

fn open_stream(path: &Path, append: bool) -> Result<Writer> {
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| Error::WriteFile(path.to_path_buf(), e))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// The sinks, and the status-JSON stream if asked for.
type OpenedSinks = (Vec<Box<dyn Sink>>, Option<Writer>);

/// Every output sink, plus the status-JSON stream; document files are registered in `renames`.
fn open_sinks(cfg: &OutputConfig, renames: &mut Vec<PendingRename>) -> Result<OpenedSinks> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let g = &cfg.stdout;
    if !cfg.any_to_stdout() {
        sinks.push(Box::new(table::TableSink::new(buffered_stdout(g))));
    }
    if let Some(d) = &cfg.json {
        sinks.push(Box::new(json::JsonSink::new(open_document(d, g, renames)?)));
    }
    if let Some(d) = &cfg.grepable {
        sinks.push(Box::new(grepable::GrepableSink::new(open_document(
            d, g, renames,
        )?)));
    }
    if let Some(d) = &cfg.xml {
        sinks.push(Box::new(xml::XmlSink::new(open_document(d, g, renames)?)));
    }
    if let Some(d) = &cfg.ndjson {
        let w = match d {
            Dest::Stdout => buffered_stdout(g),
            Dest::File(p) => open_stream(p, cfg.append_ndjson)?,
        };
        sinks.push(Box::new(ndjson::NdjsonSink::new(w)));
    }
    let status_json = match &cfg.status_json {
        Some(p) => Some(open_stream(p, false)?),
        None => None,
    };
    Ok((sinks, status_json))
}

pub struct OutputThread {
    handle: std::thread::JoinHandle<Result<ResultStore>>,
    finish: crossbeam_channel::Sender<Summary>,
}

const TICK: Duration = Duration::from_millis(250);
/// How long the output thread sleeps between drains of the event channel.
const NAP: Duration = Duration::from_millis(5);

impl OutputThread {
    /// Opens every output now (so a bad path fails before any probe is sent) and starts the
    /// thread. `carried` are results of the run this one resumes: documents include them,
    /// the NDJSON stream (which appends) does not repeat them.
    pub fn start(
        cfg: &OutputConfig,
        meta: ScanMeta,
        events: crossbeam_channel::Receiver<Event>,
        stats: Arc<Stats>,
        carried: Vec<Event>,
    ) -> Result<OutputThread> {
        let mut renames = Vec::new();
        let (sinks, status_json) = match open_sinks(cfg, &mut renames) {
            Ok(opened) => opened,
            Err(e) => {
                // Leave no half-made .part files behind for the outputs that did open.
                for r in &renames {
                    let _ = std::fs::remove_file(&r.tmp);
                }
                return Err(e);
            }
        };
        let progress = status::Progress::new(cfg.progress_on_terminal, status_json);
        let (finish, finish_rx) = crossbeam_channel::bounded(1);
        let listing = cfg.listing;
        let handle = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || {
                let mut store = ResultStore::default();
                for e in carried {
                    store.add(e);
                }
                let run = OutputLoop {
                    sinks,
                    progress,
                    listing,
                    store,
                    stats,
                    meta,
                };
                run.run(events, finish_rx, renames)
            })
            .map_err(|e| Error::Os("cannot start the output thread", e))?;
        Ok(OutputThread { handle, finish })
    }

    /// Called once the engine has returned and dropped its event sender.
    pub fn finish(self, summary: Summary) -> Result<ResultStore> {
        // The thread holds the receiver until it has read this; a send error means the thread
        // has already ended, and join() below reports why.
        let _ = self.finish.send(summary);
        self.handle
            .join()
            .map_err(|_| Error::Os("output thread", io::Error::other("panicked")))?
    }
}

struct OutputLoop {
    sinks: Vec<Box<dyn Sink>>,
    progress: status::Progress,
    listing: Listing,
    store: ResultStore,
    stats: Arc<Stats>,
    meta: ScanMeta,
}

impl OutputLoop {
    fn run(
        mut self,
        events: crossbeam_channel::Receiver<Event>,
        finish: crossbeam_channel::Receiver<Summary>,
        renames: Vec<PendingRename>,
    ) -> Result<ResultStore> {
        let started = Instant::now();
        let mut next_tick = started + TICK;
        let mut first_error: Option<io::Error> = None;
        let mut note = |r: io::Result<()>| {
            if let Err(e) = r {
                first_error.get_or_insert(e);
            }
        };
        loop {
            // Drain what has come, then nap: never blocking on the channel means a sender
            // never has to wake this thread, which at 200k events/s cost more than the work.
            let mut ended = false;
            loop {
                match events.try_recv() {
                    // Sent only to be counted (the engines' reporter sends these when XML
                    // wants its <extraports>): "Not shown: N closed ports".
                    Ok(Event::Port(p)) if !self.listing.lists(p.state) => {
                        self.store.count_unlisted(&p);
                    }
                    Ok(e) => {
                        if self.store.is_new(&e) {
                            for s in &mut self.sinks {
                                note(s.event(&e));
                            }
                            self.store.add(e);
                        }
                    }
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            }
            if ended {
                break;
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick += TICK;
                let f = Figures::read(&self.stats, started.elapsed().as_secs_f64());
                note(self.progress.tick(&f));
                for s in &mut self.sinks {
                    note(s.tick());
                }
            }
            std::thread::sleep(NAP.min(next_tick.saturating_duration_since(now)));
        }
        let summary = finish.recv().unwrap_or(Summary {
            figures: Figures::read(&self.stats, started.elapsed().as_secs_f64()),
            complete: false,
        });
        self.progress.clear();
        for s in &mut self.sinks {
            note(s.finish(&self.store, &self.meta, &summary));
        }
        drop(self.sinks);
        for r in renames {
            note(std::fs::rename(&r.tmp, &r.path));
        }
        match first_error {
            Some(e) => Err(Error::Os("writing output", e)),
            None => Ok(self.store),
        }
    }
}
