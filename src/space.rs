//! The scan's index space: every (host, port) pair numbered `[0, hosts × ports)`.
//!
//! Index `j` names host `j mod hosts` and slot `j div hosts`: slot `i` is the `i`-th port, and
//! a space with an echo slot has one more, after the ports, for an ICMP echo request to the
//! host (`-sn` is a space of only that slot; `--ping` adds it to a port scan). Lookup is a
//! binary search over the ranges' cumulative sizes: O(log ranges), no per-address memory.

use crate::error::{Error, Result};
use crate::event::Proto;
use crate::ports::PortList;
use crate::targets::range::RangeSet;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone)]
pub struct TargetSpace {
    set: RangeSet,
    /// `starts[i]` = number of addresses in the ranges before range `i`.
    starts: Vec<u64>,
    hosts: u64,
    ports: PortList,
    echo: bool,
    /// The transport the port slots are probed over (one per scan).
    proto: Proto,
    size: u64,
    /// Addresses in the space that get no probe (excluded after the space was numbered).
    skip: Option<std::sync::Arc<RangeSet>>,
}

/// What index `j` asks of its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Port(u16),
    Echo,
}

impl TargetSpace {
    pub fn new(set: RangeSet, ports: PortList) -> Result<TargetSpace> {
        TargetSpace::with_echo(set, ports, false)
    }

    /// A space with an echo slot after the ports (which may then be empty).
    pub fn with_echo(set: RangeSet, ports: PortList, echo: bool) -> Result<TargetSpace> {
        if ports.is_empty() && !echo {
            return Err(Error::Empty("no ports".into()));
        }
        let slots = ports.len() as u64 + u64::from(echo);
        let mut starts = Vec::with_capacity(set.ranges().len());
        let mut hosts: u64 = 0;
        for r in set.ranges() {
            starts.push(hosts);
            hosts = u64::try_from(r.count())
                .ok()
                .and_then(|l| hosts.checked_add(l))
                .ok_or_else(|| Error::TooLarge(format!("more than 2^64 target addresses ({r})")))?;
        }
        let size = hosts.checked_mul(slots).ok_or_else(|| {
            Error::TooLarge(format!(
                "{hosts} hosts × {slots} probes each exceeds 2^64 probes"
            ))
        })?;
        Ok(TargetSpace {
            set,
            starts,
            hosts,
            ports,
            echo,
            proto: Proto::Tcp,
            size,
            skip: None,
        })
    }

    /// The same space with its ports probed over `proto`.
    pub fn with_proto(mut self, proto: Proto) -> TargetSpace {
        self.proto = proto;
        self
    }

    /// The same space, with the addresses of `skip` left out of the scan but not of the
    /// numbering (a resume point's positions stay valid).
    pub fn skipping(mut self, skip: RangeSet) -> TargetSpace {
        self.skip = (!skip.is_empty()).then(|| std::sync::Arc::new(skip));
        self
    }

    /// Whether `ip` is to get no probe. Engines ask before each target.
    #[inline]
    pub fn skips(&self, ip: IpAddr) -> bool {
        self.skip.as_ref().is_some_and(|s| s.contains(ip))
    }

    pub fn proto(&self) -> Proto {
        self.proto
    }

    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn hosts(&self) -> u64 {
        self.hosts
    }
    pub fn ports(&self) -> &PortList {
        &self.ports
    }
    /// Whether each host also gets an ICMP echo request.
    pub fn has_echo(&self) -> bool {
        self.echo
    }
    pub fn set(&self) -> &RangeSet {
        &self.set
    }

    pub fn host(&self, host_index: u64) -> IpAddr {
        let i = self.starts.partition_point(|&s| s <= host_index) - 1;
        self.set.ranges()[i].addr((host_index - self.starts[i]) as u128)
    }

    /// Host and slot of index `j` (`j < size()`).
    pub fn probe(&self, j: u64) -> (IpAddr, Slot) {
        let slot = (j / self.hosts) as usize;
        let ip = self.host(j % self.hosts);
        match self.ports.as_slice().get(slot) {
            Some(&p) => (ip, Slot::Port(p)),
            None => (ip, Slot::Echo),
        }
    }

