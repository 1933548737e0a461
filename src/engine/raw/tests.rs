//! The whole raw engine (sender, capture, state table) against SimNet on a manual clock:
//! deterministic, seeded, exact.

use super::RawOptions;
use super::capture::{Capture, CaptureCounters};
use super::icmp_pace::IcmpPace;
use super::sender::{Sender, Step};
use super::table::AnsweredSet;
use crate::cursor::{Cursor, CursorState, Shard};
use crate::engine::EngineContext;
use crate::engine::report::{Reporter, SHOW_ALL};
use crate::event::{Event, Listing, PortState, Proto, Reason, Stats};
use crate::link::PacketRx;
use crate::link::sim::{Behaviour, Faults, SimNet};
use crate::packet::cookie::SourcePorts;
use crate::packet::probe::{Probe, ProbeSetup, ScanProbe};
use crate::packet::syn::EthernetAddrs;
use crate::ports::PortList;
use crate::space::TargetSpace;
use crate::stop::{StopLevel, StopSignal};
use crate::targets::range::{IpRange, RangeSet};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

mod udp_pacing;

const US: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const PORTS: [u16; 6] = [22, 25, 80, 443, 3389, 8443];

/// The scripted network: a /26 where the last octet and port decide.
fn script(ip: Ipv4Addr, port: u16) -> Behaviour {
    let host = ip.octets()[3];
    if host >= 60 {
        return Behaviour::Silent; // hosts that drop everything
    }
    match port {
        0 => Behaviour::Open, // answers pings
        22 | 443 => Behaviour::Open,
        80 if host.is_multiple_of(2) => Behaviour::Open,
        3389 => Behaviour::Silent,
        8443 => Behaviour::Unreachable(13),
        _ => Behaviour::Closed,
    }
}

fn expected_state(ip: Ipv4Addr, port: u16) -> PortState {
    match script(ip, port) {
        Behaviour::Open => PortState::Open,
        Behaviour::Closed => PortState::Closed,
        Behaviour::Unreachable(_) | Behaviour::Silent => PortState::Filtered,
    }
}

fn space_with(ports: &[u16], echo: bool) -> TargetSpace {
    space_in("198.18.0.0/26", ports, echo)
}

pub(super) fn space_in(prefix: &str, ports: &[u16], echo: bool) -> TargetSpace {
    let net = prefix.parse().unwrap();
    TargetSpace::with_echo(
        RangeSet::from_ranges(vec![IpRange::from_net(net)]),
        PortList::new(ports.to_vec()),
        echo,
    )
    .unwrap()
}

fn space(ports: &[u16]) -> TargetSpace {
    space_with(ports, false)
}

pub(super) fn options(retries: u32) -> RawOptions {
    RawOptions {
        rate: Some(10_000),
        retries,
        timeout: Duration::from_millis(300),
        wait: Duration::from_millis(500),
        batch: 16,
        listening: true,
        senders: 1,
        thread: 0,
        // The exact probe counts below are the fixed mode's; the adaptive rate has its own.
        adaptive: false,
        min_rate: None,
        max_host_rate: None,
    }
}

pub(super) struct Run {
    pub events: Vec<Event>,
    pub state: CursorState,
    pub counters: CaptureCounters,
    pub net: SimNet,
    pub stats: Arc<Stats>,
    pub max_in_flight: usize,
    /// The snapshot taken at `snapshot_at`, and how many events had been sent by then.
    pub snapshot: Option<(CursorState, usize)>,
    /// The (virtual) time the sender finished.
    pub ended: Duration,
    /// The adaptive rate over the run: (time, rate) at every change.
    pub rates: Vec<(Duration, u64)>,
    pub path: Option<super::path::PathFigures>,
    /// Times the sender found itself held back, and the most events ever waiting in the
    /// capture thread's outbox.
    pub holds: u64,
    pub overflow_peak: usize,
}

