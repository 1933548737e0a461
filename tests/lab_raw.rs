//! Lab tests of the raw engine (-sS, -sn, --dry-run): the real binary with CAP_NET_RAW in the
//! scanner namespace, crafting its own frames through AF_PACKET, resolving the gateway by ARP,
//! and reading the target kernel's answers — against the exact ground truth of scripts/lab.env.

mod common;

use common::scenarios::*;
use common::*;
use std::collections::BTreeSet;
use std::net::IpAddr;

#[test]
fn syn_slash24_top100_is_exact() {
    if let Some(lab) = lab("syn_slash24_top100_is_exact") {
        slash24_top100_is_exact(&lab, &["-sS"]);
    }
}

#[test]
fn syn_one_host_all_ports_is_exact() {
    if let Some(lab) = lab("syn_one_host_all_ports_is_exact") {
        one_host_all_ports_is_exact(&lab, "-sS");
    }
}

#[test]
fn syn_ctrl_c_then_resume_is_exact() {
    if let Some(lab) = lab("syn_ctrl_c_then_resume_is_exact") {
        interrupt_then_resume(&lab, 1, "syn-graceful", "-sS");
    }
}

#[test]
fn syn_second_ctrl_c_aborts_and_still_resumes_exactly() {
    if let Some(lab) = lab("syn_second_ctrl_c_aborts_and_still_resumes_exactly") {
        interrupt_then_resume(&lab, 2, "syn-abort", "-sS");
    }
}

#[test]
fn syn_shards_split_the_scan_exactly() {
    if let Some(lab) = lab("syn_shards_split_the_scan_exactly") {
        shards_split_the_scan_exactly(&lab, "-sS");
    }
}

#[test]
fn syn_excludes_hold_on_resume() {
    if let Some(lab) = lab("syn_excludes_hold_on_resume") {
        excludes_hold_on_resume(&lab, "-sS");
    }
}

#[test]
fn syn_scans_never_probe_excluded_targets() {
    if let Some(lab) = lab("syn_scans_never_probe_excluded_targets") {
        excluded_targets_are_never_probed(&lab, "-sS");
    }
}

#[test]
fn udp_slash24_top20_is_exact_and_rejects_forged_answers() {
    if let Some(lab) = lab("udp_slash24_top20_is_exact_and_rejects_forged_answers") {
        udp_slash24_top20_is_exact(&lab, &[], &["--timeout", "500ms"], "raw");
    }
}

/// A UDP scan stopped by Ctrl-C and resumed reports every open port exactly once.
#[test]
fn udp_ctrl_c_then_resume_is_exact() {
    if let Some(lab) = lab("udp_ctrl_c_then_resume_is_exact") {
        interrupt_then_resume(&lab, 1, "udp-graceful", "-sU");
    }
}

/// With the target's ICMP errors limited as Linux limits them by default (1000/s, burst 50),
/// a scan under that rate is exact, and so is one at the default rate whose retries are
/// paced to the errors that arrive.
#[test]
fn udp_is_exact_under_the_targets_icmp_rate_limit() {
    if let Some(lab) = lab("udp_is_exact_under_the_targets_icmp_rate_limit") {
        lab.icmp_limit(true);
        let args = ["--rate", "900", "--retries", "2", "--timeout", "500ms"];
        udp_slash24_top20_is_exact(&lab, &[], &args, "limited");
        // The premise: the limit bites. One fast pass learns only part of the 2,706 closed
        // ports (the target sends at most ~1,000 port unreachables a second).
        let js = tmp("udp-limited-fast.json");
        let fast = [
            "-sU",
            "198.18.0.0/24",
            "--top-ports",
            "20",
            "--rate",
            "20000",
            "--retries",
            "0",
            "--timeout",
            "300ms",
            "-n",
            "-q",
            "-oJ",
            js.to_str().unwrap(),
        ];
        check_ok(&lab.scan(&fast));
        let doc: serde_json::Value = serde_json::from_str(&read(&js)).unwrap();
        let closed = doc["stats"]["closed"].as_u64().unwrap();
        assert!(
            closed < 2706,
            "the ICMP limit did not bite: {closed} closed"
        );
        // At the default rate, retries paced to the rationed errors recover them all.
        let args = ["--retries", "3", "--timeout", "500ms"];
        udp_slash24_top20_is_exact(&lab, &[], &args, "limited-paced");
    }
}

#[test]
fn banners_after_a_syn_scan_are_exact() {
    if let Some(lab) = lab("banners_after_a_syn_scan_are_exact") {
        banners_are_exact(&lab, &[], &["-sS"], "syn");
    }
}

