//! One reporter for every engine: answers become events here and nowhere else — the RTT in
//! milliseconds, the service name, the forward name the user gave, the rule for when a host is
//! up, which states are reported at all (`--show-closed`), and hosts that answer everything
//! (`answers_all`). Threads that receive answers report through their own `LocalReport`, which
//! never blocks (see `pressure`).

use super::answers_all::{AnswersAllHosts, OpenCounts, Seen};
use super::hosts_up::HostsUp;
use super::pressure::{Outbox, Pressure, high_water};
use crate::event::{
    AnswersAllResult, Event, HostResult, Listing, PortResult, PortState, Proto, Reason, Stats,
    unix_now,
};
use crate::ports::services::service_name;
use crate::space::TargetSpace;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Everything reported: what the engines' tests look at.
pub const SHOW_ALL: Listing = Listing {
    show_closed: true,
    count_unlisted: false,
    hosts_only: false,
};

#[derive(Clone)]
pub struct Reporter {
    /// Forward names of host-name targets.
    names: Arc<HashMap<IpAddr, String>>,
    stats: Arc<Stats>,
    events: crossbeam_channel::Sender<Event>,
    listing: Listing,
    /// Held back at this many events in the channel (None: an unbounded channel).
    high_water: Option<usize>,
    pressure: Arc<Pressure>,
    /// `--all-open-threshold` (0: off).
    all_open_threshold: u32,
    answers_all: Arc<AnswersAllHosts>,
}

/// What one reporting thread keeps between answers: the hosts it reported up, its open ports
/// per host (for hosts that answer everything), and the events that did not fit the channel.
#[derive(Debug)]
pub struct LocalReport {
    hosts_up: HostsUp,
    open: OpenCounts,
    outbox: Outbox,
    /// About how many ports of each host could have answered by now: the engine's estimate
    /// (see `answers_all`), kept current by the engine.
    pub probed_per_host: u64,
}

/// A port's final answer, as an engine learned it.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub ip: IpAddr,
    /// The host's index in the target space (index mod hosts).
    pub host: u64,
    pub port: u16,
    pub proto: Proto,
    pub state: PortState,
    pub reason: Reason,
    pub rtt: Option<Duration>,
    /// The IP TTL of the answer, where the engine saw it (raw packets).
    pub ttl: Option<u8>,
}

impl Reporter {
    pub fn new(
        names: Arc<HashMap<IpAddr, String>>,
        stats: Arc<Stats>,
        events: crossbeam_channel::Sender<Event>,
        listing: Listing,
    ) -> Reporter {
        Reporter {
            names,
            stats,
            high_water: events.capacity().map(high_water),
            events,
            listing,
            pressure: Arc::default(),
            all_open_threshold: 0,
            answers_all: Arc::default(),
        }
    }

    /// Recognises hosts that answer everything at `threshold` open ports (0: never).
    pub fn with_all_open_threshold(mut self, threshold: u32) -> Reporter {
        self.all_open_threshold = threshold;
        self
    }

    /// A reporting thread's own state, for a scan of `space`.
    pub fn local(&self, space: &TargetSpace) -> LocalReport {
        let ports = if self.listing.hosts_only {
            0 // a sweep reports no ports, so no host answers "every port"
        } else {
            space.ports().len()
        };
        LocalReport {
            hosts_up: HostsUp::new(space.hosts()),
            open: OpenCounts::new(self.all_open_threshold, space.hosts(), ports),
            outbox: Outbox::default(),
            probed_per_host: 0,
        }
    }