pub(super) struct Setup {
    pub seed: u64,
    pub faults: Faults,
    pub opts: RawOptions,
    /// Raise the stop signal to this level at this (virtual) time.
    pub stop_at: Option<(Duration, StopLevel)>,
    pub resume: Option<CursorState>,
    /// Take a sender snapshot (a checkpoint) at this (virtual) time.
    pub snapshot_at: Option<Duration>,
    /// Ports to scan; empty for a sweep.
    pub ports: Vec<u16>,
    echo: bool,
    proto: Proto,
    listing: Listing,
    /// A slow output: the event channel's capacity, and how many events a second of virtual
    /// time the consumer takes (None: an unbounded channel read at the end).
    slow_output: Option<(usize, usize)>,
    all_open_threshold: u32,
    /// The UDP retry pacer (UDP scans only).
    pacer: fn(u64) -> IcmpPace,
    /// The network scanned, and how its targets behave.
    pub prefix: &'static str,
    pub script: fn(Ipv4Addr, u16) -> Behaviour,
    pub latency: Duration,
}

impl Setup {
    pub(super) fn new(seed: u64) -> Setup {
        Setup {
            seed,
            faults: Faults::default(),
            opts: options(1),
            stop_at: None,
            resume: None,
            snapshot_at: None,
            ports: PORTS.to_vec(),
            echo: false,
            proto: Proto::Tcp,
            listing: SHOW_ALL,
            slow_output: None,
            all_open_threshold: 0,
            pacer: IcmpPace::new,
            prefix: "198.18.0.0/26",
            script,
            latency: Duration::from_millis(20),
        }
    }
}

/// Drives the engine's own step functions on a manual clock until the sender finishes.
pub(super) fn simulate(s: &Setup) -> Run {
    simulate_on(s, space_in(s.prefix, &s.ports, s.echo), s.script)
}

pub(super) fn simulate_on(
    s: &Setup,
    space: TargetSpace,
    script: impl Fn(Ipv4Addr, u16) -> Behaviour + Send + 'static,
) -> Run {
    let space = space.with_proto(s.proto);
    let mut net = SimNet::new(script, s.faults.clone(), s.latency, s.seed);
    let (src, dst) = net.macs();
    let setup = ProbeSetup {
        seed: s.seed,
        src: US,
        eth: Some(EthernetAddrs { src, dst }),
        ttl: 64,
        source_ports: SourcePorts {
            base: 40000,
            count: 1000,
        },
        proto: space.proto(),
    };
    let (tx, rx) = match s.slow_output {
        Some((capacity, _)) => crossbeam_channel::bounded(capacity),
        None => crossbeam_channel::unbounded(),
    };
    let stats = Arc::new(Stats::default());
    let report = Reporter::new(Arc::default(), stats.clone(), tx, s.listing)
        .with_all_open_threshold(s.all_open_threshold);
    let ctx = EngineContext {
        space: space.clone(),
        report,
        stats: stats.clone(),
        stop: StopSignal::default(),
        checkpoint_every: None,
    };
    let cursor = Cursor::new(space.size(), s.seed, Shard::WHOLE, s.resume.clone());
    let mut snapshot = None;
    let mut events = Vec::new();
    let per_second = s.slow_output.map_or(0, |(_, n)| n);
    let (state, counters, max_in_flight, ended, rates, path) = drive(
        &ScanProbe::new(&setup),
        &ctx,
        &mut net,
        cursor,
        s,
        &mut |st| snapshot = Some((st, rx.len())),
        &mut |now| {
            let due = (now.as_secs_f64() * per_second as f64) as usize;
            let n = due.saturating_sub(events.len());
            events.extend(rx.try_iter().take(n));
        },
    );
    let (holds, overflow_peak) = (
        ctx.report.pressure().holds(),
        ctx.report.pressure().overflow_peak(),
    );
    drop(ctx);
    events.extend(rx.try_iter());
    Run {
        events,
        state,
        counters,
        net,
        stats,
        max_in_flight,
        snapshot,
        holds,
        overflow_peak,
        ended,
        rates,
        path,
    }
}

/// What `drive` returns: the resume point, the capture's counters, the most probes in flight,
/// when the sender finished, the adaptive rate's changes and its last figures.
type Driven = (
    CursorState,
    CaptureCounters,
    usize,
    Duration,
    Vec<(Duration, u64)>,
    Option<super::path::PathFigures>,
);

/// How often the simulated capture thread looks at the path monitor (the real one looks at
/// least every 20 ms, and after every block of frames).
const TICK: Duration = Duration::from_millis(2);