/// `-p ai` alone asks the AI ports what they are.
#[test]
fn the_ai_preset_identifies_ai_services_without_banners_flag() {
    if let Some(lab) = lab("the_ai_preset_identifies_ai_services_without_banners_flag") {
        let nd = tmp("ai-preset.ndjson");
        let args = [
            "-sS",
            "198.18.0.7",
            "-p",
            "ai",
            "-n",
            "-q",
            "-oD",
            nd.to_str().unwrap(),
        ];
        check_ok(&lab.scan(&args));
        let mut products = BTreeSet::new();
        for line in read(&nd).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["type"] == "banner" && v["ai"].is_object() {
                products.insert((
                    v["port"].as_u64().unwrap(),
                    v["ai"]["product"].as_str().unwrap().to_string(),
                ));
            }
        }
        let want: BTreeSet<(u64, String)> = [(8080, "vllm"), (8888, "jupyter"), (11434, "ollama")]
            .into_iter()
            .map(|(p, s)| (p, s.to_string()))
            .collect();
        assert_eq!(products, want);
    }
}

/// Hosts reported up in an NDJSON file, each once.
fn hosts_up(ndjson: &str) -> BTreeSet<IpAddr> {
    let mut up = BTreeSet::new();
    for line in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("NDJSON line");
        if v["type"] == "host" {
            let ip: IpAddr = v["ip"].as_str().unwrap().parse().unwrap();
            assert!(up.insert(ip), "{ip} reported up twice");
        }
    }
    up
}

/// `-sn` over the lab's /24 (with `backend` options): exactly the 246 hosts that answer.
fn sweep_is_exact(lab: &Lab, backend: &[&str], tag: &str) {
    let nd = tmp(&format!("{tag}-sweep.ndjson"));
    let mut args = vec!["-sn"];
    args.extend(backend);
    args.extend([
        "198.18.0.0/24",
        "--timeout",
        "300ms",
        "-q",
        "-oD",
        nd.to_str().unwrap(),
    ]);
    check_ok(&lab.scan(&args));
    let truth = GroundTruth::load();
    let want: BTreeSet<IpAddr> = hosts_24().filter(|ip| !truth.is_silent(*ip)).collect();
    assert_eq!(want.len(), 246);
    let text = read(&nd);
    assert_eq!(hosts_up(&text), want);
    assert!(
        !text.contains("\"type\":\"port\""),
        "a sweep reports hosts, not ports"
    );
}

#[test]
fn ping_sweep_finds_exactly_the_hosts_that_answer() {
    if let Some(lab) = lab("ping_sweep_finds_exactly_the_hosts_that_answer") {
        sweep_is_exact(&lab, &[], "afpacket");
    }
}

#[test]
fn a_dry_run_prints_every_probe_and_sends_none() {
    let Some(lab) = lab("a_dry_run_prints_every_probe_and_sends_none") else {
        return;
    };
    let out = lab.scan(&["--dry-run", "198.18.1.0/28", "-p", "22,80", "-q"]);
    check_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let probes: BTreeSet<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(3).expect("syn SRC > DST:PORT …"))
        .collect();
    assert_eq!(probes.len(), 32, "one line per target:\n{stdout}");
    assert!(probes.contains("198.18.1.15:80"));
    assert_eq!(lab.watched_packets(), 0, "a dry run sent a packet");
}

#[cfg(feature = "pcap")]
#[test]
fn pcap_backend_syn_slash24_top100_is_exact() {
    if let Some(lab) = lab("pcap_backend_syn_slash24_top100_is_exact") {
        slash24_top100_is_exact(&lab, &["-sS", "--pcap"]);
    }
}

#[cfg(feature = "pcap")]
#[test]
fn pcap_backend_ping_sweep_is_exact() {
    if let Some(lab) = lab("pcap_backend_ping_sweep_is_exact") {
        sweep_is_exact(&lab, &["--pcap"], "pcap");
    }
}

