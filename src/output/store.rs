//! A host's results as the documents render them (`HostEntry`: the first of each result
//! kept, ports in order), rebuilt one host at a time from the results log at the end
//! (`spill::hosts`); the unlisted ports' counts; and `ResultStore`, every result in memory,
//! which tests and fixtures render from.

use crate::event::{
    AnswersAllResult, BannerResult, Event, HostResult, NameResult, PortResult, PortState, Proto,
    Reason, ServiceResult,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Default, Clone)]
pub struct HostEntry {
    pub up: Option<HostResult>,
    pub ports: PortMap,
    /// The name reverse DNS gave.
    pub ptr: Option<NameResult>,
    /// What open ports said (`--banners`), one per port.
    pub banners: Vec<BannerResult>,
    /// What nmap found on open ports (`--nmap`), one per port.
    pub services: Vec<ServiceResult>,
    /// Set when the host answers every port (its other ports are not listed).
    pub answers_all: Option<AnswersAllResult>,
}

impl HostEntry {
    /// The name to show: the one the user gave, else reverse DNS's.
    pub fn name(&self) -> Option<&str> {
        self.up
            .as_ref()
            .and_then(|h| h.hostname.as_deref())
            .or_else(|| self.ports.values().find_map(|p| p.hostname.as_deref()))
            .or(self.ptr.as_ref().map(|n| n.ptr.as_str()))
    }
}

/// A host's ports in (protocol, port) order. Most hosts have a handful: a B-tree allocates
/// nodes of eleven slots, which for a /16 × 5 sweep tripled the scan's memory, so small maps
/// are a sorted vector and only a host with many ports gets a tree.
#[derive(Debug, Clone)]
pub enum PortMap {
    Small(Vec<PortResult>),
    Large(BTreeMap<(Proto, u16), PortResult>),
}

/// Beyond this many ports a host's map becomes a tree (inserting in a vector is O(n)).
const SMALL: usize = 32;

impl Default for PortMap {
    fn default() -> Self {
        PortMap::Small(Vec::new())
    }
}

impl PortMap {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            PortMap::Small(v) => v.len(),
            PortMap::Large(m) => m.len(),
        }
    }

    pub fn contains(&self, proto: Proto, port: u16) -> bool {
        match self {
            PortMap::Small(v) => v.iter().any(|p| (p.proto, p.port) == (proto, port)),
            PortMap::Large(m) => m.contains_key(&(proto, port)),
        }
    }

    /// Inserts or replaces; true if the key was new.
    pub fn insert(&mut self, p: PortResult) -> bool {
        let key = (p.proto, p.port);
        match self {
            PortMap::Small(v) => match v.binary_search_by_key(&key, |q| (q.proto, q.port)) {
                Ok(i) => {
                    v[i] = p;
                    false
                }
                Err(i) if v.len() < SMALL => {
                    v.insert(i, p);
                    true
                }
                Err(_) => {
                    let mut m: BTreeMap<(Proto, u16), PortResult> =
                        v.drain(..).map(|q| ((q.proto, q.port), q)).collect();
                    m.insert(key, p);
                    *self = PortMap::Large(m);
                    true
                }
            },
            PortMap::Large(m) => m.insert(key, p).is_none(),
        }
    }

    /// In (protocol, port) order.
    pub fn values(&self) -> Box<dyn Iterator<Item = &PortResult> + '_> {
        match self {
            PortMap::Small(v) => Box::new(v.iter()),
            PortMap::Large(m) => Box::new(m.values()),
        }
    }
}

