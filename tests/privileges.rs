//! Least privilege, with the real binary on loopback (listeners this file opens): run as root
//! under (simulated) sudo, synsweep drops to the invoking user before its first probe — its
//! files belong to that user, `/proc/PID/status` shows no root, no capability, no new
//! privileges — and an output that user could not write fails before anything is sent.
//! The root parts are skipped (said) when not root, unless SYNSWEEP_REQUIRE_LAB=1.

mod common;

use common::BIN;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOBODY: &str = "65534";

fn root_part(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() == 0 };
    if !root {
        assert!(
            std::env::var("SYNSWEEP_REQUIRE_LAB").as_deref() != Ok("1"),
            "{test}: needs root (SYNSWEEP_REQUIRE_LAB=1)"
        );
        eprintln!("{test}: skipped: needs root");
    }
    root
}

/// A fresh directory owned by `uid` (mode 0755: only that user may create files in it).
fn dir_of(tag: &str, uid: u32) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-priv-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::chown(&d, Some(uid), Some(uid)).unwrap();
    d
}

fn as_sudo_nobody(d: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(d)
        .env("SUDO_UID", NOBODY)
        .env("SUDO_GID", NOBODY)
        .env("XDG_CACHE_HOME", d.join("cache"));
    c
}

/// The value of `key:` in /proc/PID/status.
fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

#[test]
fn under_sudo_the_scan_runs_as_the_user_and_its_files_are_the_users() {
    if !root_part("sudo drop") {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir_of("owner", 65534);
    let out = d.join("out.json");
    let o = as_sudo_nobody(&d)
        .args([
            "-sT",
            "127.0.0.1",
            "-n",
            "-q",
            "-p",
            &port.to_string(),
            "-oJ",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let m = std::fs::metadata(&out).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534), "out.json's owner");
    let doc: serde_json::Value = serde_json::from_str(&common::read(&out)).unwrap();
    let text = doc.to_string();
    assert!(
        text.contains(&format!("\"port\":{port}")) && text.contains("\"open\""),
        "{text}"
    );
    // A complete scan leaves no resume file, and nothing else: no stray temporary files.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("out.json")], "{left:?}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn an_output_the_user_cannot_write_fails_before_any_probe() {
    if !root_part("unwritable output") {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    // The scan runs in nobody's directory; the output goes to root's.
    let d = dir_of("cwd", 65534);
    let roots = dir_of("roots", 0);
    let o = as_sudo_nobody(&d)
        .args([
            "-sT",
            "127.0.0.1",
            "-n",
            "-q",
            "-p",
            &port.to_string(),
            "-oJ",
        ])
        .arg(roots.join("out.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(l.accept().is_err(), "a probe was sent before the failure");
    assert_eq!(std::fs::read_dir(&roots).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(d);
    let _ = std::fs::remove_dir_all(roots);
}

/// Starts a slow connect scan (2000 ports at 50/s) and returns its status once the drop is
/// visible (threads beyond the main one start only after it).
fn status_while_running(mut c: Command) -> String {
    let mut child = c
        .args([
            "-sT",
            "127.0.0.1",
            "-n",
            "-q",
            "--rate",
            "50",
            "-p",
            "1-2000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = format!("/proc/{}/status", child.id());
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let s = std::fs::read_to_string(&path).unwrap_or_default();
        let threads: u32 = s
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if threads > 1 {
            break s;
        }
        assert!(Instant::now() < until, "the scan never started: {s}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    status
}

#[test]
fn a_running_scan_under_sudo_has_no_root_no_capability_no_new_privileges() {
    if !root_part("proc status under sudo") {
        return;
    }
    let d = dir_of("proc", 65534);
    let s = status_while_running(as_sudo_nobody(&d));
    assert_eq!(
        status_field(&s, "Uid:"),
        "65534\t65534\t65534\t65534",
        "{s}"
    );
    assert_eq!(
        status_field(&s, "Gid:"),
        "65534\t65534\t65534\t65534",
        "{s}"
    );
    assert_eq!(status_field(&s, "Groups:"), "", "{s}");
    for cap in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(status_field(&s, cap), "0000000000000000", "{cap} {s}");
    }
    assert_eq!(status_field(&s, "NoNewPrivs:"), "1", "{s}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn root_without_sudo_keeps_its_uid_and_loses_every_capability() {
    if !root_part("proc status as root") {
        return;
    }
    let d = dir_of("proc-root", 0);
    let mut c = Command::new(BIN);
    c.current_dir(&d)
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .env("XDG_CACHE_HOME", d.join("cache"));
    let s = status_while_running(c);
    assert_eq!(status_field(&s, "Uid:"), "0\t0\t0\t0", "{s}");
    for cap in ["CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(status_field(&s, cap), "0000000000000000", "{cap} {s}");
    }
    assert_eq!(status_field(&s, "NoNewPrivs:"), "1", "{s}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn user_names_the_account_to_run_as_and_needs_root() {
    let unknown = Command::new(BIN)
        .args([
            "--user",
            "no-such-user-synsweep",
            "-sT",
            "127.0.0.1",
            "-p",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "synsweep: error: --user no-such-user-synsweep: no such user"
    );
    if !root_part("--user") {
        return;
    }
    // As nobody (no capability to switch users): refused in one line, nothing sent.
    let refused = Command::new(common::UNPRIVILEGED[0])
        .args(&common::UNPRIVILEGED[1..])
        .args([BIN, "--user", "root", "-sT", "127.0.0.1", "-p", "1", "-n"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("--user: switching users needs root"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // As root: the account named, whatever SUDO_UID says.
    let d = dir_of("user", 65534);
    let mut c = Command::new(BIN);
    c.current_dir(&d)
        .env("SUDO_UID", "1")
        .env("SUDO_GID", "1")
        .env("XDG_CACHE_HOME", d.join("cache"))
        .args(["--user", "nobody"]);
    let s = status_while_running(c);
    assert!(status_field(&s, "Uid:").starts_with("65534\t"), "{s}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn another_users_file_in_a_sticky_directory_is_refused_before_any_probe() {
    if !root_part("sticky directory") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    // Like /tmp: root's, 1777, holding a file of another user's.
    let sticky = dir_of("sticky", 0);
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let theirs = sticky.join("out.json");
    std::fs::write(&theirs, "theirs").unwrap();
    std::os::unix::fs::chown(&theirs, Some(1), Some(1)).unwrap();
    let o = as_sudo_nobody(&sticky)
        .args([
            "-sT",
            "127.0.0.1",
            "-n",
            "-q",
            "-p",
            &port.to_string(),
            "-oJ",
        ])
        .arg(&theirs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("sticky directory"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(l.accept().is_err(), "a probe was sent before the refusal");
    assert_eq!(common::read(&theirs), "theirs");
    let _ = std::fs::remove_dir_all(sticky);
}
