//! The spill log: every result the output thread accepts, appended as it arrives to a
//! compact binary file of the scan's own, so that no result is held in memory. Documents
//! (JSON, XML, grepable, normal, the table) are built from it at the end, one host at a time
//! (`sort`, `hosts`); a resumed scan continues its first run's log, so its documents hold
//! both runs' results.
//!
//! - **Where.** Next to the resume file (`RESUME.spill`, 0600, made as `safe_file` makes
//!   files, after the privilege drop) when resume points are saved; else an unnamed file in
//!   `$TMPDIR`. Removed when the scan completes; kept while a resume point refers to it.
//! - **Checkpoints.** At each one the log is written out, synced, and its length recorded in
//!   the resume point (`SpillMark`), like the NDJSON's: a resume cuts the log back to it,
//!   so the results found again after the checkpoint are not doubled.
//! - **Unlisted ports** (what `<extraports>` and "Not shown" count) are summed per host in
//!   memory, but only up to `UNLISTED_HOSTS` hosts: then, and at every checkpoint, the sums
//!   are written as count records and the map starts again; the documents add them up.
//! - **Layout.** A 16-byte header (magic and the scan's random id, which the resume point
//!   repeats: a log swapped for another is refused), then records (`record`).

pub mod hosts;
pub mod record;
pub mod seen;
pub mod sort;

use crate::error::{Error, Result};
use crate::event::{Event, PortResult, PortState, Proto};
use crate::output::store::Unlisted;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use seen::Seen;
pub use sort::Budget;

const MAGIC: &[u8; 8] = b"SSPILL\x00\x01";
pub const HEADER: u64 = 16;
/// Bytes gathered before one write.
const BUFFER: usize = 256 << 10;
/// Hosts whose unlisted counts are held before they are written out (about 100 bytes each).
pub const UNLISTED_HOSTS: usize = 16_384;

/// Where a scan's log stood at a checkpoint: what a resume point says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpillMark {
    pub path: PathBuf,
    pub len: u64,
    /// The log's id, in hex (its header holds it).
    pub id: String,
}

/// What reading a resumed log found: the hosts already reported, and (asked for with
/// `--nmap`) the open TCP ports nmap has not examined yet.
#[derive(Debug, Default)]
pub struct Carried {
    pub seen: Seen,
    pub nmap_seeds: Vec<(IpAddr, u16)>,
}

pub struct SpillLog {
    file: Arc<File>,
    /// Its name, when it has one (next to the resume file).
    path: Option<PathBuf>,
    /// Where the sort's scratch files go.
    dir: PathBuf,
    id: u64,
    /// Whole records not written yet.
    buf: Vec<u8>,
    /// Bytes in the file: whole records, all of them written.
    written: u64,
    /// The first write error: nothing more is written after it.
    broken: bool,
    unlisted: HashMap<IpAddr, Unlisted>,
    unlisted_budget: usize,
    /// A resume point refers to the file: it stays when this is dropped.
    keep: bool,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::WriteFile(path.to_path_buf(), e)
}

