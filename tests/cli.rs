//! Bad input of every kind: one line on stderr naming what was wrong, a non-zero exit, no
//! panic, and no probe sent (every case fails before the engine starts).

mod common;

use common::{BIN, tmp};
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().expect("run synsweep");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_inputs_get_one_line_naming_the_value() {
    let garbage = tmp("garbage.resume");
    std::fs::write(&garbage, "not json at all").unwrap();
    let wrong_format = tmp("wrong-format.resume");
    std::fs::write(&wrong_format, r#"{"synsweep_resume": 99}"#).unwrap();
    let t = "198.18.0.1";
    // (arguments, text the one line must contain, exit code)
    let table: &[(&[&str], &str, i32)] = &[
        (&["198.18.0.300"], "198.18.0.300", 2),
        (&["198.18.0.0/33"], "198.18.0.0/33", 2),
        (&["198.18.0.9-198.18.0.1"], "198.18.0.9-198.18.0.1", 2),
        (&["what?"], "what?", 2),
        (&[], "no targets", 2),
        (&["-p", "70000", t], "70000", 2),
        (&["-p", "90-80", t], "90-80", 2),
        (&["-p", "http", t], "http", 2),
        (&["-p", "", t], "bad port list", 2),
        (&["--top-ports", "0", t], "0", 2),
        (&["--top-ports", "many", t], "many", 2),
        (&["--rate", "0", t], "0", 2),
        (&["--rate", "fast", t], "fast", 2),
        (&["--timeout", "5000", t], "5000", 2),
        (&["--timeout=-1s", t], "-1s", 2),
        (&["--retries", "99", t], "99", 2),
        (&["--max-inflight", "0", t], "0", 2),
        (&["--shard", "3/2", t], "3/2", 2),
        (&["--shard", "x", t], "x", 2),
        (&["--seed=-5", t], "-5", 2),
        (&["-sX", t], "X", 2),
        (&["--bogus", t], "--bogus", 2),
        (
            &["-iL", "/nonexistent/targets.txt"],
            "/nonexistent/targets.txt",
            2,
        ),
        (
            &["--excludefile", "/nonexistent/ex.txt", t],
            "/nonexistent/ex.txt",
            2,
        ),
        (
            &["--exclude", "198.18.0.0/16", "198.18.0.0/24"],
            "excluded",
            2,
        ),
        (&["--exclude", "198.18.0.999", t], "198.18.0.999", 2),
        (&["2001:db8::/32", "-p", "80"], "2^64", 2),
        (
            &["--resume", "/nonexistent/scan.resume"],
            "/nonexistent/scan.resume",
            2,
        ),
        (
            &["--resume", garbage.to_str().unwrap()],
            "garbage.resume",
            2,
        ),
        (
            &["--resume", wrong_format.to_str().unwrap()],
            "wrong-format.resume",
            2,
        ),
        (&["-sn", "-p", "80", t], "-sn", 2),
        (&["--dry-run", "-sT", t], "--dry-run", 2),
        (&["--source-port", "9-3", t], "9-3", 2),
        (&["--router-mac", "02:00", t], "02:00", 2),
        (&["--ttl", "0", t], "0", 2),
        (&["--wait", "soon", t], "soon", 2),
        (&["-sS", "2001:db8::1", "-p", "80"], "IPv4 only", 2),
        // -sT: a bad output must fail before any packet, and as root the default scan would
        // otherwise plan a raw link on this machine's own network.
        (
            &["-sT", "-oJ", "/nonexistent/dir/out.json", "-p", "80", t],
            "/nonexistent/dir/out.json",
            1,
        ),
    ];
    for (args, needle, code) in table {
        let (got, err) = run(args);
        assert_eq!(got, Some(*code), "{args:?}: exit {got:?}, stderr: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: '{needle}' not named in: {err}"
        );
        assert!(err.starts_with("synsweep: error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version_succeed() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--exclude",
        "--top-ports",
        "--shard",
        "--resume",
        "--output-json",
        "--privileged-only",
    ] {
        assert!(help.contains(opt), "--help does not mention {opt}");
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("synsweep "));
}

#[test]
fn version_names_the_commit_and_the_packet_backends() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&out.stdout);
    let commit = v
        .split("commit ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no commit in: {v}"));
    // A hash from git, or "unknown" where the build had no git or no checkout.
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{v}"
    );
    assert_eq!(v.contains("AF_PACKET"), cfg!(target_os = "linux"), "{v}");
    assert_eq!(v.contains("libpcap"), cfg!(feature = "pcap"), "{v}");
}

#[test]
fn a_failed_output_leaves_no_half_made_files() {
    let good = tmp("good.json");
    let part = tmp("good.json.part");
    let (code, err) = run(&[
        "-oJ",
        good.to_str().unwrap(),
        "-oX",
        "/nonexistent/dir/out.xml",
        "-p",
        "80",
        "-sT",
        "198.18.0.1",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("/nonexistent/dir/out.xml"), "{err}");
    assert!(!part.exists(), "the -oJ .part file was left behind");
    assert!(!good.exists());
}

#[test]
fn echo_prints_the_resolved_configuration_and_sends_nothing() {
    let out = Command::new(BIN)
        .args([
            "--echo",
            "198.18.0.0/24",
            "--exclude",
            "198.18.0.0/28",
            "-p",
            "22,80,8000-8002",
        ])
        .args([
            "--rate",
            "5000",
            "--wait",
            "2s",
            "--seed",
            "13826318170144517735",
            "-oJ",
            "x.json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "targets = 198.18.0.16-198.18.0.255",
        "hosts = 240",
        "exclude = 198.18.0.0-198.18.0.15",
        "ports = 22,80,8000-8002",
        "rate = 5000",
        "wait = 2s",
        "seed = 13826318170144517735",
        "output-json = x.json",
    ] {
        assert!(text.lines().any(|l| l == line), "no '{line}' in:\n{text}");
    }
    assert!(
        !std::path::Path::new("x.json").exists(),
        "--echo wrote an output"
    );
}

#[test]
fn man_page_and_completions_come_from_the_binary() {
    let generated = |what: &str| {
        let out = Command::new(BIN)
            .args(["--generate", what])
            .output()
            .unwrap();
        assert!(out.status.success(), "--generate {what}");
        String::from_utf8(out.stdout).unwrap()
    };
    let man = generated("man");
    assert!(man.contains(".TH synsweep 1"), "{man}");
    for opt in [
        "rate",
        "exclude",
        "shard",
        "resume",
        "output\\-json",
        "top\\-ports",
    ] {
        assert!(
            man.contains(&format!("\\-\\-{opt}")),
            "man page lacks --{opt}"
        );
    }
    assert!(generated("bash").contains("--rate"));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(generated(shell).contains("rate"), "{shell}");
    }
    let (code, err) = run(&["--generate", "troff"]);
    assert_eq!(code, Some(2), "{err}");
}
