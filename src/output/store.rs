//! The results reported so far, by host and port: what the document sinks render at the end
//! (and what a resume file carries over). Bounded by the results, not by the probes.

use crate::event::{Event, HostResult, PortResult, PortState, Proto};
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Default, Clone)]
pub struct HostEntry {
    pub up: Option<HostResult>,
    pub ports: BTreeMap<(Proto, u16), PortResult>,
}

impl HostEntry {
    pub fn open_ports(&self) -> impl Iterator<Item = &PortResult> {
        self.ports.values().filter(|p| p.state == PortState::Open)
    }
}

#[derive(Debug, Default, Clone)]
pub struct ResultStore {
    pub hosts: BTreeMap<IpAddr, HostEntry>,
}

impl ResultStore {
    /// Records an event; false if it repeats one already held (nothing is reported twice).
    pub fn add(&mut self, e: Event) -> bool {
        let entry = self.hosts.entry(e.ip()).or_default();
        match e {
            Event::Host(h) => {
                let new = entry.up.is_none();
                entry.up.get_or_insert(h);
                new
            }
            Event::Port(p) => entry.ports.insert((p.proto, p.port), p).is_none(),
        }
    }

    /// Would `add` record `e`? (Lets the caller skip work for repeats without a clone.)
    pub fn is_new(&self, e: &Event) -> bool {
        match (self.hosts.get(&e.ip()), e) {
            (None, _) => true,
            (Some(h), Event::Host(_)) => h.up.is_none(),
            (Some(h), Event::Port(p)) => !h.ports.contains_key(&(p.proto, p.port)),
        }
    }

    /// Every held event, hosts in address order, each host's record before its ports.
    pub fn events(&self) -> impl Iterator<Item = Event> + '_ {
        self.hosts.values().flat_map(|h| {
            h.up.iter()
                .cloned()
                .map(Event::Host)
                .chain(h.ports.values().cloned().map(Event::Port))
        })
    }

    pub fn hosts_up(&self) -> usize {
        self.hosts.values().filter(|h| h.up.is_some()).count()
    }
}