fn drive<P: Probe>(
    probe: &P,
    ctx: &EngineContext,
    net: &mut SimNet,
    cursor: Cursor,
    s: &Setup,
    snapshot: &mut dyn FnMut(CursorState),
    consume: &mut dyn FnMut(Duration),
) -> Driven {
    let answered = AnsweredSet::new(ctx.space.size());
    let pace = (ctx.space.proto() == Proto::Udp).then(|| (s.pacer)(ctx.space.hosts()));
    let mut now = Duration::ZERO;
    let path = super::path_monitor(&s.opts, now);
    let mut sender = Sender::new(probe, ctx, &answered, &s.opts, cursor, now, pace.as_ref())
        .with_path(path.as_ref());
    let mut capture = Capture::new(probe, ctx, &answered)
        .pacing(pace.as_ref())
        .settle_within(s.opts.timeout)
        .path(path.as_ref());
    let mut rates: Vec<(Duration, u64)> = Vec::new();
    let mut ring_drops = 0;
    let mut max_in_flight = 0;
    let mut snapshot_at = s.snapshot_at;
    for _ in 0..10_000_000 {
        if let Some(at) = snapshot_at
            && now >= at
        {
            // Between steps, as the sender thread does: every answer seen so far is reported.
            snapshot(sender.snapshot());
            snapshot_at = None;
        }
        if let Some((at, level)) = s.stop_at
            && now >= at
        {
            ctx.stop.raise_to(level);
        }
        let level = ctx.stop.level();
        net.set_now(now);
        consume(now);
        capture.pass(now);
        let step = sender.step(now, level, net).expect("SimNet never fails");
        max_in_flight = max_in_flight.max(sender.in_flight());
        net.recv(Duration::ZERO, &mut |f| capture.handle(f, now))
            .unwrap();
        if let Some(p) = &path {
            ring_drops += net.drops();
            p.tick(now, ring_drops);
            if rates.last().is_none_or(|&(_, r)| r != p.rate()) {
                rates.push((now, p.rate()));
            }
        }
        match step {
            Step::Busy => {}
            Step::Finished => {
                // What waits for the (slow) output still reaches it, in order.
                while capture.waiting() > 0 {
                    now += Duration::from_millis(1);
                    consume(now);
                    capture.pass(now);
                }
                let counters = capture.finish();
                let figures = path.as_ref().map(|p| p.figures());
                let state = super::without_answered(
                    sender.finish(level),
                    &super::Walk {
                        size: ctx.space.size(),
                        seed: s.seed,
                        shard: Shard::WHOLE,
                        resume: None,
                    },
                    &answered,
                );
                return (state, counters, max_in_flight, now, rates, figures);
            }
            Step::Idle(until) => {
                let mut next = until;
                if path.is_some() {
                    next = next.min(now + TICK);
                }
                if let Some(due) = net.next_due() {
                    next = next.min(due);
                }
                if let Some((at, _)) = s.stop_at
                    && at > now
                {
                    next = next.min(at);
                }
                if let Some(at) = snapshot_at
                    && at > now
                {
                    next = next.min(at);
                }
                now = now.max(next);
            }
        }
    }
    panic!("the engine did not finish in 10M steps");
}

/// Hosts reported up (each once, checked).
pub(super) fn hosts_up(events: &[Event]) -> HashSet<IpAddr> {
    let mut up = HashSet::new();
    for e in events {
        if let Event::Host(h) = e {
            assert!(up.insert(h.ip), "{} reported up twice", h.ip);
        }
    }
    up
}

pub(super) fn port_results(events: &[Event]) -> HashMap<(IpAddr, u16), (PortState, Reason)> {
    let mut out = HashMap::new();
    for e in events {
        if let Event::Port(p) = e {
            assert!(
                out.insert((p.ip, p.port), (p.state, p.reason)).is_none(),
                "{}:{} reported twice",
                p.ip,
                p.port
            );
        }
    }
    out
}

