//! synsweep beside nmap in the lab (root; nmap and ndiff required under
//! SYNSWEEP_REQUIRE_LAB=1): nmap's ndiff finds no difference between nmap's own XML of a lab
//! scan and synsweep's, and the hand-off to nmap brings nmap's services into our outputs.

mod common;

use common::*;

fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the tools are there; their absence fails a run that requires the lab.
fn tools(test: &str) -> bool {
    if have("nmap") && have("ndiff") {
        return true;
    }
    assert!(
        std::env::var("SYNSWEEP_REQUIRE_LAB").as_deref() != Ok("1"),
        "{test}: nmap and ndiff are required here (apt-get install nmap ndiff)"
    );
    eprintln!("{test}: skipped: no nmap or ndiff");
    false
}

#[test]
fn ndiff_sees_no_difference_between_nmaps_scan_and_ours() {
    let test = "ndiff_sees_no_difference_between_nmaps_scan_and_ours";
    let Some(lab) = lab(test).filter(|_| tools(test)) else {
        return;
    };
    // More than 25 closed ports a host: nmap summarises them as <extraports>, as we do.
    let ports = "1-100,443,3306,8080,11434";
    let (theirs, ours) = (tmp("ndiff-nmap.xml"), tmp("ndiff-synsweep.xml"));
    let nmap = lab
        .program(
            "nmap",
            &[
                "-sS",
                "-n",
                "-Pn",
                "-p",
                ports,
                "-oX",
                theirs.to_str().unwrap(),
            ],
        )
        .args(["198.18.0.1-3", "198.18.0.7"])
        .output()
        .expect("run nmap");
    assert!(
        nmap.status.success(),
        "{}",
        String::from_utf8_lossy(&nmap.stderr)
    );
    let targets = "198.18.0.1-198.18.0.3,198.18.0.7";
    let out = lab.scan(&[
        "-sS",
        "-n",
        "-q",
        "-p",
        ports,
        "-oX",
        ours.to_str().unwrap(),
        targets,
    ]);
    scenarios::check_ok(&out);
    let diff = lab
        .program("ndiff", &[theirs.to_str().unwrap(), ours.to_str().unwrap()])
        .output()
        .expect("run ndiff");
    let text = String::from_utf8_lossy(&diff.stdout);
    // Only the banner lines differ: who scanned, when, with which command.
    let differences: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['+', '-']))
        .filter(|l| !l.starts_with("-Nmap ") && !l.starts_with("+synsweep "))
        .collect();
    assert!(differences.is_empty(), "ndiff:\n{text}");
    assert_eq!(diff.status.code(), Some(0), "ndiff:\n{text}");
}

#[test]
fn the_nmap_hand_off_brings_nmaps_services_into_our_outputs() {
    let test = "the_nmap_hand_off_brings_nmaps_services_into_our_outputs";
    let Some(lab) = lab(test).filter(|_| tools(test)) else {
        return;
    };
    let (js, xml) = (tmp("handoff-lab.json"), tmp("handoff-lab.xml"));
    let out = lab.scan(&[
        "-sS",
        "-n",
        "-q",
        "198.18.0.7",
        "-p",
        "22,80,3306",
        "--nmap",
        "-sV",
        "-oJ",
        js.to_str().unwrap(),
        "-oX",
        xml.to_str().unwrap(),
    ]);
    scenarios::check_ok(&out);
    let doc: serde_json::Value = serde_json::from_str(&read(&js)).expect("-oJ is JSON");
    let services: Vec<&serde_json::Value> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "service")
        .collect();
    let ssh = services
        .iter()
        .find(|s| s["port"] == 22)
        .unwrap_or_else(|| panic!("no service for port 22 in {services:?}"));
    assert_eq!(ssh["name"], "ssh", "{ssh}");
    assert!(
        services
            .iter()
            .any(|s| s["port"] == 80 && s["name"] == "http"),
        "{services:?}"
    );
    let x = read(&xml);
    assert!(
        x.contains(r#"<service name="ssh""#) && x.contains(r#"method="probed""#),
        "{x}"
    );
}
