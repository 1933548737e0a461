//! The flags nmap and masscan users type: each one accepted, with its effect on the resolved
//! configuration (`--echo`) or a notice; the ones synsweep does not take get one line naming
//! what it offers instead. Nothing here sends a packet.

mod common;

use common::BIN;
use std::process::Command;

/// `--echo` with `args`: (exit code, stdout, stderr).
fn echo(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .arg("--echo")
        .args(args)
        .output()
        .expect("run synsweep");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no '{key}' in:\n{text}"))
        .to_string()
}

const T: &str = "198.18.0.1";

#[test]
fn every_habit_flag_is_accepted_with_its_effect() {
    // (arguments, key, value --echo must show)
    let table: &[(&[&str], &str, &str)] = &[
        (&["-T4", T], "rate", "100000"),
        (&["-T4", T], "timeout", "0.5s"),
        (&["-T4", T], "retries", "1"),
        (&["-T0", T], "rate", "1"),
        (&["-T2", T], "timeout", "2s"),
        (&["-T4", "--timeout", "3s", T], "timeout", "3s"),
        (&["--wait", "2", T], "wait", "2s"),
        (&["--timeout", "1.5", T], "timeout", "1.5s"),
        (
            &["--min-rate", "50000", "--rate-mode", "fixed", T],
            "rate",
            "50000",
        ),
        (&["--min-rate", "50000", T], "rate", "default"),
        (&["--min-rate", "50000", T], "min-rate", "50000"),
        (&["--max-rate", "7000", T], "rate", "7000"),
        (&[T], "rate-mode", "adaptive"),
        (&["--rate-mode", "fixed", T], "rate-mode", "fixed"),
        (&[T], "min-rate", "none"),
        (
            &["--min-rate", "500", "--rate", "9000", T],
            "min-rate",
            "500",
        ),
        (&["--min-rate", "500", "--rate", "9000", T], "rate", "9000"),
        (&[T], "max-host-rate", "none"),
        (&["--max-host-rate", "50", T], "max-host-rate", "50"),
        (&["--max-retries", "3", T], "retries", "3"),
        (&["--host-timeout", "30", T], "host-timeout", "30s"),
        (
            &["-p", "20-25", "--exclude-ports", "22,23", T],
            "ports",
            "20-21,24-25",
        ),
        (&["-g", "5353", T], "source-port", "5353-5353"),
        (&["--adapter", "veth9", T], "interface", "veth9"),
        (&["-oN", "a.nmap", T], "output-normal", "a.nmap"),
        (&["-oL", "a.list", T], "output-list", "a.list"),
        (&["-oP", "-", T], "output-plain", "-"),
        (&["-oA", "base", T], "output-xml", "base.xml"),
        (&["-oA", "base", T], "output-normal", "base.nmap"),
        (&["-oA", "base", T], "output-grepable", "base.gnmap"),
        (&["-v", T], "verbose", "1"),
        (&["-vv", T], "verbose", "2"),
        (&["-Pn", T], "ports", ""),
        (&["--open", T], "show-closed", "false"),
        (&["--reason", T], "show-closed", "false"),
    ];
    for (args, key, want) in table {
        let (code, out, err) = echo(args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        if !want.is_empty() {
            assert_eq!(value(&out, key), *want, "{args:?}");
        }
    }
}

/// Ports of a `--echo` listing, expanded.
fn ports(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for item in value(text, "ports").split(',') {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        out.extend(a.parse::<u16>().unwrap()..=b.parse::<u16>().unwrap());
    }
    out
}

#[test]
fn f_is_the_top_100_and_top_ports_with_p_scan_both() {
    // Whichever ranking is installed (nmap's, or the embedded one).
    let (_, f, _) = echo(&["-F", T]);
    let (_, top100, _) = echo(&["--top-ports", "100", T]);
    assert_eq!(ports(&f), ports(&top100));
    assert_eq!(ports(&f).len(), 100);
    let (_, top2, _) = echo(&["--top-ports", "2", T]);
    let (_, both, _) = echo(&["--top-ports", "2", "-p", "9999", T]);
    let mut want = ports(&top2);
    want.push(9999);
    want.sort_unstable();
    assert_eq!(ports(&both), want);
}

#[test]
fn what_synsweep_does_not_take_gets_one_line_naming_what_it_offers() {
    let table: &[(&[&str], &str)] = &[
        (&["-sV", T], "--banners"),
        (&["-sC", T], "--banners"),
        (&["-O", T], "--banners"),
        (&["-A", T], "--banners"),
        (&["-p", "U:53,T:80", T], "U:"),
        (&["-sS", "-sU", T], "TCP and UDP"),
        (&["--retry", "2", T], "--retries"),
        (&["-T7", T], "7"),
        (&["--min-rate", "5000", "--rate", "100", T], "--min-rate"),
        (&["--max-host-rate", "0", T], "--max-host-rate"),
        (&["--max-host-rate", "many", T], "--max-host-rate"),
        (&["--rate-mode", "fast", T], "--rate-mode"),
        (&["-oX", "a.xml", "-oA", "b", T], "-oA"),
        (&["--open", "--show-closed", T], "--open"),
    ];
    for (args, needle) in table {
        let (code, _, err) = echo(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.contains(needle), "{args:?}: '{needle}' not in: {err}");
    }
}

#[test]
fn no_op_habits_say_so_once() {
    // A dry run plans without sending anything and prints the notices.
    for (flag, needle) in [
        ("-Pn", "-Pn"),
        ("--open", "--open"),
        ("--reason", "--reason"),
    ] {
        let out = Command::new(BIN)
            .args([flag, "--dry-run", "-p", "80", T])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches(needle).count(), 1, "{flag}: {err}");
    }
}