fn all_targets(ports: &[u16]) -> Vec<(Ipv4Addr, u16)> {
    let s = space(ports);
    (0..s.size())
        .map(|j| match s.target(j) {
            std::net::SocketAddr::V4(a) => (*a.ip(), a.port()),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn a_clean_network_gives_exact_states_and_probes_only_the_silent_twice() {
    let r = simulate(&Setup::new(11));
    assert_eq!(
        r.net.bad_probes, 0,
        "every probe parsed with good checksums"
    );
    let got = port_results(&r.events);
    assert_eq!(got.len(), 64 * PORTS.len());
    for (ip, port) in all_targets(&PORTS) {
        let (state, reason) = got[&(IpAddr::V4(ip), port)];
        assert_eq!(state, expected_state(ip, port), "{ip}:{port}");
        if script(ip, port) == Behaviour::Unreachable(13) {
            assert_eq!(reason, Reason::AdminProhibited);
        }
        let silent = script(ip, port) == Behaviour::Silent;
        assert_eq!(
            r.net.probes[&(ip, port)],
            if silent { 2 } else { 1 },
            "{ip}:{port}"
        );
    }
    // Every host that answered for itself is up, once.
    assert_eq!(hosts_up(&r.events).len(), 60);
    assert_eq!(r.state.pending, Vec::<u64>::new());
    assert!(r.state.next_position >= 64 * PORTS.len() as u64);
    let done = r.stats.done.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(done, 64 * PORTS.len() as u64);
}

#[test]
fn open_ports_carry_the_rtt_from_the_echoed_timestamp() {
    let r = simulate(&Setup::new(12));
    let rtts: Vec<f64> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Port(p) if p.state == PortState::Open => p.rtt_ms,
            _ => None,
        })
        .collect();
    assert!(!rtts.is_empty());
    // SimNet's latency is 20 ms and the clock is exact: the RTT is exactly that.
    assert!(rtts.iter().all(|&ms| ms == 20.0), "{rtts:?}");
}

/// UDP through the same engine: answers, the host's port unreachables and routers' other
/// unreachables, silence as open|filtered, with duplicates, reordering and a storm of
/// answers to the wrong source ports.
#[test]
fn udp_states_are_exact_through_duplicates_jitter_and_forgeries() {
    let mut s = Setup::new(21);
    s.proto = Proto::Udp;
    s.faults = Faults {
        duplicate: 0.5,
        jitter: Duration::from_millis(200),
        forged_per_probe: 5,
        ..Faults::default()
    };
    let r = simulate(&s);
    assert_eq!(r.net.bad_probes, 0, "every datagram's checksums are right");
    let got = port_results(&r.events);
    for (ip, port) in all_targets(&PORTS) {
        let want = match script(ip, port) {
            Behaviour::Open => (PortState::Open, Reason::UdpResponse),
            Behaviour::Closed => (PortState::Closed, Reason::PortUnreach),
            Behaviour::Unreachable(_) => (PortState::Filtered, Reason::AdminProhibited),
            Behaviour::Silent => (PortState::OpenFiltered, Reason::NoResponse),
        };
        assert_eq!(got[&(IpAddr::V4(ip), port)], want, "{ip}:{port}");
    }
    assert!(r.counters.duplicates > 50, "{:?}", r.counters);
    // About half the forgeries land on another of our ports (the rest outside the range).
    let probes: u64 = r.net.probes.values().map(|&n| u64::from(n)).sum();
    assert!(r.counters.forged > probes, "{:?}", r.counters);
    for e in &r.events {
        if let Event::Port(p) = e {
            assert_eq!(p.proto, Proto::Udp);
        }
    }
}

/// Hosts that ration their ICMP errors as Linux does by default (1000 a second in all, bursts
/// of 50) against a scan of 40 mostly closed ports at 10,000 probes a second: most closed
/// ports look silent in the first pass, and one retry, paced to the rate the errors arrive
/// at, recovers every one.
#[test]
fn udp_retries_paced_to_rationed_icmp_find_every_closed_port() {
    let mut s = Setup::new(22);
    s.proto = Proto::Udp;
    s.ports = (1..=40).collect();
    s.faults.icmp_per_sec = 1000;
    s.opts.rate = Some(10_000);
    let r = simulate(&s);
    assert!(
        r.net.icmp_dropped > 1000,
        "the limit bit: {}",
        r.net.icmp_dropped
    );
    let got = port_results(&r.events);
    for (ip, port) in all_targets(&s.ports) {
        let want = match script(ip, port) {
            Behaviour::Open => PortState::Open,
            Behaviour::Closed => PortState::Closed,
            Behaviour::Unreachable(_) => PortState::Filtered,
            Behaviour::Silent => PortState::OpenFiltered,
        };
        assert_eq!(got[&(IpAddr::V4(ip), port)].0, want, "{ip}:{port}");
    }
}

#[test]
fn duplicates_retransmissions_and_reordering_change_nothing() {
    let mut s = Setup::new(13);
    s.faults = Faults {
        duplicate: 0.5,
        jitter: Duration::from_millis(200),
        synack_retransmits: 3,
        ..Faults::default()
    };
    let r = simulate(&s);
    let got = port_results(&r.events); // asserts nothing twice
    for (ip, port) in all_targets(&PORTS) {
        assert_eq!(got[&(IpAddr::V4(ip), port)].0, expected_state(ip, port));
    }
    assert!(r.counters.duplicates > 100, "{:?}", r.counters);
}

#[test]
fn a_storm_of_forged_replies_is_counted_and_never_reported() {
    let mut s = Setup::new(14);
    s.faults.forged_per_probe = 20;
    let r = simulate(&s);
    let got = port_results(&r.events);
    for (ip, port) in all_targets(&PORTS) {
        assert_eq!(got[&(IpAddr::V4(ip), port)].0, expected_state(ip, port));
    }
    let probes: u32 = r.net.probes.values().sum();
    assert_eq!(r.counters.forged, 20 * u64::from(probes));
}

#[test]
fn under_loss_exactly_the_targets_whose_replies_arrived_are_reported() {
    let mut s = Setup::new(15);
    s.faults.loss = 0.3;
    s.opts = options(2);
    let r = simulate(&s);
    let got = port_results(&r.events);
    let mut recovered_by_retry = 0;
    for (ip, port) in all_targets(&PORTS) {
        let reached = r.net.delivered.get(&(ip, port)).copied().unwrap_or(0) > 0;
        let probes = r.net.probes[&(ip, port)];
        let state = got[&(IpAddr::V4(ip), port)].0;
        if reached {
            assert_eq!(state, expected_state(ip, port), "{ip}:{port}");
            recovered_by_retry += u32::from(probes > 1);
        } else {
            assert_eq!(state, PortState::Filtered, "{ip}:{port} had no reply");
            assert_eq!(probes, 3, "silent targets get every retry");
        }
    }
    assert!(
        recovered_by_retry > 20,
        "retries recovered {recovered_by_retry}"
    );
}

#[test]
fn the_rate_holds_in_virtual_time_retries_included() {
    let mut s = Setup::new(16);
    s.opts.rate = Some(2_000);
    s.opts.retries = 2;
    let r = simulate(&s);
    let t = &r.net.send_times;
    // The first pass runs at the rate…
    let first = 64 * PORTS.len() - 1;
    let rate = first as f64 / (t[first] - t[0]).as_secs_f64();
    assert!((rate - 2_000.0).abs() < 2_000.0 * 0.02, "{rate}/s");
    // …and no 50 ms window anywhere, retries included, holds more than rate × 50 ms plus the
    // limiter's burst (2 ms of credit).
    let window = Duration::from_millis(50);
    let most = (0..t.len())
        .map(|i| t[i..].iter().take_while(|&&x| x < t[i] + window).count())
        .max()
        .unwrap();
    assert!(most <= 100 + 4, "{most} probes in one 50 ms window");
    assert!(t.len() > 64 * PORTS.len(), "retries were sent");
    // In flight never exceeds what rate × wait allows (plus one batch).
    assert!(r.max_in_flight <= 2_000 / 2 + 16, "{}", r.max_in_flight);
}

#[test]
fn an_echo_sweep_finds_exactly_the_hosts_that_answer() {
    let mut s = Setup::new(17);
    s.echo = true;
    s.ports = Vec::new();
    let r = simulate(&s);
    let up = hosts_up(&r.events);
    assert!(
        r.events
            .iter()
            .all(|e| !matches!(e, Event::Host(h) if h.reason != Reason::EchoReply))
    );
    let want: HashSet<IpAddr> = (0..60u8)
        .map(|h| IpAddr::V4(Ipv4Addr::new(198, 18, 0, h)))
        .collect();
    assert_eq!(up, want);
    assert_eq!(r.events.len(), 60, "no port events in a sweep");
    assert_eq!(r.net.bad_probes, 0);
}

#[test]
fn pings_alongside_ports_bring_up_hosts_whose_ports_are_all_silent() {
    let mut s = Setup::new(18);
    s.echo = true;
    s.ports = vec![3389]; // silent everywhere
    s.faults.forged_per_probe = 3;
    let r = simulate(&s);
    let up: HashSet<IpAddr> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Host(h) => Some(h.ip),
            _ => None,
        })
        .collect();
    assert_eq!(
        up.len(),
        60,
        "every host that answers pings, though no port answered"
    );
    let got = port_results(&r.events);
    assert_eq!(
        got.len(),
        64,
        "one (filtered) result per port target, none for the pings"
    );
    assert!(got.values().all(|(s, _)| *s == PortState::Filtered));
    assert_eq!(r.net.bad_probes, 0);
}