    /// Whether a port in `state` becomes an event. Engines ask before building anything for a
    /// state that is only counted: at 200k closed ports a second that is CPU the probes need.
    pub fn reports(&self, state: PortState) -> bool {
        self.listing.sends(state)
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn pressure(&self) -> &Pressure {
        &self.pressure
    }

    /// The hosts recognised as answering everything (a cheap, thread-safe query by host
    /// index).
    pub fn answers_all(&self) -> &AnswersAllHosts {
        &self.answers_all
    }

    /// Whether engines must start nothing new: the channel is above its high-water mark or
    /// events wait in a reporting thread's outbox. Read once per batch.
    pub fn held(&self) -> bool {
        self.pressure.overflow() > 0 || self.high_water.is_some_and(|h| self.events.len() >= h)
    }

    /// A port's final state: counted, reported if asked for, and its host reported up when the
    /// host answered for itself (a handshake or a refusal; not a router's unreachable).
    pub fn answer(&self, local: &mut LocalReport, a: Answer) {
        if matches!(a.state, PortState::Open | PortState::Closed) {
            self.host_up(local, a.host, a.ip, a.reason, a.rtt, a.ttl);
        }
        let seen = match a.state {
            PortState::Open if !self.listing.hosts_only => local.open.open_port(
                &self.answers_all,
                self.all_open_threshold,
                a.host,
                local.probed_per_host,
            ),
            _ => Seen::Listed,
        };
        if seen == Seen::Suppressed {
            self.stats.answers_all_open.fetch_add(1, Relaxed);
            return;
        }
        if !self.listing.hosts_only {
            self.stats.count_state(a.state);
        }
        if self.reports(a.state) {
            let e = Event::Port(self.port_result(&a));
            self.push(local, e);
        }
        if let Seen::Recognised { listed } = seen {
            self.stats.answers_all_hosts.fetch_add(1, Relaxed);
            let e = Event::AnswersAll(AnswersAllResult {
                ip: a.ip,
                proto: a.proto,
                listed,
                probed: local.probed_per_host,
                ts: unix_now(),
            });
            self.push(local, e);
        }
    }

    fn port_result(&self, a: &Answer) -> PortResult {
        PortResult {
            ip: a.ip,
            port: a.port,
            proto: a.proto,
            state: a.state,
            reason: a.reason,
            service: service_name(a.port, a.proto).to_string(),
            rtt_ms: rtt_ms(a.rtt),
            ts: unix_now(),
            hostname: self.names.get(&a.ip).cloned(),
            ttl: a.ttl,
        }
    }

    /// A port that stayed silent, counted and reported, from a thread that receives no
    /// answers (the raw sender): it may block on a full channel, which only slows sending.
    pub fn silent(&self, ip: IpAddr, port: u16, proto: Proto) {
        let state = silent_state(proto);
        if !self.listing.hosts_only {
            self.stats.count_state(state);
        }
        if self.reports(state) {
            let a = Answer {
                ip,
                host: 0,
                port,
                proto,
                state,
                reason: Reason::NoResponse,
                rtt: None,
                ttl: None,
            };
            let _ = self.events.send(Event::Port(self.port_result(&a)));
        }
    }

    /// A host that answered; reported the first time only. Returns whether it was new.
    pub fn host_up(
        &self,
        local: &mut LocalReport,
        host: u64,
        ip: IpAddr,
        reason: Reason,
        rtt: Option<Duration>,
        ttl: Option<u8>,
    ) -> bool {
        if !local.hosts_up.insert(host) {
            return false;
        }
        self.stats.hosts_up.fetch_add(1, Relaxed);
        let e = Event::Host(HostResult {
            ip,
            state: "up".into(),
            reason,
            rtt_ms: rtt_ms(rtt),
            ts: unix_now(),
            hostname: self.names.get(&ip).cloned(),
            ttl,
        });
        self.push(local, e);
        true
    }

    /// The engine's resume point, sent down the stream after every answer it counts as done
    /// (through the same outbox, so after them).
    pub fn checkpoint(&self, local: &mut LocalReport, state: crate::cursor::CursorState) {
        self.push(local, Event::Checkpoint(Box::new(state)));
    }

    /// Hands an event to the output side without blocking. If the output side has gone (the
    /// process is ending), the event has nowhere to go, and dropping it is all that is left.
    pub fn push(&self, local: &mut LocalReport, e: Event) {
        local.outbox.push(&self.events, &self.pressure, e);
    }

    /// Moves what waits in `local`'s outbox into the channel, as far as it has room; true
    /// when nothing waits any more. Reporting threads call it on every pass.
    pub fn flush(&self, local: &mut LocalReport) -> bool {
        local.outbox.flush(&self.events, &self.pressure)
    }

    /// Sends everything still waiting, blocking: for a thread that receives nothing more.
    pub fn flush_blocking(&self, local: &mut LocalReport) {
        local.outbox.flush_blocking(&self.events, &self.pressure);
    }
}

impl LocalReport {
    /// Events waiting for room in the channel.
    pub fn waiting(&self) -> usize {
        self.outbox.len()
    }

