//! The hosts a reporting thread has reported up, by their index in the target space: each is
//! reported once. A bit per host of the space while that costs at most `DENSE_HOSTS` bits
//! (2 MiB: a /8), else a hash set of the indices of the hosts up, 4 bytes each below 2^32
//! (any IPv4 space), 8 beyond: about 6–12 (IPv6: 11–23) bytes per host up with the table's
//! load factor, so an Internet-wide sweep pays for the hosts that answered.

use std::collections::HashSet;

/// The largest space whose hosts are kept as a bitmap: 2^24 bits = 2 MiB.
pub const DENSE_HOSTS: u64 = 1 << 24;

#[derive(Debug)]
pub enum HostsUp {
    Dense(Vec<u64>),
    Narrow(HashSet<u32>),
    Wide(HashSet<u64>),
}

impl HostsUp {
    /// For a space of `hosts` hosts.
    pub fn new(hosts: u64) -> HostsUp {
        if hosts <= DENSE_HOSTS {
            HostsUp::Dense(vec![0; hosts.div_ceil(64) as usize])
        } else if hosts <= 1 << 32 {
            HostsUp::Narrow(HashSet::new())
        } else {
            HostsUp::Wide(HashSet::new())
        }
    }

    /// Marks host `h` up; true if it was not already. A host outside the space is never new.
    pub fn insert(&mut self, h: u64) -> bool {
        match self {
            HostsUp::Dense(words) => {
                let Some(w) = words.get_mut((h / 64) as usize) else {
                    return false;
                };
                let bit = 1u64 << (h % 64);
                let new = *w & bit == 0;
                *w |= bit;
                new
            }
            HostsUp::Narrow(set) => u32::try_from(h).is_ok_and(|h| set.insert(h)),
            HostsUp::Wide(set) => set.insert(h),
        }
    }

    pub fn contains(&self, h: u64) -> bool {
        match self {
            HostsUp::Dense(words) => words
                .get((h / 64) as usize)
                .is_some_and(|w| w & (1u64 << (h % 64)) != 0),
            HostsUp::Narrow(set) => u32::try_from(h).is_ok_and(|h| set.contains(&h)),
            HostsUp::Wide(set) => set.contains(&h),
        }
    }

    /// Bytes held, for the README's memory figures.
    pub fn bytes(&self) -> usize {
        match self {
            HostsUp::Dense(w) => w.len() * 8,
            HostsUp::Narrow(s) => s.capacity() * (4 + 1),
            HostsUp::Wide(s) => s.capacity() * (8 + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_kind_keeps_the_same_set(hosts in proptest::collection::vec(0u64..3000, 0..300)) {
            let mut kinds = [
                HostsUp::new(3000),
                HostsUp::Narrow(HashSet::new()),
                HostsUp::Wide(HashSet::new()),
            ];
            prop_assert!(matches!(kinds[0], HostsUp::Dense(_)));
            let mut seen = std::collections::BTreeSet::new();
            for h in hosts {
                let new = seen.insert(h);
                for k in &mut kinds {
                    prop_assert_eq!(k.insert(h), new);
                    prop_assert!(k.contains(h));
                }
            }
            for h in 0..3000 {
                for k in &kinds {
                    prop_assert_eq!(k.contains(h), seen.contains(&h));
                }
            }
        }
    }

    #[test]
    fn the_kind_follows_the_space_and_costs_what_it_says() {
        assert_eq!(HostsUp::new(65_536).bytes(), 8192, "a /16: 8 KiB");
        assert!(matches!(HostsUp::new(DENSE_HOSTS + 1), HostsUp::Narrow(_)));
        assert!(matches!(HostsUp::new(1 << 40), HostsUp::Wide(_)));
        let mut narrow = HostsUp::new(1 << 32);
        for h in 0..100_000u64 {
            assert!(narrow.insert(h * 40_000));
        }
        let per_host = narrow.bytes() as f64 / 100_000.0;
        assert!(per_host <= 16.0, "{per_host} bytes per host up");
        let mut dense = HostsUp::new(100);
        assert!(
            !dense.insert(128) && !dense.contains(128),
            "outside the space"
        );
    }
}