/// Events that describe targets, keyed for comparison across runs (times aside).
fn outcome(events: &[Event]) -> HashMap<(IpAddr, u16), PortState> {
    port_results(events)
        .into_iter()
        .map(|(k, (s, _))| (k, s))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(24)))]

    /// A checkpoint taken at any moment of an uninterrupted run (then a kill -9): the events
    /// sent before it plus a run resumed from it give one run's results, none twice.
    #[test]
    fn a_snapshot_anywhere_plus_its_resume_equals_one_run(at_ms in 0u64..400, seed in 0u64..1000) {
        let mut first = Setup::new(seed);
        first.snapshot_at = Some(Duration::from_millis(at_ms));
        let a = simulate(&first);
        let whole = outcome(&a.events);
        // A run over before the snapshot time has nothing to test.
        prop_assume!(a.snapshot.is_some());
        let Some((state, sent)) = a.snapshot.clone() else { unreachable!() };
        let mut second = Setup::new(seed);
        second.resume = Some(state);
        let b = simulate(&second);
        let mut joined = outcome(&a.events[..sent]);
        for (k, v) in outcome(&b.events) {
            prop_assert!(joined.insert(k, v).is_none(), "{k:?} reported before the snapshot and after");
        }
        prop_assert_eq!(joined, whole);
    }

    /// Stopped anywhere (gracefully or not) and resumed from the saved point, the two runs
    /// together give what one uninterrupted run gives, with nothing reported twice.
    #[test]
    fn stop_anywhere_and_resume_equals_one_run(stop_ms in 0u64..900, abort: bool, seed in 0u64..1000) {
        let whole = outcome(&simulate(&Setup::new(seed)).events);
        let mut first = Setup::new(seed);
        let level = if abort { StopLevel::Abort } else { StopLevel::Graceful };
        first.stop_at = Some((Duration::from_millis(stop_ms), level));
        let a = simulate(&first);
        let mut second = Setup::new(seed);
        second.resume = Some(a.state.clone());
        let b = simulate(&second);
        let mut joined = outcome(&a.events);
        for (k, v) in outcome(&b.events) {
            // An abort may leave a target half-done (answered but not yet finished); the
            // resumed run may then report it again, with the same state.
            if let Some(prev) = joined.insert(k, v) {
                prop_assert!(abort, "{k:?} reported in both runs after a graceful stop");
                prop_assert_eq!(prev, v);
            }
        }
        prop_assert_eq!(joined, whole);
    }
}