    /// Hosts with open ports counted (for hosts that answer everything).
    pub fn counted_hosts(&self) -> usize {
        self.open.len()
    }
}

/// Silence from TCP means a filter; from UDP it may as well be a service that ignored a probe
/// it did not understand.
pub fn silent_state(proto: Proto) -> PortState {
    match proto {
        Proto::Tcp => PortState::Filtered,
        Proto::Udp => PortState::OpenFiltered,
    }
}

/// Milliseconds with microsecond precision: what every output prints.
fn rtt_ms(rtt: Option<Duration>) -> Option<f64> {
    rtt.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortList;
    use crate::targets::range::{IpRange, RangeSet};

    fn reporter(listing: Listing) -> (Reporter, crossbeam_channel::Receiver<Event>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let names = Arc::new(HashMap::from([(
            "198.18.0.1".parse().unwrap(),
            "lab.example".to_string(),
        )]));
        let r = Reporter::new(names, Arc::new(Stats::default()), tx, listing);
        (r, rx)
    }

    fn space(ports: Vec<u16>) -> TargetSpace {
        let set = RangeSet::from_ranges(vec![IpRange::from_net("198.18.0.0/30".parse().unwrap())]);
        TargetSpace::new(set, PortList::new(ports)).unwrap()
    }

    fn answer(state: PortState, reason: Reason) -> Answer {
        Answer {
            ip: "198.18.0.1".parse().unwrap(),
            host: 1,
            port: 22,
            proto: Proto::Tcp,
            state,
            reason,
            rtt: Some(Duration::from_micros(1500)),
            ttl: Some(63),
        }
    }

    #[test]
    fn closed_ports_count_and_bring_their_host_up_but_are_shown_only_when_asked() {
        let (r, rx) = reporter(Listing::default());
        let mut up = r.local(&space(vec![22]));
        r.answer(&mut up, answer(PortState::Closed, Reason::Reset));
        r.answer(&mut up, answer(PortState::Open, Reason::SynAck));
        r.answer(
            &mut up,
            answer(PortState::Filtered, Reason::AdminProhibited),
        );
        let got: Vec<Event> = rx.try_iter().collect();
        assert_eq!(got.len(), 2, "{got:?}");
        let Event::Host(h) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!((h.reason, h.rtt_ms), (Reason::Reset, Some(1.5)));
        let Event::Port(p) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!((p.state, p.service.as_str()), (PortState::Open, "ssh"));
        assert_eq!(p.hostname.as_deref(), Some("lab.example"));
        assert_eq!(r.stats.closed.load(Relaxed), 1);
        assert_eq!(r.stats.filtered.load(Relaxed), 1);
        assert_eq!(r.stats.hosts_up.load(Relaxed), 1);
    }

    #[test]
    fn show_closed_reports_every_state_and_a_sweep_only_hosts() {
        let (r, rx) = reporter(SHOW_ALL);
        r.silent("198.18.0.2".parse().unwrap(), 53, Proto::Udp);
        let got: Vec<Event> = rx.try_iter().collect();
        assert!(
            matches!(&got[..], [Event::Port(p)] if p.state == PortState::OpenFiltered),
            "{got:?}"
        );
        let (r, rx) = reporter(Listing {
            hosts_only: true,
            ..SHOW_ALL
        });
        let mut up = r.local(&space(vec![22]));
        r.answer(&mut up, answer(PortState::Open, Reason::SynAck));
        r.answer(&mut up, answer(PortState::Closed, Reason::ConnRefused));
        let got: Vec<Event> = rx.try_iter().collect();
        assert!(matches!(&got[..], [Event::Host(_)]), "{got:?}");
        assert_eq!(r.stats.open.load(Relaxed), 0, "a sweep counts no ports");
    }

    /// A host whose every probed port is open: its first `threshold` open ports are listed,
    /// then one AnswersAll; the rest are counted, not sent. Another host's ports are untouched.
    #[test]
    fn a_host_that_answers_everything_is_listed_up_to_the_threshold_then_counted() {
        let (r, rx) = reporter(Listing::default());
        let r = r.with_all_open_threshold(5);
        let mut local = r.local(&space((1..=20).collect()));
        for port in 1..=20 {
            local.probed_per_host = u64::from(port);
            let mut a = answer(PortState::Open, Reason::SynAck);
            a.port = port;
            r.answer(&mut local, a);
            let mut other = a;
            other.ip = "198.18.0.2".parse().unwrap();
            other.host = 2;
            if port % 4 == 0 {
                r.answer(&mut local, other);
            }
        }
        let got: Vec<Event> = rx.try_iter().collect();
        let ports_of = |ip: &str| {
            got.iter()
                .filter(|e| matches!(e, Event::Port(p) if p.ip.to_string() == ip))
                .count()
        };
        assert_eq!(ports_of("198.18.0.1"), 5);
        assert_eq!(ports_of("198.18.0.2"), 5);
        let all: Vec<&AnswersAllResult> = got
            .iter()
            .filter_map(|e| match e {
                Event::AnswersAll(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(all.len(), 1, "{got:?}");
        assert_eq!((all[0].listed, all[0].probed), (5, 5));
        assert_eq!(r.stats.answers_all_open.load(Relaxed), 15);
        assert_eq!(r.stats.open.load(Relaxed), 10, "only the listed ones");
        assert!(r.answers_all().contains(1) && !r.answers_all().contains(2));
        assert_eq!(r.stats.hosts_up.load(Relaxed), 2);
    }

    /// With a bounded channel nothing blocks: what does not fit waits, in order, behind the
    /// events already waiting, and the reporter says the engine is held meanwhile.
    #[test]
    fn a_full_channel_holds_the_engine_and_loses_nothing() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        let r = Reporter::new(Arc::default(), Arc::new(Stats::default()), tx, SHOW_ALL);
        let mut local = r.local(&space(vec![22, 80]));
        assert!(!r.held());
        for host in 0..4u64 {
            let mut a = answer(PortState::Closed, Reason::Reset);
            a.host = host;
            a.ip = IpAddr::from([198, 18, 0, host as u8]);
            r.answer(&mut local, a); // a host and a port event each
        }
        r.checkpoint(&mut local, crate::cursor::CursorState::default());
        assert!(r.held());
        assert_eq!(local.waiting(), 5);
        let mut got = Vec::new();
        while !r.flush(&mut local) {
            got.extend(rx.try_iter().take(1));
        }
        got.extend(rx.try_iter());
        assert!(!r.held());
        assert_eq!(got.len(), 9);
        assert!(
            matches!(got.last(), Some(Event::Checkpoint(_))),
            "last, as sent"
        );
        assert_eq!(r.pressure().overflow_peak(), 5);
    }
}
