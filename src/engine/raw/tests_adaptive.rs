//! The adaptive rate on SimNet, on the manual clock: a policer, random loss, a path whose
//! capacity drops and comes back, a sparse network, our own ring dropping answers,
//! `--max-host-rate`. Exact results every time; rates and times measured in virtual time, so
//! deterministic.

use super::tests::{Setup, hosts_up, options, port_results, simulate};
use crate::cursor::CursorState;
use crate::event::PortState;
use crate::link::sim::{Behaviour, Faults, Policer};
use crate::stop::StopLevel;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const PORTS: [u16; 4] = [22, 80, 443, 3389];

/// Every host answers: 22 and 443 open, 80 closed, 3389 dropped.
fn dense(_: Ipv4Addr, port: u16) -> Behaviour {
    match port {
        22 | 443 => Behaviour::Open,
        3389 => Behaviour::Silent,
        _ => Behaviour::Closed,
    }
}

/// One host in 50 answers (22 open, anything else closed); the rest drop everything.
fn sparse(ip: Ipv4Addr, port: u16) -> Behaviour {
    let n = u32::from(ip);
    if n.wrapping_mul(2_654_435_761) % 50 != 0 {
        return Behaviour::Silent;
    }
    if port == 22 {
        Behaviour::Open
    } else {
        Behaviour::Closed
    }
}

fn adaptive(prefix: &'static str, ports: &[u16], script: fn(Ipv4Addr, u16) -> Behaviour) -> Setup {
    let mut s = Setup::new(41);
    s.prefix = prefix;
    s.ports = ports.to_vec();
    s.script = script;
    s.latency = Duration::from_millis(5);
    s.opts = options(1);
    s.opts.adaptive = true;
    s.opts.batch = 32;
    s
}

fn policer(rate: u64) -> Option<Policer> {
    Some(Policer {
        rate,
        burst: rate / 1000,
        changes: vec![],
    })
}

/// Every target is reported once (the tests report every state); those the script says
/// answer are reported with their state, but for a share of at most `1 − recall` of them
/// reported silent (filtered): a probe and its retries all lost to the path.
fn assert_found(s: &Setup, events: &[crate::event::Event], recall: f64) {
    let got = port_results(events);
    let space = super::tests::space_in(s.prefix, &s.ports, false);
    let mut missed = Vec::new();
    let mut answering = 0;
    for j in 0..space.size() {
        let std::net::SocketAddr::V4(t) = space.target(j) else {
            unreachable!()
        };
        let want = match (s.script)(*t.ip(), t.port()) {
            Behaviour::Open => PortState::Open,
            Behaviour::Closed => PortState::Closed,
            _ => PortState::Filtered,
        };
        answering += usize::from(want != PortState::Filtered);
        let Some(&(state, _)) = got.get(&(IpAddr::V4(*t.ip()), t.port())) else {
            panic!("{t} never reported");
        };
        if state != want {
            assert_eq!(state, PortState::Filtered, "{t}: never a wrong answer");
            missed.push(t);
        }
    }
    let allowed = (answering as f64 * (1.0 - recall)).floor() as usize;
    assert!(
        missed.len() <= allowed,
        "{} of {answering} missed: {missed:?}",
        missed.len()
    );
}

/// Exactly the script: every target reported once, with its state.
fn assert_exact(s: &Setup, events: &[crate::event::Event]) {
    assert_found(s, events, 1.0);
}

/// The rate the senders were allowed between `from` and `to`: (time-weighted mean, highest).
fn rates_between(r: &super::tests::Run, from: Duration, to: Duration) -> (f64, u64) {
    let mut spans: Vec<((Duration, u64), Duration)> =
        r.rates.windows(2).map(|w| (w[0], w[1].0)).collect();
    if let Some(&last) = r.rates.last() {
        spans.push((last, r.ended.max(to)));
    }
    let (mut weighted, mut highest) = (0.0, 0);
    for ((start, rate), end) in spans {
        let (a, b) = (start.clamp(from, to), end.clamp(from, to));
        if b > a {
            weighted += rate as f64 * (b - a).as_secs_f64();
            highest = highest.max(rate);
        }
    }
    (weighted / (to - from).as_secs_f64(), highest)
}

