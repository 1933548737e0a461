//! A per-host cap on concurrent probes. With many hosts the permutation already spreads the
//! load; with few hosts × many ports the cap keeps one host from taking every slot (and its
//! SYN backlog or rate limiter from deciding our results).
//!
//! A probe whose host is full waits in that host's queue; when one of the host's probes ends,
//! the next waiting one moves to `ready` with its slot already reserved.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

#[derive(Debug)]
pub struct HostGate<T> {
    cap: u32,
    load: HashMap<IpAddr, u32>,
    waiting: HashMap<IpAddr, VecDeque<T>>,
    waiting_count: usize,
    ready: VecDeque<(IpAddr, T)>,
}

impl<T> HostGate<T> {
    pub fn new(cap: u32) -> HostGate<T> {
        HostGate {
            cap: cap.max(1),
            load: HashMap::new(),
            waiting: HashMap::new(),
            waiting_count: 0,
            ready: VecDeque::new(),
        }
    }

    /// Takes a slot for `host` and returns the item to send now, or parks it.
    pub fn admit(&mut self, host: IpAddr, item: T) -> Option<T> {
        let load = self.load.entry(host).or_insert(0);
        if *load < self.cap {
            *load += 1;
            return Some(item);
        }
        self.waiting.entry(host).or_default().push_back(item);
        self.waiting_count += 1;
        None
    }

    /// A probe to `host` ended: its slot goes to the host's next waiting item, if any.
    pub fn release(&mut self, host: IpAddr) {
        if let Some(q) = self.waiting.get_mut(&host)
            && let Some(item) = q.pop_front()
        {
            self.waiting_count -= 1;
            if q.is_empty() {
                self.waiting.remove(&host);
            }
            self.ready.push_back((host, item));
            return;
        }
        if let Some(load) = self.load.get_mut(&host) {
            *load = load.saturating_sub(1);
            if *load == 0 {
                self.load.remove(&host);
            }
        }
    }

    /// An admitted item that must go again (after a local shortage), keeping its slot.
    pub fn retry(&mut self, host: IpAddr, item: T) {
        self.ready.push_front((host, item));
    }

    /// The next admitted item to send.
    pub fn pop_ready(&mut self) -> Option<(IpAddr, T)> {
        self.ready.pop_front()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Items parked because their host was full.
    pub fn parked(&self) -> usize {
        self.waiting_count
    }

    /// Every item admitted-but-unsent or parked (for the resume point).
    pub fn unsent(&self) -> impl Iterator<Item = &T> {
        self.ready
            .iter()
            .map(|(_, t)| t)
            .chain(self.waiting.values().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_host_parks_items_and_hands_them_over_in_order() {
        let (a, b): (IpAddr, IpAddr) =
            ("198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap());
        let mut g = HostGate::new(2);
        assert_eq!(g.admit(a, 1), Some(1));
        assert_eq!(g.admit(a, 2), Some(2));
        assert_eq!(g.admit(a, 3), None);
        assert_eq!(g.admit(a, 4), None);
        assert_eq!(g.admit(b, 5), Some(5), "other hosts are not held up");
        assert_eq!(g.parked(), 2);
        g.release(a);
        assert_eq!(g.pop_ready(), Some((a, 3)));
        assert_eq!(
            g.admit(a, 6),
            None,
            "the released slot went to the waiting item"
        );
        g.release(a);
        g.release(a);
        assert_eq!(g.pop_ready(), Some((a, 4)));
        assert_eq!(g.pop_ready(), Some((a, 6)));
        assert_eq!(g.parked(), 0);
        g.release(a);
        g.release(a);
        g.release(b);
        assert!(g.load.is_empty(), "no memory is kept for idle hosts");
    }
}