impl HostEntry {
    /// Records an event of this host; false (and nothing changed) if it repeats one held:
    /// the first of each stays.
    pub fn add(&mut self, e: Event) -> bool {
        match e {
            Event::Host(h) => {
                let new = self.up.is_none();
                self.up.get_or_insert(h);
                new
            }
            Event::Port(p) => !self.ports.contains(p.proto, p.port) && self.ports.insert(p),
            Event::Name(n) => {
                let new = self.ptr.is_none();
                self.ptr.get_or_insert(n);
                new
            }
            Event::Banner(b) => {
                let new = self.banner(b.proto, b.port).is_none();
                if new {
                    self.banners.push(*b);
                }
                new
            }
            Event::Checkpoint(_) => false,
            Event::AnswersAll(a) => {
                let new = self.answers_all.is_none();
                self.answers_all.get_or_insert(a);
                new
            }
            Event::Service(s) => {
                let new = self.service(s.proto, s.port).is_none();
                if new {
                    self.services.push(*s);
                }
                new
            }
        }
    }

    /// Every event held, in the order documents list them: the host's record, its name, its
    /// ports, banners, nmap's services, and whether it answers everything.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        let h = self;
        h.up.iter()
            .cloned()
            .map(Event::Host)
            .chain(h.ptr.iter().cloned().map(Event::Name))
            .chain(h.ports.values().cloned().map(Event::Port))
            .chain(h.banners.iter().map(|b| Event::Banner(Box::new(b.clone()))))
            .chain(
                h.services
                    .iter()
                    .map(|s| Event::Service(Box::new(s.clone()))),
            )
            .chain(h.answers_all.iter().cloned().map(Event::AnswersAll))
    }

    pub fn banner(&self, proto: Proto, port: u16) -> Option<&BannerResult> {
        self.banners
            .iter()
            .find(|b| (b.proto, b.port) == (proto, port))
    }

    pub fn service(&self, proto: Proto, port: u16) -> Option<&ServiceResult> {
        self.services
            .iter()
            .find(|s| (s.proto, s.port) == (proto, port))
    }

    pub fn open_ports(&self) -> impl Iterator<Item = &PortResult> {
        self.ports.values().filter(|p| p.state == PortState::Open)
    }
}

/// Ports that answered but are not listed (closed and filtered ones, unless `--show-closed`),
/// counted by state and reason: what nmap's `<extraports>` says. A handful of pairs a host.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unlisted(Vec<(PortState, Reason, u64)>);

impl Unlisted {
    pub fn count(&mut self, state: PortState, reason: Reason) {
        self.add(state, reason, 1);
    }

    /// Adds `n` ports in `state` for `reason` (counts spilled and read back are summed).
    pub fn add(&mut self, state: PortState, reason: Reason, n: u64) {
        match self
            .0
            .iter_mut()
            .find(|(s, r, _)| (*s, *r) == (state, reason))
        {
            Some((_, _, c)) => *c += n,
            None => self.0.push((state, reason, n)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (state, reason, count), in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (PortState, Reason, u64)> + '_ {
        self.0.iter().copied()
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, _, n)| n).sum()
    }
}

/// One host of the documents: its results, and its ports answered but not listed.
#[derive(Debug, Clone)]
pub struct HostGroup {
    pub ip: IpAddr,
    pub entry: HostEntry,
    pub unlisted: Unlisted,
    /// Something about it is listed (a host with only unlisted ports is not a host to list).
    pub listed: bool,
}

/// Every result in memory: what documents were rendered from before the spill log, kept for
/// tests and fixtures.
#[derive(Debug, Default, Clone)]
pub struct ResultStore {
    pub hosts: BTreeMap<IpAddr, HostEntry>,
    /// By host, the port results the output thread saw but did not report. Apart from
    /// `hosts`: a host with only unlisted ports is not a host to list.
    pub unlisted: BTreeMap<IpAddr, Unlisted>,
}

impl ResultStore {
    /// Records an event; false if it repeats one already held (nothing is reported twice).
    pub fn add(&mut self, e: Event) -> bool {
        let Some(ip) = e.ip() else {
            return false; // a checkpoint is no result
        };
        self.hosts.entry(ip).or_default().add(e)
    }

