//! The connect engine against a scripted network: deterministic (tokio's paused clock), exact.

use super::EngineContext;
use super::connect::{ConnectOptions, run};
use super::connector::{Attempt, Connector};
use super::report::{Reporter, SHOW_ALL};
use crate::cursor::{Cursor, CursorState, Shard};
use crate::event::{Event, PortState, Reason, Stats};
use crate::ports::PortList;
use crate::space::TargetSpace;
use crate::stop::{StopLevel, StopSignal};
use crate::targets::range::{IpRange, RangeSet};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod adaptive;

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Open,
    Closed,
    Drop,
    Unreachable,
    /// Silent for the first n attempts, then open.
    LossyOpen(u32),
    /// A local shortage for the first n attempts, then closed.
    ShortThenClosed(u32),
}

#[derive(Default)]
struct FakeNet {
    rules: HashMap<SocketAddr, Behaviour>,
    attempts: Mutex<HashMap<SocketAddr, u32>>,
    running: Mutex<HashMap<IpAddr, u32>>,
    max_running_per_host: AtomicU64,
    running_total: AtomicU64,
    max_running_total: AtomicU64,
    /// After this many answers, ask the engine to stop (0 = never).
    stop_after: u64,
    answers: AtomicU64,
    stop: Option<(StopSignal, StopLevel)>,
    /// Added to every answer's round trip (a path across the internet, not a LAN).
    base_rtt: Duration,
    /// A SYN-flood guard on every host: connects beyond this many a second (burst
    /// `POLICER_BURST`) are dropped without a word, whatever the port would have said.
    policer: Option<u64>,
    /// Per host: (tokens, when last refilled), for `policer`.
    policed: Mutex<HashMap<IpAddr, (f64, tokio::time::Instant)>>,
    /// Connects the policer dropped.
    policed_drops: AtomicU64,
    /// When each attempt started, to which host, and how many were running with it.
    starts: Mutex<Vec<(tokio::time::Instant, IpAddr, u64)>>,
}

/// The policer's bucket: a few connects may arrive at once.
const POLICER_BURST: f64 = 4.0;

impl FakeNet {
    /// Whether the policer lets a connect to `host` through now.
    fn policer_passes(&self, host: IpAddr) -> bool {
        let Some(rate) = self.policer else {
            return true;
        };
        let now = tokio::time::Instant::now();
        let mut p = self.policed.lock().unwrap();
        let (tokens, last) = p.entry(host).or_insert((POLICER_BURST, now));
        *tokens = (*tokens + (now - *last).as_secs_f64() * rate as f64).min(POLICER_BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            self.policed_drops.fetch_add(1, Relaxed);
            false
        }
    }
}

impl Connector for FakeNet {
    async fn attempt(&self, target: SocketAddr, timeout: Duration) -> Attempt {
        let n = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry(target).or_insert(0);
            *n += 1;
            *n
        };
        let host_now = {
            let mut r = self.running.lock().unwrap();
            let c = r.entry(target.ip()).or_insert(0);
            *c += 1;
            *c as u64
        };
        self.max_running_per_host.fetch_max(host_now, Relaxed);
        let total = self.running_total.fetch_add(1, Relaxed) + 1;
        self.max_running_total.fetch_max(total, Relaxed);
        self.starts
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), target.ip(), total));
        let rtt = self.base_rtt + Duration::from_millis(1 + (target.port() % 7) as u64);
        let behaviour = self
            .rules
            .get(&target)
            .copied()
            .unwrap_or(Behaviour::Closed);
        let out = match behaviour {
            Behaviour::Open => Some(Attempt::Open { rtt }),
            Behaviour::Closed => Some(Attempt::Closed {
                reason: Reason::ConnRefused,
                rtt,
            }),
            Behaviour::Unreachable => Some(Attempt::Unreachable {
                reason: Reason::HostUnreach,
                rtt,
            }),
            Behaviour::Drop => None,
            Behaviour::LossyOpen(k) if n <= k => None,
            Behaviour::LossyOpen(_) => Some(Attempt::Open { rtt }),
            Behaviour::ShortThenClosed(k) if n <= k => Some(Attempt::Resource(
                io::Error::from_raw_os_error(libc::EMFILE),
            )),
            Behaviour::ShortThenClosed(_) => Some(Attempt::Closed {
                reason: Reason::ConnRefused,
                rtt,
            }),
        };
        // The guard counts every SYN that reaches the host; local shortages never left us.
        let local = matches!(out, Some(Attempt::Resource(_)));
        let out = out.filter(|_| local || self.policer_passes(target.ip()));
        tokio::time::sleep(if out.is_some() { rtt } else { timeout }).await;
        self.running_total.fetch_sub(1, Relaxed);
        *self.running.lock().unwrap().get_mut(&target.ip()).unwrap() -= 1;
        if out.is_some() {
            let a = self.answers.fetch_add(1, Relaxed) + 1;
            if let (Some((s, level)), true) = (&self.stop, a == self.stop_after) {
                s.raise_to(*level);
            }
        }
        out.unwrap_or(Attempt::Silent)
    }
}

