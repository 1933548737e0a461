//! The resume file: what an interrupted scan saves so `--resume` continues it exactly.
//!
//! It keeps the resolved target ranges and port list (not just the command line), so DNS or a
//! changed `-iL` file cannot shift the index space under the saved position; the seed and
//! shard, the cursor state, and the results reported so far (documents of the resumed run
//! include them; its NDJSON stream appends without repeating them).

use crate::cursor::{CursorState, Shard};
use crate::error::{Error, Result};
use crate::event::Event;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::Path;

pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumePoint {
    pub synsweep_resume: u32,
    /// The original command line, without the program name.
    pub argv: Vec<String>,
    pub seed: u64,
    pub shard: Shard,
    pub ranges: Vec<String>,
    pub ports: String,
    pub names: Vec<(IpAddr, String)>,
    pub state: CursorState,
    pub results: Vec<Event>,
}

impl ResumePoint {
    /// Written beside the final name, then renamed: a crash mid-write leaves the old file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".part");
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| Error::WriteFile(path.into(), e.into()))?;
        std::fs::write(&tmp, text).map_err(|e| Error::WriteFile(path.into(), e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::WriteFile(path.into(), e))
    }

    pub fn load(path: &Path) -> Result<ResumePoint> {
        let text = crate::lines::open_capped(path).map_err(|e| Error::ReadFile(path.into(), e))?;
        let bad = |why: String| Error::BadResume(path.into(), why);
        let r: ResumePoint = serde_json::from_reader(text).map_err(|e| bad(e.to_string()))?;
        if r.synsweep_resume != FORMAT {
            return Err(bad(format!("format {} is not {FORMAT}", r.synsweep_resume)));
        }
        if r.shard.index == 0 || r.shard.index > r.shard.count {
            return Err(bad("shard out of range".into()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_rejects_damage() {
        let dir = std::env::temp_dir().join(format!("synsweep-resume-{}", std::process::id()));
        let r = ResumePoint {
            synsweep_resume: FORMAT,
            argv: vec!["-p".into(), "80".into(), "198.18.0.0/24".into()],
            seed: 42,
            shard: Shard { index: 2, count: 3 },
            ranges: vec!["198.18.0.0-198.18.0.255".into()],
            ports: "80".into(),
            names: vec![],
            state: CursorState {
                next_position: 100,
                pending: vec![7, 9],
            },
            results: vec![],
        };
        r.save(&dir).unwrap();
        let back = ResumePoint::load(&dir).unwrap();
        assert_eq!((back.seed, back.state.clone()), (42, r.state.clone()));
        assert!(back.check_fits(&dir, 256).is_ok());
        assert!(back.check_fits(&dir, 8).is_err());
        std::fs::write(&dir, b"{\"synsweep_resume\": 1, \"argv\": [").unwrap();
        let e = ResumePoint::load(&dir).unwrap_err().to_string();
        std::fs::remove_file(&dir).ok();
        assert!(e.starts_with("bad resume file"), "{e}");
    }
}
