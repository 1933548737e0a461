//! Lab tests of results kept on disk (issue 13): a raw /16 × 5 ports scan — the bench's
//! ports, about 196,000 open — stopped and resumed has a resume file under 1 MB and
//! documents (JSON, XML, grepable) that hold every open port exactly once; run whole, its
//! peak RSS stays under 64 MB with `-oD` alone and with `-oJ -oX -oG` as well.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

const PORTS: &str = "22,25,80,443,3389";
const PREFIX: &str = "198.18.0.0/16";
/// The goal of issue 13, in kilobytes (`/usr/bin/time`'s %M).
const RSS_GOAL_KB: u64 = 64 * 1024;

fn hosts_16() -> impl Iterator<Item = IpAddr> + Clone {
    (0..=u16::MAX).map(|i| IpAddr::V4(Ipv4Addr::from(0xc612_0000 | u32::from(i))))
}

fn want_open() -> BTreeMap<SocketAddr, usize> {
    let ports: Vec<u16> = PORTS.split(',').map(|p| p.parse().unwrap()).collect();
    GroundTruth::load()
        .expect(hosts_16(), &ports)
        .into_iter()
        .filter(|(_, s)| *s == Truth::Open)
        .map(|(t, _)| (t, 1))
        .collect()
}

/// (address, port) → times listed, in a JSON document.
fn json_open(path: &std::path::Path) -> BTreeMap<SocketAddr, usize> {
    let doc: serde_json::Value = serde_json::from_str(&read(path)).unwrap();
    assert_eq!(doc["complete"], true);
    let mut m = BTreeMap::new();
    for r in doc["results"].as_array().unwrap() {
        if r["type"] == "port" && r["state"] == "open" {
            let ip: IpAddr = r["ip"].as_str().unwrap().parse().unwrap();
            let port = r["port"].as_u64().unwrap() as u16;
            *m.entry(SocketAddr::new(ip, port)).or_default() += 1;
        }
    }
    m
}

fn grepable_open(path: &std::path::Path) -> BTreeMap<SocketAddr, usize> {
    let mut m = BTreeMap::new();
    for line in read(path).lines().filter(|l| l.contains("\tPorts: ")) {
        let host = line.strip_prefix("Host: ").unwrap();
        let ip: IpAddr = host.split(' ').next().unwrap().parse().unwrap();
        let list = line.split("\tPorts: ").nth(1).unwrap();
        for p in list.split('\t').next().unwrap().split(", ") {
            let f: Vec<&str> = p.split('/').collect();
            if f[1] == "open" {
                *m.entry(SocketAddr::new(ip, f[0].parse().unwrap()))
                    .or_default() += 1;
            }
        }
    }
    m
}

fn xml_open_count(path: &std::path::Path) -> usize {
    read(path).matches(r#"<state state="open""#).count()
}

#[test]
fn slash16_x5_stopped_and_resumed_has_a_small_resume_file_and_whole_documents() {
    let Some(lab) =
        lab("slash16_x5_stopped_and_resumed_has_a_small_resume_file_and_whole_documents")
    else {
        return;
    };
    let f = |n: &str| tmp(&format!("spill16-{n}"));
    let resume = f("scan.resume");
    let (nd1, nd2, js, xml, gn) = (
        f("1.ndjson"),
        f("2.ndjson"),
        f("2.json"),
        f("2.xml"),
        f("2.gnmap"),
    );
    let mut child = lab.spawn(&[
        "-sS",
        "-n",
        PREFIX,
        "-p",
        PORTS,
        "--rate",
        "100000",
        "-q",
        "-oD",
        nd1.to_str().unwrap(),
        "-oX",
        f("1.xml").to_str().unwrap(),
        "--resume-file",
        resume.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "no stop within 20 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let size = std::fs::metadata(&resume).unwrap().len();
    eprintln!("resume file of a stopped /16 x 5: {size} bytes");
    assert!(size < 1_000_000, "resume file {size} bytes");
    assert!(std::fs::metadata(format!("{}.spill", resume.display())).is_ok());

    let out = lab.scan(&[
        "--resume",
        resume.to_str().unwrap(),
        "-q",
        "-oD",
        nd2.to_str().unwrap(),
        "-oJ",
        js.to_str().unwrap(),
        "-oX",
        xml.to_str().unwrap(),
        "-oG",
        gn.to_str().unwrap(),
    ]);
    scenarios::check_ok(&out);
    let want = want_open();
    let mut first = BTreeMap::new();
    ndjson_ports(&read(&nd1), &mut first);
    assert!(
        !first.is_empty() && first.len() < want.len(),
        "the stop landed mid-scan"
    );
    let mut both = first;
    ndjson_ports(&read(&nd2), &mut both); // panics on anything reported twice
    assert_eq!(both.len(), want.len());
    assert_eq!(json_open(&js), want, "JSON: every open port exactly once");
    assert_eq!(
        grepable_open(&gn),
        want,
        "grepable: every open port exactly once"
    );
    assert_eq!(
        xml_open_count(&xml),
        want.len(),
        "XML: every open port once"
    );
    assert!(std::fs::metadata(format!("{}.spill", resume.display())).is_err());
}

/// Peak RSS in kB of a whole /16 × 5 scan with these outputs (`/usr/bin/time -f %M`).
fn peak_rss_kb(lab: &Lab, outputs: &[&str]) -> u64 {
    let mut args = vec!["-sS", "-n", PREFIX, "-p", PORTS, "--rate", "10000000", "-q"];
    args.extend_from_slice(outputs);
    let out = lab
        .command_under(&["/usr/bin/time", "-f", "%M"], &args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("{err}"))
}

#[test]
fn slash16_x5_peaks_under_64_mb_with_streams_and_with_documents() {
    let Some(lab) = lab("slash16_x5_peaks_under_64_mb_with_streams_and_with_documents") else {
        return;
    };
    let f = |n: &str| tmp(&format!("rss16-{n}"));
    let (nd, js, xml, gn) = (f("a.ndjson"), f("b.json"), f("b.xml"), f("b.gnmap"));
    let streams = peak_rss_kb(&lab, &["-oD", nd.to_str().unwrap()]);
    let documents = peak_rss_kb(
        &lab,
        &[
            "-oJ",
            js.to_str().unwrap(),
            "-oX",
            xml.to_str().unwrap(),
            "-oG",
            gn.to_str().unwrap(),
        ],
    );
    eprintln!("/16 x 5 peak RSS: -oD {streams} kB; -oJ -oX -oG {documents} kB");
    assert_eq!(json_open(&js), want_open(), "the documents are exact");
    assert!(streams <= RSS_GOAL_KB, "-oD: {streams} kB");
    assert!(documents <= RSS_GOAL_KB, "-oJ -oX -oG: {documents} kB");
}
