//! The resume file as something other users might have touched, and two processes might
//! share.
//!
//! - **Trust.** Read as root (sudo or not), a resume file must belong to the invoking user
//!   or root and be writable by no one else: it decides what is scanned.
//! - **One scan per file.** The process running from or saving to a resume file holds an
//!   advisory lock (flock) on it. Each save locks its new version before renaming it into
//!   place, so the name always points at a locked file; a second process gets one line.
//! - **No silent overwrite.** A scan saves only to a file that does not exist yet, that it
//!   resumes, or whose scan is complete; anything else is refused, naming `--resume-file`.

use crate::error::{Error, Result};
use crate::invoker::Invoker;
use crate::resume::ResumePoint;
use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The resume file of a scan given no `--resume-file`: one per scan (start time and process
/// id), so scans run side by side in one directory never share one.
pub fn default_name() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("synsweep-{secs}-{}.resume", std::process::id()))
}

/// A resume point read, and the lock on the file it came from.
#[derive(Debug)]
pub struct Loaded {
    pub point: ResumePoint,
    pub lock: File,
}

fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Opens `path` and locks it, making sure the lock is on the file the name points to now
/// (a save of another process may rename a new version in between).
fn open_locked(path: &Path) -> Result<File> {
    for _ in 0..8 {
        let f = File::open(path).map_err(|e| Error::ReadFile(path.into(), e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(Error::ResumeBusy(path.into())),
            Err(TryLockError::Error(e)) => return Err(Error::ReadFile(path.into(), e)),
        }
        let held = f.metadata().map_err(|e| Error::ReadFile(path.into(), e))?;
        match std::fs::metadata(path) {
            Ok(now) if same_file(&held, &now) => return Ok(f),
            _ => continue,
        }
    }
    Err(Error::ResumeBusy(path.into()))
}

/// Refuses a file root should not take orders from.
fn check_trust(path: &Path, m: &std::fs::Metadata, who: &Invoker) -> Result<()> {
    if who.euid != 0 {
        return Ok(()); // an unprivileged user can only do what he may do anyway
    }
    let by = if who.sudo {
        format!("uid {} (who ran sudo) or root", who.uid)
    } else {
        "root".to_string()
    };
    if !who.trusts(m.uid()) {
        return Err(Error::BadResume(
            path.into(),
            format!("owned by uid {}, not by {by}: not read as root", m.uid()),
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(Error::BadResume(
            path.into(),
            format!(
                "writable by other users (mode {:o}): not read as root",
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Loads the resume file of `--resume`, trusted and locked.
pub fn load(path: &Path, who: &Invoker) -> Result<Loaded> {
    let f = open_locked(path)?;
    let m = f.metadata().map_err(|e| Error::ReadFile(path.into(), e))?;
    if !m.file_type().is_file() {
        return Err(Error::BadResume(path.into(), "not a regular file".into()));
    }
    check_trust(path, &m, who)?;
    let point = ResumePoint::read(path, &f)?;
    Ok(Loaded { point, lock: f })
}

/// The resume file a run saves to, and the lock it holds on its current version.
#[derive(Debug)]
pub struct ResumeFile {
    path: PathBuf,
    lock: Option<File>,
    /// Whether this run's saves exist at `path` (a checkpoint, or the file it resumed).
    saved: bool,
    /// The run continues the scan saved at `path` (whoever runs it knows this file).
    resumes_it: bool,
}

impl ResumeFile {
    /// Claims `path` for a run. `resumed` is the lock of the file the run continues: saving
    /// over that same file is the point of resuming. Any other existing file at `path` must
    /// hold a complete scan, else the run is refused before it starts.
    pub fn claim(path: &Path, resumed: Option<File>) -> Result<ResumeFile> {
        if let Some(held) = &resumed {
            let same = match (held.metadata(), std::fs::metadata(path)) {
                (Ok(a), Ok(b)) => same_file(&a, &b),
                _ => false,
            };
            if same {
                return Ok(ResumeFile {
                    path: path.into(),
                    lock: resumed,
                    saved: true,
                    resumes_it: true,
                });
            }
        }
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::WriteFile(path.into(), e)),
            Ok(m) if !m.file_type().is_file() => return Err(Error::ResumeTaken(path.into())),
            Ok(_) => {
                // Someone's resume point: replaced only if it is of a finished scan.
                let other = open_locked(path)?;
                let complete = ResumePoint::read(path, &other).is_ok_and(|p| p.complete);
                if !complete {
                    return Err(Error::ResumeTaken(path.into()));
                }
            }
        }
        Ok(ResumeFile {
            path: path.into(),
            // The file resumed from stays locked too: no one else continues it meanwhile.
            lock: resumed,
            saved: false,
            resumes_it: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Does the run continue the scan saved at this file?
    pub fn resumes_it(&self) -> bool {
        self.resumes_it
    }

    /// Saves `point` atomically; the new version is locked before it takes the name.
    pub fn save(&mut self, point: &ResumePoint) -> Result<()> {
        let fail = |e| Error::WriteFile(self.path.clone(), e);
        let p = point.write_pending(&self.path)?;
        // Ours alone (just created, O_EXCL): the lock cannot be refused; checked all the same.
        p.file().try_lock().map_err(|e| fail(e.into()))?;
        let f = p.commit().map_err(fail)?;
        self.lock = Some(f);
        self.saved = true;
        Ok(())
    }

    /// A complete scan that was never told to anyone (it neither resumed this file nor was
    /// stopped): its checkpoint file goes, as if there had never been one.
    pub fn remove(&mut self) -> Result<()> {
        if self.saved {
            std::fs::remove_file(&self.path).map_err(|e| Error::WriteFile(self.path.clone(), e))?;
            self.saved = false;
        }
        self.lock = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
