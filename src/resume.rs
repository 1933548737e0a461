//! The resume file: what an interrupted scan saves so `--resume` continues it exactly.
//!
//! Format 3 keeps the scan's configuration, resolved (target ranges, ports, seed, shard,
//! excludes, rates, outputs), not its command line: DNS, a changed `-iL` file or a renamed
//! flag cannot shift the index space under the saved position. Beside it: the cursor state,
//! its pending positions written compactly (`positions`), and no results: those are in the
//! scan's spill log (`output::spill`), whose length at the checkpoint the file records —
//! documents of the resumed run are built from that log, so they include the first run's
//! results; its NDJSON stream appends without repeating them.
//!
//! Saved every few seconds while the scan runs (a checkpoint) and at every stop; a scan that
//! completes marks its file `"complete": true` (resuming it again adds nothing). Beside the
//! log's length, the NDJSON file's: a resume cuts both back to them.
//! Locking and trust (who may have written the file) are `resume_file`'s.

mod positions;

use crate::config::ScanConfig;
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::output::meta::Figures;
use crate::output::spill::SpillMark;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub const FORMAT: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumePoint {
    pub synsweep_resume: u32,
    pub config: ScanConfig,
    #[serde(with = "positions")]
    pub state: CursorState,
    /// The figures of the runs so far, so a resumed run's documents count the whole scan.
    #[serde(default)]
    pub figures: Figures,
    /// The scan finished: nothing is left to resume.
    #[serde(default)]
    pub complete: bool,
    /// The NDJSON file and its length at the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndjson: Option<NdjsonMark>,
    /// The results so far: the spill log and its length at the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spill: Option<SpillMark>,
}

/// Where the NDJSON stream stood at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NdjsonMark {
    pub path: PathBuf,
    pub len: u64,
}

impl ResumePoint {
    /// The point of a scan stopped at `state` before it found anything.
    pub fn stopped_at(config: ScanConfig, state: CursorState) -> ResumePoint {
        ResumePoint {
            synsweep_resume: FORMAT,
            config,
            state,
            complete: false,
            ndjson: None,
            spill: None,
            figures: Figures::default(),
        }
    }

    /// Written under a temporary name (0600), then renamed: a crash mid-write leaves the old
    /// file (see `safe_file`). The lock-keeping save of a running scan is `resume_file`'s.
    pub fn save(&self, path: &Path) -> Result<()> {
        let p = self.write_pending(path)?;
        p.commit()
            .map(drop)
            .map_err(|e| Error::WriteFile(path.into(), e))
    }

    /// The point written to a new version of `path`, not yet in place.
    pub fn write_pending(&self, path: &Path) -> Result<crate::safe_file::Pending> {
        let fail = |e| Error::WriteFile(path.into(), e);
        let mut p = crate::safe_file::create(path, crate::safe_file::Mode::Private)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, p.file_mut());
        serde_json::to_writer(&mut w, self).map_err(|e| fail(e.into()))?;
        w.flush().map_err(fail)?;
        drop(w);
        Ok(p)
    }

    pub fn load(path: &Path) -> Result<ResumePoint> {
        let f = std::fs::File::open(path).map_err(|e| Error::ReadFile(path.into(), e))?;
        Self::read(path, f)
    }

    /// Reads a point from an open file. As a stream with a cap: `--resume /dev/zero` fails at
    /// its first byte.
    pub fn read(path: &Path, f: impl Read) -> Result<ResumePoint> {
        let text = std::io::BufReader::new(f.take(crate::lines::MAX_DOCUMENT));
        let doc: serde_json::Value = serde_json::from_reader(text)
            .map_err(|e| Error::BadResume(path.into(), e.to_string()))?;
        Self::parse(doc).map_err(|why| Error::BadResume(path.into(), why))
    }

    fn parse(doc: serde_json::Value) -> std::result::Result<ResumePoint, String> {
        match doc
            .get("synsweep_resume")
            .and_then(serde_json::Value::as_u64)
        {
            Some(n) if n == u64::from(FORMAT) => {}
            Some(1) => {
                return Err(
                    "format 1 (an older synsweep's, which saved the command line) \
                     cannot be continued by this version; run the scan again"
                        .into(),
                );
            }
            Some(2) => {
                return Err(
                    "format 2 (an older synsweep's, which kept every result in the file) \
                     cannot be continued by this version; run the scan again"
                        .into(),
                );
            }
            Some(n) => return Err(format!("format {n} is not {FORMAT}")),
            None => return Err("not a synsweep resume file".into()),
        }
        let r: ResumePoint = serde_json::from_value(doc).map_err(|e| e.to_string())?;
        let shard = r.config.shard;
        if shard.index == 0 || shard.index > shard.count {
            return Err("shard out of range".into());
        }
        Ok(r)
    }

    /// Checks the saved positions against the size of the rebuilt space.
    pub fn check_fits(&self, path: &Path, size: u64) -> Result<()> {
        if self.state.pending.iter().any(|&p| p >= size) {
            return Err(Error::BadResume(
                path.into(),
                format!("a pending position is beyond the {size} probes of the scan"),
            ));
        }
        Ok(())
    }
}
