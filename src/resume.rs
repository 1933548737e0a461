//! The resume file: what an interrupted scan saves so `--resume` continues it exactly.
//!
//! Format 2 keeps the scan's configuration, resolved (target ranges, ports, seed, shard,
//! excludes, rates, outputs), not its command line: DNS, a changed `-iL` file or a renamed
//! flag cannot shift the index space under the saved position. Beside it: the cursor state,
//! and the results reported so far (documents of the resumed run include them; its NDJSON
//! stream appends without repeating them).

use crate::config::ScanConfig;
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::output::meta::Figures;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumePoint {
    pub synsweep_resume: u32,
    pub config: ScanConfig,
    pub state: CursorState,
    pub results: Vec<Event>,
    /// The figures of the runs so far, so a resumed run's documents count the whole scan.
    #[serde(default)]
    pub figures: Figures,
}

impl ResumePoint {
    /// Written beside the final name, then renamed: a crash mid-write leaves the old file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".part");
        let text = serde_json::to_vec(self).map_err(|e| Error::WriteFile(path.into(), e.into()))?;
        std::fs::write(&tmp, text).map_err(|e| Error::WriteFile(path.into(), e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::WriteFile(path.into(), e))
    }

    pub fn load(path: &Path) -> Result<ResumePoint> {
        // Read as a stream with a cap: `--resume /dev/zero` fails at its first byte.
        let text = crate::lines::open_capped(path).map_err(|e| Error::ReadFile(path.into(), e))?;
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
