//! `--nmap`: a connect scan of loopback listeners this test opens (an SSH-like greeting and
//! an HTTP server), handed to the installed nmap; nmap's service and version must reach the
//! XML and the JSON. Skipped where nmap is missing, unless SYNSWEEP_REQUIRE_LAB=1 (CI).
//! Refusals and a missing nmap fail before any probe, in one line.

mod common;

use common::{BIN, read, tmp};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

fn required() -> bool {
    std::env::var("SYNSWEEP_REQUIRE_LAB").is_ok_and(|v| v == "1")
}

fn have_nmap() -> bool {
    let found = Command::new("nmap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || !required(),
        "nmap is required (SYNSWEEP_REQUIRE_LAB=1) but missing"
    );
    found
}

/// A loopback service: `greeting` first (if any), then `reply` to whatever is asked.
fn serve(greeting: &'static [u8], reply: &'static [u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let _ = c.write_all(greeting);
                let mut buf = [0u8; 4096];
                if matches!(c.read(&mut buf), Ok(n) if n > 0) {
                    let _ = c.write_all(reply);
                }
            });
        }
    });
    port
}

#[test]
fn nmaps_services_reach_the_xml_and_the_json() {
    if !have_nmap() {
        eprintln!("skipped: nmap is not installed");
        return;
    }
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", b"");
    let http = serve(
        b"",
        b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nContent-Type: text/html\r\nContent-Length: 44\r\n\r\n<html><title>handoff</title>hello</html>\r\n\r\n",
    );
    let (xml, json) = (tmp("handoff.xml"), tmp("handoff.json"));
    let out = Command::new(BIN)
        .args([
            "-sT",
            "127.0.0.1",
            "-p",
            &format!("{ssh},{http}"),
            "-n",
            "-q",
        ])
        .args(["--nmap", "-sV", "-oX"])
        .arg(&xml)
        .arg("-oJ")
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    let services: Vec<&serde_json::Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "service")
        .collect();
    let of = |port: u16| {
        services
            .iter()
            .find(|s| s["port"] == port)
            .unwrap_or_else(|| panic!("no service for {port}: {services:?}"))
    };
    assert_eq!(of(ssh)["name"], "ssh");
    assert_eq!(of(ssh)["product"], "OpenSSH");
    assert!(of(ssh)["version"].as_str().unwrap().starts_with("9.2p1"));
    assert_eq!(of(ssh)["method"], "probed");
    assert_eq!(of(http)["name"], "http");
    let x = read(&xml);
    let ssh_port = x
        .split("<port ")
        .find(|p| p.contains(&format!(r#"portid="{ssh}""#)))
        .unwrap();
    assert!(
        ssh_port.contains(r#"<service name="ssh" product="OpenSSH" version="9.2p1"#)
            && ssh_port.contains(r#"method="probed""#),
        "{ssh_port}"
    );
    let http_port = x
        .split("<port ")
        .find(|p| p.contains(&format!(r#"portid="{http}""#)))
        .unwrap();
    assert!(http_port.contains(r#"<service name="http""#), "{http_port}");
}

#[test]
fn refused_arguments_and_a_missing_nmap_fail_before_any_probe() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port().to_string();
    for (args, needle) in [
        ("-sS", "raw packets"),
        ("-O -sV", "raw packets"),
        ("-sV -oX x.xml", "merges"),
        ("-sV 10.0.0.1", "targets"),
        ("-p 1-100", "open ones"),
    ] {
        let out = Command::new(BIN)
            .args(["-sT", "127.0.0.1", "-p", &p, "-n", "--nmap", args])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args}: {err}");
        assert!(
            err.starts_with("synsweep: error: bad option --nmap: "),
            "{args}: {err}"
        );
        assert!(
            err.contains(needle) && err.lines().count() == 1,
            "{args}: {err}"
        );
    }
    // No nmap on PATH: refused at planning, before the scan (so no output file is made).
    let empty = tmp("no-nmap-here");
    std::fs::create_dir_all(&empty).unwrap();
    let json = tmp("no-nmap.json");
    let _ = std::fs::remove_file(&json);
    let out = Command::new(BIN)
        .env("PATH", &empty)
        .args(["-sT", "127.0.0.1", "-p", &p, "-n", "--nmap", "-sV", "-oJ"])
        .arg(&json)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nmap is not installed") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!json.exists(), "the scan ran");
    // A UDP scan has no open TCP ports to hand off.
    let out = Command::new(BIN)
        .args(["-sU", "127.0.0.1", "-p", "53", "--nmap", "-sV"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
