//! A reader that closes standard output early (`synsweep --help | head -1`, `synsweep … -oD - |
//! head -1`) gets a quiet end: no panic, no error, and a running scan stops as for Ctrl-C
//! (exit 130, resume point saved). Loopback only, with listeners this test opens.

mod common;

use common::{BIN, tmp};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn help_into_a_closed_pipe_exits_quietly() {
    for args in [&["--help"][..], &["--version"], &["--generate", "man"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // every write now fails with EPIPE
        let out = Command::new(BIN)
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn a_scan_whose_reader_left_stops_gracefully_with_its_resume_point() {
    let _open = TcpListener::bind("127.0.0.1:0").unwrap();
    let resume = tmp("closed-stdout.resume");
    let _ = std::fs::remove_file(&resume);
    // Slow enough (65535 ports at 4000/s: ~16 s) that the scan is still running when the
    // reader leaves; --show-closed makes the first line come at once.
    let mut child = Command::new(BIN)
        .args(["-sT", "127.0.0.1", "-p", "1-65535", "-n", "--show-closed"])
        .args(["--rate", "4000", "-oD", "-", "--resume-file"])
        .arg(&resume)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "first line: {first}");
    // The reader is dropped here, as `head -1` exits.
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the scan went on after its reader left");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
    assert_eq!(err.lines().count(), 1, "one notice at most: {err}");
    assert!(err.contains("standard output closed"), "{err}");
    assert!(resume.exists(), "no resume point saved: {err}");
}
