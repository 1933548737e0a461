//! Everything a user sees is a Sink reading the one event stream; only the output thread
//! touches the terminal or output files.

pub mod answers_all;
pub mod banner_lines;
pub mod clean;
pub mod documents;
pub mod grepable;
pub mod json;
pub mod lists;
pub mod meta;
pub mod ndjson;
pub mod normal;
pub mod service_lines;
pub mod spill;
pub mod status;
pub mod stdout;
pub mod store;
pub mod table;
mod thread;
pub mod xml;
pub mod xml_service;

use crate::error::{Error, Result};
use crate::event::{Event, Listing};
use crate::safe_file::{self, Mode, Pending};
pub use documents::Doc;
use meta::ScanMeta;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use store::HostGroup;
pub use thread::{OutputEnd, OutputThread, Results, SavePoint, Saver};

pub trait Sink: Send {
    /// A result as it is found (streaming formats write it now).
    fn event(&mut self, _e: &Event) -> io::Result<()> {
        Ok(())
    }
    /// A few times a second: flush what was written.
    fn tick(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// A stream's length in its file after writing out what it holds (whole records), for a
    /// checkpoint; None for sinks that write a document at the end, or no file.
    fn stream_len(&mut self) -> Option<io::Result<u64>> {
        None
    }
    /// Whether this sink writes a document of every result at the end: `begin`, then
    /// `host` for each host in address order, then `end` (see `documents`).
    fn document(&self) -> bool {
        false
    }
    fn begin(&mut self, _doc: &Doc<'_>) -> io::Result<()> {
        Ok(())
    }
    /// One listed host of the document.
    fn host(&mut self, _doc: &Doc<'_>, _host: &HostGroup) -> io::Result<()> {
        Ok(())
    }
    /// The end (complete or stopped): close the document or the stream. `hosts_up`: the
    /// document's hosts that are up.
    fn end(&mut self, doc: &Doc<'_>, hosts_up: u64) -> io::Result<()>;
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl Dest {
    pub fn parse(s: &str) -> Dest {
        if s == "-" || s == "/dev/stdout" {
            Dest::Stdout
        } else {
            Dest::File(PathBuf::from(s))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Ndjson,
    Grepable,
    Xml,
    /// nmap's normal output (`-oN`).
    Normal,
    /// masscan's list format (`-oL`).
    List,
    /// `ADDR:PORT` a line (`-oP`).
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputFile {
    pub format: Format,
    pub dest: Dest,
}

#[derive(Debug, Clone, Default)]
pub struct OutputConfig {
    /// Which port states are listed; the rest, where they arrive at all, are counted.
    pub listing: Listing,
    pub files: Vec<OutputFile>,
    pub status_json: Option<PathBuf>,
    pub progress_on_terminal: bool,
    /// Open ports printed on stderr as found (`-v`, or a terminal's progress line).
    pub live_results: bool,
    /// One-line notices of the running scan on stderr (all but `-q`).
    pub notices: bool,
    /// A resumed scan appends to its streams (NDJSON, lists) instead of replacing them.
    pub append_streams: bool,
    /// A resumed scan's NDJSON file is first cut back to this length: the lines written after
    /// the checkpoint it resumes from are found again.
    pub truncate_ndjson: Option<u64>,
    /// Watches standard output for a reader that went away (EPIPE: a stop, not a failure).
    pub stdout: stdout::StdoutGuard,
}

impl OutputConfig {
    fn any_to_stdout(&self) -> bool {
        self.files.iter().any(|f| f.dest == Dest::Stdout)
    }

    /// Some output is a document of every result, written at the end (the table on
    /// standard output when nothing else goes there): the results are kept in a log.
    pub fn wants_documents(&self) -> bool {
        !self.any_to_stdout()
            || self.files.iter().any(|f| {
                matches!(
                    f.format,
                    Format::Json | Format::Xml | Format::Grepable | Format::Normal
                )
            })
    }
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

/// A document is written under a temporary name (`safe_file`) and put in place when whole,
/// so a reader never sees half a document; the `Pending` is committed at the end.
fn open_document(
    dest: &Dest,
    guard: &stdout::StdoutGuard,
    pending: &mut Vec<Pending>,
) -> Result<Writer> {
    match dest {
        Dest::Stdout => Ok(buffered_stdout(guard)),
        Dest::File(path) => {
            let p = safe_file::create(path, Mode::Shared)?;
            let f = p
                .file()
                .try_clone()
                .map_err(|e| Error::WriteFile(path.clone(), e))?;
            pending.push(p);
            Ok(Box::new(BufWriter::new(f)))
        }
    }
}

/// The NDJSON stream and its length now (None where a length means nothing).
fn open_ndjson(path: &Path, cfg: &OutputConfig) -> Result<(File, Option<u64>)> {
    let fail = |e| Error::WriteFile(path.to_path_buf(), e);
    let f = safe_file::stream(path, Mode::Shared, cfg.append_streams)?;
    let m = f.metadata().map_err(fail)?;
    if !m.file_type().is_file() {
        return Ok((f, None));
    }
    let mut len = m.len();
    if let Some(cut) = cfg
        .truncate_ndjson
        .filter(|&c| c < len && cfg.append_streams)
    {
        f.set_len(cut).map_err(fail)?;
        len = cut;
    }
    Ok((f, Some(len)))
}

/// The sinks, and the status-JSON stream if asked for.
type OpenedSinks = (Vec<Box<dyn Sink>>, Option<Writer>);

/// Every output sink, plus the status-JSON stream; document files are registered in `pending`.
fn open_sinks(
    cfg: &OutputConfig,
    meta: &ScanMeta,
    renames: &mut Vec<Pending>,
) -> Result<OpenedSinks> {
    let g = &cfg.stdout;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if !cfg.any_to_stdout() {
        sinks.push(Box::new(table::TableSink::new(buffered_stdout(g))));
    }
    // The line lists are streams like NDJSON, opened the same safe way (appended on resume).
    let list = |d: &Dest, style| {
        let w: Writer = match d {
            Dest::Stdout => buffered_stdout(g),
            Dest::File(p) => Box::new(BufWriter::new(safe_file::stream(
                p,
                Mode::Shared,
                cfg.append_streams,
            )?)),
        };
        lists::ListSink::new(w, style, meta).map_err(|e| Error::Os("writing a list output", e))
    };
    for f in &cfg.files {
        let d = &f.dest;
        let sink: Box<dyn Sink> = match f.format {
            Format::Json => Box::new(json::JsonSink::new(open_document(d, g, renames)?)),
            Format::Grepable => {
                Box::new(grepable::GrepableSink::new(open_document(d, g, renames)?))
            }
            Format::Xml => Box::new(xml::XmlSink::new(open_document(d, g, renames)?)),
            Format::Normal => Box::new(normal::NormalSink::new(open_document(d, g, renames)?)),
            Format::Ndjson => Box::new(match d {
                Dest::Stdout => ndjson::NdjsonSink::new(buffered_stdout(g)),
                Dest::File(p) => {
                    let (f, len) = open_ndjson(p, cfg)?;
                    ndjson::NdjsonSink::at(Box::new(f) as Writer, len)
                }
            }),
            Format::List => Box::new(list(d, lists::Style::Masscan)?),
            Format::Plain => Box::new(list(d, lists::Style::Plain)?),
        };
        sinks.push(sink);
    }
    let status_json = match &cfg.status_json {
        Some(p) => {
            Some(Box::new(BufWriter::new(safe_file::stream(p, Mode::Shared, false)?)) as Writer)
        }
        None => None,
    };
    Ok((sinks, status_json))
}

#[cfg(test)]
#[path = "golden_tests.rs"]
mod golden_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_ndjson_is_cut_back_to_its_checkpoint_and_never_extended() {
        let dir = std::env::temp_dir().join(format!("synsweep-ndjson-cut-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.ndjson");
        std::fs::write(&path, "{\"a\":1}\n{\"after\":2}\n").unwrap();
        let cfg = |cut| OutputConfig {
            append_streams: true,
            truncate_ndjson: Some(cut),
            ..OutputConfig::default()
        };
        let (_, len) = open_ndjson(&path, &cfg(8)).unwrap();
        assert_eq!(len, Some(8));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        // A mark beyond the file (the file was cut by hand) changes nothing.
        let (_, len) = open_ndjson(&path, &cfg(100)).unwrap();
        assert_eq!(len, Some(8));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
        let _ = std::fs::remove_dir_all(dir);
    }
}
