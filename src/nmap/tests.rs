//! The stage with a stand-in for nmap (a shell script answering in nmap's XML): events pass
//! untouched, each host is examined once with exactly its open TCP ports, at most `parallel`
//! at once, and a stop kills what runs and starts nothing more.

use super::*;
use crate::event::{PortResult, Reason};
use std::path::Path;
use std::time::{Duration, Instant};

fn port(ip: &str, port: u16, state: PortState, proto: Proto) -> Event {
    Event::Port(PortResult {
        ip: ip.parse().unwrap(),
        port,
        proto,
        state,
        reason: Reason::SynAck,
        service: String::new(),
        rtt_ms: None,
        ts: 0.0,
        hostname: None,
        ttl: None,
    })
}

/// A fake nmap in a directory of its own: logs its arguments to `log`, then (after `delay`
/// seconds) says every port of its -p list is service "fake" on its last argument.
fn fake_nmap(tag: &str, delay: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("synsweep-nmap-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (bin, log) = (dir.join("nmap"), dir.join("log"));
    let _ = std::fs::remove_file(&log);
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> '{log}'
sleep {delay}
for a in "$@"; do prev="$p"; p="$a"; [ "$prev" = -p ] && ports="$a"; done
echo '<?xml version="1.0"?><nmaprun scanner="nmap">'
echo "<host><address addr=\"$p\" addrtype=\"ipv4\"/><ports>"
for x in $(echo "$ports" | tr , ' '); do
  echo "<port protocol=\"tcp\" portid=\"$x\"><state state=\"open\"/><service name=\"fake\" product=\"Fake\" version=\"1.$x\" method=\"probed\" conf=\"10\"/></port>"
done
echo '</ports></host></nmaprun>'
"#,
        log = log.display()
    );
    std::fs::write(&bin, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, log)
}

fn config(program: &Path, parallel: usize) -> NmapConfig {
    NmapConfig {
        program: program.to_path_buf(),
        args: vec!["-sV".into()],
        parallel,
        seeds: vec![("198.18.0.3".parse().unwrap(), 443)],
    }
}

#[test]
fn each_host_gets_its_open_tcp_ports_and_services_join_the_stream() {
    let (bin, log) = fake_nmap("ok", "0");
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let stage = NmapStage::start(Some(config(&bin, 2)), in_rx, out_tx, StopSignal::default());
    let sent = [
        port("198.18.0.1", 22, PortState::Open, Proto::Tcp),
        port("198.18.0.1", 80, PortState::Open, Proto::Tcp),
        port("198.18.0.1", 81, PortState::Closed, Proto::Tcp),
        port("198.18.0.2", 53, PortState::Open, Proto::Udp),
        port("198.18.0.2", 8080, PortState::Open, Proto::Tcp),
    ];
    for e in &sent {
        in_tx.send(e.clone()).unwrap();
    }
    drop(in_tx);
    let report = stage.finish().unwrap();
    let got: Vec<Event> = out_rx.iter().collect();
    assert_eq!(
        &got[..sent.len()],
        &sent[..],
        "events pass first, untouched"
    );
    let mut services: Vec<(String, u16, String)> = got[sent.len()..]
        .iter()
        .map(|e| match e {
            Event::Service(s) => (s.ip.to_string(), s.port, s.version.clone().unwrap()),
            other => panic!("not a service: {other:?}"),
        })
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            ("198.18.0.1".into(), 22, "1.22".into()),
            ("198.18.0.1".into(), 80, "1.80".into()),
            ("198.18.0.2".into(), 8080, "1.8080".into()),
            ("198.18.0.3".into(), 443, "1.443".into()),
        ]
    );
    assert_eq!(
        report,
        Report {
            hosts: 3,
            done: 3,
            failures: vec![],
            stopped: false
        }
    );
    let mut calls: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        [
            "-sV --unprivileged -Pn -n -oX - -p 22,80 198.18.0.1",
            "-sV --unprivileged -Pn -n -oX - -p 443 198.18.0.3",
            "-sV --unprivileged -Pn -n -oX - -p 8080 198.18.0.2",
        ]
    );
}

#[test]
fn a_stop_kills_running_nmaps_and_starts_no_more() {
    let (bin, log) = fake_nmap("stop", "30");
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let stop = StopSignal::default();
    let stage = NmapStage::start(Some(config(&bin, 1)), in_rx, out_tx, stop.clone());
    for h in 1..=3 {
        in_tx
            .send(port(
                &format!("198.18.0.1{h}"),
                22,
                PortState::Open,
                Proto::Tcp,
            ))
            .unwrap();
    }
    drop(in_tx);
    std::thread::sleep(Duration::from_millis(300));
    let stopped_at = Instant::now();
    stop.raise_to(StopLevel::Graceful);
    let report = stage.finish().unwrap();
    assert!(
        stopped_at.elapsed() < Duration::from_secs(5),
        "nmap not killed"
    );
    assert!(report.stopped && report.done == 0, "{report:?}");
    assert!(report.notice().unwrap().contains("0 of 4 hosts"));
    assert_eq!(
        out_rx
            .iter()
            .filter(|e| matches!(e, Event::Service(_)))
            .count(),
        0
    );
    // One nmap started (parallel 1); none after the stop.
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
}

#[test]
fn a_scan_stopped_before_its_end_hands_off_nothing() {
    let (bin, log) = fake_nmap("early", "0");
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, _out_rx) = crossbeam_channel::unbounded();
    let stop = StopSignal::default();
    stop.raise_to(StopLevel::Graceful);
    let stage = NmapStage::start(Some(config(&bin, 4)), in_rx, out_tx, stop);
    in_tx
        .send(port("198.18.0.1", 22, PortState::Open, Proto::Tcp))
        .unwrap();
    drop(in_tx);
    let report = stage.finish().unwrap();
    assert!(report.stopped && report.done == 0);
    assert!(!log.exists());
}

#[test]
fn without_a_hand_off_the_stage_only_forwards() {
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let stage = NmapStage::start(None, in_rx, out_tx, StopSignal::default());
    let e = port("198.18.0.1", 22, PortState::Open, Proto::Tcp);
    in_tx.send(e.clone()).unwrap();
    drop(in_tx);
    assert_eq!(stage.finish(), None);
    assert_eq!(out_rx.iter().collect::<Vec<_>>(), [e]);
}
