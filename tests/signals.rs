//! Every signal, every phase, with the real binary on loopback (listeners this file opens):
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT stop a scan gracefully while it scans and while it
//! grabs banners — exit 130 within 2 × the longest timeout + 1 s, valid documents, a resume
//! file — a second signal aborts at once, a tarpit cannot hold a banner grab past its
//! deadline, and a SIGHUP ignored at start (nohup) stays ignored.

mod common;

use common::BIN;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn dir(tag: &str) -> PathBuf {
    let d = common::tmp(&format!("signals-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // Writable by whoever the scan drops to (SUDO_UID, when the tests run under sudo).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// A service that accepts and then trickles one byte every 500 ms, never a newline, for a
/// minute per connection. Returns its port and the count of connections it accepted.
fn tarpit() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for c in l.incoming().take(32) {
            let Ok(mut c) = c else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                for _ in 0..120 {
                    if c.write_all(b"x").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        }
    });
    (port, accepted)
}

fn scan(d: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(d)
        .env("XDG_CACHE_HOME", d.join("cache"))
        .args(["-n", "-q", "-oJ", "out.json", "--resume-file", "s.resume"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// A slow connect scan of loopback: 100 probes a second over 5000 ports (50 s).
fn slow(d: &Path) -> Command {
    scan(
        d,
        &[
            "-sT",
            "127.0.0.1",
            "--rate",
            "100",
            "--timeout",
            "500ms",
            "-p",
            "1-5000",
        ],
    )
}

fn wait_for(p: &Path) {
    let until = Instant::now() + Duration::from_secs(10);
    while !p.exists() {
        assert!(Instant::now() < until, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(child: &Child, sig: libc::c_int) {
    // SAFETY: a signal to our own child, by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// Waits for the child at most `limit`; kills it (and fails) past that.
fn exit_within(child: &mut Child, limit: Duration) -> (ExitStatus, Duration) {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s, t.elapsed());
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

/// A stopped scan's files: out.json a whole document, the resume file saved.
fn assert_stopped_cleanly(d: &Path, what: &str) {
    let doc = common::read(&d.join("out.json"));
    let v: serde_json::Value =
        serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{what}: out.json: {e}: {doc}"));
    assert!(v.is_object(), "{what}: {doc}");
    let resume = common::read(&d.join("s.resume"));
    let r: serde_json::Value = serde_json::from_str(&resume).unwrap();
    assert_eq!(r["complete"], false, "{what}: {resume}");
}

const STOPPING: [(libc::c_int, &str); 4] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGQUIT, "SIGQUIT"),
];

#[test]
fn a_tarpit_holds_a_banner_grab_no_longer_than_its_deadline() {
    let (port, _) = tarpit();
    let d = dir("tarpit");
    let t = Instant::now();
    let o = scan(
        &d,
        &[
            "-sT",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--banners",
            "--banner-connect-timeout",
            "1s",
            "--banner-read-timeout",
            "1s",
        ],
    )
    .output()
    .unwrap();
    let took = t.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // connect 1 s + read 1 s + the margin, and the scan around it.
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let doc = common::read(&d.join("out.json"));
    assert!(doc.contains(&format!("\"port\": {port}")), "{doc}");
}

#[test]
fn every_stopping_signal_while_scanning_exits_130_with_documents_and_a_resume_point() {
    for (sig, name) in STOPPING {
        let d = dir(&format!("scan-{name}"));
        let mut child = slow(&d).spawn().unwrap();
        // The first checkpoint is saved once the handlers are in place.
        wait_for(&d.join("s.resume"));
        std::thread::sleep(Duration::from_millis(500));
        kill(&child, sig);
        // 2 × the longest timeout (500 ms) + 1 s.
        let (status, _) = exit_within(&mut child, Duration::from_secs(2));
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(130), "{name}: {err}");
        assert!(err.contains("resume point saved"), "{name}: {err}");
        assert_stopped_cleanly(&d, name);
    }
}

#[test]
fn every_stopping_signal_during_banners_exits_130_and_a_second_aborts() {
    for (sig, name) in STOPPING {
        let (port, accepted) = tarpit();
        let d = dir(&format!("banners-{name}"));
        let banners = [
            "-sT",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--banners",
            "--banner-connect-timeout",
            "1s",
            "--banner-read-timeout",
            "2s",
        ];
        let mut child = scan(&d, &banners).spawn().unwrap();
        // The scan's connect, then the banner grab's.
        let until = Instant::now() + Duration::from_secs(10);
        while accepted.load(Ordering::SeqCst) < 2 {
            assert!(Instant::now() < until, "{name}: no banner grab");
            std::thread::sleep(Duration::from_millis(10));
        }
        kill(&child, sig);
        // The grab in flight may finish within its deadline: 2 × 2 s + 1 s.
        let (status, _) = exit_within(&mut child, Duration::from_secs(5));
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(130), "{name}: {err}");
        assert_stopped_cleanly(&d, name);
    }
    // A second signal does not wait for the grab, however long its timeouts.
    let (port, accepted) = tarpit();
    let d = dir("banners-abort");
    let long = [
        "-sT",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--banners",
        "--banner-connect-timeout",
        "30s",
        "--banner-read-timeout",
        "30s",
    ];
    let mut child = scan(&d, &long).spawn().unwrap();
    while accepted.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(&child, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(200));
    kill(&child, libc::SIGTERM);
    let (status, _) = exit_within(&mut child, Duration::from_secs(2));
    assert_eq!(status.code(), Some(130), "{}", stderr_of(&mut child));
    assert_stopped_cleanly(&d, "abort");
}

#[test]
fn sigusr1_does_not_kill_a_scan() {
    let d = dir("usr1");
    let mut child = slow(&d).spawn().unwrap();
    wait_for(&d.join("s.resume"));
    kill(&child, libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGUSR1 ended the scan"
    );
    kill(&child, libc::SIGTERM);
    let (status, _) = exit_within(&mut child, Duration::from_secs(2));
    assert_eq!(status.code(), Some(130));
    assert_stopped_cleanly(&d, "SIGUSR1 then SIGTERM");
}

#[test]
fn a_sighup_ignored_at_start_stays_ignored() {
    let d = dir("nohup");
    let mut c = scan(&d, &["-sT", "127.0.0.1", "--rate", "100", "-p", "1-200"]);
    // SAFETY: signal(2) only, between fork and exec: async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    wait_for(&d.join("s.resume"));
    std::thread::sleep(Duration::from_millis(300));
    kill(&child, libc::SIGHUP);
    let (status, _) = exit_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));
    // Complete: the document says so, and the checkpoints are gone.
    let doc = common::read(&d.join("out.json"));
    assert!(
        !d.join("s.resume").exists(),
        "a resume file after a complete scan"
    );
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert!(v.to_string().contains("\"complete\":true"), "{doc}");
}
