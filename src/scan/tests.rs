//! Planning and resuming from a configuration, without root and without the network: a fake
//! resolver, a scripted route planner, privilege as a value.

use super::{Saved, configure, prepare};
use crate::cli::parse;
use crate::config::{ScanConfig, from_cli::Inputs};
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::link::Backend;
use crate::link::route::Route;
use crate::link::setup::{LinkPlan, Overrides};
use crate::privilege::{Engine, Privilege};
use crate::resume::{FORMAT, ResumePoint};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

const ROOT: Privilege = Privilege {
    raw_packets: true,
    icmp_sockets: true,
};
const USER: Privilege = Privilege {
    raw_packets: false,
    icmp_sockets: false,
};

fn fake_dns(name: &str) -> Result<Vec<IpAddr>> {
    match name {
        "lab.example" => Ok(vec!["198.18.0.5".parse().unwrap()]),
        _ => Err(Error::Resolve(name.into(), "not found".into())),
    }
}

fn inputs() -> Inputs<'static> {
    Inputs {
        resolve: &fake_dns,
        nmap_services: Path::new("/nonexistent/nmap-services"),
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn config(a: &[&str]) -> Result<ScanConfig> {
    let parsed = parse(args(a)).expect("arguments parse");
    configure(&parsed, &inputs()).map(|(c, _)| c)
}

fn lab_link(_: &[(Ipv4Addr, Ipv4Addr)], _: &Overrides, _: Backend) -> Result<Route> {
    Ok(Route {
        plan: LinkPlan {
            iface: "veth0".into(),
            src_ip: Ipv4Addr::new(198, 18, 255, 1),
            src_mac: Some([2, 0, 0, 0, 0, 1]),
            next_hop: Ipv4Addr::new(198, 18, 255, 2),
            next_hop_mac: Some([2, 0, 0, 0, 0, 2]),
        },
        notices: vec![],
    })
}

fn no_route(_: &[(Ipv4Addr, Ipv4Addr)], _: &Overrides, _: Backend) -> Result<Route> {
    Err(Error::Link("no route to 198.18.0.0".into()))
}

fn never_asked(_: &[(Ipv4Addr, Ipv4Addr)], _: &Overrides, _: Backend) -> Result<Route> {
    panic!("the route planner was asked for a scan that sends nothing")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn targets_are_resolved_once_with_excludes_and_names() {
    let c = config(&[
        "198.18.0.0/24",
        "lab.example",
        "--exclude",
        "198.18.0.16/28",
        "-p",
        "22,80",
    ])
    .unwrap();
    assert_eq!(c.targets.ranges.count(), 256 - 16);
    assert!(!c.targets.ranges.contains(ip("198.18.0.20")));
    assert!(c.targets.excludes.contains(ip("198.18.0.20")));
    assert_eq!(
        c.targets.names.get(&ip("198.18.0.5")).map(String::as_str),
        Some("lab.example")
    );
    assert_eq!(c.probes.ports.as_slice(), &[22, 80]);
    // Special blocks are cut from wide targets, kept when named alone.
    let wide = config(&["223.255.255.0-224.0.0.255", "-p", "80"]).unwrap();
    assert!(!wide.targets.ranges.contains(ip("224.0.0.251")));
    let alone = config(&["224.0.0.251", "-p", "80"]).unwrap();
    assert!(alone.targets.special_named.contains(ip("224.0.0.251")));
}

#[test]
fn the_engine_is_chosen_from_the_configuration_and_the_privilege() {
    let c = config(&["198.18.0.0/24", "-p", "80"]).unwrap();
    let raw = prepare(c.clone(), None, ROOT, &lab_link).unwrap();
    assert_eq!(raw.plan.engine, Engine::Raw);
    assert_eq!(raw.plan.route.unwrap().iface, "veth0");
    let user = prepare(c, None, USER, &never_asked).unwrap();
    assert_eq!(user.plan.engine, Engine::Connect);
    assert!(
        user.plan.notices.iter().any(|n| n.contains("connect")),
        "{:?}",
        user.plan.notices
    );
    let only = config(&["198.18.0.0/24", "-p", "80", "--privileged-only"]).unwrap();
    assert!(matches!(
        prepare(only, None, USER, &never_asked),
        Err(Error::Refused(_))
    ));
    // -PE needs raw packets: without them, one notice and no echo slot.
    let ping = config(&["198.18.0.0/24", "-p", "80", "-PE"]).unwrap();
    let s = prepare(ping, None, USER, &never_asked).unwrap();
    assert!(!s.plan.space.has_echo());
    // An unprivileged sweep asks ports 80 and 443 of every host.
    let sweep = config(&["198.18.0.0/24", "-sn"]).unwrap();
    let s = prepare(sweep, None, USER, &never_asked).unwrap();
    assert_eq!(s.plan.space.ports().as_slice(), &[80, 443]);
}

#[test]
fn loopback_targets_never_get_a_raw_scan_that_cannot_see_them() {
    let lo = config(&["127.0.0.1", "-p", "80"]).unwrap();
    let s = prepare(lo, None, ROOT, &never_asked).unwrap();
    assert_eq!(s.plan.engine, Engine::Connect);
    assert!(
        s.plan.notices[0].contains("127.0.0.0/8"),
        "{:?}",
        s.plan.notices
    );
    let only = config(&["127.0.0.1", "-sS", "--privileged-only"]).unwrap();
    assert!(prepare(only, None, ROOT, &never_asked).is_err());
    // A dry run sends nothing, so it may show loopback probes.
    let dry = config(&["127.0.0.1", "-p", "80", "--dry-run"]).unwrap();
    assert_eq!(
        prepare(dry, None, USER, &lab_link).unwrap().plan.engine,
        Engine::Raw
    );
}

#[test]
fn routes_that_cannot_be_planned_refuse_the_scan_before_it_starts() {
    let c = config(&["198.18.0.0/24", "-p", "80"]).unwrap();
    assert!(matches!(
        prepare(c, None, ROOT, &no_route),
        Err(Error::Link(_))
    ));
    let v6 = config(&["2001:db8::1", "-p", "80", "-sS"]).unwrap();
    let e = prepare(v6, None, ROOT, &never_asked).err().unwrap();
    assert!(e.to_string().contains("-sT"), "{e}");
    // The offline benchmark needs no route.
    let bench = config(&["bench", "198.18.0.0/16", "-p", "1-10"]).unwrap();
    assert_eq!(
        prepare(bench, None, USER, &never_asked).unwrap().plan.route,
        None
    );
}

#[test]
fn cross_option_rules_are_checked_once() {
    assert!(matches!(
        config(&["-sn", "-p", "80", "198.18.0.1"]),
        Err(Error::BadOption("-sn", _))
    ));
    assert!(matches!(
        config(&["-sT", "--dry-run", "198.18.0.1"]),
        Err(Error::BadOption("--dry-run", _))
    ));
    assert!(matches!(
        config(&["-R", "198.18.0.0/8"]),
        Err(Error::BadOption("-R", _))
    ));
    let udp = config(&["-sU", "198.18.0.1"]).unwrap();
    assert_eq!(udp.probes.proto(), crate::event::Proto::Udp);
    assert_eq!(udp.probes.ports.len(), 1000);
}

/// A saved scan of 198.18.0.0/24 × 22,80, stopped at position 100.
fn saved(dir: &str) -> (PathBuf, ResumePoint) {
    let d = std::env::temp_dir().join(format!("synsweep-plan-{dir}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join("scan.resume");
    let config = config(&[
        "198.18.0.0/24",
        "-p",
        "22,80",
        "--rate",
        "3000",
        "--seed",
        "13826318170144517735",
        "--exclude",
        "198.18.0.9",
    ])
    .unwrap();
    let point = ResumePoint {
        synsweep_resume: FORMAT,
        config,
        state: CursorState {
            next_position: 100,
            pending: vec![7, 9],
        },
        results: vec![],
    };
    point.save(&path).unwrap();
    (path, point)
}

fn resume(path: &Path, more: &[&str]) -> Result<(ScanConfig, Option<Saved>)> {
    let mut a = vec!["--resume", path.to_str().unwrap()];
    a.extend_from_slice(more);
    configure(&parse(args(&a)).unwrap(), &inputs())
}

#[test]
fn resume_format_2_round_trips_and_format_1_is_refused_in_one_line() {
    let (path, point) = saved("roundtrip");
    let back = ResumePoint::load(&path).unwrap();
    assert_eq!(back.config, point.config);
    assert_eq!(back.state, point.state);
    // The seed is a string: no JSON reader rounds it.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""seed":"13826318170144517735""#), "{text}");
    std::fs::write(
        &path,
        r#"{"synsweep_resume":1,"argv":["-p","80","198.18.0.1"]}"#,
    )
    .unwrap();
    let e = ResumePoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("format 1") && !e.contains('\n'), "{e}");
    std::fs::write(&path, r#"{"synsweep_resume":2,"config":{}}"#).unwrap();
    assert!(
        ResumePoint::load(&path)
            .unwrap_err()
            .to_string()
            .starts_with("bad resume file")
    );
}

#[test]
fn on_resume_rates_timing_excludes_and_outputs_change_and_nothing_else() {
    let (path, point) = saved("rules");
    let (c, s) = resume(
        &path,
        &["--rate", "20000", "--timeout", "2s", "-oJ", "out.json"],
    )
    .unwrap();
    assert_eq!(c.timing.rate, Some(20000), "--rate given on resume is used");
    assert_eq!(c.timing.timeout, std::time::Duration::from_secs(2));
    assert_eq!(c.targets.ranges, point.config.targets.ranges);
    assert_eq!(c.seed, point.config.seed);
    assert_eq!(c.output.files.len(), 1);
    assert_eq!(
        c.resume_file, path,
        "a scan stopped again saves where it came from"
    );
    assert_eq!(s.unwrap().point.state, point.state);
    for (flag, name) in [
        (&["-p", "443"][..], "ports"),
        (&["--seed", "1"], "seed"),
        (&["198.18.1.0/24"], "targets"),
        (&["--show-closed"], "show-closed"),
    ] {
        let e = resume(&path, flag).err().expect(name).to_string();
        assert!(
            e.contains(&format!("--{name}")) && e.contains("--resume"),
            "{e}"
        );
    }
}

#[test]
fn excludes_apply_again_on_resume_without_moving_the_positions() {
    let (path, point) = saved("excludes");
    let (c, s) = resume(&path, &["--exclude", "198.18.0.77"]).unwrap();
    let scan = prepare(c, s, ROOT, &lab_link).unwrap();
    let space = &scan.plan.space;
    assert_eq!(space.size(), 255 * 2, "the numbering is the saved one");
    assert!(
        space.skips(ip("198.18.0.77")),
        "excluded on the resume command"
    );
    assert!(!space.skips(ip("198.18.0.78")));
    assert!(
        scan.plan.notices.iter().any(|n| n.contains("excluded")),
        "{:?}",
        scan.plan.notices
    );
    // An edited file that puts the first run's exclude back into the targets still skips it.
    let mut edited = point.clone();
    edited.config.targets.ranges = crate::targets::range::RangeSet::from_ranges(vec![
        crate::targets::range::IpRange::from_net("198.18.0.0/24".parse().unwrap()),
    ]);
    edited.save(&path).unwrap();
    let (c, s) = resume(&path, &[]).unwrap();
    let scan = prepare(c, s, ROOT, &lab_link).unwrap();
    assert!(scan.plan.space.skips(ip("198.18.0.9")));
    // Saved positions beyond the space are refused.
    let mut bad = point;
    bad.state.pending = vec![10_000];
    bad.save(&path).unwrap();
    let (c, s) = resume(&path, &[]).unwrap();
    assert!(matches!(
        prepare(c, s, ROOT, &lab_link),
        Err(Error::BadResume(..))
    ));
}