fn space(hosts: &str, ports: Vec<u16>) -> TargetSpace {
    let set = RangeSet::from_ranges(vec![IpRange::from_net(hosts.parse().unwrap())]);
    TargetSpace::new(set, PortList::new(ports)).unwrap()
}

fn opts() -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_millis(500),
        retries: 1,
        max_inflight: 64,
        per_host: 8,
        rate: None,
        host_timeout: None,
        adaptive: false,
        max_host_rate: None,
    }
}

type Results = BTreeMap<SocketAddr, (PortState, Reason)>;

struct Outcome {
    results: Results,
    events: Vec<Event>,
    state: CursorState,
    stats: Arc<Stats>,
    /// Virtual time the scan took.
    elapsed: Duration,
}

/// Runs one scan on a paused-clock runtime; returns the port results, the events and the state.
fn scan(
    net: Arc<FakeNet>,
    sp: &TargetSpace,
    o: &ConnectOptions,
    seed: u64,
    resume: Option<CursorState>,
    stop: StopSignal,
) -> Outcome {
    scan_every(net, sp, o, seed, resume, stop, None)
}

/// `scan`, with checkpoints sent down the event stream every `every`.
fn scan_every(
    net: Arc<FakeNet>,
    sp: &TargetSpace,
    o: &ConnectOptions,
    seed: u64,
    resume: Option<CursorState>,
    stop: StopSignal,
    every: Option<Duration>,
) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let stats = Arc::new(Stats::default());
    let report = Reporter::new(Arc::default(), stats.clone(), tx, SHOW_ALL);
    let ctx = EngineContext {
        space: sp.clone(),
        report,
        stats: stats.clone(),
        stop,
        checkpoint_every: every,
    };
    let cursor = Cursor::new(sp.size(), seed, Shard::WHOLE, resume);
    let (state, elapsed) = rt.block_on(async {
        let start = tokio::time::Instant::now();
        let state = run(net, cursor, &ctx, o).await;
        (state, start.elapsed())
    });
    drop(ctx);
    let events: Vec<Event> = rx.iter().collect();
    let mut results = Results::new();
    for e in &events {
        if let Event::Port(p) = e {
            let prev = results.insert(SocketAddr::new(p.ip, p.port), (p.state, p.reason));
            assert!(prev.is_none(), "{}:{} reported twice", p.ip, p.port);
        }
    }
    Outcome {
        results,
        events,
        state,
        stats,
        elapsed,
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn exact_states_for_every_target() {
    let sp = space("198.18.0.0/29", vec![22, 80, 443, 8080]);
    let mut net = FakeNet::default();
    net.rules.insert(sa("198.18.0.1:22"), Behaviour::Open);
    net.rules.insert(sa("198.18.0.1:80"), Behaviour::Drop);
    net.rules
        .insert(sa("198.18.0.2:443"), Behaviour::Unreachable);
    net.rules
        .insert(sa("198.18.0.3:8080"), Behaviour::LossyOpen(1));
    net.rules
        .insert(sa("198.18.0.4:8080"), Behaviour::LossyOpen(2));
    let Outcome {
        results: res,
        events,
        state,
        stats,
        ..
    } = scan(Arc::new(net), &sp, &opts(), 1, None, StopSignal::default());
    assert_eq!(res.len(), 32);
    assert_eq!(res[&sa("198.18.0.1:22")], (PortState::Open, Reason::SynAck));
    assert_eq!(
        res[&sa("198.18.0.1:80")],
        (PortState::Filtered, Reason::NoResponse)
    );
    assert_eq!(
        res[&sa("198.18.0.2:443")],
        (PortState::Filtered, Reason::HostUnreach)
    );
    assert_eq!(
        res[&sa("198.18.0.3:8080")].0,
        PortState::Open,
        "one retry recovers one loss"
    );
    assert_eq!(
        res[&sa("198.18.0.4:8080")].0,
        PortState::Filtered,
        "two losses exceed one retry"
    );
    assert_eq!(
        res[&sa("198.18.0.5:22")],
        (PortState::Closed, Reason::ConnRefused)
    );
    assert_eq!(
        state,
        CursorState {
            next_position: 32,
            pending: vec![]
        }
    );
    let hosts = events
        .iter()
        .filter(|e| matches!(e, Event::Host(_)))
        .count();
    assert_eq!(hosts, 8, "every host answered something");
    // 32 targets, plus one retry each for the three silent at first (the dropped one and
    // the two lossy ones).
    assert_eq!(stats.sent.load(Relaxed), 32 + 3);
}

#[test]
fn shortages_are_retried_and_never_reported() {
    let sp = space("198.18.0.0/30", vec![1, 2, 3]);
    let mut net = FakeNet::default();
    for t in ["198.18.0.0:1", "198.18.0.1:2", "198.18.0.3:3"] {
        net.rules.insert(sa(t), Behaviour::ShortThenClosed(3));
    }
    let Outcome {
        results: res,
        stats,
        ..
    } = scan(Arc::new(net), &sp, &opts(), 9, None, StopSignal::default());
    assert_eq!(res.len(), 12);
    assert!(res.values().all(|&(s, _)| s == PortState::Closed));
    assert_eq!(stats.errors.load(Relaxed), 9);
}

#[test]
fn per_host_and_global_windows_hold() {
    let sp = space("198.18.0.0/31", (1..=200).collect());
    let net = Arc::new(FakeNet::default());
    let mut o = opts();
    o.per_host = 5;
    let res = scan(net.clone(), &sp, &o, 3, None, StopSignal::default()).results;
    assert_eq!(res.len(), 400);
    assert_eq!(net.max_running_per_host.load(Relaxed), 5);
    o.per_host = 1000;
    o.max_inflight = 17;
    let net = Arc::new(FakeNet::default());
    scan(net.clone(), &sp, &o, 3, None, StopSignal::default());
    assert_eq!(net.max_running_total.load(Relaxed), 17);
}

#[test]
fn the_rate_limit_holds_in_virtual_time() {
    let sp = space("198.18.0.0/24", vec![80]);
    let mut o = opts();
    o.rate = Some(100);
    let out = scan(
        Arc::new(FakeNet::default()),
        &sp,
        &o,
        5,
        None,
        StopSignal::default(),
    );
    assert_eq!(out.results.len(), 256);
    // 256 probes at 100/s: the first goes at once, the last 2.55 s later (virtual time).
    assert!(
        out.elapsed >= Duration::from_millis(2550),
        "{:?}",
        out.elapsed
    );
    assert!(
        out.elapsed < Duration::from_millis(2700),
        "{:?}",
        out.elapsed
    );
    o.rate = Some(1000);
    let fast = scan(
        Arc::new(FakeNet::default()),
        &sp,
        &o,
        5,
        None,
        StopSignal::default(),
    );
    assert!(
        fast.elapsed < Duration::from_millis(400),
        "{:?}",
        fast.elapsed
    );
    // Retries pass the limiter too: 256 silent targets x 2 attempts at 100/s need 5.11 s.
    let mut silent = FakeNet::default();
    for j in 0..sp.size() {
        silent.rules.insert(sp.target(j), Behaviour::Drop);
    }
    o.rate = Some(100);
    let out = scan(Arc::new(silent), &sp, &o, 5, None, StopSignal::default());
    assert_eq!(out.stats.sent.load(Relaxed), 512);
    assert!(
        out.elapsed >= Duration::from_millis(5110),
        "{:?}",
        out.elapsed
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::soak_cases(24), ..ProptestConfig::default() })]

    /// A kill -9 right after any checkpoint: the results before it in the stream, plus a run
    /// resumed from it, are exactly one uninterrupted run's, no target reported twice.
    #[test]
    fn any_checkpoint_plus_its_resume_equals_one_run(every_ms in 1u64..400, seed: u64, pick: usize) {
        let sp = space("198.18.0.0/29", vec![21, 22, 80, 443, 8080, 9000]);
        let net = || {
            let mut net = FakeNet::default();
            net.rules.insert(sa("198.18.0.1:22"), Behaviour::Open);
            net.rules.insert(sa("198.18.0.2:80"), Behaviour::Drop);
            net.rules.insert(sa("198.18.0.6:443"), Behaviour::LossyOpen(1));
            net.rules.insert(sa("198.18.0.7:9000"), Behaviour::Unreachable);
            Arc::new(net)
        };
        let mut o = opts();
        o.max_inflight = 5;
        let every = Some(Duration::from_millis(every_ms));
        let whole = scan_every(net(), &sp, &o, seed, None, StopSignal::default(), every);
        let marks: Vec<usize> = whole.events.iter().enumerate()
            .filter(|(_, e)| matches!(e, Event::Checkpoint(_)))
            .map(|(i, _)| i)
            .collect();
        prop_assert!(!marks.is_empty(), "a scan of {:?} sent no checkpoint", whole.elapsed);
        let at = marks[pick % marks.len()];
        let Event::Checkpoint(state) = &whole.events[at] else { unreachable!() };
        let rest = scan(net(), &sp, &o, seed, Some((**state).clone()), StopSignal::default());
        let mut joined = Results::new();
        for e in &whole.events[..at] {
            if let Event::Port(p) = e {
                joined.insert(SocketAddr::new(p.ip, p.port), (p.state, p.reason));
            }
        }
        for (k, v) in rest.results {
            prop_assert!(joined.insert(k, v).is_none(), "{k} reported before the checkpoint and after");
        }
        prop_assert_eq!(joined, whole.results);
    }

    /// Stopped after k answers (gracefully or by abort), then resumed: the two runs report
    /// exactly what one uninterrupted run reports, nothing twice.
    #[test]
    fn interrupted_and_resumed_equals_uninterrupted(
        k in 1u64..40,
        abort: bool,
        seed: u64,
        per_host in 1u32..6,
        host_rate in proptest::option::of(5u64..60),
        adaptive: bool,
    ) {
        let sp = space("198.18.0.0/29", vec![21, 22, 80, 443, 8080, 9000]);
        let rules = |stop: Option<(StopSignal, StopLevel)>, stop_after| {
            let mut net = FakeNet { stop, stop_after, ..FakeNet::default() };
            net.rules.insert(sa("198.18.0.1:22"), Behaviour::Open);
            net.rules.insert(sa("198.18.0.2:80"), Behaviour::Drop);
            net.rules.insert(sa("198.18.0.6:443"), Behaviour::LossyOpen(1));
            net.rules.insert(sa("198.18.0.7:9000"), Behaviour::Unreachable);
            Arc::new(net)
        };
        let mut o = opts();
        o.per_host = per_host;
        // Attempts waiting for their host's token are pending too.
        o.max_host_rate = host_rate;
        o.adaptive = adaptive;
        // A narrow window, so a stop lands with most of the 48 targets still to do.
        o.max_inflight = 4;
        let whole = scan(rules(None, 0), &sp, &o, seed, None, StopSignal::default()).results;

        let stop = StopSignal::default();
        let level = if abort { StopLevel::Abort } else { StopLevel::Graceful };
        let first = scan(rules(Some((stop.clone(), level)), k), &sp, &o, seed, None, stop);
        prop_assert!(first.results.len() < whole.len(), "the stop came too late to test anything");
        let state = first.state;
        let first = first.results;
        let second = scan(rules(None, 0), &sp, &o, seed, Some(state), StopSignal::default()).results;
        for key in first.keys() {
            prop_assert!(!second.contains_key(key), "{} reported by both runs", key);
        }
        let mut both = first;
        both.extend(second);
        prop_assert_eq!(both, whole);
    }
}

