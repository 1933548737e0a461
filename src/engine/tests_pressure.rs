//! The connect engine under backpressure and beside a host that answers every port, on
//! tokio's paused clock: a scripted network, and an output read at a fixed pace.

use super::EngineContext;
use super::connect::{ConnectOptions, run};
use super::connector::{Attempt, Connector};
use super::report::{Reporter, SHOW_ALL};
use crate::cursor::{Cursor, Shard};
use crate::event::{Event, Listing, PortState, Reason, Stats};
use crate::ports::PortList;
use crate::space::TargetSpace;
use crate::stop::StopSignal;
use crate::targets::range::{IpRange, RangeSet};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Host .5 answers on every port; the others on ports that are multiples of 3.
struct Scripted;

impl Connector for Scripted {
    async fn attempt(&self, target: SocketAddr, _timeout: Duration) -> Attempt {
        let rtt = Duration::from_millis(2);
        tokio::time::sleep(rtt).await;
        let IpAddr::V4(ip) = target.ip() else {
            return Attempt::Silent;
        };
        if ip.octets()[3] == 5 || target.port().is_multiple_of(3) {
            Attempt::Open { rtt }
        } else {
            Attempt::Closed {
                reason: Reason::ConnRefused,
                rtt,
            }
        }
    }
}

struct Scan {
    events: Vec<Event>,
    stats: Arc<Stats>,
    elapsed: Duration,
    holds: u64,
    overflow_peak: usize,
}

/// A scan of a /29 × `ports`; with `slow`, a channel of that capacity read at 2,000 events
/// a second by a task beside the engine's.
fn scan(ports: Vec<u16>, listing: Listing, threshold: u32, slow: Option<usize>) -> Scan {
    let set = RangeSet::from_ranges(vec![IpRange::from_net("198.18.0.0/29".parse().unwrap())]);
    let space = TargetSpace::new(set, PortList::new(ports)).unwrap();
    let (tx, rx) = match slow {
        Some(capacity) => crossbeam_channel::bounded(capacity),
        None => crossbeam_channel::unbounded(),
    };
    let stats = Arc::new(Stats::default());
    let report = Reporter::new(Arc::default(), stats.clone(), tx, listing)
        .with_all_open_threshold(threshold);
    let ctx = EngineContext {
        space: space.clone(),
        report,
        stats: stats.clone(),
        stop: StopSignal::default(),
        checkpoint_every: None,
    };
    let opts = ConnectOptions {
        timeout: Duration::from_millis(500),
        retries: 1,
        max_inflight: 64,
        per_host: 64,
        rate: None,
        host_timeout: None,
        adaptive: false,
        max_host_rate: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let read = Arc::new(Mutex::new(Vec::new()));
    let elapsed = rt.block_on(async {
        let reader = slow.map(|_| {
            let (rx, read) = (rx.clone(), read.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    read.lock().unwrap().extend(rx.try_iter().take(2));
                }
            })
        });
        let start = tokio::time::Instant::now();
        let cursor = Cursor::new(space.size(), 7, Shard::WHOLE, None);
        run(Arc::new(Scripted), cursor, &ctx, &opts).await;
        let took = start.elapsed();
        if let Some(r) = reader {
            r.abort();
        }
        took
    });
    let (holds, overflow_peak) = (
        ctx.report.pressure().holds(),
        ctx.report.pressure().overflow_peak(),
    );
    drop(ctx);
    let mut events = std::mem::take(&mut *read.lock().unwrap());
    events.extend(rx.try_iter());
    Scan {
        events,
        stats,
        elapsed,
        holds,
        overflow_peak,
    }
}

fn ports_of(events: &[Event]) -> BTreeMap<(IpAddr, u16), PortState> {
    let mut out = BTreeMap::new();
    for e in events {
        if let Event::Port(p) = e {
            assert!(out.insert((p.ip, p.port), p.state).is_none(), "{p:?} twice");
        }
    }
    out
}

#[test]
fn a_slow_output_holds_the_connect_engine_and_loses_nothing() {
    let ports: Vec<u16> = (1..=60).collect();
    let fast = scan(ports.clone(), SHOW_ALL, 0, None);
    let slow = scan(ports, SHOW_ALL, 0, Some(16));
    let got = ports_of(&slow.events);
    assert_eq!(got.len(), 8 * 60);
    assert_eq!(got, ports_of(&fast.events));
    for ((ip, port), state) in &got {
        let open = ip.to_string() == "198.18.0.5" || port.is_multiple_of(3);
        assert_eq!(*state == PortState::Open, open, "{ip}:{port}");
    }
    let hosts = |s: &Scan| {
        s.events
            .iter()
            .filter(|e| matches!(e, Event::Host(_)))
            .count()
    };
    assert_eq!((hosts(&slow), hosts(&fast)), (8, 8));
    assert!(slow.holds > 0 && fast.holds == 0, "{} holds", slow.holds);
    assert!(slow.stats.held_ns.load(Relaxed) > 0);
    // 488 events at 2,000 a second take about a quarter of a second; unheld, 16 ms.
    assert!(
        slow.elapsed > fast.elapsed * 5,
        "{:?} against {:?}",
        slow.elapsed,
        fast.elapsed
    );
    // What waited in the engine's outbox: at most the answers of the attempts out when the
    // hold began (64 at once, a host and a port event each).
    assert!(slow.overflow_peak <= 2 * 64, "{}", slow.overflow_peak);
}

#[test]
fn the_connect_engine_lists_a_sample_of_a_host_that_answers_every_port() {
    let s = scan((1..=150).collect(), Listing::default(), 100, None);
    let got = ports_of(&s.events);
    let proxy = |ip: &IpAddr| ip.to_string() == "198.18.0.5";
    assert_eq!(got.keys().filter(|(ip, _)| proxy(ip)).count(), 100);
    let others = got.keys().filter(|(ip, _)| !proxy(ip)).count();
    assert_eq!(others, 7 * 50, "every other host exact");
    let records: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::AnswersAll(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 1);
    assert!(proxy(&records[0].ip) && records[0].listed == 100);
    assert_eq!(s.stats.answers_all_open.load(Relaxed), 50);
    // The rule's second half: other hosts have a third of their ports open, so even with a
    // threshold they could reach, they are never taken for such a host.
    let s = scan((1..=150).collect(), Listing::default(), 40, None);
    let records = s
        .events
        .iter()
        .filter(|e| matches!(e, Event::AnswersAll(a) if !proxy(&a.ip)))
        .count();
    assert_eq!(records, 0);
}
