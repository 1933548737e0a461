//! `-oX` beside nmap's own: a connect scan of 127.0.0.1 (only loopback, only listeners this
//! test opens) read back with an XML parser, and, where nmap and ndiff are installed (required
//! under `SYNSWEEP_REQUIRE_LAB=1`), the same scan by nmap compared with ndiff: no difference
//! in hosts, ports or service names.

mod common;

use common::{BIN, tmp};
use quick_xml::events::Event as X;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;

/// Ports nmap-services names (and IANA too, by other names): the open ones come from here.
const CANDIDATES: &[u16] = &[8088, 9999, 8443, 6667, 5901, 10000, 8009, 7070, 5800, 2049];
const CLOSED: usize = 40;

fn required() -> bool {
    std::env::var("SYNSWEEP_REQUIRE_LAB").is_ok_and(|v| v == "1")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty())
}

/// (element name, attributes) of every element, in document order.
fn elements(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            X::Start(e) | X::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .expect("value");
                        (a.key.0.to_string(), v.into_owned())
                    })
                    .collect();
                out.push((e.name().0.to_string(), attrs));
            }
            X::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn connect_scan_of_loopback_matches_nmaps_xml() {
    let open: Vec<TcpListener> = CANDIDATES
        .iter()
        .filter_map(|p| TcpListener::bind(("127.0.0.1", *p)).ok())
        .take(3)
        .collect();
    assert!(open.len() >= 2, "no free candidate ports on 127.0.0.1");
    let open_ports: Vec<u16> = open
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    // Ports just given up by listeners of ours: closed (nothing else listens on them).
    let closed: Vec<u16> = (0..CLOSED)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect::<Vec<_>>()
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let ports = open_ports
        .iter()
        .chain(&closed)
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");

    let ours = tmp("synsweep.xml");
    let out = Command::new(BIN)
        .args(["-sT", "-n", "127.0.0.1", "-p", &ports, "-oX"])
        .arg(&ours)
        .output()
        .expect("run synsweep");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&ours).unwrap();
    let els = elements(&xml);
    let listed: Vec<(u16, Option<String>)> = els
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| n == "port")
        .map(|(i, (_, a))| {
            let service = els[i + 1..]
                .iter()
                .take_while(|(n, _)| n != "port")
                .find(|(n, _)| n == "service")
                .map(|(_, a)| a["name"].clone());
            (a["portid"].parse().unwrap(), service)
        })
        .collect();
    let mut want = open_ports.clone();
    want.sort_unstable();
    assert_eq!(
        listed.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        want,
        "{xml}"
    );
    assert!(
        listed.iter().all(|(_, s)| s.is_some()),
        "every candidate port is named: {listed:?}"
    );
    let extra = els
        .iter()
        .find(|(n, _)| n == "extraports")
        .expect("extraports");
    assert_eq!(
        (extra.1["state"].as_str(), extra.1["count"].as_str()),
        ("closed", "40")
    );
    let reasons = els
        .iter()
        .find(|(n, _)| n == "extrareasons")
        .expect("extrareasons");
    assert_eq!(reasons.1["reason"], "conn-refused");
    let hosts = els.iter().find(|(n, _)| n == "hosts").expect("runstats");
    assert_eq!(
        (hosts.1["up"].as_str(), hosts.1["total"].as_str()),
        ("1", "1")
    );

    if !have("nmap") || !have("ndiff") {
        assert!(
            !required(),
            "nmap and ndiff are required (apt-get install nmap ndiff)"
        );
        eprintln!("skipped the comparison: no nmap or no ndiff");
        std::fs::remove_file(&ours).ok();
        return;
    }
    let theirs = tmp("nmap.xml");
    let nmap = Command::new("nmap")
        .args(["-sT", "-n", "-Pn", "-p", &ports, "-oX"])
        .arg(&theirs)
        .arg("127.0.0.1")
        .output()
        .expect("run nmap");
    assert!(nmap.status.success(), "{nmap:?}");
    let diff = Command::new("ndiff")
        .arg(&theirs)
        .arg(&ours)
        .output()
        .expect("run ndiff");
    drop(open);
    let said = String::from_utf8_lossy(&diff.stdout).into_owned();
    std::fs::remove_file(&ours).ok();
    std::fs::remove_file(&theirs).ok();
    // ndiff: exit 0 when the scans agree; it still prints the two banner lines.
    assert_eq!(
        diff.status.code(),
        Some(0),
        "ndiff found differences:\n{said}"
    );
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "{said}");
    assert!(lines[0].starts_with("-Nmap "), "{said}");
    assert!(lines[1].starts_with("+synsweep "), "{said}");
}