/// The open ports and hosts up a scan of `script` must report, over `space`.
fn opens(events: &[Event]) -> HashSet<(IpAddr, u16)> {
    port_results(events)
        .into_iter()
        .filter(|(_, (s, _))| *s == PortState::Open)
        .map(|(k, _)| k)
        .collect()
}

/// A slow output: a channel of 64 events read at 1,000 events a second. The sender is held back (the first pass takes several times as long), the
/// capture thread's overflow stays within the answers of the probes in flight, and the
/// results are exactly those of a run with a fast output: nothing is lost or repeated.
#[test]
fn a_slow_output_holds_the_sender_back_and_loses_nothing() {
    let mut fast = Setup::new(31);
    fast.listing = Listing::default();
    let quick = simulate(&fast);
    let mut slow = Setup::new(31);
    slow.listing = Listing::default();
    slow.slow_output = Some((64, 1000));
    let r = simulate(&slow);
    let want: HashSet<(IpAddr, u16)> = all_targets(&PORTS)
        .into_iter()
        .filter(|&(ip, port)| expected_state(ip, port) == PortState::Open)
        .map(|(ip, port)| (IpAddr::V4(ip), port))
        .collect();
    assert_eq!(opens(&r.events), want);
    assert_eq!(opens(&quick.events), want);
    assert_eq!(hosts_up(&r.events), hosts_up(&quick.events));
    assert_eq!(hosts_up(&r.events).len(), 60);
    assert_eq!(r.state.pending, Vec::<u64>::new());
    // Held, and for a while: the first pass (384 probes) took several times as long.
    assert!(r.holds > 0 && quick.holds == 0, "{} holds", r.holds);
    let first_pass = |run: &Run| run.net.send_times[64 * PORTS.len() - 1];
    assert!(
        first_pass(&r) > first_pass(&quick) * 3,
        "{:?} against {:?}",
        first_pass(&r),
        first_pass(&quick)
    );
    assert!(r.stats.held_ns.load(std::sync::atomic::Ordering::Relaxed) > 0);
    // The overflow was used, and held at most the answers (a host and a port event each) of
    // the probes out when the hold began: rate × RTT (10,000/s × 20 ms) plus a batch.
    assert!(r.overflow_peak > 0, "the channel never overflowed");
    assert!(r.overflow_peak <= 2 * (200 + 16), "{}", r.overflow_peak);
}

