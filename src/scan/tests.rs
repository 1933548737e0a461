//! Planning and resuming from a configuration, without root and without the network: a fake
//! resolver, a scripted route planner, privilege as a value.

use super::{configure, prepare};
use crate::cli::parse;
use crate::config::{ScanConfig, from_cli::Inputs};
use crate::error::{Error, Result};
use crate::link::Backend;
use crate::link::route::Route;
use crate::link::setup::{LinkPlan, Overrides};
use crate::privilege::{Engine, Privilege};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

pub(super) const ROOT: Privilege = Privilege {
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

pub(super) fn inputs() -> Inputs<'static> {
    Inputs {
        resolve: &fake_dns,
        nmap_services: Path::new("/nonexistent/nmap-services"),
    }
}

pub(super) fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub(super) fn config(a: &[&str]) -> Result<ScanConfig> {
    let parsed = parse(args(a)).expect("arguments parse");
    configure(&parsed, &inputs()).map(|(c, _)| c)
}

pub(super) fn lab_link(_: &[(Ipv4Addr, Ipv4Addr)], _: &Overrides, _: Backend) -> Result<Route> {
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

pub(super) fn ip(s: &str) -> IpAddr {
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
