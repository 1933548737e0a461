//! Where a run keeps its results (`output::spill`): the log of the run it resumes, continued;
//! else a new one next to the resume file when resume points are saved (a resume finds it
//! there), or an unnamed one when only documents need it; none when nothing does (NDJSON or
//! lists alone, without resume points).

use crate::config::ScanConfig;
use crate::error::Result;
use crate::output::spill::{Carried, SpillLog, SpillMark};
use std::path::{Path, PathBuf};

/// The log beside a resume file: its name with `.spill` added.
pub fn spill_path(resume_file: &Path) -> PathBuf {
    let mut name = resume_file.as_os_str().to_os_string();
    name.push(".spill");
    PathBuf::from(name)
}

/// The log a resume point names — or, when that is gone and the resume file was moved with
/// its log, the one beside it now (its id is checked all the same when it is opened).
pub fn moved_with(mark: SpillMark, resume_file: &Path) -> SpillMark {
    let beside = spill_path(resume_file);
    if mark.path.exists() || !beside.exists() {
        return mark;
    }
    match std::path::absolute(&beside) {
        Ok(path) => SpillMark { path, ..mark },
        Err(_) => mark,
    }
}

/// Opens the run's log (after the privilege drop: it is the scan's user's file), and reads
/// what a resumed one holds.
pub fn open(
    config: &ScanConfig,
    resumed: Option<&SpillMark>,
    checkpoints: bool,
    documents: bool,
) -> Result<(Option<SpillLog>, Carried)> {
    if let Some(mark) = resumed {
        let (log, carried) = SpillLog::resume(mark, config.nmap.is_some())?;
        return Ok((Some(log), carried));
    }
    // A resume file that is a device or a FIFO (`--resume-file /dev/null`) has no directory
    // of its own to keep a log in.
    let beside = checkpoints && !crate::safe_file::is_special(&config.resume_file);
    let log = if beside {
        Some(SpillLog::create(Some(&spill_path(&config.resume_file)))?)
    } else if documents || checkpoints {
        Some(SpillLog::create(None)?)
    } else {
        None
    };
    Ok((log, Carried::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_named_after_the_resume_file() {
        assert_eq!(
            spill_path(Path::new("dir/synsweep-1-2.resume")),
            PathBuf::from("dir/synsweep-1-2.resume.spill")
        );
    }

    #[test]
    fn a_log_moved_with_its_resume_file_is_found_beside_it() {
        let d = std::env::temp_dir().join(format!("synsweep-moved-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let resume = d.join("s.resume");
        let mark = SpillMark {
            path: "/nonexistent/old/s.resume.spill".into(),
            len: 16,
            id: "1".into(),
        };
        // Nothing beside it either: the mark stays (opening it says what is missing).
        assert_eq!(moved_with(mark.clone(), &resume), mark);
        std::fs::write(d.join("s.resume.spill"), b"").unwrap();
        let moved = moved_with(mark.clone(), &resume);
        assert_eq!(
            moved.path,
            std::path::absolute(d.join("s.resume.spill")).unwrap()
        );
        assert_eq!((moved.len, moved.id), (mark.len, mark.id));
        let _ = std::fs::remove_dir_all(d);
    }
}
