//! Files of the scan's own, read back by it and by no one else: the spill log (named, next
//! to the resume file, so that a resume finds it) and the sort's runs (unnamed). The same
//! rules as every other file: created `O_CREAT|O_EXCL|O_NOFOLLOW` under a random name, mode
//! 0600, after the privilege drop; never opened through a link.

use super::{Mode, create_temp_rw, parent, refuse};
use crate::error::{Error, Result};
use crate::invoker::Invoker;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// A new, empty private file at `path`, readable and writable: made under a random name in
/// its directory, then renamed over `path` — over whatever is there (the spill of a finished
/// scan, a link someone planted), never through it.
pub fn create_named(path: &Path) -> Result<File> {
    let fail = |e| Error::WriteFile(path.to_path_buf(), e);
    let Some(name) = path.file_name() else {
        return Err(refuse(path, "not a file name"));
    };
    let (tmp, file) = create_temp_rw(parent(path), name, Mode::Private, true).map_err(fail)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(file)
}

/// An unnamed private file in `dir`, readable and writable, gone when closed: `O_TMPFILE`,
/// or where the file system has none, a file made as `create_named` makes one and unlinked
/// at once.
pub fn unnamed(dir: &Path) -> io::Result<File> {
    let tmpfile = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir);
    match tmpfile {
        Ok(f) => Ok(f),
        // EOPNOTSUPP (the file system), EISDIR/EINVAL (a kernel without O_TMPFILE).
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
            ) =>
        {
            let (tmp, f) = create_temp_rw(dir, "synsweep-scratch".as_ref(), Mode::Private, true)?;
            std::fs::remove_file(tmp)?;
            Ok(f)
        }
        Err(e) => Err(e),
    }
}

/// The file `create_named` made, opened again for a resume: a regular file (no link
/// followed), of the invoking user or root, that no one else may write.
pub fn reopen(path: &Path) -> Result<File> {
    reopen_as(path, &Invoker::current())
}

pub fn reopen_as(path: &Path, who: &Invoker) -> Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse(path, "it is a symbolic link"),
            _ => Error::ReadFile(path.to_path_buf(), e),
        })?;
    let m = f
        .metadata()
        .map_err(|e| Error::ReadFile(path.to_path_buf(), e))?;
    if !m.file_type().is_file() {
        return Err(refuse(path, "not a regular file"));
    }
    if !who.trusts(m.uid()) {
        return Err(refuse(
            path,
            format!("owned by uid {}, not by uid {} or root", m.uid(), who.uid),
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(refuse(
            path,
            format!("writable by other users (mode {:o})", m.mode() & 0o7777),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("synsweep-scratch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_named_scratch_file_is_private_replaces_a_link_and_reopens() {
        let d = dir("named");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = d.join("s.resume.spill");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let mut f = create_named(&path).unwrap();
        f.write_all(b"spilled").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let m = std::fs::symlink_metadata(&path).unwrap();
        assert!(m.file_type().is_file());
        assert_eq!(m.mode() & 0o777, 0o600);
        let mut back = String::new();
        reopen(&path).unwrap().read_to_string(&mut back).unwrap();
        assert_eq!(back, "spilled");
        // Nothing else was left in the directory.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 2);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_link_or_a_file_others_may_write_is_not_reopened() {
        let d = dir("reopen");
        let real = d.join("real");
        std::fs::write(&real, "x").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = reopen(&link).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = reopen(&real).unwrap_err().to_string();
        assert!(e.contains("writable by other users"), "{e}");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(reopen(&real).is_ok());
        // Another user's file (as root: chown it; else: seen by someone else).
        let me = Invoker::current();
        let e = if me.euid == 0 {
            std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
            reopen(&real)
        } else {
            let stranger = Invoker::from_parts(0, 0, Some(me.uid + 1), Some(me.gid));
            reopen_as(&real, &stranger)
        };
        let e = e.unwrap_err().to_string();
        assert!(e.contains("owned by uid"), "{e}");
        assert!(reopen(&d.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn an_unnamed_file_leaves_no_name_behind() {
        let d = dir("unnamed");
        let mut f = unnamed(&d).unwrap();
        f.write_all(b"run").unwrap();
        f.rewind().unwrap();
        let mut back = String::new();
        f.read_to_string(&mut back).unwrap();
        assert_eq!(back, "run");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(d);
    }
}