#[cfg(not(feature = "pcap"))]
#[test]
fn without_the_pcap_feature_pcap_is_a_clear_error() {
    let Some(lab) = lab("without_the_pcap_feature_pcap_is_a_clear_error") else {
        return;
    };
    let out = lab.scan(&["-sS", "--pcap", "198.18.0.7", "-p", "22", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features pcap"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn pings_alongside_a_port_scan_find_hosts_whose_ports_are_silent() {
    let Some(lab) = lab("pings_alongside_a_port_scan_find_hosts_whose_ports_are_silent") else {
        return;
    };
    let nd = tmp("ping-and-ports.ndjson");
    // 3389 is dropped everywhere: only the pings can show the hosts are there.
    let out = lab.scan(&[
        "-sS",
        "-PE",
        "198.18.0.0/24",
        "-p",
        "3389",
        "--timeout",
        "300ms",
        "-q",
        "-oD",
        nd.to_str().unwrap(),
    ]);
    check_ok(&out);
    let truth = GroundTruth::load();
    let want: BTreeSet<IpAddr> = hosts_24().filter(|ip| !truth.is_silent(*ip)).collect();
    let text = read(&nd);
    assert_eq!(hosts_up(&text), want);
    assert!(!text.contains("\"state\":\"open\""));
}

/// `-sn` over the /24 as `nobody`: one notice line containing `says`, exactly the hosts that
/// answer, hosts only. Returns the NDJSON and the table.
fn unprivileged_sweep_is_exact(lab: &Lab, says: &str, tag: &str) -> (String, String) {
    let nd = tmp(&format!("unprivileged-sweep-{tag}.ndjson"));
    let args = [
        "-sn",
        "198.18.0.0/24",
        "--timeout",
        "300ms",
        "-oD",
        nd.to_str().unwrap(),
    ];
    let out = lab.command_under(UNPRIVILEGED, &args).output().unwrap();
    check_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = err.lines().filter(|l| l.contains(says)).collect();
    assert_eq!(said.len(), 1, "one line says how hosts were found: {err}");
    let truth = GroundTruth::load();
    let want: BTreeSet<IpAddr> = hosts_24().filter(|ip| !truth.is_silent(*ip)).collect();
    let text = read(&nd);
    assert_eq!(hosts_up(&text), want);
    assert!(
        !text.contains("\"type\":\"port\""),
        "a sweep reports hosts only"
    );
    (text, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn unprivileged_sweeps_find_the_same_hosts_by_tcp_connect() {
    let Some(lab) = lab("unprivileged_sweeps_find_the_same_hosts_by_tcp_connect") else {
        return;
    };
    let (_, table) = unprivileged_sweep_is_exact(&lab, "by TCP connect", "tcp");
    // The table is one line per host up.
    assert_eq!(
        table.lines().filter(|l| l.contains("  up  ")).count(),
        246,
        "{table}"
    );
}

/// Where the system allows datagram ICMP sockets (`ping_group_range` covers our group), an
/// unprivileged sweep pings, says so, and finds exactly the hosts that answer echo.
#[test]
fn unprivileged_sweeps_ping_through_datagram_sockets_where_allowed() {
    let Some(lab) = lab("unprivileged_sweeps_ping_through_datagram_sockets_where_allowed") else {
        return;
    };
    let scanner = format!("{}-s", lab.name);
    let set = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &scanner,
            "sysctl",
            "-qw",
            "net.ipv4.ping_group_range=0 2147483647",
        ])
        .status()
        .unwrap();
    assert!(set.success());
    let (text, _) = unprivileged_sweep_is_exact(&lab, "ICMP echo through datagram sockets", "icmp");
    let hosts = text.lines().filter(|l| l.contains("\"type\":\"host\""));
    assert!(
        hosts.clone().count() == 246
            && hosts
                .clone()
                .all(|l| l.contains("\"reason\":\"echo-reply\""))
    );
}

/// Names reported in an NDJSON file, by address.
fn ptr_names(ndjson: &str) -> std::collections::BTreeMap<IpAddr, String> {
    let mut names = std::collections::BTreeMap::new();
    for line in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("NDJSON line");
        if v["type"] == "name" {
            let ip: IpAddr = v["ip"].as_str().unwrap().parse().unwrap();
            let name = v["ptr"].as_str().unwrap().to_string();
            assert!(names.insert(ip, name).is_none(), "{ip} named twice");
        }
    }
    names
}

/// What the scanner namespace's resolver says for a lab address: its hosts file first, then
/// the lab's DNS server (scripts/lab.env).
fn expected_ptr(ip: IpAddr) -> Option<String> {
    let IpAddr::V4(a) = ip else { return None };
    let [_, _, c, d] = a.octets();
    match (c, d) {
        (0, 7) | (0, 8) => Some("web.lab".into()),
        (0, 9) => None,
        _ => Some(format!("h{c}-{d}.lab")),
    }
}

#[test]
fn reverse_dns_names_the_hosts_that_answered_or_every_target_or_none() {
    let Some(lab) = lab("reverse_dns_names_the_hosts_that_answered_or_every_target_or_none") else {
        return;
    };
    let sweep = |extra: &[&str], tag: &str| {
        let nd = tmp(&format!("rdns-{tag}.ndjson"));
        let mut args = vec!["-sn", "198.18.0.0/24", "--timeout", "300ms", "-q"];
        args.extend(extra);
        args.extend(["-oD", nd.to_str().unwrap()]);
        check_ok(&lab.scan(&args));
        read(&nd)
    };
    let truth = GroundTruth::load();
    let answered = sweep(&[], "default");
    let want: std::collections::BTreeMap<IpAddr, String> = hosts_24()
        .filter(|ip| !truth.is_silent(*ip))
        .filter_map(|ip| Some((ip, expected_ptr(ip)?)))
        .collect();
    assert_eq!(want.len(), 245);
    assert_eq!(ptr_names(&answered), want);

    let all = sweep(&["-R"], "all");
    let want_all: std::collections::BTreeMap<IpAddr, String> = hosts_24()
        .filter_map(|ip| Some((ip, expected_ptr(ip)?)))
        .collect();
    assert_eq!(ptr_names(&all), want_all, "-R names the silent hosts too");

    let none = sweep(&["-n"], "none");
    assert!(ptr_names(&none).is_empty(), "-n looks nothing up");
    assert_eq!(hosts_up(&none).len(), 246);
}

/// A raw SYN scan under (simulated) sudo: the packet sockets are opened as root, then the
/// scanner runs as the invoking user — /proc shows uid 65534, no capability, no new
/// privileges while it scans — and its results stay exact, in a file that user owns.
#[test]
fn syn_under_sudo_drops_to_the_user_and_stays_exact() {
    use std::os::unix::fs::MetadataExt;
    use std::time::{Duration, Instant};
    if let Some(lab) = lab("syn_under_sudo_drops_to_the_user_and_stays_exact") {
        let nd = tmp("sudo-drop.ndjson");
        let resume = tmp("sudo-drop.resume");
        let sudo = ["env", "SUDO_UID=65534", "SUDO_GID=65534"];
        let args = [
            "-sS",
            "198.18.0.0/24",
            "-p",
            "top100",
            "--show-closed",
            "--timeout",
            "500ms",
            "--rate",
            "5000",
            "-n",
            "-q",
            "--resume-file",
            resume.to_str().unwrap(),
            "-oD",
            nd.to_str().unwrap(),
        ];
        let child = lab
            .command_under(&sudo, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn synsweep in the lab");
        // `ip netns exec` and `env` exec in turn: the pid becomes synsweep's. Its threads
        // start only after the drop.
        let path = format!("/proc/{}/status", child.id());
        let until = Instant::now() + Duration::from_secs(10);
        let status = loop {
            let s = std::fs::read_to_string(&path).unwrap_or_default();
            let field = |k: &str| {
                s.lines()
                    .find_map(|l| l.strip_prefix(k))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            if field("Name:") == "synsweep" && field("Threads:").parse::<u32>().unwrap_or(0) > 1 {
                break s;
            }
            assert!(Instant::now() < until, "the scan never started: {s}");
            std::thread::sleep(Duration::from_millis(5));
        };
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        assert_eq!(field("Uid:"), "65534\t65534\t65534\t65534", "{status}");
        assert_eq!(field("Gid:"), "65534\t65534\t65534\t65534", "{status}");
        assert_eq!(field("Groups:"), "", "{status}");
        assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
        assert_eq!(field("CapPrm:"), "0000000000000000", "{status}");
        assert_eq!(field("NoNewPrivs:"), "1", "{status}");
        let out = child.wait_with_output().expect("wait for synsweep");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::metadata(&nd).unwrap().uid(), 65534, "owner");
        let mut got = std::collections::BTreeMap::new();
        ndjson_ports(&read(&nd), &mut got);
        let ports = parse_port_ranges(&top100_ports());
        let want = GroundTruth::load().expect(hosts_24(), &ports);
        let wrong: Vec<_> = want
            .iter()
            .filter(|(t, s)| got.get(t) != Some(s))
            .take(10)
            .collect();
        assert!(wrong.is_empty(), "differs from ground truth at {wrong:?}");
        assert_eq!(got.len(), want.len());
    }
}

/// The ports `-p top100` names, as synsweep's own `--echo` resolves them.
fn top100_ports() -> String {
    let out = std::process::Command::new(BIN)
        .args(["--echo", "-sT", "198.18.0.1", "-p", "top100"])
        .output()
        .expect("synsweep --echo");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("ports = "))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no ports line in --echo: {text}"))
}
