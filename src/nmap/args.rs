//! `--nmap "ARGS"`: the user's nmap options, split as a shell would and checked against what a
//! hand-off can take. nmap runs after the scan with the privileges synsweep kept, on the open
//! TCP ports it found, writing XML that synsweep reads: options that need raw packets, that
//! name targets or ports, or that write elsewhere are refused with one line saying why.
//! Options not known to be safe are refused too (a hand-off must not fail after the scan).

use std::collections::BTreeSet;
use std::net::IpAddr;

const RAW: &str =
    "needs raw packets; the hand-off runs nmap unprivileged (connect scan): use -sV, -sC, --script";
const TARGETS: &str = "the targets are the hosts synsweep found open ports on";
const PORTS: &str = "the ports are the open ones synsweep found";
const OUTPUT: &str =
    "synsweep reads nmap's XML and merges it into its own outputs (-oX, -oJ, -oD, -oG)";
const STDOUT: &str = "writes to standard output, where synsweep reads nmap's XML";
const NO_SCAN: &str = "skips the port scan the hand-off is for";
const DISCOVERY: &str = "host discovery: synsweep found the host up and passes -Pn";
const NOT_A_SCAN: &str = "prints instead of scanning";

/// What an nmap option is to a hand-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Safe; takes this many values (0 or 1).
    Takes(usize),
    /// Refused, for this reason; takes this many values (so the message names the option).
    Refused(&'static str),
}

use Rule::{Refused, Takes};

/// Long options (and nmap's multi-letter single-dash ones), by name.
fn long_rule(name: &str) -> Option<Rule> {
    Some(match name {
        "--script"
        | "--script-args"
        | "--script-args-file"
        | "--version-intensity"
        | "--host-timeout"
        | "--scan-delay"
        | "--max-scan-delay"
        | "--min-rate"
        | "--max-rate"
        | "--max-retries"
        | "--min-rtt-timeout"
        | "--max-rtt-timeout"
        | "--initial-rtt-timeout"
        | "--min-hostgroup"
        | "--max-hostgroup"
        | "--min-parallelism"
        | "--max-parallelism"
        | "--datadir"
        | "--servicedb"
        | "--versiondb"
        | "--stylesheet"
        | "--stats-every"
        | "--dns-servers"
        | "--proxies"
        | "--script-timeout" => Takes(1),
        "--version-light"
        | "--version-all"
        | "--allports"
        | "--reason"
        | "--open"
        | "--defeat-rst-ratelimit"
        | "--defeat-icmp-ratelimit"
        | "--noninteractive"
        | "--no-stylesheet"
        | "--webxml"
        | "--unprivileged"
        | "--randomize-hosts"
        | "--system-dns"
        | "-Pn"
        | "-sV"
        | "-sC"
        | "-sT"
        | "-n"
        | "-r" => Takes(0),
        "--traceroute" | "--osscan-limit" | "--osscan-guess" | "--max-os-tries" | "--mtu"
        | "--source-port" | "--data" | "--data-string" | "--data-length" | "--ip-options"
        | "--ttl" | "--spoof-mac" | "--badsum" | "--send-eth" | "--send-ip" | "--privileged"
        | "--scanflags" | "-O" | "-f" | "-D" | "-S" | "-e" | "-g" | "-b" => Refused(RAW),
        "-A" => Refused("includes -O and --traceroute, which need raw packets; use -sV -sC"),
        "-iL" | "-iR" | "--exclude" | "--excludefile" | "-6" | "--resume" => Refused(TARGETS),
        "-p" | "--top-ports" | "--port-ratio" | "-F" | "--exclude-ports" => Refused(PORTS),
        "-oX" | "-oN" | "-oG" | "-oA" | "-oS" | "-oM" | "--append-output" => Refused(OUTPUT),
        "--packet-trace" | "--version-trace" | "--script-trace" | "-d" => Refused(STDOUT),
        "-sn" | "-sL" | "-sP" => Refused(NO_SCAN),
        "-R" => Refused("synsweep resolves names itself and passes -n"),
        "-h" | "--help" | "-V" | "--version" | "--iflist" | "--script-help"
        | "--script-updatedb" | "--interactive" => Refused(NOT_A_SCAN),
        _ => return None,
    })
}

/// The rule for one word of the user's arguments that starts with `-`; `-v`, `-vv`, `-v3`,
/// `-d2`, `-T4`, `-sCV` and `-PS22` are read as nmap reads them.
fn rule(word: &str) -> Rule {
    let name = word.split_once('=').map_or(word, |(n, _)| n);
    if let Some(r) = long_rule(name) {
        return r;
    }
    let b = word.as_bytes();
    let rest = word.get(2..).unwrap_or("");
    match (b.get(1), rest) {
        (Some(b'v'), r) if r.bytes().all(|c| c == b'v') || r.parse::<u8>().is_ok() => Takes(0),
        (Some(b'd'), r) if r.bytes().all(|c| c == b'd') || r.parse::<u8>().is_ok() => {
            Refused(STDOUT)
        }
        (Some(b'T'), "") => Takes(1),
        (Some(b'T'), r) if timing(r) => Takes(0),
        (Some(b's'), r) if !r.is_empty() => scan_letters(r),
        (Some(b'P'), _) => Refused(DISCOVERY),
        (Some(b'o'), _) => Refused(OUTPUT),
        (Some(b'p'), _) => Refused(PORTS),
        _ => Refused("not an option synsweep knows is safe to hand to nmap"),
    }
}

