//! Lab scenarios shared by the connect-scan (`lab.rs`) and raw-scan (`lab_raw.rs`) tests: the
//! same exact ground truth, whichever engine runs.

use super::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub fn parse_port_ranges(s: &str) -> Vec<u16> {
    s.split(',')
        .flat_map(|item| match item.split_once('-') {
            Some((a, b)) => a.parse::<u16>().unwrap()..=b.parse::<u16>().unwrap(),
            None => {
                let p = item.parse::<u16>().unwrap();
                p..=p
            }
        })
        .collect()
}

pub fn check_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "synsweep failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A /24 × the top 100 ports, every state exact, and the JSON document agrees. `scan` is the
/// scan type and any options that pick a backend.
pub fn slash24_top100_is_exact(lab: &Lab, scan: &[&str]) {
    let js = tmp(&format!("top100{}.json", scan.join("")));
    let mut args = scan.to_vec();
    args.extend([
        "198.18.0.0/24",
        "-p",
        "top100",
        "--show-closed",
        "--timeout",
        "500ms",
        "-oJ",
        js.to_str().unwrap(),
    ]);
    let got = lab.scan_ports(&args);
    let doc: serde_json::Value = serde_json::from_str(&read(&js)).expect("-oJ is JSON");
    let ports = parse_port_ranges(doc["scan"]["ports"].as_str().unwrap());
    assert_eq!(ports.len(), 100);
    let want = GroundTruth::load().expect(hosts_24(), &ports);
    assert_eq!(got.len(), want.len());
    let wrong: Vec<_> = want
        .iter()
        .filter(|(t, s)| got.get(t) != Some(s))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "differs from ground truth at {wrong:?}");
    // 246 answering hosts are up; the 10 silent ones are not.
    assert_eq!(doc["stats"]["hosts_up"], 246);
    assert_eq!(doc["complete"], true);
}

/// One host, all 65,535 ports, exact.
pub fn one_host_all_ports_is_exact(lab: &Lab, scan_type: &str) {
    let got = lab.scan_ports(&[scan_type, "198.18.0.7", "-p-", "--show-closed"]);
    let ip: IpAddr = "198.18.0.7".parse().unwrap();
    let ports: Vec<u16> = (1..=65535).collect();
    let want = GroundTruth::load().expect(std::iter::once(ip), &ports);
    let open = |m: &BTreeMap<SocketAddr, Truth>| {
        m.iter()
            .filter(|(_, s)| **s == Truth::Open)
            .map(|(t, _)| t.port())
            .collect::<Vec<_>>()
    };
    assert_eq!(open(&got), open(&want), "open ports");
    assert_eq!(got, want);
}

