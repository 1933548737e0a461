//! Lab tests: the real binary's connect scans (-sT), against a namespace that answers
//! 198.18.0.0/16, compared with the exact ground truth of scripts/lab.env. The raw engine's
//! are in lab_raw.rs; the scenarios both run are in common/scenarios.rs.

mod common;

use common::scenarios::*;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn slash24_top100_connect_scan_is_exact() {
    if let Some(lab) = lab("slash24_top100_connect_scan_is_exact") {
        slash24_top100_is_exact(&lab, &["-sT"]);
    }
}

#[test]
fn one_host_all_ports_connect_scan_is_exact() {
    if let Some(lab) = lab("one_host_all_ports_connect_scan_is_exact") {
        one_host_all_ports_is_exact(&lab, "-sT");
    }
}

/// Without privileges, -sU runs on connected UDP sockets: the same exact states.
#[test]
fn unprivileged_udp_scan_is_exact() {
    if let Some(lab) = lab("unprivileged_udp_scan_is_exact") {
        let doc =
            udp_slash24_top20_is_exact(&lab, UNPRIVILEGED, &["--timeout", "500ms"], "connect");
        assert_eq!(doc["scan"]["scan_type"], "udp");
    }
}

#[test]
fn unprivileged_banners_are_exact() {
    if let Some(lab) = lab("unprivileged_banners_are_exact") {
        banners_are_exact(&lab, UNPRIVILEGED, &[], "connect");
    }
}

#[test]
fn connect_shards_split_the_scan_exactly() {
    if let Some(lab) = lab("connect_shards_split_the_scan_exactly") {
        shards_split_the_scan_exactly(&lab, "-sT");
    }
}

#[test]
fn connect_excludes_hold_on_resume() {
    if let Some(lab) = lab("connect_excludes_hold_on_resume") {
        excludes_hold_on_resume(&lab, "-sT");
    }
}

#[test]
fn connect_scans_never_probe_excluded_targets() {
    if let Some(lab) = lab("connect_scans_never_probe_excluded_targets") {
        excluded_targets_are_never_probed(&lab, "-sT");
    }
}

#[test]
fn ctrl_c_then_resume_is_exact() {
    if let Some(lab) = lab("ctrl_c_then_resume_is_exact") {
        interrupt_then_resume(&lab, 1, "graceful", "-sT");
    }
}

#[test]
fn second_ctrl_c_aborts_and_still_resumes_exactly() {
    if let Some(lab) = lab("second_ctrl_c_aborts_and_still_resumes_exactly") {
        interrupt_then_resume(&lab, 2, "abort", "-sT");
    }
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
        // Port and host events carry the name the user gave; name events carry reverse DNS's.
        let name = if v["type"] == "name" {
            &v["ptr"]
        } else {
            &v["hostname"]
        };
        assert_eq!(name, "web.lab", "{line}");
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

/// Reverse DNS against a name server that never answers: SIGTERM, SIGHUP or SIGINT while the
/// names stage waits (the sweep itself is done in a fraction of a second) stops the scan
/// within the names grace, with whole documents; and the scan left alone ends within it too.
#[test]
fn signals_during_reverse_dns_against_a_silent_name_server_stop_promptly() {
    let Some(lab) = lab("signals_during_reverse_dns_against_a_silent_name_server_stop_promptly")
    else {
        return;
    };
    let silent = std::process::Command::new("ip")
        .args(["netns", "exec", &format!("{}-t", lab.name), "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(
                b"table inet silentdns {\n chain input {\n  type filter hook input priority -10; policy accept;\n  udp dport 53 drop\n }\n}\n",
            )?;
            c.wait()
        })
        .expect("nft");
    assert!(silent.success(), "the name server could not be silenced");
    for (signal, name) in [
        (libc::SIGTERM, "term"),
        (libc::SIGHUP, "hup"),
        (libc::SIGINT, "int"),
    ] {
        let js = tmp(&format!("silent-dns-{name}.json"));
        let resume = tmp(&format!("silent-dns-{name}.resume"));
        let started = Instant::now();
        let mut child = lab.spawn(&[
            "-sT",
            "198.18.0.0/24",
            "-p",
            "22",
            "--timeout",
            "300ms",
            "-R",
            "-q",
            "-oJ",
            js.to_str().unwrap(),
            "--resume-file",
            resume.to_str().unwrap(),
        ]);
        // The 256-host connect sweep is over in well under a second; names go on after it.
        std::thread::sleep(Duration::from_millis(1200));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            // 2 × max(timeout 0.3 s, names grace 2 s) + 1 s, from the start.
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name}: still running"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(matches!(status.code(), Some(0 | 130)), "{name}: {status:?}");
        let doc: serde_json::Value =
            serde_json::from_str(&read(&js)).unwrap_or_else(|e| panic!("{name}: -oJ: {e}"));
        let open = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "port")
            .count();
        assert_eq!(
            open, 246,
            "{name}: every answering host's port 22 is in the document"
        );
    }
}
