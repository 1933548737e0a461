//! Every file synsweep writes goes through here: documents, the NDJSON and status streams,
//! the resume file, the names cache. Run as root in a directory others can write to, none of
//! them may be turned against another file.
//!
//! - A new version is written under a random temporary name in the destination's directory,
//!   opened `O_CREAT|O_EXCL|O_NOFOLLOW` (so nothing planted at that name is opened), then
//!   fsync'd, renamed over the destination (rename replaces a link, never follows it), and
//!   the directory fsync'd.
//! - `/dev/stdout` and `/dev/stderr` are the process's own descriptors.
//! - A destination that exists and is not a regular file (a character device such as
//!   /dev/null, a FIFO) is opened and written in place: no `O_CREAT`, no `O_TRUNC`, no rename.
//! - A destination that is a symbolic link is followed only when the link belongs to the
//!   invoking user (`invoker`) or root; otherwise it is refused with one line.

use crate::error::{Error, Result};
use crate::invoker::Invoker;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Permissions of a file created here (the umask still applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: the resume file and the names cache (what was scanned, and what was found).
    Private,
    /// 0644: result documents and streams.
    Shared,
}

impl Mode {
    fn bits(self) -> u32 {
        match self {
            Mode::Private => 0o600,
            Mode::Shared => 0o644,
        }
    }
}

/// Links followed at most, one after another.
const MAX_LINKS: usize = 8;
/// Random temporary names tried before giving up (each is 64 random bits).
const TEMP_TRIES: usize = 8;

/// What a destination turned out to be.
#[derive(Debug)]
enum Resolved {
    /// A descriptor of the process: 1 or 2.
    Std(i32),
    /// Exists and is not a regular file: written in place.
    Special(PathBuf),
    /// A regular file (through trusted links): replaced by rename.
    Regular(PathBuf),
    /// Nothing there yet (the last link may point here).
    Missing(PathBuf),
}

fn refuse(path: &Path, why: impl Into<String>) -> Error {
    Error::Unsafe(path.to_path_buf(), why.into())
}

fn resolve(path: &Path, who: &Invoker) -> Result<Resolved> {
    if path == Path::new("/dev/stdout") {
        return Ok(Resolved::Std(1));
    }
    if path == Path::new("/dev/stderr") {
        return Ok(Resolved::Std(2));
    }
    let mut p = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Resolved::Missing(p)),
            Err(e) => return Err(Error::WriteFile(path.to_path_buf(), e)),
        };
        let t = m.file_type();
        if t.is_symlink() {
            if !who.trusts(m.uid()) {
                return Err(refuse(
                    path,
                    format!(
                        "{} is a symbolic link owned by uid {}, not by uid {} or root",
                        p.display(),
                        m.uid(),
                        who.uid
                    ),
                ));
            }
            let to = std::fs::read_link(&p).map_err(|e| Error::WriteFile(path.into(), e))?;
            p = parent(&p).join(to);
            continue;
        }
        if t.is_file() {
            return Ok(Resolved::Regular(p));
        }
        if t.is_dir() {
            return Err(refuse(path, "it is a directory"));
        }
        return Ok(Resolved::Special(p));
    }
    Err(refuse(path, "too many symbolic links"))
}

/// The directory a path's file lives in ("." for a bare name).
fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A duplicate of the process's descriptor `fd`.
fn dup_std(fd: i32) -> io::Result<File> {
    // SAFETY: dup of a descriptor number; the result is checked and owned by the File alone.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(new) })
}

/// Opens an existing non-regular file for writing in place: no create, no truncate, no link.
fn open_in_place(p: &Path, append: bool) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .append(append)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(p)?;
    Ok(f)
}

/// A new file under a random name in `dir`, opened `O_CREAT|O_EXCL|O_NOFOLLOW`.
fn create_temp(dir: &Path, name: &std::ffi::OsStr, mode: Mode) -> io::Result<(PathBuf, File)> {
    create_temp_rw(dir, name, mode, false)
}

