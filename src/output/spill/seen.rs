//! What the output thread remembers to report nothing twice, without holding results: the
//! hosts reported up, named, and recognised as answering everything — each a set of
//! addresses (IPv4 by its 32 bits: 5 bytes a slot in a hash set, 6–12 bytes a host). Ports,
//! banners and services need no memory here: the engine never reports a port twice (a
//! resume continues from positions not reported before its checkpoint), and there is one
//! banner and one nmap finding per open port; the documents' merge drops repeats all the
//! same. A resumed run seeds this from the log's records.

use crate::addr_set::AddrSet as Hosts;
use crate::event::Event;
use std::net::IpAddr;

#[derive(Debug, Default)]
pub struct Seen {
    up: Hosts,
    named: Hosts,
    answers_all: Hosts,
}

impl Seen {
    /// Whether `e` is to be reported (it repeats nothing reported); remembered if so.
    pub fn first(&mut self, e: &Event) -> bool {
        match e {
            Event::Host(h) => self.up.insert(h.ip),
            Event::Name(n) => self.named.insert(n.ip),
            Event::AnswersAll(a) => self.answers_all.insert(a.ip),
            Event::Checkpoint(_) => false,
            Event::Port(_) | Event::Banner(_) | Event::Service(_) => true,
        }
    }

    /// The hosts recognised as answering everything.
    pub fn answers_all(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.answers_all.iter()
    }

    /// Hosts remembered up.
    pub fn len(&self) -> usize {
        self.up.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HostResult, NameResult, PortResult, PortState, Proto, Reason};

    fn host(ip: &str) -> Event {
        Event::Host(HostResult {
            ip: ip.parse().unwrap(),
            state: "up".into(),
            reason: Reason::SynAck,
            rtt_ms: None,
            ts: 0.0,
            hostname: None,
            ttl: None,
        })
    }

    #[test]
    fn hosts_and_names_once_each_ports_always() {
        let mut s = Seen::default();
        assert!(s.first(&host("198.18.0.1")));
        assert!(!s.first(&host("198.18.0.1")));
        assert!(s.first(&host("2001:db8::1")));
        assert!(!s.first(&host("2001:db8::1")));
        let name = Event::Name(NameResult {
            ip: "198.18.0.1".parse().unwrap(),
            ptr: "a".into(),
            ts: 0.0,
        });
        assert!(s.first(&name));
        assert!(!s.first(&name));
        let port = Event::Port(PortResult {
            ip: "198.18.0.1".parse().unwrap(),
            port: 1,
            proto: Proto::Tcp,
            state: PortState::Open,
            reason: Reason::SynAck,
            service: String::new(),
            rtt_ms: None,
            ts: 0.0,
            hostname: None,
            ttl: None,
        });
        assert!(s.first(&port) && s.first(&port));
        assert!(!s.first(&Event::Checkpoint(Box::default())));
        assert_eq!(s.len(), 2);
    }
}