#[test]
fn silence_costs_one_full_timeout_once_answers_are_measured() {
    let sp = space("198.18.0.0/27", (1..=8).collect());
    let mut net = FakeNet::default();
    net.rules.insert(sa("198.18.0.9:5"), Behaviour::Drop);
    let mut o = opts();
    o.timeout = Duration::from_secs(1);
    o.max_inflight = 4;
    let out = scan(Arc::new(net), &sp, &o, 11, None, StopSignal::default());
    assert_eq!(
        out.results[&sa("198.18.0.9:5")],
        (PortState::Filtered, Reason::NoResponse)
    );
    // The retry waits the full second; the first attempt only the RTT-based floor (100 ms).
    assert!(
        out.elapsed >= Duration::from_millis(1100),
        "{:?}",
        out.elapsed
    );
    assert!(
        out.elapsed < Duration::from_millis(1500),
        "{:?}",
        out.elapsed
    );
}

/// nmap's --host-timeout: a host whose ports all time out is given up on once its first
/// attempt is older than the limit; a host that answers is scanned whole; nothing is pending.
#[test]
fn host_timeout_gives_up_on_a_slow_host_and_spares_the_others() {
    let ports: Vec<u16> = (1..=40).collect();
    let sp = space("198.18.0.0/31", ports.clone());
    let mut net = FakeNet::default();
    for &p in &ports {
        net.rules.insert(
            SocketAddr::new("198.18.0.0".parse().unwrap(), p),
            Behaviour::Drop,
        );
    }
    let o = ConnectOptions {
        per_host: 2,
        host_timeout: Some(Duration::from_millis(1200)),
        ..opts()
    };
    let net = Arc::new(net);
    let Outcome {
        results,
        state,
        stats,
        ..
    } = scan(net.clone(), &sp, &o, 3, None, StopSignal::default());
    let slow = results
        .keys()
        .filter(|t| t.ip() == "198.18.0.0".parse::<IpAddr>().unwrap())
        .count();
    let fast = results
        .keys()
        .filter(|t| t.ip() == "198.18.0.1".parse::<IpAddr>().unwrap())
        .count();
    assert_eq!(fast, 40, "the answering host is scanned whole");
    assert!(
        slow > 0 && slow < 40,
        "the silent host was given up on part-way: {slow} ports"
    );
    assert!(state.pending.is_empty());
    assert_eq!(
        stats.done.load(Relaxed),
        80,
        "every target is finished, probed or not"
    );
    // Without the limit, every silent port gets both attempts.
    let Outcome { results, .. } = scan(
        Arc::new(FakeNet {
            rules: net.rules.clone(),
            ..FakeNet::default()
        }),
        &sp,
        &opts(),
        3,
        None,
        StopSignal::default(),
    );
    assert_eq!(results.len(), 80);
}