/// `create_temp`, readable too when `read` (a scratch file is read back).
fn create_temp_rw(
    dir: &Path,
    name: &std::ffi::OsStr,
    mode: Mode,
    read: bool,
) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..TEMP_TRIES {
        let mut n = std::ffi::OsString::from(".");
        n.push(name);
        n.push(format!(".{:016x}.tmp", rand::random::<u64>()));
        let tmp = dir.join(n);
        match OpenOptions::new()
            .read(read)
            .write(true)
            .create_new(true)
            .mode(mode.bits())
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A file being written for one destination; `commit` puts it in place. Dropped without a
/// commit, a temporary file is removed.
#[derive(Debug)]
pub struct Pending {
    file: File,
    /// (temporary name, final name) when the file replaces its destination by rename.
    rename: Option<(PathBuf, PathBuf)>,
}

impl Pending {
    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Renames the new version into place, data and directory on disk first and after.
    /// Returns the file, still open (a resume file keeps its lock through it).
    pub fn commit(mut self) -> io::Result<File> {
        let Some((tmp, dest)) = self.rename.take() else {
            return self.file.try_clone();
        };
        let done = (|| {
            self.file.sync_all()?;
            std::fs::rename(&tmp, &dest)?;
            sync_dir(parent(&dest))
        })();
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done?;
        self.file.try_clone()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// In a sticky directory (/tmp) only the owner of a file or of the directory may rename over
/// it (synsweep runs without CAP_FOWNER after the privilege drop): found now, with one line,
/// and not when the finished document is renamed into place at the end of the scan.
fn refuse_unreplaceable(path: &Path, p: &Path) -> Result<()> {
    let (Ok(file), Ok(dir)) = (std::fs::metadata(p), std::fs::metadata(parent(p))) else {
        return Ok(()); // nothing to replace (or the temporary file's creation will say why)
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    if sticky_blocks(dir.mode(), dir.uid(), file.uid(), euid) {
        return Err(refuse(
            path,
            format!(
                "it belongs to uid {} in a sticky directory, and synsweep runs as uid {euid}: only its owner may replace it",
                file.uid()
            ),
        ));
    }
    Ok(())
}

/// Whether a sticky directory keeps `euid` from renaming over a file (rename(2), EPERM).
pub fn sticky_blocks(dir_mode: u32, dir_uid: u32, file_uid: u32, euid: u32) -> bool {
    dir_mode & libc::S_ISVTX != 0 && euid != dir_uid && euid != file_uid
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A new version of `path`, to be committed whole (documents, the resume file, the cache).
pub fn create(path: &Path, mode: Mode) -> Result<Pending> {
    create_as(path, mode, &Invoker::current())
}

pub fn create_as(path: &Path, mode: Mode, who: &Invoker) -> Result<Pending> {
    let fail = |e| Error::WriteFile(path.to_path_buf(), e);
    match resolve(path, who)? {
        Resolved::Std(fd) => Ok(Pending {
            file: dup_std(fd).map_err(fail)?,
            rename: None,
        }),
        Resolved::Special(p) => Ok(Pending {
            file: open_in_place(&p, false).map_err(fail)?,
            rename: None,
        }),
        Resolved::Regular(p) | Resolved::Missing(p) => {
            refuse_unreplaceable(path, &p)?;
            let Some(name) = p.file_name() else {
                return Err(refuse(path, "not a file name"));
            };
            let (tmp, file) = create_temp(parent(&p), name, mode).map_err(fail)?;
            Ok(Pending {
                file,
                rename: Some((tmp, p)),
            })
        }
    }
}

/// A stream written as it goes (NDJSON, status JSON), open at its final name at once. Fresh:
/// a new file renamed into place now. `append` (a resumed scan's NDJSON): the existing
/// regular file, opened `O_APPEND|O_NOFOLLOW`, or a new one if there is none.
pub fn stream(path: &Path, mode: Mode, append: bool) -> Result<File> {
    stream_as(path, mode, append, &Invoker::current())
}

pub fn stream_as(path: &Path, mode: Mode, append: bool, who: &Invoker) -> Result<File> {
    let fail = |e| Error::WriteFile(path.to_path_buf(), e);
    match resolve(path, who)? {
        Resolved::Std(fd) => dup_std(fd).map_err(fail),
        Resolved::Special(p) => open_in_place(&p, append).map_err(fail),
        Resolved::Regular(p) if append => {
            let f = OpenOptions::new()
                .append(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY)
                .open(&p)
                .map_err(fail)?;
            let regular = f.metadata().map_err(fail)?.file_type().is_file();
            if !regular {
                return Err(refuse(path, "it changed while being opened"));
            }
            Ok(f)
        }
        _ => create_as(path, mode, who)?.commit().map_err(fail),
    }
}

/// Is `path` a FIFO or a device (written in place, never replaced)?
pub fn is_special(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        let t = m.file_type();
        t.is_fifo() || t.is_char_device() || t.is_block_device() || t.is_socket()
    })
}

pub mod scratch;

#[cfg(test)]
mod tests;
