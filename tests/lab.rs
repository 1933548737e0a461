//! Lab tests: the real binary, unprivileged-style connect scans (-sT), against a namespace that
//! answers 198.18.0.0/16, compared with the exact ground truth of scripts/lab.env.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

fn parse_port_ranges(s: &str) -> Vec<u16> {
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

fn check_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "synsweep failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn slash24_top100_connect_scan_is_exact() {
    let Some(lab) = lab("slash24_top100_connect_scan_is_exact") else {
        return;
    };
    let js = tmp("top100.json");
    let got = lab.scan_ports(&[
        "-sT",
        "198.18.0.0/24",
        "-p",
        "top100",
        "--show-closed",
        "--timeout",
        "500ms",
        "-oJ",
        js.to_str().unwrap(),
    ]);
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

#[test]
fn one_host_all_ports_connect_scan_is_exact() {
    let Some(lab) = lab("one_host_all_ports_connect_scan_is_exact") else {
        return;
    };
    let got = lab.scan_ports(&["-sT", "198.18.0.7", "-p-", "--show-closed"]);
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
fn interrupt_then_resume(lab: Lab, signals: usize, tag: &str) {
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
        "-sT",
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
    let want: BTreeMap<SocketAddr, Truth> = GroundTruth::load()
        .expect(hosts_24(), &ports)
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
}

#[test]
fn ctrl_c_then_resume_is_exact() {
    if let Some(lab) = lab("ctrl_c_then_resume_is_exact") {
        interrupt_then_resume(lab, 1, "graceful");
    }
}

#[test]
fn second_ctrl_c_aborts_and_still_resumes_exactly() {
    if let Some(lab) = lab("second_ctrl_c_aborts_and_still_resumes_exactly") {
        interrupt_then_resume(lab, 2, "abort");
    }
}

#[test]
fn shards_split_the_scan_exactly() {
    let Some(lab) = lab("shards_split_the_scan_exactly") else {
        return;
    };
    let ports: Vec<u16> = vec![22, 25, 80, 443, 3306, 3389, 8443, 9999];
    let mut got = BTreeMap::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let part = lab.scan_ports(&[
            "-sT",
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

#[test]
fn excluded_targets_are_never_probed() {
    let Some(lab) = lab("excluded_targets_are_never_probed") else {
        return;
    };
    let ex = tmp("exclude.txt");
    std::fs::write(&ex, "# the watched block\n198.18.1.0/25\n").unwrap();
    let got = lab.scan_ports(&[
        "-sT",
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
    lab.scan_ports(&["-sT", "198.18.1.0/28", "-p", "80"]);
    assert!(lab.watched_packets() >= 16);
}

#[test]
fn host_names_bring_all_their_addresses_and_keep_the_name() {
    let Some(lab) = lab("host_names_bring_all_their_addresses_and_keep_the_name") else {
        return;
    };
    let nd = tmp("names.ndjson");
    let out = lab.scan(&[
        "-sT",
        "web.lab",
        "-p",
        "22,3306",
        "-q",
        "-oD",
        nd.to_str().unwrap(),
    ]);
    check_ok(&out);
    let mut got = BTreeMap::new();
    ndjson_ports(&read(&nd), &mut got);
    let open: Vec<String> = got.keys().map(|t| t.to_string()).collect();
    // web.lab is 198.18.0.7 and 198.18.0.8; only .7 listens on 3306.
    assert_eq!(open, ["198.18.0.7:22", "198.18.0.7:3306", "198.18.0.8:22"]);
    for line in read(&nd).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["hostname"], "web.lab", "{line}");
    }
}

#[test]
fn running_out_of_file_descriptors_slows_down_but_stays_exact() {
    let Some(lab) = lab("running_out_of_file_descriptors_slows_down_but_stays_exact") else {
        return;
    };
    let js = tmp("emfile.json");
    // 48 descriptors in all, 500 attempts asked for: connect() meets EMFILE again and again.
    let got = lab.scan_ports_under(
        &["prlimit", "--nofile=48:48"],
        &[
            "-sT",
            "198.18.0.0/25",
            "-p",
            "22,80,3389,9999",
            "--max-inflight",
            "500",
            "--timeout",
            "300ms",
            "--show-closed",
            "-oJ",
            js.to_str().unwrap(),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&read(&js)).unwrap();
    assert!(
        doc["stats"]["errors"].as_u64().unwrap() > 0,
        "the limit was never hit: nothing tested"
    );
    assert_eq!(
        got,
        GroundTruth::load().expect(hosts_24().take(128), &[22, 80, 3389, 9999])
    );
}

/// Runs as user `nobody` with no capabilities, as an unprivileged user would.
const UNPRIVILEGED: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

#[test]
fn unprivileged_users_get_a_connect_scan_and_one_line_saying_so() {
    let Some(lab) = lab("unprivileged_users_get_a_connect_scan_and_one_line_saying_so") else {
        return;
    };
    let nd = tmp("unprivileged.ndjson");
    let args = [
        "-sS",
        "198.18.0.0/26",
        "-p",
        "22,80,3306,3389",
        "--show-closed",
        "-oD",
        nd.to_str().unwrap(),
    ];
    let out = lab.command_under(UNPRIVILEGED, &args).output().unwrap();
    check_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let notices: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("using TCP connect scan"))
        .collect();
    assert_eq!(notices.len(), 1, "{err}");
    let mut got = BTreeMap::new();
    ndjson_ports(&read(&nd), &mut got);
    assert_eq!(
        got,
        GroundTruth::load().expect(hosts_24().take(64), &[22, 80, 3306, 3389])
    );

    let refused = lab
        .command_under(UNPRIVILEGED, &["--privileged-only", "-sS", "198.18.0.0/26"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--privileged-only"), "{err}");
}

/// The raw path end to end, below any engine: the link is planned from the scanner
/// namespace's routing table, the gateway's MAC found by ARP, SYNs crafted by the template
/// leave through the AF_PACKET link, and the target kernel's SYN-ACK, RST and ICMP error come
/// back through the kernel filter for the classifier to validate their cookies.
#[test]
fn raw_path_plans_the_link_resolves_arp_and_validates_answers() {
    use synsweep::link::afpacket::AfPacket;
    use synsweep::link::bpf::reply_filter;
    use synsweep::packet::cookie::{CookieKey, SourcePorts};
    use synsweep::packet::reply::{LinkKind, Validator, Verdict};
    use synsweep::packet::syn::{EthernetAddrs, SynFields, SynTemplate};

    let Some(lab) = lab("raw_path_plans_the_link_resolves_arp_and_validates_answers") else {
        return;
    };
    // The next hop's MAC: the target end of the veth pair.
    let show = std::process::Command::new("ip")
        .args([
            "-n",
            &format!("{}-t", lab.name),
            "link",
            "show",
            &format!("{}v1", lab.name),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    let mac_text = text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("link/ether");
    let mut gw = [0u8; 6];
    for (b, h) in gw.iter_mut().zip(mac_text.split(':')) {
        *b = u8::from_str_radix(h, 16).unwrap();
    }
    let (ns, ifname) = (
        format!("/run/netns/{}-s", lab.name),
        format!("{}v0", lab.name),
    );
    let verdicts = std::thread::spawn(move || {
        // Only this thread enters the scanner namespace.
        let f = std::fs::File::open(&ns).unwrap();
        // SAFETY: setns on a valid namespace fd, affecting this thread only.
        assert_eq!(
            unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) },
            0
        );
        let them: std::net::Ipv4Addr = "198.18.0.7".parse().unwrap();
        // Link setup from the namespace's own tables: route, source, next hop; the gateway is
        // not in the (fresh) neighbour table, so ARP resolves it.
        let plan = synsweep::link::setup::system(them, &Default::default()).expect("plan the link");
        assert_eq!(plan.iface, ifname);
        assert_eq!(
            (plan.src_ip, plan.next_hop),
            ("198.19.0.1".parse().unwrap(), "198.19.0.2".parse().unwrap())
        );
        assert_eq!(
            plan.next_hop_mac, None,
            "a fresh namespace has no neighbour entry yet"
        );
        let src_mac = plan.src_mac.expect("veth has a MAC");
        let resolved = synsweep::link::arp::resolve(
            &ifname,
            src_mac,
            plan.src_ip,
            plan.next_hop,
            Duration::from_secs(2),
        )
        .expect("ARP")
        .expect("the gateway answered ARP");
        assert_eq!(resolved, gw, "ARP found the target end's MAC");
        let us = plan.src_ip;
        let ports = SourcePorts {
            base: 61000,
            count: 1000,
        };
        let link = AfPacket::open(&ifname, &reply_filter(14, us, 61000, 61999), 0x0800)
            .expect("open AF_PACKET");
        assert_eq!(link.mac().unwrap(), src_mac);
        let eth = EthernetAddrs {
            src: src_mac,
            dst: resolved,
        };
        let template = SynTemplate::new_v4(us, Some(eth), 64);
        let v = Validator {
            key: CookieKey::from_seed(99),
            us,
            ports,
        };
        let mut frame = [0u8; 128];
        for (i, port) in [22u16, 9999, 3389, 8443].into_iter().enumerate() {
            let (seq, sport) = ports.pick(v.key.cookie_v4(them, port, us));
            let f = SynFields {
                dst: them,
                dport: port,
                sport,
                seq,
                tsval: 1,
                ip_id: i as u16,
            };
            let n = template.craft(&mut frame, &f).unwrap();
            link.send(&frame[..n]).expect("send");
        }
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(1500);
        let mut buf = [0u8; 2048];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(n) = link.recv(&mut buf, left).unwrap() {
                got.push(v.classify(&buf[..n], LinkKind::Ethernet));
            }
        }
        got
    })
    .join()
    .unwrap();
    let them: std::net::Ipv4Addr = "198.18.0.7".parse().unwrap();
    let mut answers: Vec<(u16, &str)> = verdicts
        .iter()
        .map(|v| match v {
            Verdict::Open {
                port, ip, tsecr, ..
            } if *ip == them && *tsecr == Some(1) => (*port, "open"),
            Verdict::Closed { port, ip, .. } if *ip == them => (*port, "closed"),
            Verdict::Unreachable {
                port, ip, code: 13, ..
            } if *ip == them => (*port, "prohibited"),
            other => panic!("the filter let through {other:?}"),
        })
        .collect();
    answers.sort();
    answers.dedup(); // a SYN-ACK may be retransmitted
    assert_eq!(
        answers,
        [(22, "open"), (8443, "prohibited"), (9999, "closed")],
        "3389 drops silently"
    );
}
