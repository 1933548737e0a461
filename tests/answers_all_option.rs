//! `--all-open-threshold`: its default and values in the resolved configuration, and bad
//! values refused in one line naming the option (exit 2). Nothing here sends a packet.

mod common;

use common::BIN;
use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run synsweep");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_threshold_is_100_by_default_0_turns_it_off_and_bad_values_are_refused() {
    let (code, out, _) = run(&["--echo", "198.18.0.1"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\nall-open-threshold = 100\n"), "{out}");
    let (_, out, _) = run(&["--echo", "--all-open-threshold", "0", "198.18.0.1"]);
    assert!(out.contains("\nall-open-threshold = 0\n"), "{out}");
    for bad in ["-1", "many", "70000"] {
        let arg = format!("--all-open-threshold={bad}");
        let (code, out, err) = run(&[&arg, "198.18.0.1"]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--all-open-threshold"), "{err}");
    }
}
