//! Safe to run as root, with files: outputs to FIFOs and devices written through, planted
//! links left alone, every created file opened O_EXCL|O_NOFOLLOW (strace), and resume files
//! as inputs: refused when another user's under sudo, one process at a time, never resumed
//! twice, present after a kill -9, and saved when an output breaks. Loopback only, against
//! listeners this file opens.

mod common;

use common::BIN;
use std::net::TcpListener;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Root-only parts: skipped (said) when not root, unless SYNSWEEP_REQUIRE_LAB=1.
fn root_part(test: &str) -> bool {
    if !root() {
        assert!(
            std::env::var("SYNSWEEP_REQUIRE_LAB").as_deref() != Ok("1"),
            "{test}: needs root (SYNSWEEP_REQUIRE_LAB=1)"
        );
        eprintln!("{test}: root part skipped");
    }
    root()
}

/// A connect scan of one loopback listener, writing in `d` (resume file included).
fn scan(d: &Path, port: u16, more: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(d)
        .args(["-sT", "127.0.0.1", "-n", "-q", "-p"])
        .arg(port.to_string())
        .args(more);
    c
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn fifos_and_dev_null_are_written_through_and_stay_what_they_were() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir("fifo");
    let fifo = d.join("x.xml");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = scan(&d, port, &["-oX"]).arg(&fifo).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let xml = reader.join().unwrap();
    assert!(xml.contains("<nmaprun") && xml.contains(&format!("portid=\"{port}\"")));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let o = scan(&d, port, &["-oX", "/dev/null", "-oD", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    // -oJ - is standard output.
    let o = scan(&d, port, &["-oJ", "-"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc.to_string().contains(&format!("\"port\":{port}")),
        "{doc}"
    );
    // Nothing but the FIFO is left in the directory: no resume file of a complete scan.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("x.xml")]);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn planted_links_at_every_name_are_left_alone() {
    if !root_part("planted_links_at_every_name_are_left_alone") {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir("links");
    // Another user's file, and that user's links to it at the names root used to write.
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::chown(&victim, Some(65534), Some(65534)).unwrap();
    let plant = |name: &str| {
        let link = d.join(name);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    };
    for name in ["out.json.part", "s.resume.part", "out.ndjson"] {
        plant(name);
    }
    let o = scan(&d, port, &["-oJ", "out.json", "--resume-file", "s.resume"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        std::fs::read_to_string(d.join("out.json"))
            .unwrap()
            .contains("\"port\"")
    );
    // A planted link at the destination itself: refused in one line, exit 2.
    let o = scan(&d, port, &["-oD", "out.ndjson"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(text(&o).lines().count(), 1, "{}", text(&o));
    assert!(
        text(&o).contains("symbolic link owned by uid 65534"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 65534);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn every_file_synsweep_creates_is_opened_exclusive_and_nofollow() {
    let have = Command::new("strace").arg("-V").output().is_ok();
    if !have {
        assert!(
            std::env::var("SYNSWEEP_REQUIRE_LAB").as_deref() != Ok("1"),
            "strace is required (SYNSWEEP_REQUIRE_LAB=1)"
        );
        eprintln!("strace missing: skipped");
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir("strace");
    let log = d.join("trace");
    std::fs::write(d.join("old.json"), "an older version").unwrap();
    let o = Command::new("strace")
        .current_dir(&d)
        .args(["-f", "-qq", "-e", "trace=openat", "-o"])
        .arg(&log)
        .arg(BIN)
        .args(["-sT", "127.0.0.1", "-n", "-q", "-p"])
        .arg(port.to_string())
        .args([
            "-oJ", "old.json", "-oX", "x.xml", "-oG", "x.gnmap", "-oD", "x.ndjson",
        ])
        .args([
            "--status-json",
            "status.ndjson",
            "--resume-file",
            "s.resume",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let trace = std::fs::read_to_string(&log).unwrap();
    let creating: Vec<&str> = trace.lines().filter(|l| l.contains("O_CREAT")).collect();
    // Four outputs, the status stream and the resume file's first checkpoint at least.
    assert!(creating.len() >= 6, "{trace}");
    for l in &creating {
        assert!(l.contains("O_EXCL") && l.contains("O_NOFOLLOW"), "{l}");
    }
    assert!(
        trace.lines().all(|l| !l.contains("O_TRUNC")),
        "a file was truncated in place"
    );
    let _ = std::fs::remove_dir_all(d);
}

/// A scan of 2000 loopback ports at 500/s (4 s), its listener among them.
fn long(d: &Path, port: u16) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(d)
        .args(["-sT", "127.0.0.1", "-n", "-q", "--rate", "500", "-p"])
        .arg(format!("1-1999,{port}"))
        .args(["-oD", "out.ndjson", "--resume-file", "s.resume"]);
    c
}

fn lines_of(p: &Path) -> Vec<String> {
    let t = std::fs::read_to_string(p).unwrap_or_default();
    t.lines().map(String::from).collect()
}

fn wait_for(p: &Path) {
    let until = Instant::now() + Duration::from_secs(5);
    while !p.exists() {
        assert!(Instant::now() < until, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resume_files_survive_kill_9_are_one_processs_and_are_never_resumed_twice() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir("resume");
    let resume = d.join("s.resume");
    // kill -9 a second in: the first checkpoint (taken at the start) is there.
    let mut child = long(&d, port).stderr(Stdio::null()).spawn().unwrap();
    wait_for(&resume);
    std::thread::sleep(Duration::from_millis(1000));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(resume.exists(), "no resume file after kill -9");
    // Another user's file under (simulated) sudo: refused.
    if root_part("resume under sudo") {
        std::os::unix::fs::chown(&resume, Some(65534), Some(65534)).unwrap();
        let o = Command::new(BIN)
            .current_dir(&d)
            .env("SUDO_UID", "4242")
            .env("SUDO_GID", "4242")
            .args(["--resume", "s.resume"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("not by uid 4242"), "{}", text(&o));
        std::os::unix::fs::chown(&resume, Some(0), Some(0)).unwrap();
    }
    // A fresh scan never overwrites it.
    let o = long(&d, port).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--resume-file"), "{}", text(&o));
    // Resumed; a second process resuming the same file meanwhile is refused.
    let first = Command::new(BIN)
        .current_dir(&d)
        .args(["--resume", "s.resume"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let o = Command::new(BIN)
        .current_dir(&d)
        .args(["--resume", "s.resume"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("in use by another synsweep"),
        "{}",
        text(&o)
    );
    let done = first.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    // Every result once in the NDJSON: lines after the checkpoint were cut, found again.
    let got = lines_of(&d.join("out.ndjson"));
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "a line twice: {got:?}");
    assert!(
        got.iter().any(|l| l.contains(&format!("\"port\":{port}"))),
        "{got:?}"
    );
    // Complete: resuming again says so and adds nothing.
    let o = Command::new(BIN)
        .current_dir(&d)
        .args(["--resume", "s.resume"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is complete: nothing to resume"),
        "{}",
        text(&o)
    );
    assert_eq!(lines_of(&d.join("out.ndjson")), got);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_broken_output_stops_the_scan_at_once_with_a_resume_point() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let d = dir("full");
    let started = Instant::now();
    let o = Command::new(BIN)
        .current_dir(&d)
        .args(["-sT", "127.0.0.1", "-n", "-q", "--rate", "500", "-p"])
        .arg(format!("1-1999,{port}"))
        .args(["-oD", "/dev/full", "--resume-file", "s.resume"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "ran on: {:?}",
        started.elapsed()
    );
    assert!(text(&o).contains("resume point saved"), "{}", text(&o));
    assert!(d.join("s.resume").exists());
    let _ = std::fs::remove_dir_all(d);
}
