//! `synsweep 127.0.0.1 -p-`, the README's first command with every port, must report exactly
//! the ports something listens on. A connect to a port of the ephemeral range can be given that
//! very port as its source and complete a handshake with itself; before that was caught, about
//! half of such runs reported a port with no listener.

mod common;

use common::{BIN, read, tmp};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::Command;

const RUNS: usize = 30;

/// TCP ports in LISTEN on 127.0.0.1 or on every address, from the kernel's own table.
fn loopback_listeners() -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is "HEXADDR:HEXPORT"; state 0A is LISTEN.
            let (Some(local), Some("0A")) = (f.get(1), f.get(3).copied()) else {
                continue;
            };
            let Some((addr, port)) = local.split_once(':') else {
                continue;
            };
            // 0100007F is 127.0.0.1 in the kernel's byte order; all zeros is "any address",
            // in either family (a v6 socket bound to :: takes v4 connections too).
            let reachable = addr == "0100007F" || addr.bytes().all(|b| b == b'0');
            if let (true, Ok(p)) = (reachable, u16::from_str_radix(port, 16)) {
                ports.insert(p);
            }
        }
    }
    ports
}

fn open_ports(ndjson: &str) -> BTreeSet<u16> {
    ndjson
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "port" && v["state"] == "open")
        .filter_map(|v| v["port"].as_u64())
        .map(|p| p as u16)
        .collect()
}

#[test]
fn every_port_of_localhost_thirty_times_without_a_false_open() {
    let ours: Vec<TcpListener> = (0..5)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("listen on loopback"))
        .collect();
    let our_ports: BTreeSet<u16> = ours
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let out = tmp("localhost.ndjson");
    for run in 0..RUNS {
        let before = loopback_listeners();
        let status = Command::new(BIN)
            .args(["127.0.0.1", "-p-", "-n", "-q", "-oD"])
            .arg(&out)
            .status()
            .expect("run synsweep");
        let after = loopback_listeners();
        assert_eq!(status.code(), Some(0), "run {run}");
        let found = open_ports(&read(&out));
        let missing: Vec<_> = our_ports.difference(&found).collect();
        assert!(
            missing.is_empty(),
            "run {run}: listeners not found {missing:?}"
        );
        // Another process may open or close a listener while we scan: anything that listened
        // before or after the run may be reported, nothing else.
        let listening: BTreeSet<u16> = before.union(&after).copied().collect();
        let false_open: Vec<_> = found.difference(&listening).collect();
        assert!(
            false_open.is_empty(),
            "run {run}: no listener on {false_open:?}"
        );
    }
}