    /// Would `add` record `e`? (Lets the caller skip work for repeats without a clone.)
    pub fn is_new(&self, e: &Event) -> bool {
        let Some(ip) = e.ip() else {
            return false;
        };
        match (self.hosts.get(&ip), e) {
            (_, Event::Checkpoint(_)) => false,
            (None, _) => true,
            (Some(h), Event::Host(_)) => h.up.is_none(),
            (Some(h), Event::Port(p)) => !h.ports.contains(p.proto, p.port),
            (Some(h), Event::Name(_)) => h.ptr.is_none(),
            (Some(h), Event::Banner(b)) => h.banner(b.proto, b.port).is_none(),
            (Some(h), Event::Service(s)) => h.service(s.proto, s.port).is_none(),
            (Some(h), Event::AnswersAll(_)) => h.answers_all.is_none(),
        }
    }

    /// Every held event, hosts in address order, each host's record before its ports.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.hosts.values().flat_map(HostEntry::events)
    }

    /// Counts a port result that is not reported (nmap's "Not shown: N closed ports").
    pub fn count_unlisted(&mut self, p: &PortResult) {
        self.unlisted
            .entry(p.ip)
            .or_default()
            .count(p.state, p.reason);
    }

    /// The hosts in address order, as the spill log gives them back.
    pub fn groups(&self) -> impl Iterator<Item = HostGroup> + '_ {
        let listed = self.hosts.iter().map(|(ip, h)| HostGroup {
            ip: *ip,
            entry: h.clone(),
            unlisted: self.unlisted.get(ip).cloned().unwrap_or_default(),
            listed: true,
        });
        let only = self
            .unlisted
            .iter()
            .filter(|(ip, _)| !self.hosts.contains_key(ip))
            .map(|(ip, u)| HostGroup {
                ip: *ip,
                entry: HostEntry::default(),
                unlisted: u.clone(),
                listed: false,
            });
        let mut all: Vec<HostGroup> = listed.chain(only).collect();
        all.sort_by_key(|g| g.ip);
        all.into_iter()
    }

    pub fn hosts_up(&self) -> usize {
        self.hosts.values().filter(|h| h.up.is_some()).count()
    }
}

#[cfg(test)]
mod port_map_tests {
    use super::*;
    use crate::event::{PortState, Reason};
    use proptest::prelude::*;

    pub(super) fn port(p: u16) -> PortResult {
        PortResult {
            ip: "198.18.0.1".parse().unwrap(),
            port: p,
            proto: Proto::Tcp,
            state: PortState::Open,
            reason: Reason::SynAck,
            service: String::new(),
            rtt_ms: None,
            ts: 0.0,
            hostname: None,
            ttl: None,
        }
    }

    proptest! {
        /// Small or large, the map keeps ports sorted and once each, like a B-tree would.
        #[test]
        fn behaves_like_a_sorted_set(ports in proptest::collection::vec(0u16..200, 0..120)) {
            let mut m = PortMap::default();
            let mut want = std::collections::BTreeSet::new();
            for p in ports {
                prop_assert_eq!(m.insert(port(p)), want.insert(p));
                prop_assert!(m.contains(Proto::Tcp, p));
            }
            let got: Vec<u16> = m.values().map(|p| p.port).collect();
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        }
    }
}

#[cfg(test)]
mod unlisted_tests {
    use super::*;

    #[test]
    fn unlisted_ports_are_counted_by_host_state_and_reason_apart_from_hosts() {
        let mut store = ResultStore::default();
        let mut p = super::port_map_tests::port(1);
        p.state = PortState::Closed;
        p.reason = Reason::Reset;
        store.count_unlisted(&p);
        store.count_unlisted(&p);
        p.state = PortState::Filtered;
        p.reason = Reason::AdminProhibited;
        store.count_unlisted(&p);
        assert!(store.hosts.is_empty());
        let u = &store.unlisted[&p.ip];
        assert_eq!(u.total(), 3);
        assert_eq!(
            u.iter().collect::<Vec<_>>(),
            vec![
                (PortState::Closed, Reason::Reset, 2),
                (PortState::Filtered, Reason::AdminProhibited, 1)
            ]
        );
    }
}
