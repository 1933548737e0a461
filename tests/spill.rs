//! Results kept on disk, with the real binary on loopback (listeners this file opens): a scan
//! stopped, resumed, killed with -9 and resumed again writes documents (JSON, XML, grepable)
//! that hold every run's results exactly once, and an NDJSON without a repeated line; its
//! results log lies next to the resume file (0600) while a resume point refers to it and is
//! gone when the scan completes.

mod common;

use common::BIN;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn dir(tag: &str) -> PathBuf {
    let d = common::tmp(&format!("spill-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const OUTPUTS: &[&str] = &[
    "-oJ",
    "out.json",
    "-oX",
    "out.xml",
    "-oG",
    "out.gnmap",
    "-oD",
    "out.ndjson",
    "--resume-file",
    "s.resume",
];

/// A connect scan of 4000 loopback ports at 300 a second (13 s), the listeners among them.
fn first_run(d: &Path, listeners: &[u16]) -> Child {
    let ports: Vec<String> = listeners.iter().map(u16::to_string).collect();
    Command::new(BIN)
        .current_dir(d)
        .args(["-sT", "127.0.0.1", "-n", "-q", "--rate", "300", "-p"])
        .arg(format!("1-4000,{}", ports.join(",")))
        .args(OUTPUTS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn resume(d: &Path) -> Child {
    Command::new(BIN)
        .current_dir(d)
        .args(["--resume", "s.resume"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(c: &Child, sig: i32) {
    // SAFETY: a signal to our own child's process id.
    assert_eq!(unsafe { libc::kill(c.id() as i32, sig) }, 0);
}

fn finish(c: Child) -> (Option<i32>, String) {
    let o = c.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Waits until the scan's resume point holds a results log longer than its header.
fn wait_for_results(resume: &Path, longer_than: u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let len = std::fs::read_to_string(resume)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["spill"]["len"].as_u64());
        if let Some(n) = len.filter(|&n| n > longer_than) {
            return n;
        }
        assert!(Instant::now() < until, "no checkpoint with more results");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (port → times listed) of each document.
fn json_ports(d: &Path) -> (BTreeMap<u64, usize>, usize) {
    let doc: serde_json::Value = serde_json::from_str(&common::read(&d.join("out.json"))).unwrap();
    let mut ports = BTreeMap::new();
    let mut hosts = 0;
    for e in doc["results"].as_array().unwrap() {
        match e["type"].as_str() {
            Some("port") => *ports.entry(e["port"].as_u64().unwrap()).or_default() += 1,
            Some("host") => hosts += 1,
            _ => {}
        }
    }
    assert_eq!(doc["complete"], true);
    (ports, hosts)
}

fn xml_ports(d: &Path) -> BTreeMap<u64, usize> {
    let xml = common::read(&d.join("out.xml"));
    let mut r = quick_xml::Reader::from_str(&xml);
    let mut ports = BTreeMap::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().0 == "port" => {
                let id = e
                    .attributes()
                    .map(|a| a.unwrap())
                    .find(|a| a.key.0 == "portid")
                    .expect("portid");
                let v = id
                    .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap();
                *ports.entry(v.parse().unwrap()).or_default() += 1;
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    ports
}

fn gnmap_ports(d: &Path) -> BTreeMap<u64, usize> {
    let text = common::read(&d.join("out.gnmap"));
    let mut ports = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains("\tPorts: ")) {
        let list = line.split("\tPorts: ").nth(1).unwrap();
        for p in list.split(", ") {
            *ports
                .entry(p.split('/').next().unwrap().parse().unwrap())
                .or_default() += 1;
        }
    }
    ports
}

#[test]
fn stopped_killed_and_resumed_the_documents_hold_every_result_once() {
    let listeners: Vec<TcpListener> = (0..60)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let open: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let want: BTreeMap<u64, usize> = open.iter().map(|&p| (u64::from(p), 1)).collect();
    assert_eq!(want.len(), open.len());
    let d = dir("resume");
    let resume_file = d.join("s.resume");
    let log = d.join("s.resume.spill");

    // Run 1: stopped (SIGINT) after 3 s; its resume point refers to its log.
    let run = first_run(&d, &open);
    std::thread::sleep(Duration::from_secs(3));
    signal(&run, libc::SIGINT);
    let (code, err) = finish(run);
    assert_eq!(code, Some(130), "{err}");
    let m = std::fs::metadata(&log).expect("the results log stays for the resume");
    assert_eq!(m.mode() & 0o777, 0o600);
    let stopped_at = wait_for_results(&resume_file, 16);

    // Run 2: resumed, then killed after a checkpoint of its own: what it found after that
    // checkpoint is in its log and its NDJSON, and both are cut back by the next resume.
    // (3 s at 300 probes/s: 900 of 4060 ports, so some of the 60 listeners.)
    let run = resume(&d);
    wait_for_results(&resume_file, stopped_at);
    std::thread::sleep(Duration::from_secs(3));
    signal(&run, libc::SIGKILL);
    let _ = finish(run);
    // Results found after the checkpoint went to the NDJSON (written every 250 ms); the
    // log holds them in memory until the next checkpoint or 256 KiB (the unit tests cut a
    // log back), so a kill -9 loses them from both, and the next run finds them again.
    let point: serde_json::Value = serde_json::from_str(&common::read(&resume_file)).unwrap();
    let ndjson_mark = point["ndjson"]["len"].as_u64().unwrap();
    let ndjson_len = std::fs::metadata(d.join("out.ndjson")).unwrap().len();
    assert!(
        ndjson_len > ndjson_mark,
        "nothing found after the checkpoint"
    );
    assert!(std::fs::metadata(&log).unwrap().len() >= point["spill"]["len"].as_u64().unwrap());

    // Run 3: resumed to the end.
    let (code, err) = finish(resume(&d));
    assert_eq!(code, Some(0), "{err}");
    // Every listener once (something else of the machine may listen in 1-4000 too).
    let (json, hosts) = json_ports(&d);
    assert!(
        json.values().all(|&n| n == 1),
        "JSON: a port twice: {json:?}"
    );
    assert!(want.keys().all(|p| json.contains_key(p)), "JSON: {json:?}");
    assert_eq!(hosts, 1, "JSON: the host once");
    assert_eq!(xml_ports(&d), json, "XML: as the JSON");
    assert_eq!(gnmap_ports(&d), json, "grepable: as the JSON");
    let ndjson = common::read(&d.join("out.ndjson"));
    let mut lines: Vec<&str> = ndjson.lines().collect();
    let all = lines.len();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), all, "an NDJSON line twice");
    let count = |kind: &str| {
        let tag = format!("\"type\":\"{kind}\"");
        lines.iter().filter(|l| l.contains(&tag)).count()
    };
    assert_eq!(count("port"), json.len(), "NDJSON: every open port once");
    assert_eq!(count("host"), 1, "NDJSON: the host once");
    // Complete: the log is gone.
    assert!(!log.exists(), "the log of a complete scan stays");
    drop(listeners);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_scan_that_completes_leaves_nothing_but_its_outputs() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let d = dir("complete");
    let o = Command::new(BIN)
        .current_dir(&d)
        .args(["-sT", "127.0.0.1", "-n", "-q", "-p", &port])
        .args(OUTPUTS)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let mut left: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["out.gnmap", "out.json", "out.ndjson", "out.xml"]);
    assert_eq!(json_ports(&d).0.len(), 1);
    let _ = std::fs::remove_dir_all(d);
}
