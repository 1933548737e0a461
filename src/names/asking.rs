//! What the name stage has to ask, and how much of it is out: at most `OUTSTANDING` lookups
//! at once (by either path), so every queue between the stage and its lookups is bounded by
//! it and no send to them ever waits. The rest waits here, compactly: the hosts that answered
//! beyond it (4 bytes an IPv4 address, 16 an IPv6 one), and with `-R` the target space
//! itself, walked as room frees up rather than listed up front.

use super::cache::NameCache;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Lookups asked and not answered, at most: the fast path's window (256) several times over,
/// and far more than the 16 resolver workers can hold.
pub const OUTSTANDING: usize = 1024;

pub use crate::addr_set::AddrSet;

/// Addresses waiting for a lookup slot, in the order they came (per family).
#[derive(Debug, Default)]
struct Backlog {
    v4: VecDeque<u32>,
    v6: VecDeque<u128>,
}

impl Backlog {
    fn push(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(a) => self.v4.push_back(a.to_bits()),
            IpAddr::V6(a) => self.v6.push_back(a.to_bits()),
        }
    }

    fn pop(&mut self) -> Option<IpAddr> {
        if let Some(a) = self.v4.pop_front() {
            return Some(IpAddr::V4(Ipv4Addr::from_bits(a)));
        }
        self.v6
            .pop_front()
            .map(|a| IpAddr::V6(Ipv6Addr::from_bits(a)))
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Every target host (`-R`), produced as it is needed.
pub type Walk = Box<dyn Iterator<Item = IpAddr> + Send>;

pub struct Asking {
    /// Hosts already asked about (or answered from the cache), so each is asked once.
    asked: AddrSet,
    backlog: Backlog,
    walk: Option<Walk>,
    walked: bool,
    /// Asked and not answered yet.
    pending: usize,
}

/// What to do with an address the cache does not settle.
pub enum Next {
    /// Ask it now (a slot is taken).
    Ask(IpAddr),
    /// The cache knew it: its name (None: it has none).
    Known(IpAddr, Option<String>),
}

impl Asking {
    pub fn new(walk: Option<Walk>) -> Asking {
        Asking {
            asked: AddrSet::default(),
            backlog: Backlog::default(),
            walked: walk.is_none(),
            walk,
            pending: 0,
        }
    }

    /// A host that answered. With `-R` every target is walked anyway, so this asks nothing.
    pub fn host_up(&mut self, ip: IpAddr) {
        if self.walk.is_none() && self.asked.insert(ip) {
            self.backlog.push(ip);
        }
    }

    /// The next address to look up or to answer from the cache, if a slot is free.
    pub fn next(&mut self, cache: &NameCache) -> Option<Next> {
        if self.pending >= OUTSTANDING {
            return None;
        }
        let ip = match self.backlog.pop() {
            Some(ip) => ip,
            None if self.walked => return None,
            None => match self.walk.as_mut().and_then(Iterator::next) {
                Some(ip) => ip,
                None => {
                    self.walked = true;
                    return None;
                }
            },
        };
        Some(match cache.get(ip) {
            Some(known) => Next::Known(ip, known.map(str::to_string)),
            None => {
                self.pending += 1;
                Next::Ask(ip)
            }
        })
    }

    /// A lookup came back (whatever it said).
    pub fn answered(&mut self) {
        self.pending = self.pending.saturating_sub(1);
    }

    /// Nothing out and nothing left to ask.
    pub fn idle(&self) -> bool {
        self.pending == 0 && self.backlog.is_empty() && self.walked
    }

    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from_bits(0xc612_0000 + i))
    }

    #[test]
    fn at_most_outstanding_are_out_and_the_rest_waits_in_order() {
        let cache = NameCache::load(None, 0);
        let mut a = Asking::new(None);
        for i in 0..(OUTSTANDING as u32 + 10) {
            a.host_up(ip(i));
            a.host_up(ip(i)); // a second report asks nothing more
        }
        let mut asked = Vec::new();
        while let Some(Next::Ask(ip)) = a.next(&cache) {
            asked.push(ip);
        }
        assert_eq!(asked.len(), OUTSTANDING);
        assert_eq!(asked[..2], [ip(0), ip(1)]);
        a.answered();
        assert!(matches!(a.next(&cache), Some(Next::Ask(x)) if x == ip(OUTSTANDING as u32)));
        assert!(a.next(&cache).is_none());
        assert!(!a.idle());
    }

    #[test]
    fn resolve_all_walks_the_targets_as_room_frees_up() {
        let cache = NameCache::load(None, 0);
        let walk: Walk = Box::new((0..3000).map(ip));
        let mut a = Asking::new(Some(walk));
        a.host_up(ip(5)); // already in the walk
        let mut n = 0;
        loop {
            while let Some(Next::Ask(_)) = a.next(&cache) {
                n += 1;
            }
            if a.pending() == 0 {
                break;
            }
            for _ in 0..a.pending() {
                a.answered();
            }
        }
        assert_eq!(n, 3000);
        assert!(a.idle());
    }
}