/// Over the second half of the scan the rate stayed near the path's `rate`: on (time-weighted)
/// average close under it, and never beyond a probe above it.
fn assert_settled_near(r: &super::tests::Run, rate: u64) {
    let (mean, highest) = rates_between(r, r.ended / 2, r.ended);
    let rate = rate as f64;
    assert!(
        (0.85 * rate..1.1 * rate).contains(&mean),
        "{mean} on average: {:?}",
        r.rates
    );
    assert!((highest as f64) < 1.6 * rate, "{highest}: {:?}", r.rates);
}

/// The ideal: every probe the scan needs (one a target, plus the retries of the silent) at
/// exactly the path's rate.
fn ideal(s: &Setup, rate: u64) -> Duration {
    let space = super::tests::space_in(s.prefix, &s.ports, false);
    let silent = (0..space.size())
        .filter(|&j| {
            let std::net::SocketAddr::V4(t) = space.target(j) else {
                unreachable!()
            };
            (s.script)(*t.ip(), t.port()) == Behaviour::Silent
        })
        .count() as u64;
    let probes = space.size() + silent * u64::from(s.opts.retries);
    Duration::from_secs_f64(probes as f64 / rate as f64)
}

#[test]
fn a_policer_sets_the_pace_and_every_target_is_still_found() {
    let mut s = adaptive("198.18.0.0/18", &PORTS[..2], dense);
    s.opts.rate = Some(200_000);
    s.faults = Faults {
        policer: policer(20_000),
        ..Faults::default()
    };
    let r = simulate(&s);
    // A probe and its retry both lost, each to a slight overshoot: rare.
    assert_found(&s, &r.events, 0.999);
    assert!(r.net.policed > 1000, "the policer bit: {}", r.net.policed);
    assert_settled_near(&r, 20_000);
    let bound = ideal(&s, 20_000).mul_f64(1.3) + s.opts.wait;
    assert!(r.ended <= bound, "{:?} > {bound:?}", r.ended);
    assert!(r.counters.canary_answers > 100, "{:?}", r.counters);
    assert_eq!(
        r.stats
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn a_sparse_network_through_a_policer_is_exact_and_as_fast() {
    let mut s = adaptive("198.18.0.0/16", &[22], sparse);
    s.opts.rate = Some(100_000);
    s.faults = Faults {
        policer: policer(20_000),
        ..Faults::default()
    };
    let r = simulate(&s);
    assert_found(&s, &r.events, 0.999);
    assert_settled_near(&r, 20_000);
    let bound = ideal(&s, 20_000).mul_f64(1.3) + s.opts.wait;
    assert!(r.ended <= bound, "{:?} > {bound:?}", r.ended);
}

#[test]
fn random_loss_is_the_baseline_not_a_reason_to_slow_down() {
    let mut s = adaptive("198.18.0.0/18", &PORTS[..2], dense);
    s.opts.rate = Some(50_000);
    s.opts.retries = 1;
    s.faults = Faults {
        loss: 0.01,
        ..Faults::default()
    };
    let r = simulate(&s);
    let lowest = r.rates.iter().map(|&(_, r)| r).min().unwrap();
    assert!(lowest >= 40_000, "cut to {lowest}: {:?}", r.rates);
    // 1 % of replies lost, a retry each: about one target in 10,000 lost twice.
    let found = port_results(&r.events).len() as f64;
    let all = (1 << 14) as f64 * 2.0;
    assert!(found / all >= 0.999, "{found} of {all}");
}

#[test]
fn a_capacity_that_drops_and_comes_back_is_followed_both_ways() {
    let mut s = adaptive("198.18.0.0/18", &PORTS[..2], dense);
    s.opts.rate = Some(100_000);
    let sec = Duration::from_secs(1);
    s.faults = Faults {
        policer: Some(Policer {
            rate: 20_000,
            burst: 20,
            changes: vec![(sec, 5_000), (2 * sec, 20_000)],
        }),
        ..Faults::default()
    };
    let r = simulate(&s);
    assert_found(&s, &r.events, 0.999);
    let ms = Duration::from_millis;
    // Down within a few windows of the drop, and held near the new capacity…
    let (dip, highest) = rates_between(&r, sec + ms(300), 2 * sec);
    assert!(
        (3_000.0..5_500.0).contains(&dip),
        "in the dip: {dip}; {:?}",
        r.rates
    );
    assert!(highest < 8_000, "in the dip: {highest}; {:?}", r.rates);
    // …and found again once it came back.
    let (_, back) = rates_between(&r, 2 * sec, 2 * sec + ms(1200));
    assert!(back >= 15_000, "after it: {back}; {:?}", r.rates);
    assert!(r.ended > 2 * sec, "the scan outlasted the dip");
}

#[test]
fn answers_our_own_ring_dropped_are_walked_again_and_never_cut_the_rate() {
    let mut s = adaptive("198.18.0.0/19", &PORTS[..2], dense);
    s.opts.rate = Some(50_000);
    s.faults = Faults {
        ring_drop: 0.02,
        ..Faults::default()
    };
    let r = simulate(&s);
    assert!(r.net.ring_dropped > 100);
    assert_eq!(r.path.unwrap().cuts, 0);
    assert!(
        r.rates.iter().all(|&(_, rate)| rate == 50_000),
        "{:?}",
        r.rates
    );
    assert_exact(&s, &r.events);
}

#[test]
fn the_same_seed_gives_the_same_scan() {
    let mut s = adaptive("198.18.0.0/20", &PORTS, dense);
    s.opts.rate = Some(100_000);
    s.opts.retries = 1;
    s.faults = Faults {
        policer: policer(10_000),
        loss: 0.02,
        ..Faults::default()
    };
    let strip = |r: &super::tests::Run| {
        let mut v: Vec<(IpAddr, u16, PortState)> = port_results(&r.events)
            .into_iter()
            .map(|((ip, port), (state, _))| (ip, port, state))
            .collect();
        v.sort();
        v
    };
    let (a, b) = (simulate(&s), simulate(&s));
    assert_eq!(strip(&a), strip(&b));
    assert_eq!((a.ended, &a.rates), (b.ended, &b.rates));
}

#[test]
fn no_host_gets_more_than_its_rate_in_any_second() {
    let mut s = adaptive("198.18.0.0/31", &[], dense);
    s.ports = (1..=1500).collect();
    s.opts.rate = Some(100_000);
    s.opts.max_host_rate = Some(400);
    let r = simulate(&s);
    assert_exact(&s, &r.events);
    let burst = crate::rate::RateLimiter::default_burst(Some(400)) as usize;
    let mut by_host: HashMap<Ipv4Addr, Vec<Duration>> = HashMap::new();
    for &(t, ip) in &r.net.arrivals {
        by_host.entry(ip).or_default().push(t);
    }
    assert_eq!(by_host.len(), 2);
    for (ip, times) in by_host {
        for (i, &t) in times.iter().enumerate() {
            let n = times[i..]
                .iter()
                .take_while(|&&u| u < t + Duration::from_secs(1))
                .count();
            assert!(n <= 400 + burst, "{ip}: {n} in the second from {t:?}");
        }
    }
    // 1,500 probes (and a few canaries) at 400 a second, each host.
    assert!(r.ended >= Duration::from_millis(3700), "{:?}", r.ended);
}

#[test]
fn a_stop_while_the_path_is_lossy_resumes_to_exactly_one_whole_scan() {
    for (at_ms, level) in [
        (40, StopLevel::Graceful),
        (120, StopLevel::Abort),
        (700, StopLevel::Graceful),
    ] {
        let mut first = adaptive("198.18.0.0/20", &PORTS[..2], dense);
        first.opts.rate = Some(200_000);
        first.faults = Faults {
            policer: policer(10_000),
            ..Faults::default()
        };
        first.stop_at = Some((Duration::from_millis(at_ms), level));
        let a = simulate(&first);
        let mut second = adaptive("198.18.0.0/20", &PORTS[..2], dense);
        second.opts.rate = Some(200_000);
        second.faults = first.faults.clone();
        second.resume = Some(a.state.clone());
        let b = simulate(&second);
        let mut events = a.events.clone();
        events.extend(b.events.iter().cloned());
        // port_results asserts that nothing is reported twice.
        assert_found(&second, &events, 0.999);
        assert_eq!(
            b.state,
            CursorState {
                next_position: b.state.next_position,
                pending: vec![]
            }
        );
        hosts_up(&a.events);
    }
}
