//! The sorted log, one host at a time: each host's records, in the order they were written,
//! added to one `HostEntry` exactly as the in-memory store added events (the first of each
//! result stays; a repeat — a port found again after a resume's cut, a host reported by two
//! threads — is dropped), and its unlisted counts summed.

use super::record::{self, Key, Record};
use crate::output::store::{HostEntry, HostGroup, Unlisted};
use std::io;

/// Groups sorted `(key, body)` records by host.
pub struct Hosts<I> {
    records: I,
    /// The first record of the next host, read ahead.
    next: Option<(Key, Vec<u8>)>,
}

impl<I: Iterator<Item = io::Result<(Key, Vec<u8>)>>> Hosts<I> {
    pub fn new(records: I) -> Self {
        Hosts {
            records,
            next: None,
        }
    }

    fn read(&mut self) -> io::Result<Option<(Key, Vec<u8>)>> {
        match self.next.take() {
            Some(r) => Ok(Some(r)),
            None => self.records.next().transpose(),
        }
    }

    fn group(&mut self) -> io::Result<Option<HostGroup>> {
        let Some((key, body)) = self.read()? else {
            return Ok(None);
        };
        let mut g = HostGroup {
            ip: record::key_ip(&key),
            entry: HostEntry::default(),
            unlisted: Unlisted::default(),
            listed: false,
        };
        add(&mut g, &body)?;
        while let Some((k, body)) = self.read()? {
            if k != key {
                self.next = Some((k, body));
                break;
            }
            add(&mut g, &body)?;
        }
        Ok(Some(g))
    }
}

fn add(g: &mut HostGroup, body: &[u8]) -> io::Result<()> {
    match record::decode(body)? {
        Record::Result(e) => {
            g.entry.add(e);
            g.listed = true;
        }
        Record::Unlisted(_, state, reason, n) => g.unlisted.add(state, reason, n),
    }
    Ok(())
}

impl<I: Iterator<Item = io::Result<(Key, Vec<u8>)>>> Iterator for Hosts<I> {
    type Item = io::Result<HostGroup>;
    fn next(&mut self) -> Option<Self::Item> {
        self.group().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, HostResult, PortState, Reason};

    fn rec(e: &Event) -> io::Result<(Key, Vec<u8>)> {
        let mut buf = Vec::new();
        record::encode(e, &mut buf).unwrap();
        let body = buf[4..].to_vec();
        Ok((record::key(&body).unwrap(), body))
    }

    fn up(ip: &str, ts: f64) -> Event {
        Event::Host(HostResult {
            ip: ip.parse().unwrap(),
            state: "up".into(),
            reason: Reason::SynAck,
            rtt_ms: None,
            ts,
            hostname: None,
            ttl: None,
        })
    }

    #[test]
    fn a_host_keeps_its_first_record_and_sums_its_counts() {
        let a = "198.18.0.1".parse().unwrap();
        let unlisted = |n| {
            let mut buf = Vec::new();
            record::encode_unlisted(a, PortState::Closed, Reason::Reset, n, &mut buf);
            let body = buf[4..].to_vec();
            Ok((record::key(&body).unwrap(), body))
        };
        let records = vec![
            unlisted(3),
            rec(&up("198.18.0.1", 1.0)),
            rec(&up("198.18.0.1", 2.0)),
            unlisted(4),
            unlisted(0),
            {
                let mut buf = Vec::new();
                record::encode_unlisted(
                    "198.18.0.2".parse().unwrap(),
                    PortState::Closed,
                    Reason::Reset,
                    9,
                    &mut buf,
                );
                let body = buf[4..].to_vec();
                Ok((record::key(&body).unwrap(), body))
            },
        ];
        let groups: Vec<HostGroup> = Hosts::new(records.into_iter())
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].ip, a);
        assert!(groups[0].listed);
        assert_eq!(groups[0].entry.up.as_ref().unwrap().ts, 1.0);
        assert_eq!(groups[0].unlisted.total(), 7);
        assert!(!groups[1].listed);
        assert_eq!(groups[1].unlisted.total(), 9);
    }

    #[test]
    fn a_damaged_record_ends_the_hosts_with_an_error() {
        let bad: io::Result<(Key, Vec<u8>)> = Ok(([0; 17], vec![9, 9, 9]));
        let h = Hosts::new(vec![rec(&up("198.18.0.1", 1.0)), bad].into_iter());
        assert!(h.collect::<io::Result<Vec<_>>>().is_err());
    }
}
