//! One reporter for every engine: answers become events here and nowhere else — the RTT in
//! milliseconds, the service name, the forward name the user gave, the rule for when a host is
//! up, and which states are reported at all (`--show-closed`).

use crate::event::{
    Event, HostResult, Listing, PortResult, PortState, Proto, Reason, Stats, unix_now,
};
use crate::ports::services::service_name;
use std::collections::{HashMap, HashSet};
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
}

/// The hosts one thread has reported up: each is reported once.
#[derive(Debug, Default)]
pub struct HostsUp(HashSet<IpAddr>);

/// A port's final answer, as an engine learned it.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub ip: IpAddr,
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
            events,
            listing,
        }
    }

    /// Whether a port in `state` becomes an event. Engines ask before building anything for a
    /// state that is only counted: at 200k closed ports a second that is CPU the probes need.
    pub fn reports(&self, state: PortState) -> bool {
        self.listing.sends(state)
    }

    /// A port's final state: counted, reported if asked for, and its host reported up when the
    /// host answered for itself (a handshake or a refusal; not a router's unreachable).
    pub fn answer(&self, hosts_up: &mut HostsUp, a: Answer) {
        if !self.listing.hosts_only {
            self.stats.count_state(a.state);
        }
        if matches!(a.state, PortState::Open | PortState::Closed) {
            self.host_up(hosts_up, a.ip, a.reason, a.rtt, a.ttl);
        }
        if self.reports(a.state) {
            self.emit(Event::Port(PortResult {
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
            }));
        }
    }

    /// A port that stayed silent, counted and reported by a thread that reports no hosts.
    pub fn silent(&self, ip: IpAddr, port: u16, proto: Proto) {
        self.answer(
            &mut HostsUp::default(),
            Answer {
                ip,
                port,
                proto,
                state: silent_state(proto),
                reason: Reason::NoResponse,
                rtt: None,
                ttl: None,
            },
        );
    }

    /// A host that answered; reported the first time only. Returns whether it was new.
    pub fn host_up(
        &self,
        hosts_up: &mut HostsUp,
        ip: IpAddr,
        reason: Reason,
        rtt: Option<Duration>,
        ttl: Option<u8>,
    ) -> bool {
        if !hosts_up.0.insert(ip) {
            return false;
        }
        self.stats.hosts_up.fetch_add(1, Relaxed);
        self.emit(Event::Host(HostResult {
            ip,
            state: "up".into(),
            reason,
            rtt_ms: rtt_ms(rtt),
            ts: unix_now(),
            hostname: self.names.get(&ip).cloned(),
            ttl,
        }));
        true
    }

    /// Hands an event to the output side. If it has gone (the process is ending), the event
    /// has nowhere to go, and dropping it is all that is left to do.
    /// The engine's resume point, sent down the stream after every answer it counts as done.
    pub fn checkpoint(&self, state: crate::cursor::CursorState) {
        self.emit(Event::Checkpoint(Box::new(state)));
    }

    pub fn emit(&self, e: Event) {
        let _ = self.events.send(e);
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

    fn reporter(listing: Listing) -> (Reporter, crossbeam_channel::Receiver<Event>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let names = Arc::new(HashMap::from([(
            "198.18.0.1".parse().unwrap(),
            "lab.example".to_string(),
        )]));
        let r = Reporter::new(names, Arc::new(Stats::default()), tx, listing);
        (r, rx)
    }

    fn answer(state: PortState, reason: Reason) -> Answer {
        Answer {
            ip: "198.18.0.1".parse().unwrap(),
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
        let mut up = HostsUp::default();
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
        let mut up = HostsUp::default();
        r.answer(&mut up, answer(PortState::Open, Reason::SynAck));
        r.answer(&mut up, answer(PortState::Closed, Reason::ConnRefused));
        let got: Vec<Event> = rx.try_iter().collect();
        assert!(matches!(&got[..], [Event::Host(_)]), "{got:?}");
        assert_eq!(r.stats.open.load(Relaxed), 0, "a sweep counts no ports");
    }
}