fn timing(t: &str) -> bool {
    matches!(
        t,
        "0" | "1"
            | "2"
            | "3"
            | "4"
            | "5"
            | "paranoid"
            | "sneaky"
            | "polite"
            | "normal"
            | "aggressive"
            | "insane"
    )
}

/// `-sV`, `-sC`, `-sT` and their combinations (`-sCV`) are fine; every other scan type needs
/// raw packets (`-sS`, `-sU`, `-sO` …) or skips the port scan (`-sn`, `-sL`).
fn scan_letters(letters: &str) -> Rule {
    for c in letters.chars() {
        match c {
            'V' | 'C' | 'T' => {}
            'n' | 'L' | 'P' => return Refused(NO_SCAN),
            _ => return Refused(RAW),
        }
    }
    Takes(0)
}

/// Splits `s` into words as a POSIX shell would: blanks separate, '…' and "…" quote, a
/// backslash escapes the next character (inside "…" only before `"`, `\` and `$`).
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("a ' is not closed".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("a \" is not closed".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("a \" is not closed".into()),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.next());
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The user's `--nmap` string as checked nmap arguments, or one line saying what is refused
/// and why.
pub fn parse(s: &str) -> Result<Vec<String>, String> {
    let words = split(s)?;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if !w.starts_with('-') || w == "-" {
            return Err(format!("'{w}': {TARGETS}"));
        }
        match rule(w) {
            Refused(why) => return Err(format!("{w}: {why}")),
            Takes(1) if !w.contains('=') => {
                if i + 1 >= words.len() {
                    return Err(format!("{w} needs a value"));
                }
                i += 2;
            }
            Takes(_) => i += 1,
        }
    }
    Ok(words)
}

/// nmap's command line for one host: the user's arguments, then what makes it a hand-off —
/// no privileges asked for, no discovery, no DNS, XML on standard output, exactly the open
/// ports synsweep found, the one host.
pub fn command(user: &[String], ip: IpAddr, ports: &BTreeSet<u16>) -> Vec<String> {
    let mut argv = user.to_vec();
    argv.extend(
        ["--unprivileged", "-Pn", "-n", "-oX", "-", "-p"]
            .iter()
            .map(|s| s.to_string()),
    );
    argv.push(port_ranges(ports));
    if ip.is_ipv6() {
        argv.push("-6".into());
    }
    argv.push(ip.to_string());
    argv
}

/// `22,80,8000-8002`.
fn port_ranges(ports: &BTreeSet<u16>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = ports.iter().copied().peekable();
    while let Some(lo) = it.next() {
        let mut hi = lo;
        while it.peek() == Some(&(hi.wrapping_add(1))) && hi < u16::MAX {
            hi += 1;
            it.next();
        }
        out.push(if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        });
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_runs_unprivileged_is_taken() {
        for ok in [
            "-sV",
            "-sV -sC",
            "-sCV",
            "-sT -sV --version-intensity 9",
            "--script 'http-title and not brute' --script-args=http.useragent=x",
            "-T4 -vv --reason --open --host-timeout 30s",
            "-T aggressive -Pn -n",
            "",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
        assert_eq!(
            parse(r#"--script "ssl-cert,http-title" -sV"#).unwrap(),
            vec!["--script", "ssl-cert,http-title", "-sV"]
        );
    }

    #[test]
    fn what_needs_more_or_breaks_the_hand_off_is_refused_with_why() {
        for (args, needle) in [
            ("-sS", "raw packets"),
            ("-sU", "raw packets"),
            ("-sVU", "raw packets"),
            ("-O", "raw packets"),
            ("-A", "-sV -sC"),
            ("--traceroute", "raw packets"),
            ("-sV -D RND:10", "raw packets"),
            ("--source-port 53", "raw packets"),
            ("--ttl=3", "raw packets"),
            ("-oX out.xml", "merges"),
            ("-oA base", "merges"),
            ("-oN -", "merges"),
            ("-iL hosts.txt", "targets"),
            ("-sV 198.18.0.1", "targets"),
            ("-p 1-1000", "open ones"),
            ("-p-", "open ones"),
            ("--top-ports 10", "open ones"),
            ("-sn", "skips the port scan"),
            ("-PS22", "host discovery"),
            ("-d", "standard output"),
            ("-dd", "standard output"),
            ("--packet-trace", "standard output"),
            ("--script", "needs a value"),
            ("--frobnicate", "not an option"),
            ("-sV 'unclosed", "not closed"),
            ("--version", "prints"),
        ] {
            let err = parse(args).expect_err(args);
            assert!(err.contains(needle), "{args}: {err}");
            assert!(!err.contains('\n'), "{args}: one line: {err}");
        }
    }

    #[test]
    fn the_command_adds_what_makes_it_a_hand_off() {
        let ports: BTreeSet<u16> = [22, 80, 8000, 8001, 8002, 65535].into();
        let user = parse("-sV -sC").unwrap();
        assert_eq!(
            command(&user, "127.0.0.1".parse().unwrap(), &ports).join(" "),
            "-sV -sC --unprivileged -Pn -n -oX - -p 22,80,8000-8002,65535 127.0.0.1"
        );
        let v6 = command(&[], "::1".parse().unwrap(), &[443].into());
        assert_eq!(v6.join(" "), "--unprivileged -Pn -n -oX - -p 443 -6 ::1");
    }
}