impl SpillLog {
    /// A new log: at `path` (next to the resume file), or unnamed in `$TMPDIR`.
    pub fn create(path: Option<&Path>) -> Result<SpillLog> {
        let (file, named, dir) = match path {
            Some(p) => {
                let abs = std::path::absolute(p).map_err(io_err(p))?;
                let f = crate::safe_file::scratch::create_named(&abs)?;
                let dir = abs
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (f, Some(abs), dir)
            }
            None => {
                let dir = std::env::temp_dir();
                let f = scratch_in(&dir).map_err(io_err(&dir))?;
                (f, None, dir)
            }
        };
        let id = rand::random::<u64>();
        // Made before the header is written: if that fails, its drop removes the file.
        let log = SpillLog {
            file: Arc::new(file),
            path: named,
            dir,
            id,
            buf: Vec::with_capacity(BUFFER),
            written: HEADER,
            broken: false,
            unlisted: HashMap::new(),
            unlisted_budget: UNLISTED_HOSTS,
            keep: false,
        };
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&id.to_le_bytes());
        log.file
            .write_all_at(&header, 0)
            .map_err(io_err(log.path.as_deref().unwrap_or(&log.dir)))?;
        Ok(log)
    }

    /// The log a resume point refers to, cut back to its mark and read: what it holds is
    /// remembered in `Carried`. With `nmap`, the open TCP ports without nmap's finding.
    pub fn resume(mark: &SpillMark, nmap: bool) -> Result<(SpillLog, Carried)> {
        let path = &mark.path;
        let bad = |why: String| {
            Error::BadFile(path.clone(), format!("results of the resumed scan: {why}"))
        };
        let file = crate::safe_file::scratch::reopen(path)?;
        let len = file
            .metadata()
            .map_err(|e| Error::ReadFile(path.clone(), e))?
            .len();
        if len < mark.len || mark.len < HEADER {
            return Err(bad(format!(
                "{len} bytes, shorter than the {} its resume point saved",
                mark.len
            )));
        }
        let mut header = [0u8; HEADER as usize];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| Error::ReadFile(path.clone(), e))?;
        let id = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        if &header[..8] != MAGIC || format!("{id:016x}") != mark.id {
            return Err(bad("not the log its resume point names".into()));
        }
        file.set_len(mark.len).map_err(io_err(path))?;
        let file = Arc::new(file);
        let carried = read_carried(&file, mark.len, nmap).map_err(|e| bad(e.to_string()))?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok((
            SpillLog {
                file,
                path: Some(path.clone()),
                dir,
                id,
                buf: Vec::with_capacity(BUFFER),
                written: mark.len,
                broken: false,
                unlisted: HashMap::new(),
                unlisted_budget: UNLISTED_HOSTS,
                keep: true,
            },
            carried,
        ))
    }

    /// Appends a result.
    pub fn append(&mut self, e: &Event) -> io::Result<()> {
        record::encode(e, &mut self.buf)?;
        self.write_if_full()
    }

    /// Counts a port answered but not listed; the sums go to the log when they hold too
    /// many hosts.
    pub fn count_unlisted(&mut self, p: &PortResult) -> io::Result<()> {
        self.unlisted
            .entry(p.ip)
            .or_default()
            .count(p.state, p.reason);
        if self.unlisted.len() >= self.unlisted_budget {
            self.spill_unlisted();
            return self.write_if_full();
        }
        Ok(())
    }

    fn spill_unlisted(&mut self) {
        for (ip, u) in self.unlisted.drain() {
            for (state, reason, n) in u.iter() {
                record::encode_unlisted(ip, state, reason, n, &mut self.buf);
            }
        }
    }

    fn write_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= BUFFER {
            return self.write_out();
        }
        Ok(())
    }

    /// Writes what is gathered. After an error nothing more is written: the length stays
    /// where whole records end (a resume cuts back there), and the scan stops.
    fn write_out(&mut self) -> io::Result<()> {
        if self.broken {
            self.buf.clear();
            return Ok(());
        }
        let r = self.file.write_all_at(&self.buf, self.written);
        match r {
            Ok(()) => self.written += self.buf.len() as u64,
            Err(_) => self.broken = true,
        }
        self.buf.clear();
        r
    }

    /// Everything held written out and on disk (the unlisted sums too): for a checkpoint,
    /// before the resume point that refers to it, and before the documents are built.
    pub fn flush(&mut self) -> io::Result<()> {
        self.spill_unlisted();
        self.write_out()?;
        if self.broken {
            return Err(io::Error::other("the results log could not be written"));
        }
        match self.file.sync_data() {
            // A file with nothing to sync (a device: EINVAL) is as written as it gets.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
            r => r,
        }
    }

    /// Where the log stands, for a resume point (None: it has no name to resume from).
    /// After `flush`; after a write error, where its whole records end.
    pub fn mark(&self) -> Option<SpillMark> {
        Some(SpillMark {
            path: self.path.clone()?,
            len: self.written,
            id: format!("{:016x}", self.id),
        })
    }

    /// A resume point that refers to the log was saved: it stays.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// The hosts of the log, in address order, one at a time (after `flush`).
    pub fn hosts(&self, budget: Budget) -> io::Result<hosts::Hosts<sort::Sorted>> {
        let sorted = sort::sort(&self.file, HEADER, self.written, &self.dir, budget)?;
        Ok(hosts::Hosts::new(sorted))
    }

    /// The scan is complete and its documents written: the log goes.
    pub fn remove(mut self) -> io::Result<()> {
        self.keep = false;
        match self.path.take() {
            Some(p) => std::fs::remove_file(p),
            None => Ok(()),
        }
    }

    /// Bytes of whole records in the file.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == HEADER && self.buf.is_empty()
    }

    /// Writes go to `file` from now on (a test's `/dev/full`).
    #[cfg(test)]
    pub fn write_to(&mut self, file: File) {
        self.file = Arc::new(file);
    }

    #[cfg(test)]
    pub fn set_unlisted_budget(&mut self, hosts: usize) {
        self.unlisted_budget = hosts.max(1);
    }
}

impl Drop for SpillLog {
    /// A log no resume point refers to (the scan failed before its first checkpoint) goes.
    fn drop(&mut self) {
        if !self.keep
            && let Some(p) = self.path.take()
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Reads a resumed log: the hosts it reported, and nmap's seeds.
fn read_carried(file: &Arc<File>, len: u64, nmap: bool) -> io::Result<Carried> {
    let mut carried = Carried::default();
    let span = sort::span(file, HEADER, len);
    let mut records = sort::Records::new(BufReader::with_capacity(1 << 16, span));
    let mut open: Vec<(IpAddr, u16)> = Vec::new();
    let mut examined: HashSet<(IpAddr, u16)> = HashSet::new();
    while let Some((_, body)) = records.next()? {
        let record::Record::Result(e) = record::decode(&body)? else {
            continue;
        };
        carried.seen.first(&e);
        match &e {
            Event::Port(p) if nmap && p.state == PortState::Open && p.proto == Proto::Tcp => {
                open.push((p.ip, p.port));
            }
            Event::Service(s) if nmap => {
                examined.insert((s.ip, s.port));
            }
            _ => {}
        }
    }
    // Nor hosts that answer every port: the first run kept them from nmap too.
    let everything: HashSet<IpAddr> = carried.seen.answers_all().collect();
    carried.nmap_seeds = open
        .into_iter()
        .filter(|k| !examined.contains(k) && !everything.contains(&k.0))
        .collect();
    Ok(carried)
}

/// An unnamed scratch file in `dir` (the sort's runs, a log without a resume point).
pub(crate) fn scratch_in(dir: &Path) -> io::Result<File> {
    crate::safe_file::scratch::unnamed(dir)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