/// A /28 × ports 1–400 where one host (.5) answers SYN-ACK on every port, as a SYN proxy
/// does, and the others have a few open ports each.
fn proxy_script(ip: Ipv4Addr, port: u16) -> Behaviour {
    let host = u16::from(ip.octets()[3]);
    match host {
        5 => Behaviour::Open,
        _ if (host * 7 + port).is_multiple_of(50) => Behaviour::Open,
        _ => Behaviour::Closed,
    }
}

#[test]
fn a_host_answering_every_port_gets_a_sample_and_one_record_and_the_others_stay_exact() {
    let ports: Vec<u16> = (1..=400).collect();
    let net = "198.18.0.0/28".parse().unwrap();
    let space = TargetSpace::new(
        RangeSet::from_ranges(vec![IpRange::from_net(net)]),
        PortList::new(ports.clone()),
    )
    .unwrap();
    let mut s = Setup::new(41);
    s.listing = Listing::default();
    s.ports = ports.clone();
    s.all_open_threshold = 100;
    let r = simulate_on(&s, space.clone(), proxy_script);
    let proxy = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 5));
    let got = opens(&r.events);
    assert_eq!(got.iter().filter(|(ip, _)| *ip == proxy).count(), 100);
    let records: Vec<_> = r
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::AnswersAll(a) => Some((i, a)),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 1, "one record");
    let (at, a) = records[0];
    assert_eq!((a.ip, a.listed), (proxy, 100));
    // The estimate of its ports probed by then: its share of the walk, less the probes out.
    assert!((60..=200).contains(&a.probed), "probed {}", a.probed);
    // Nothing of it after its record: the banner stage would queue no grab beyond the sample.
    assert!(
        !r.events[at..]
            .iter()
            .any(|e| matches!(e, Event::Port(p) if p.ip == proxy)),
        "an open port of the proxy after its record"
    );
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    assert_eq!(r.stats.answers_all_open.load(relaxed), 300);
    assert_eq!(r.stats.answers_all_hosts.load(relaxed), 1);
    // Every other host exact.
    let want: HashSet<(IpAddr, u16)> = (0..space.size())
        .map(|j| space.target(j))
        .filter(|t| t.ip() != proxy)
        .filter(|t| match t.ip() {
            IpAddr::V4(ip) => proxy_script(ip, t.port()) == Behaviour::Open,
            IpAddr::V6(_) => false,
        })
        .map(|t| (t.ip(), t.port()))
        .collect();
    let others: HashSet<(IpAddr, u16)> = got.into_iter().filter(|(ip, _)| *ip != proxy).collect();
    assert_eq!(others, want);
    assert_eq!(hosts_up(&r.events).len(), 16);
}
