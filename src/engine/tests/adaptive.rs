//! The connect engine's adaptive window and `--max-host-rate`, against the scripted network on
//! tokio's paused clock.

use super::{Behaviour, FakeNet, Outcome, opts, scan, space};
use crate::engine::connect::ConnectOptions;
use crate::event::PortState;
use crate::space::TargetSpace;
use crate::stop::StopSignal;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Every target of `sp` with the state `rules` give it (closed where they say nothing).
fn expected(
    sp: &TargetSpace,
    rules: &HashMap<SocketAddr, Behaviour>,
) -> Vec<(SocketAddr, PortState)> {
    (0..sp.size())
        .map(|j| {
            let t = sp.target(j);
            let state = match rules.get(&t) {
                Some(Behaviour::Open | Behaviour::LossyOpen(_)) => PortState::Open,
                Some(Behaviour::Drop) => PortState::Filtered,
                _ => PortState::Closed,
            };
            (t, state)
        })
        .collect()
}

fn assert_exact(out: &Outcome, sp: &TargetSpace, rules: &HashMap<SocketAddr, Behaviour>) {
    assert_eq!(out.results.len() as u64, sp.size());
    for (t, want) in expected(sp, rules) {
        assert_eq!(out.results[&t].0, want, "{t}");
    }
}

/// The most attempts running at once among those that started after `from` of the scan.
fn peak_in_flight_after(net: &FakeNet, from: Duration) -> u64 {
    let starts = net.starts.lock().unwrap();
    let first = starts.first().map(|s| s.0).expect("attempts were made");
    starts
        .iter()
        .filter(|(at, ..)| *at - first >= from)
        .map(|&(.., running)| running)
        .max()
        .unwrap_or(0)
}

/// The scripted network of `rules`, every host 20 ms away.
fn net_20ms_away(rules: &HashMap<SocketAddr, Behaviour>) -> Arc<FakeNet> {
    Arc::new(FakeNet {
        rules: rules.clone(),
        base_rtt: Duration::from_millis(20),
        ..FakeNet::default()
    })
}

/// A window of 32 attempts, with no per-host bound below it.
fn window_of_32() -> ConnectOptions {
    ConnectOptions {
        max_inflight: 32,
        per_host: 1024,
        ..opts()
    }
}

fn adaptive(o: ConnectOptions) -> ConnectOptions {
    ConnectOptions {
        adaptive: true,
        ..o
    }
}

/// Two hosts behind a SYN-flood guard that drops connects beyond 200 a second each, 50 ms
/// away: a window of 256 sends far more than the guard lets through. Adaptive, the window
/// narrows to what the hosts carry and every port comes out exact; fixed, it stays wide and
/// a third of the ports come out filtered.
///
/// Five retries: the first burst's targets lose their first attempt and the retry that
/// follows a full timeout later, both sent before any loss can be known (a loss shows only
/// when a retry is answered, and a timeout counts as one only by the odds the retries have
/// shown so far), and the third goes while the first cut is still being sized; three more
/// attempts after the window has narrowed make every one exact.
#[test]
fn the_window_narrows_under_a_host_guard_and_every_port_is_exact() {
    let sp = space("198.18.0.0/31", (1..=300).collect());
    let mut rules = HashMap::new();
    for j in 0..sp.size() {
        let t = sp.target(j);
        if t.port().is_multiple_of(10)
            || (t.port().is_multiple_of(7) && t.ip() == sp.target(1).ip())
        {
            rules.insert(t, Behaviour::Open);
        }
    }
    let guarded = || {
        Arc::new(FakeNet {
            rules: rules.clone(),
            base_rtt: Duration::from_millis(50),
            policer: Some(200),
            ..FakeNet::default()
        })
    };
    let o = ConnectOptions {
        timeout: Duration::from_secs(1),
        retries: 5,
        max_inflight: 256,
        per_host: 1024,
        ..opts()
    };
    let net = guarded();
    let out = scan(
        net.clone(),
        &sp,
        &adaptive(o.clone()),
        7,
        None,
        StopSignal::default(),
    );
    assert_exact(&out, &sp, &rules);
    let lost = net.policed_drops.load(Relaxed);
    let late = peak_in_flight_after(&net, out.elapsed / 2);

    let fixed_net = guarded();
    let fixed = scan(fixed_net.clone(), &sp, &o, 7, None, StopSignal::default());
    let fixed_wrong = expected(&sp, &rules)
        .iter()
        .filter(|(t, want)| fixed.results[t].0 != *want)
        .count();
    let fixed_lost = fixed_net.policed_drops.load(Relaxed);
    let fixed_late = peak_in_flight_after(&fixed_net, fixed.elapsed / 2);
    assert!(lost > 0, "the guard never bit");
    assert!(
        lost < fixed_lost,
        "{lost} lost adaptive, {fixed_lost} fixed"
    );
    assert!(late * 4 <= 256, "the window stayed wide: {late} in flight");
    // Fixed mode keeps its window, and its retries die in the same bursts as the attempts.
    // (Late in the scan fewer than 256 targets are left to run at once.)
    assert!(
        fixed_late > 128,
        "fixed mode narrowed: {fixed_late} in flight"
    );
    assert!(
        fixed_wrong > 100,
        "fixed mode lost only {fixed_wrong} ports"
    );
}

