//! Running one nmap: found on PATH before the scan starts, started in a process group of its
//! own (a terminal's Ctrl-C reaches synsweep, which decides), its XML read from standard
//! output, its standard error kept for the message if it fails, and killed as soon as the
//! scan is asked to stop.

use crate::stop::{StopLevel, StopSignal};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The most of nmap's XML kept for one host (65535 ports with scripts fit many times).
const XML_CAP: u64 = 64 << 20;
const STDERR_CAP: u64 = 64 << 10;
/// How often a running nmap is checked for its end and the scan for a stop.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the scan was stopped")]
    Stopped,
    #[error("cannot start {}: {}", .0.display(), .1)]
    Spawn(PathBuf, std::io::Error),
    #[error("nmap failed ({0}): {1}")]
    Failed(std::process::ExitStatus, String),
}

/// The nmap on PATH, or None.
pub fn locate() -> Option<PathBuf> {
    locate_in(&std::env::var_os("PATH")?)
}

fn locate_in(path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|d| d.join("nmap"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `program argv`, returning what it wrote to standard output once it exits with
/// success; kills it when `stop` leaves Running.
pub fn run(program: &Path, argv: &[String], stop: &StopSignal) -> Result<Vec<u8>, RunError> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(program)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| RunError::Spawn(program.to_path_buf(), e))?;
    let drain = |r: Option<Box<dyn Read + Send>>, cap: u64| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(r) = r {
                let mut r = r.take(cap);
                let _ = r.read_to_end(&mut buf);
                // Past the cap: keep reading, so nmap never blocks on a full pipe.
                let _ = std::io::copy(&mut r.into_inner(), &mut std::io::sink());
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _), XML_CAP);
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _), STDERR_CAP);
    let status = loop {
        if stop.level() != StopLevel::Running {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Stopped);
        }
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                let _ = child.kill();
                return Err(RunError::Spawn(program.to_path_buf(), e));
            }
        }
    };
    let xml = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(RunError::Failed(status, line.trim().to_string()));
    }
    Ok(xml)
}

/// Kills nmap's process group (itself and anything it started: it is the group's leader).
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory preconditions; a negative pid names the process group
        // that `process_group(0)` made for this child alone.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_only_as_an_executable_file_on_path() {
        let dir = std::env::temp_dir().join(format!("synsweep-locate-{}", std::process::id()));
        let (empty, with) = (dir.join("empty"), dir.join("with"));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::create_dir_all(with.join("nmap-dir")).unwrap();
        let joined = std::env::join_paths([&empty, &with]).unwrap();
        assert_eq!(locate_in(&joined), None);
        std::fs::write(with.join("nmap"), "#!/bin/sh\n").unwrap();
        assert_eq!(locate_in(&joined), None, "not executable");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(with.join("nmap"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert_eq!(locate_in(&joined), Some(with.join("nmap")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn output_failure_and_stop() {
        let sh = Path::new("/bin/sh");
        let stop = StopSignal::default();
        let args = |s: &str| vec!["-c".to_string(), s.to_string()];
        assert_eq!(run(sh, &args("printf '<x/>'"), &stop).unwrap(), b"<x/>");
        let e = run(sh, &args("echo 'bad option' >&2; exit 1"), &stop).unwrap_err();
        assert!(e.to_string().contains("bad option"), "{e}");
        let slow = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            slow.raise_to(StopLevel::Graceful);
        });
        let started = std::time::Instant::now();
        let e = run(sh, &args("sleep 30"), &stop).unwrap_err();
        assert!(matches!(e, RunError::Stopped), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5), "not killed");
    }
}
