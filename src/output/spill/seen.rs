//! What the output thread remembers to report nothing twice, without holding results: per
//! host, whether it was reported up, named, and recognised as answering everything — a byte
//! of flags beside the address (about 10–20 bytes a host in a hash map, IPv4 by its 32
//! bits). Ports, banners and services need no memory here: the engine never reports a port
//! twice (a resume continues from positions not reported before its checkpoint), and there
//! is one banner and one nmap finding per open port; the documents' merge drops repeats all
//! the same. A resumed run seeds this from the log's records.

use crate::event::Event;
use std::collections::HashMap;
use std::net::IpAddr;

const UP: u8 = 1;
const NAMED: u8 = 2;
const ANSWERS_ALL: u8 = 4;

#[derive(Debug, Default)]
pub struct Seen {
    v4: HashMap<u32, u8>,
    v6: HashMap<u128, u8>,
}

/// The flag an event sets, for the kinds reported once per host.
fn flag(e: &Event) -> Option<u8> {
    match e {
        Event::Host(_) => Some(UP),
        Event::Name(_) => Some(NAMED),
        Event::AnswersAll(_) => Some(ANSWERS_ALL),
        _ => None,
    }
}

impl Seen {
    fn flags(&mut self, ip: IpAddr) -> &mut u8 {
        match ip {
            IpAddr::V4(a) => self.v4.entry(a.to_bits()).or_insert(0),
            IpAddr::V6(a) => self.v6.entry(a.to_bits()).or_insert(0),
        }
    }

    /// Whether `e` is to be reported (it repeats nothing reported); remembered if so.
    pub fn first(&mut self, e: &Event) -> bool {
        let (Some(f), Some(ip)) = (flag(e), e.ip()) else {
            return !matches!(e, Event::Checkpoint(_));
        };
        let flags = self.flags(ip);
        let new = *flags & f == 0;
        *flags |= f;
        new
    }

    /// Hosts remembered.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
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