/// Hosts that never answer, and hosts that answer on one port and drop the rest (a typical
/// firewall), time out by design: the adaptive window stays as wide as the fixed one, and the
/// two scans are the same scan, attempt for attempt.
#[test]
fn filtered_hosts_and_firewalled_ports_leave_the_window_alone() {
    let sp = space("198.18.0.0/27", (1..=20).collect());
    let mut rules = HashMap::new();
    for j in 0..sp.size() {
        let t = sp.target(j);
        let firewalled = t.ip() > "198.18.0.15".parse::<IpAddr>().unwrap();
        if firewalled && t.port() == 7 {
            rules.insert(t, Behaviour::Open);
        } else {
            rules.insert(t, Behaviour::Drop);
        }
    }
    let o = window_of_32();
    let (a, f) = (net_20ms_away(&rules), net_20ms_away(&rules));
    let out = scan(
        a.clone(),
        &sp,
        &adaptive(o.clone()),
        5,
        None,
        StopSignal::default(),
    );
    let fixed = scan(f.clone(), &sp, &o, 5, None, StopSignal::default());
    assert_exact(&out, &sp, &rules);
    assert_eq!(out.elapsed, fixed.elapsed);
    assert_eq!(out.stats.sent.load(Relaxed), fixed.stats.sent.load(Relaxed));
    assert_eq!(
        a.max_running_total.load(Relaxed),
        32,
        "the window was used whole"
    );
    assert_eq!(peak_in_flight_after(&a, out.elapsed / 2), 32);
}

/// `--max-host-rate 20` against two hosts × 100 ports, ten of them silent (so retries run
/// too): no host gets more than 20 attempts in any sliding second (plus the one a fresh bucket
/// starts with), the scan is exact, and it takes as long as 2 hosts × 20/s make it.
#[test]
fn the_host_rate_holds_in_every_second_retries_included() {
    let sp = space("198.18.0.0/31", (1..=100).collect());
    let mut rules = HashMap::new();
    for j in 0..sp.size() {
        let t = sp.target(j);
        match t.port() % 10 {
            0 => rules.insert(t, Behaviour::Drop),
            3 => rules.insert(t, Behaviour::Open),
            _ => None,
        };
    }
    let net = Arc::new(FakeNet {
        rules: rules.clone(),
        ..FakeNet::default()
    });
    let o = ConnectOptions {
        max_host_rate: Some(20),
        max_inflight: 64,
        per_host: 64,
        ..opts()
    };
    let out = scan(net.clone(), &sp, &o, 3, None, StopSignal::default());
    assert_exact(&out, &sp, &rules);
    let mut per_host: HashMap<IpAddr, Vec<tokio::time::Instant>> = HashMap::new();
    for &(at, host, _) in net.starts.lock().unwrap().iter() {
        per_host.entry(host).or_default().push(at);
    }
    assert_eq!(per_host.len(), 2);
    for (host, times) in &per_host {
        assert_eq!(times.len(), 110, "{host}: 100 ports and 10 retries");
        let most = (0..times.len())
            .map(|i| {
                let end = times[i] + Duration::from_secs(1);
                times[i..].iter().take_while(|&&t| t < end).count()
            })
            .max()
            .unwrap_or(0);
        assert!(most <= 21, "{host}: {most} attempts in one second");
    }
    // 110 attempts a host at 20 a second: the last goes 5.45 s after the first.
    assert!(
        out.elapsed >= Duration::from_millis(5450),
        "{:?}",
        out.elapsed
    );
    assert!(out.elapsed < Duration::from_secs(7), "{:?}", out.elapsed);
}

/// 32 hosts, each open on port 7 and firewalled on 19 others; one host's open port loses its
/// first attempt (random loss). That one proven loss says nothing about the firewalled ports'
/// timeouts: the window stays whole, as in fixed mode, and the scan is exact.
#[test]
fn one_lost_attempt_on_a_firewalled_host_leaves_the_window_alone() {
    let sp = space("198.18.0.0/27", (1..=20).collect());
    let lossy: IpAddr = "198.18.0.3".parse().unwrap();
    let mut rules = HashMap::new();
    for j in 0..sp.size() {
        let t = sp.target(j);
        let b = match t.port() {
            7 if t.ip() == lossy => Behaviour::LossyOpen(1),
            7 => Behaviour::Open,
            _ => Behaviour::Drop,
        };
        rules.insert(t, b);
    }
    let net = net_20ms_away(&rules);
    let out = scan(
        net.clone(),
        &sp,
        &adaptive(window_of_32()),
        5,
        None,
        StopSignal::default(),
    );
    assert_exact(&out, &sp, &rules);
    assert_eq!(peak_in_flight_after(&net, out.elapsed / 2), 32);
}
