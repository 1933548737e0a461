//! Lab tests of the adaptive rate (raw engine, -sS): through a policer that drops probes
//! above a rate (`scripts/lab.sh police`), at two rates, dense and sparse, every open port is
//! found and the scanner reports the rate the path carried; random reply loss is no reason to
//! slow down; `--max-host-rate` holds per host, probes timed where they arrive. How long the
//! scans take is measured by `scripts/bench.sh adaptive`, not asserted here.

mod common;

use common::*;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};

const PORTS: &str = "22,80,443,8080,11434";
const PORT_LIST: [u16; 5] = [22, 80, 443, 8080, 11434];

fn slash16() -> impl Iterator<Item = IpAddr> + Clone {
    (0..=255u8).flat_map(|c| (0..=255u8).map(move |d| IpAddr::V4(Ipv4Addr::new(198, 18, c, d))))
}

/// A scan with `-oJ` (for its final figures) and `-oD`: its port results and its `stats`.
fn scan(lab: &Lab, args: &[&str], tag: &str) -> (BTreeMap<SocketAddr, Truth>, serde_json::Value) {
    let (nd, js) = (tmp(&format!("{tag}.ndjson")), tmp(&format!("{tag}.json")));
    let mut all = args.to_vec();
    all.extend([
        "-n",
        "-q",
        "-oD",
        nd.to_str().unwrap(),
        "-oJ",
        js.to_str().unwrap(),
    ]);
    let out = lab.scan(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = BTreeMap::new();
    ndjson_ports(&read(&nd), &mut got);
    let doc: serde_json::Value = serde_json::from_str(&read(&js)).expect("-oJ is JSON");
    (got, doc["stats"].clone())
}

/// Precision 100 % (every reported port in its true state), recall at least `recall` of the
/// open ports.
fn assert_found(
    got: &BTreeMap<SocketAddr, Truth>,
    want: &BTreeMap<SocketAddr, Truth>,
    recall: f64,
) {
    for (t, s) in got {
        assert_eq!(want.get(t), Some(s), "{t} reported {s:?}");
    }
    let open = want.values().filter(|s| **s == Truth::Open).count();
    let found = got.values().filter(|s| **s == Truth::Open).count();
    assert!(
        found as f64 >= recall * open as f64,
        "{found} of {open} open ports found"
    );
}

#[test]
fn through_a_policer_the_pace_is_found_and_every_open_port_too() {
    let Some(lab) = lab("through_a_policer_the_pace_is_found_and_every_open_port_too") else {
        return;
    };
    let _alone = alone();
    let ports: Vec<u16> = PORT_LIST.to_vec();
    let want = GroundTruth::load().expect(slash16(), &ports);
    for rate in [20_000u64, 60_000] {
        lab.lab_sh("police", &[&rate.to_string()]);
        let (got, stats) = scan(
            &lab,
            &["-sS", "198.18.0.0/16", "-p", PORTS, "--rate", "10000000"],
            &format!("police-{rate}"),
        );
        assert_found(&got, &want, 0.999);
        // What the scanner says the path carried is the policer's rate.
        let carried = stats["path_pps"].as_u64().unwrap_or(0) as f64;
        assert!(
            (0.7 * rate as f64..1.3 * rate as f64).contains(&carried),
            "policer {rate}/s: {stats}"
        );
        assert!(stats["rate_cuts"].as_u64() > Some(0), "{stats}");
    }
}

#[test]
fn a_sparse_network_behind_a_policer_is_found_whole() {
    let Some(lab) = lab("a_sparse_network_behind_a_policer_is_found_whole") else {
        return;
    };
    let _alone = alone();
    lab.lab_sh("police", &["20000"]);
    lab.lab_sh("sparse", &["on"]);
    // Hosts 198.18.X.0-4 answer; every probe to another is dropped (silent).
    let alive = slash16().filter(|ip| matches!(ip, IpAddr::V4(v) if v.octets()[3] <= 4));
    let ports: Vec<u16> = PORT_LIST.to_vec();
    let mut want = GroundTruth::load().expect(alive, &ports);
    want.retain(|_, s| *s == Truth::Open);
    let (got, stats) = scan(
        &lab,
        &["-sS", "198.18.0.0/16", "-p", PORTS, "--rate", "10000000"],
        "sparse",
    );
    assert_found(&got, &want, 0.999);
    let carried = stats["path_pps"].as_u64().unwrap_or(0) as f64;
    assert!((14_000.0..26_000.0).contains(&carried), "{stats}");
}

#[test]
fn random_reply_loss_is_no_reason_to_slow_down() {
    let Some(lab) = lab("random_reply_loss_is_no_reason_to_slow_down") else {
        return;
    };
    let _alone = alone();
    lab.lab_sh("loss", &["1"]);
    let status = tmp("loss.status");
    let ports: Vec<u16> = PORT_LIST.to_vec();
    let want = GroundTruth::load().expect(slash16(), &ports);
    let (got, _) = scan(
        &lab,
        &[
            "-sS",
            "198.18.0.0/16",
            "-p",
            PORTS,
            "--rate",
            "100000",
            "--status-json",
            status.to_str().unwrap(),
        ],
        "loss",
    );
    assert_found(&got, &want, 0.999);
    // The pace, sampled four times a second, never fell under 80 % of the ceiling.
    let paces: Vec<u64> = read(&status)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["pace_pps"].as_u64())
        .collect();
    assert!(!paces.is_empty(), "no pace in --status-json");
    assert!(
        paces.iter().all(|&p| p >= 80_000),
        "the pace fell to {:?}",
        paces.iter().min()
    );
}