/// Interrupts a scan with `signals` SIGINTs, checks the outputs are whole documents and the
/// resume file exists, resumes, and checks both runs together equal the ground truth.
pub fn interrupt_then_resume(lab: &Lab, signals: usize, tag: &str, scan_type: &str) {
    let f = |n: &str| tmp(&format!("{tag}-{n}"));
    let (nd1, js1, xml1, gn1, resume) = (
        f("1.ndjson"),
        f("1.json"),
        f("1.xml"),
        f("1.gnmap"),
        f("scan.resume"),
    );
    let ports = "1-600";
    let mut child = lab.spawn(&[
        scan_type,
        "198.18.0.0/24",
        "-p",
        ports,
        "--rate",
        "15000",
        "-q",
        "-oD",
        nd1.to_str().unwrap(),
        "-oJ",
        js1.to_str().unwrap(),
        "-oX",
        xml1.to_str().unwrap(),
        "-oG",
        gn1.to_str().unwrap(),
        "--resume-file",
        resume.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..signals {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(30));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "synsweep did not stop within 20 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "an interrupted scan exits 130");

    let doc: serde_json::Value =
        serde_json::from_str(&read(&js1)).expect("interrupted -oJ is valid JSON");
    assert_eq!(doc["complete"], false);
    let xml = read(&xml1);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut depth = 0i32;
    let mut saw_runstats = false;
    loop {
        match reader
            .read_event()
            .expect("interrupted -oX is well-formed XML")
        {
            quick_xml::events::Event::Start(_) => depth += 1,
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Empty(e) if e.name().as_ref() == "finished" => {
                saw_runstats = true
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every XML element is closed");
    assert!(saw_runstats);
    assert!(
        read(&gn1)
            .lines()
            .last()
            .unwrap()
            .starts_with("# synsweep interrupted")
    );
    assert!(resume.exists(), "a resume file is saved");

    let (nd2, js2) = (f("2.ndjson"), f("2.json"));
    let out = lab.scan(&[
        "--resume",
        resume.to_str().unwrap(),
        "-q",
        "-oD",
        nd2.to_str().unwrap(),
        "-oJ",
        js2.to_str().unwrap(),
    ]);
    check_ok(&out);

    let ports = parse_port_ranges(ports);
    let truth = GroundTruth::load();
    let want: BTreeMap<SocketAddr, Truth> = if scan_type == "-sU" {
        truth.expect_udp(hosts_24(), &ports)
    } else {
        truth.expect(hosts_24(), &ports)
    }
    .into_iter()
    .filter(|(_, s)| *s == Truth::Open)
    .collect();
    let mut first = BTreeMap::new();
    ndjson_ports(&read(&nd1), &mut first);
    assert!(
        !first.is_empty() && first.len() < want.len(),
        "the stop landed mid-scan ({} of {})",
        first.len(),
        want.len()
    );
    let mut both = first.clone();
    ndjson_ports(&read(&nd2), &mut both); // panics on anything reported twice
    assert_eq!(
        both, want,
        "the two runs together are exactly one whole scan"
    );
    // The resumed run's document is whole: it carries the first run's results.
    let doc: serde_json::Value = serde_json::from_str(&read(&js2)).unwrap();
    let in_doc = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "port")
        .count();
    assert_eq!(in_doc, want.len());
    assert_eq!(doc["complete"], true);
    // Its figures count the whole scan too, not only the resumed run.
    assert_eq!(doc["stats"]["open"], want.len(), "stats: {}", doc["stats"]);
}

/// Three shards with one seed: together exactly the whole scan, none overlapping.
pub fn shards_split_the_scan_exactly(lab: &Lab, scan_type: &str) {
    let ports: Vec<u16> = vec![22, 25, 80, 443, 3306, 3389, 8443, 9999];
    let mut got = BTreeMap::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let part = lab.scan_ports(&[
            scan_type,
            "198.18.0.0/24",
            "-p",
            "22,25,80,443,3306,3389,8443,9999",
            "--seed",
            "77",
            "--shard",
            &shard,
            "--show-closed",
            "--timeout",
            "500ms",
        ]);
        assert!(
            part.len() > 600,
            "shard {i} did about a third ({})",
            part.len()
        );
        for (t, s) in part {
            assert!(got.insert(t, s).is_none(), "{t} scanned by two shards");
        }
    }
    assert_eq!(got, GroundTruth::load().expect(hosts_24(), &ports));
}

/// Excluded addresses get no packet at all (the target's nft counter stays at 0).
pub fn excluded_targets_are_never_probed(lab: &Lab, scan_type: &str) {
    let ex = tmp(&format!("exclude{scan_type}.txt"));
    std::fs::write(&ex, "# the watched block\n198.18.1.0/25\n").unwrap();
    let got = lab.scan_ports(&[
        scan_type,
        "198.18.0.0/23",
        "-p",
        "22,80",
        "--exclude",
        "198.18.1.128/25",
        "--excludefile",
        ex.to_str().unwrap(),
    ]);
    assert_eq!(
        lab.watched_packets(),
        0,
        "a probe reached an excluded address"
    );
    assert_eq!(
        got.len(),
        2 * (256 - 10),
        "the /24 that was not excluded was scanned"
    );
    // The counter does count: scanning the watched block shows up in it.
    lab.scan_ports(&[scan_type, "198.18.1.0/28", "-p", "80"]);
    assert!(lab.watched_packets() >= 16);
}

/// A /24 × the top 20 UDP ports, every state exact (open, closed, filtered, open|filtered),
/// forged answers rejected. `scan` is the engine's options (and rate, where the target's ICMP
/// limit is on). Returns the JSON document.
pub fn udp_slash24_top20_is_exact(
    lab: &Lab,
    wrapper: &[&str],
    scan: &[&str],
    tag: &str,
) -> serde_json::Value {
    let js = tmp(&format!("udp-top20-{tag}.json"));
    let mut args = scan.to_vec();
    args.extend([
        "-sU",
        "198.18.0.0/24",
        "--top-ports",
        "20",
        "--show-closed",
        "-n",
        "-oJ",
        js.to_str().unwrap(),
    ]);
    let got = lab.scan_ports_under(wrapper, &args);
    let doc: serde_json::Value = serde_json::from_str(&read(&js)).expect("-oJ is JSON");
    let ports = parse_port_ranges(doc["scan"]["ports"].as_str().unwrap());
    assert_eq!(ports.len(), 20);
    assert_eq!(doc["scan"]["scan_type"], "udp");
    let want = GroundTruth::load().expect_udp(hosts_24(), &ports);
    assert_eq!(got.len(), want.len());
    let wrong: Vec<_> = want
        .iter()
        .filter(|(t, s)| got.get(t) != Some(s))
        .take(10)
        .map(|(t, s)| (t, s, got.get(t)))
        .collect();
    assert!(wrong.is_empty(), "differs from ground truth at {wrong:?}");
    assert_eq!(doc["stats"]["hosts_up"], 246);
    for r in doc["results"].as_array().unwrap() {
        if r["type"] == "port" && r["state"] == "open" {
            assert_eq!(r["proto"], "udp");
            assert_eq!(r["reason"], "udp-response");
        }
    }
    doc
}

/// Banners from the lab's services on web.lab (198.18.0.7), exact: greetings, HTTP, TLS with
/// its certificate, and the AI services with their versions, models and access.
pub fn banners_are_exact(lab: &Lab, wrapper: &[&str], scan: &[&str], tag: &str) {
    let nd = tmp(&format!("banners-{tag}.ndjson"));
    let mut args = scan.to_vec();
    args.extend([
        "198.18.0.7",
        "-p",
        "22,25,80,443,587,3306,8080,8888,11434",
        "--banners",
        "-n",
        "-q",
        "-oD",
        nd.to_str().unwrap(),
    ]);
    let out = lab.command_under(wrapper, &args).output().expect("run");
    check_ok(&out);
    let mut banners = BTreeMap::new();
    for line in read(&nd).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("NDJSON");
        if v["type"] == "banner" {
            let port = v["port"].as_u64().unwrap();
            assert!(
                banners.insert(port, v).is_none(),
                "port {port} bannered twice"
            );
        }
    }
    let ports: Vec<u64> = banners.keys().copied().collect();
    assert_eq!(
        ports,
        vec![22, 80, 443, 587, 3306, 8080, 8888, 11434],
        "25 is closed"
    );
    let b = |p: u64| &banners[&p];
    assert_eq!(b(22)["service"], "ssh");
    assert_eq!(b(22)["text"], "SSH-2.0-OpenSSH_9.6 synsweep-lab");
    assert_eq!(
        b(22)["data_b64"],
        "U1NILTIuMC1PcGVuU1NIXzkuNiBzeW5zd2VlcC1sYWINCg=="
    );
    assert_eq!(b(587)["service"], "smtp");
    assert_eq!(b(587)["text"], "220 mail.lab ESMTP synsweep-lab");
    assert_eq!(b(3306)["service"], "mysql");
    assert_eq!(b(3306)["text"], "MySQL 8.0.36-lab");
    assert_eq!(b(80)["http"]["status"], 200);
    assert_eq!(b(80)["http"]["title"], "Lab web server");
    assert_eq!(b(80)["http"]["server"], "synsweep-lab/1");
    let tls = &b(443)["tls"];
    assert_eq!(b(443)["service"], "https");
    assert_eq!(tls["version"], "TLSv1.3");
    assert_eq!(tls["subject"], "CN=web.lab, O=synsweep lab");
    assert_eq!(
        tls["sans"],
        serde_json::json!(["web.lab", "www.web.lab", "198.18.0.7"])
    );
    assert!(tls["not_after"].as_str().unwrap().ends_with('Z'));
    assert_eq!(b(443)["http"]["title"], "Lab web server");
    assert_eq!(
        b(11434)["ai"],
        serde_json::json!({"product": "ollama", "version": "0.5.7",
            "models": ["llama3.2:1b", "qwen2.5:0.5b"], "open_access": true})
    );
    assert_eq!(
        b(8080)["ai"],
        serde_json::json!({"product": "vllm", "version": "0.6.3",
            "models": ["meta-llama/Llama-3.1-8B-Instruct"], "open_access": true})
    );
    assert_eq!(
        b(8888)["ai"],
        serde_json::json!({"product": "jupyter", "version": "2.14.2", "open_access": false})
    );
    for p in [22, 80, 443, 587, 3306] {
        assert!(b(p).get("ai").is_none(), "port {p} is no AI service");
    }
}

/// Excludes hold on resume: an address excluded by the first run (even one an edited resume
/// file puts back among the targets) and one excluded only by the resume command get no
/// packet while the resumed run finishes the scan.
pub fn excludes_hold_on_resume(lab: &Lab, scan_type: &str) {
    let tag = scan_type.trim_start_matches('-');
    let resume = tmp(&format!("excl-resume-{tag}.resume"));
    // Two addresses of the watched block among a /24 outside it.
    let targets = "198.18.0.0/24,198.18.1.5,198.18.1.6";
    let mut child = lab.spawn(&[
        scan_type,
        targets,
        "-p",
        "1-600",
        "--rate",
        "15000",
        "-q",
        "-n",
        "--exclude",
        "198.18.1.5",
        "--resume-file",
        resume.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        child.wait().unwrap().code(),
        Some(130),
        "the first run was stopped"
    );
    let mut saved: serde_json::Value = serde_json::from_str(&read(&resume)).unwrap();
    let ranges = saved["config"]["targets"]["ranges"].as_array_mut().unwrap();
    assert!(
        !ranges.iter().any(|r| r == "198.18.1.5"),
        "the exclude was cut: {ranges:?}"
    );
    ranges.push("198.18.1.5".into());
    std::fs::write(&resume, saved.to_string()).unwrap();

    let before = lab.watched_packets();
    let out = lab.scan(&[
        "--resume",
        resume.to_str().unwrap(),
        "-q",
        "--exclude",
        "198.18.1.6",
    ]);
    check_ok(&out);
    assert_eq!(
        lab.watched_packets() - before,
        0,
        "an excluded address got a probe during the resumed run"
    );
    // The counter does count: a scan of one of them shows up in it.
    lab.scan_ports(&[scan_type, "198.18.1.6", "-p", "80"]);
    assert!(lab.watched_packets() > before);
}