    /// The index of the echo request to `ip`, if the space has an echo slot and `ip`.
    pub fn echo_index_of(&self, ip: IpAddr) -> Option<u64> {
        if !self.echo {
            return None;
        }
        Some(self.ports.len() as u64 * self.hosts + self.host_index(ip)?)
    }

    /// The index of host `ip` in the space (the inverse of `host`), if it is in it.
    pub fn host_index(&self, ip: IpAddr) -> Option<u64> {
        let (family, n) = crate::targets::range::to_num(ip);
        let ranges = self.set.ranges();
        let i = ranges.partition_point(|r| (r.family, r.last) < (family, n));
        let r = ranges.get(i).filter(|r| r.contains(ip))?;
        Some(self.starts[i] + (n - r.first) as u64)
    }

    /// The index of `ip:port`, if it is in the space: the inverse of `target`, for the capture
    /// thread to turn a reply into the index its answered-set bit lives at.
    pub fn index_of(&self, ip: IpAddr, port: u16) -> Option<u64> {
        let port_index = self.ports.as_slice().binary_search(&port).ok()? as u64;
        Some(port_index * self.hosts + self.host_index(ip)?)
    }

    /// The target of index `j` (`j < size()`) of a space of ports (an echo slot reads as
    /// port 0: engines that send echoes ask `probe`).
    pub fn target(&self, j: u64) -> SocketAddr {
        match self.probe(j) {
            (ip, Slot::Port(p)) => SocketAddr::new(ip, p),
            (ip, Slot::Echo) => SocketAddr::new(ip, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::range::IpRange;
    use std::collections::HashSet;

    #[test]
    fn every_index_is_a_distinct_target() {
        let set = RangeSet::from_ranges(vec![
            IpRange::from_net("198.18.0.0/30".parse().unwrap()),
            IpRange::from_net("198.18.1.0/31".parse().unwrap()),
            IpRange::single("2001:db8::1".parse().unwrap()),
        ]);
        let s = TargetSpace::new(set, PortList::new(vec![22, 80, 443])).unwrap();
        assert_eq!((s.hosts(), s.size()), (7, 21));
        let all: HashSet<_> = (0..s.size()).map(|j| s.target(j)).collect();
        for j in 0..s.size() {
            let t = s.target(j);
            assert_eq!(s.index_of(t.ip(), t.port()), Some(j));
        }
        assert_eq!(s.index_of("198.18.0.4".parse().unwrap(), 22), None);
        assert_eq!(s.index_of("198.18.0.1".parse().unwrap(), 23), None);
        assert_eq!(s.index_of("2001:db8::2".parse().unwrap(), 22), None);
        assert_eq!(all.len(), 21);
        assert!(all.contains(&"198.18.1.1:443".parse().unwrap()));
        assert!(all.contains(&"[2001:db8::1]:22".parse().unwrap()));
    }

    #[test]
    fn an_echo_slot_follows_the_ports() {
        let set = RangeSet::from_ranges(vec![IpRange::from_net("198.18.0.0/30".parse().unwrap())]);
        let s = TargetSpace::with_echo(set.clone(), PortList::new(vec![0, 80]), true).unwrap();
        assert_eq!(s.size(), 12);
        let ip: IpAddr = "198.18.0.2".parse().unwrap();
        let echo = s.echo_index_of(ip).unwrap();
        assert_eq!(s.probe(echo), (ip, Slot::Echo));
        // Port 0 is a real port, distinct from the echo slot.
        assert_eq!(s.probe(s.index_of(ip, 0).unwrap()), (ip, Slot::Port(0)));
        let sweep = TargetSpace::with_echo(set.clone(), PortList::new(vec![]), true).unwrap();
        assert_eq!(sweep.size(), 4);
        assert!((0..4).all(|j| sweep.probe(j).1 == Slot::Echo));
        assert_eq!(sweep.index_of(ip, 80), None);
        assert!(TargetSpace::with_echo(set, PortList::new(vec![]), false).is_err());
        assert_eq!(s.echo_index_of("198.18.0.9".parse().unwrap()), None);
    }

    #[test]
    fn oversized_spaces_are_refused() {
        let set = RangeSet::from_ranges(vec![IpRange::from_net("2001:db8::/32".parse().unwrap())]);
        let e = TargetSpace::new(set, PortList::new(vec![80])).unwrap_err();
        assert!(e.to_string().contains("2^64"), "{e}");
    }
}