/// The target namespace records every SYN it receives (a packet socket on its end of the
/// link, in Python): time and destination.
fn record_syns(lab: &Lab, out: &std::path::Path, seconds: u32) -> std::process::Child {
    let script = r#"
import socket, struct, sys, time
dev, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
s.bind((dev, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.settimeout(0.2)
print("ready", flush=True)
end = time.monotonic() + seconds
rows = []
while time.monotonic() < end:
    try:
        f = s.recv(128)
    except socket.timeout:
        continue
    if len(f) < 14 + 20 + 14 or f[14 + 9] != 6:
        continue
    ihl = (f[14] & 15) * 4
    flags = f[14 + ihl + 13]
    if flags & 0x12 == 0x02:
        rows.append("%.6f %s" % (time.monotonic(), socket.inet_ntoa(f[30:34])))
open(out, "w").write("\n".join(rows))
"#;
    let mut c = Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("{}-t", lab.name),
            "python3",
            "-c",
            script,
        ])
        .arg(format!("{}v1", lab.name))
        .arg(out)
        .arg(seconds.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 in the target namespace");
    // Waits for its socket, so no probe goes out before it listens.
    let mut line = String::new();
    use std::io::BufRead;
    let stdout = c.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the recorder's first line");
    assert_eq!(line.trim(), "ready");
    c
}

#[test]
fn no_host_gets_more_than_max_host_rate_in_any_second() {
    let Some(lab) = lab("no_host_gets_more_than_max_host_rate_in_any_second") else {
        return;
    };
    let _alone = alone();
    let log = tmp("host-rate.syns");
    let mut recorder = record_syns(&lab, &log, 12);
    // 4 hosts × 1,000 ports at 100k/s would be 25k a second to each host: 400 at most.
    let ports: Vec<u16> = (1..=1000).collect();
    let (got, _) = scan(
        &lab,
        &[
            "-sS",
            "198.18.0.0/30",
            "-p",
            "1-1000",
            "--rate",
            "100000",
            "--max-host-rate",
            "400",
        ],
        "host-rate",
    );
    let hosts = (0..4u8).map(|d| IpAddr::V4(Ipv4Addr::new(198, 18, 0, d)));
    let want = GroundTruth::load().expect(hosts, &ports);
    assert_found(&got, &want, 1.0);
    assert!(recorder.wait().expect("recorder").success());
    let mut by_host: HashMap<String, Vec<f64>> = HashMap::new();
    for l in read(&log).lines() {
        if let Some((t, ip)) = l.split_once(' ') {
            by_host
                .entry(ip.to_string())
                .or_default()
                .push(t.parse().unwrap());
        }
    }
    assert_eq!(by_host.len(), 4, "{:?}", by_host.keys());
    for (ip, times) in by_host {
        assert!(times.len() >= 1000, "{ip}: {} probes", times.len());
        // The limit, plus one burst (a bucket starts full) and a probe for the clock's grain.
        for (i, &t) in times.iter().enumerate() {
            let n = times[i..].iter().take_while(|&&u| u < t + 1.0).count();
            assert!(n <= 400 + 4, "{ip}: {n} probes in the second from {t}");
        }
    }
}
