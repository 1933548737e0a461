//! Hosts that answer everything: SYN proxies, scrubbing services and tarpits answer SYN-ACK
//! on every port, so each would make up to 65,535 "open" results, fill the banner queue and
//! flood every output. One rule for both engines (`--all-open-threshold N`):
//!
//! a host is recognised when its open ports reach N **and** are at least half of the ports
//! probed on it whose answers could have arrived by now.
//!
//! The second half keeps a real host with many services (200 open of 65,535) listed port by
//! port; the factor of two leaves room for loss and for the estimate of "probed by now" (the
//! engines know it per scan, not per host: the shuffled order gives every host about the
//! same share of the positions walked). Once recognised, a host gets one `AnswersAll` event
//! (the open ports listed before it are its sample, N for a host that answered from the
//! start), and its later open ports are counted (`Stats::answers_all_open`), not reported.
//!
//! Memory: a count per host with an open port (a 4-byte index and a 2-byte count in a hash
//! table, about 9–18 bytes), kept only when the scan probes at least N ports per host, so
//! that some host could reach N at all; and the set of hosts recognised.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Release};

/// `--all-open-threshold`'s default.
pub const DEFAULT_THRESHOLD: u32 = 100;

/// The rule: `open` ports of a host of which about `probed` could have answered by now.
pub fn answers_all(open: u32, probed: u64, threshold: u32) -> bool {
    threshold > 0 && open >= threshold && 2 * u64::from(open) >= probed
}

/// Ports probed per host after `walked` positions of a space of `size` targets with `ports`
/// ports per host: the shuffled order spreads the positions evenly over the hosts.
pub fn per_host(walked: u64, ports: usize, size: u64) -> u64 {
    (u128::from(walked) * ports as u128 / u128::from(size.max(1))) as u64
}

/// The hosts recognised so far, shared by every thread (the raw sender's rate controller
/// must not take them as canaries; the reporting threads suppress their ports).
#[derive(Debug, Default)]
pub struct AnswersAllHosts {
    hosts: RwLock<HashSet<u64>>,
    /// How many: a scan without such a host pays one atomic load per question.
    count: AtomicUsize,
}

impl AnswersAllHosts {
    /// Whether the host of index `host` (in the target space) answers everything.
    pub fn contains(&self, host: u64) -> bool {
        if self.count.load(Acquire) == 0 {
            return false;
        }
        match self.hosts.read() {
            Ok(s) => s.contains(&host),
            Err(poisoned) => poisoned.into_inner().contains(&host),
        }
    }

    /// Marks `host`; true if it was not marked yet. Also how a resumed scan brings back the
    /// hosts its first run recognised.
    pub fn insert(&self, host: u64) -> bool {
        let mut s = match self.hosts.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let new = s.insert(host);
        self.count.store(s.len(), Release);
        new
    }

    pub fn len(&self) -> usize {
        self.count.load(Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an open port of a host means for the host's listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Reported as usual.
    Listed,
    /// Reported, and with it the host is recognised: `listed` open ports shown in all.
    Recognised { listed: u32 },
    /// The host is known to answer everything: counted, not reported.
    Suppressed,
}

/// One reporting thread's open ports per host, until the host is recognised.
#[derive(Debug)]
pub enum OpenCounts {
    /// No host can reach the threshold (it is 0, or above the ports probed per host).
    Off,
    Narrow(HashMap<u32, u16>),
    Wide(HashMap<u64, u16>),
}

impl OpenCounts {
    /// For a space of `hosts` hosts × `ports` ports.
    pub fn new(threshold: u32, hosts: u64, ports: usize) -> OpenCounts {
        if threshold == 0 || ports < threshold as usize {
            OpenCounts::Off
        } else if hosts <= 1 << 32 {
            OpenCounts::Narrow(HashMap::new())
        } else {
            OpenCounts::Wide(HashMap::new())
        }
    }

    /// An open port of host `h`, of which about `probed` ports could have answered by now.
    pub fn open_port(
        &mut self,
        all: &AnswersAllHosts,
        threshold: u32,
        h: u64,
        probed: u64,
    ) -> Seen {
        if let OpenCounts::Off = self {
            return Seen::Listed;
        }
        if all.contains(h) {
            return Seen::Suppressed;
        }
        let open = match self {
            OpenCounts::Off => return Seen::Listed,
            OpenCounts::Narrow(m) => match u32::try_from(h) {
                Ok(k) => bump(m, k),
                Err(_) => return Seen::Listed,
            },
            OpenCounts::Wide(m) => bump(m, h),
        };
        if !answers_all(open, probed, threshold) {
            return Seen::Listed;
        }
        match self {
            OpenCounts::Narrow(m) => m.remove(&(h as u32)),
            OpenCounts::Wide(m) => m.remove(&h),
            OpenCounts::Off => None,
        };
        all.insert(h);
        Seen::Recognised { listed: open }
    }

    /// Hosts with a count, for tests and figures.
    pub fn len(&self) -> usize {
        match self {
            OpenCounts::Off => 0,
            OpenCounts::Narrow(m) => m.len(),
            OpenCounts::Wide(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn bump<K: std::hash::Hash + Eq>(m: &mut HashMap<K, u16>, k: K) -> u32 {
    let n = m.entry(k).or_insert(0);
    *n = n.saturating_add(1);
    u32::from(*n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_needs_both_the_count_and_the_share() {
        assert!(answers_all(100, 200, 100));
        assert!(answers_all(100, 150, 100));
        assert!(!answers_all(99, 99, 100), "below the threshold");
        assert!(
            !answers_all(100, 201, 100),
            "less than half of those probed"
        );
        assert!(!answers_all(5000, 5000, 0), "0 turns it off");
    }

    #[test]
    fn a_host_answering_everything_is_recognised_at_the_threshold_then_suppressed() {
        let all = AnswersAllHosts::default();
        let mut c = OpenCounts::new(10, 256, 2000);
        // Host 7 answers every port probed; host 9 has 30 open of ~1000 probed.
        let mut seen = Vec::new();
        for i in 1..=20u64 {
            seen.push(c.open_port(&all, 10, 7, i));
            assert_eq!(c.open_port(&all, 10, 9, 33 * i), Seen::Listed);
        }
        assert_eq!(seen[..9], [Seen::Listed; 9]);
        assert_eq!(seen[9], Seen::Recognised { listed: 10 });
        assert!(seen[10..].iter().all(|s| *s == Seen::Suppressed));
        assert!(all.contains(7) && !all.contains(9));
        assert_eq!(c.len(), 1, "a recognised host's count is dropped");
        // A host recognised elsewhere (a resumed scan's first run) is suppressed at once.
        all.insert(3);
        assert_eq!(c.open_port(&all, 10, 3, 1), Seen::Suppressed);
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn too_few_ports_to_reach_the_threshold_keep_no_counts() {
        let all = AnswersAllHosts::default();
        let mut c = OpenCounts::new(100, 65_536, 5);
        assert!(matches!(c, OpenCounts::Off));
        for _ in 0..200 {
            assert_eq!(c.open_port(&all, 100, 1, 0), Seen::Listed);
        }
        assert!(matches!(OpenCounts::new(0, 1, 65_535), OpenCounts::Off));
        assert!(matches!(
            OpenCounts::new(100, 1 << 40, 1000),
            OpenCounts::Wide(_)
        ));
    }
}
