//! Inclusive address ranges and sorted, disjoint sets of them.
//!
//! Addresses are held as `u128` inside a family tag so IPv4 and IPv6 share one arithmetic;
//! a set never mixes families (the target space keeps one set per family).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

/// An inclusive range `[first, last]` of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    pub family: Family,
    pub first: u128,
    pub last: u128,
}

impl IpRange {
    pub fn new(first: IpAddr, last: IpAddr) -> Option<IpRange> {
        let (fa, f) = to_num(first);
        let (fb, l) = to_num(last);
        (fa == fb && f <= l).then_some(IpRange {
            family: fa,
            first: f,
            last: l,
        })
    }

    pub fn single(ip: IpAddr) -> IpRange {
        let (family, n) = to_num(ip);
        IpRange {
            family,
            first: n,
            last: n,
        }
    }

    pub fn from_net(net: ipnet::IpNet) -> IpRange {
        // `network()`/`broadcast()` are the first/last addresses of the prefix, whatever the
        // host bits of the written address were (`10.0.0.7/24` means all of 10.0.0.0/24).
        IpRange::new(net.network(), net.broadcast()).unwrap_or_else(|| IpRange::single(net.addr()))
    }

    pub fn count(&self) -> u128 {
        // A full IPv6 range has 2^128 addresses, one more than u128 holds; saturate.
        (self.last - self.first).saturating_add(1)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, n) = to_num(ip);
        family == self.family && self.first <= n && n <= self.last
    }

    pub fn overlaps(&self, other: &IpRange) -> bool {
        self.family == other.family && self.first <= other.last && other.first <= self.last
    }

    /// Is all of `self` inside `other`?
    pub fn within(&self, other: &IpRange) -> bool {
        self.family == other.family && other.first <= self.first && self.last <= other.last
    }

    pub fn addr(&self, offset: u128) -> IpAddr {
        from_num(self.family, self.first + offset)
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = from_num(self.family, self.first);
        if self.first == self.last {
            write!(f, "{a}")
        } else {
            write!(f, "{a}-{}", from_num(self.family, self.last))
        }
    }
}

pub fn to_num(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(a) => (Family::V4, u32::from(a) as u128),
        IpAddr::V6(a) => (Family::V6, u128::from(a)),
    }
}

pub fn from_num(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(n as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// A sorted set of disjoint, non-adjacent ranges: overlaps are counted once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet {
    ranges: Vec<IpRange>,
}

impl RangeSet {
    /// Sorted and merged in place: a million ranges cost their 48 MB once, not twice.
    pub fn from_ranges(mut ranges: Vec<IpRange>) -> RangeSet {
        ranges.sort_unstable();
        let mut kept: usize = 0;
        for i in 0..ranges.len() {
            let r = ranges[i];
            match kept.checked_sub(1).map(|k| &mut ranges[k]) {
                Some(m) if m.family == r.family && r.first <= m.last.saturating_add(1) => {
                    m.last = m.last.max(r.last);
                }
                _ => {
                    ranges[kept] = r;
                    kept += 1;
                }
            }
        }
        ranges.truncate(kept);
        ranges.shrink_to_fit();
        RangeSet { ranges }
    }

    pub fn into_ranges(self) -> Vec<IpRange> {
        self.ranges
    }

    pub fn ranges(&self) -> &[IpRange] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of addresses, saturating at `u128::MAX`.
    pub fn count(&self) -> u128 {
        self.ranges
            .iter()
            .fold(0u128, |acc, r| acc.saturating_add(r.count()))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, n) = to_num(ip);
        let probe = IpRange {
            family,
            first: n,
            last: n,
        };
        let i = self
            .ranges
            .partition_point(|r| (r.family, r.last) < (family, n));
        self.ranges.get(i).is_some_and(|r| probe.within(r))
    }

    /// `self` with `more` added.
    pub fn union(self, more: Vec<IpRange>) -> RangeSet {
        let mut all = self.ranges;
        all.reserve_exact(more.len());
        all.extend(more);
        RangeSet::from_ranges(all)
    }

    /// `self` minus every address of `cut`: one merge pass over the two sorted lists,
    /// O(ranges + cuts). (Cutting each range by every cut that overlaps it, piece by piece,
    /// was quadratic: a million single-address excludes never finished.)
    pub fn subtract(&self, cut: &RangeSet) -> RangeSet {
        let cuts = &cut.ranges;
        let mut out = Vec::with_capacity(self.ranges.len());
        let mut j = 0;
        for r in &self.ranges {
            // Cuts that end before `r` starts touch neither it nor any range after it.
            while cuts
                .get(j)
                .is_some_and(|c| (c.family, c.last) < (r.family, r.first))
            {
                j += 1;
            }
            let mut first = r.first;
            let mut left = true;
            while let Some(c) = cuts
                .get(j)
                .filter(|c| c.family == r.family && c.first <= r.last)
            {
                if c.first > first {
                    out.push(IpRange {
                        first,
                        last: c.first - 1,
                        ..*r
                    });
                }
                if c.last >= r.last {
                    // This cut may reach into the next range too: keep it.
                    left = false;
                    break;
                }
                first = c.last + 1;
                j += 1;
            }
            if left {
                out.push(IpRange { first, ..*r });
            }
        }
        RangeSet { ranges: out }
    }

    /// The addresses both sets hold: one merge pass.
    pub fn intersect(&self, other: &RangeSet) -> RangeSet {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
            if x.overlaps(y) {
                out.push(IpRange {
                    family: x.family,
                    first: x.first.max(y.first),
                    last: x.last.min(y.last),
                });
            }
            // The one that ends first can meet nothing more.
            if (x.family, x.last) < (y.family, y.last) {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet::from_ranges(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> IpRange {
        IpRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
    }

    #[test]
    fn overlaps_and_adjacent_ranges_merge_once() {
        let s = RangeSet::from_ranges(vec![
            r("10.0.0.5", "10.0.0.20"),
            r("10.0.0.0", "10.0.0.9"),
            r("10.0.0.21", "10.0.0.30"),
            r("10.0.1.0", "10.0.1.0"),
        ]);
        assert_eq!(
            s.ranges(),
            &[r("10.0.0.0", "10.0.0.30"), r("10.0.1.0", "10.0.1.0")]
        );
        assert_eq!(s.count(), 32);
    }

    #[test]
    fn subtract_splits_and_removes() {
        let s = RangeSet::from_ranges(vec![r("10.0.0.0", "10.0.0.255")]);
        let cut = RangeSet::from_ranges(vec![
            r("10.0.0.10", "10.0.0.19"),
            r("10.0.0.250", "10.0.1.5"),
        ]);
        let d = s.subtract(&cut);
        assert_eq!(
            d.ranges(),
            &[r("10.0.0.0", "10.0.0.9"), r("10.0.0.20", "10.0.0.249")]
        );
        assert!(!d.contains("10.0.0.15".parse().unwrap()));
        assert!(d.contains("10.0.0.20".parse().unwrap()));
    }

    #[test]
    fn families_never_mix() {
        let s = RangeSet::from_ranges(vec![r("::", "::ffff"), r("0.0.0.0", "0.0.0.255")]);
        assert_eq!(s.ranges().len(), 2);
        assert!(!s.contains("::1:0".parse().unwrap()));
        assert!(s.contains("::ff".parse().unwrap()));
    }

    /// The case: a million single-address excludes. Correctness on the large case;
    /// the time is printed, not asserted.
    #[test]
    fn regression_a_million_single_excludes_subtract_in_one_pass() {
        let base = 0x0a00_0000u128; // 10.0.0.0/8
        let all = RangeSet::from_ranges(vec![IpRange {
            family: Family::V4,
            first: base,
            last: base + (1 << 24) - 1,
        }]);
        let cuts: Vec<IpRange> = (0..1_000_000u128)
            .map(|i| {
                let n = base + 2 * i;
                IpRange {
                    family: Family::V4,
                    first: n,
                    last: n,
                }
            })
            .collect();
        let cut = RangeSet::from_ranges(cuts);
        let t = std::time::Instant::now();
        let d = all.subtract(&cut);
        eprintln!("1M single excludes subtracted in {:?}", t.elapsed());
        assert_eq!(d.count(), (1 << 24) - 1_000_000);
        assert_eq!(
            d.ranges().len(),
            999_999 + 1,
            "each odd address below the last cut, then the rest"
        );
        assert!(!d.contains("10.0.0.0".parse().unwrap()));
        assert!(d.contains("10.0.0.1".parse().unwrap()));
        assert!(
            !d.contains("10.30.132.126".parse().unwrap()),
            "2 × 999_999 = 1_999_998"
        );
        assert!(d.contains("10.30.132.127".parse().unwrap()));
        assert_eq!(d.ranges()[999_999], r("10.30.132.127", "10.255.255.255"));
        assert_eq!(all.intersect(&cut), cut);
    }

    fn naive(set: &[(u8, u8)], cut: &[(u8, u8)]) -> Vec<bool> {
        let inside = |v: &[(u8, u8)], x: u8| v.iter().any(|&(a, b)| a.min(b) <= x && x <= a.max(b));
        (0..=255u8)
            .map(|x| inside(set, x) && !inside(cut, x))
            .collect()
    }

    fn set_of(v: &[(u8, u8)], family: Family) -> RangeSet {
        RangeSet::from_ranges(
            v.iter()
                .map(|&(a, b)| IpRange {
                    family,
                    first: a.min(b).into(),
                    last: a.max(b).into(),
                })
                .collect(),
        )
    }

    proptest::proptest! {
        #[test]
        fn subtract_and_intersect_agree_with_counting(
            a in proptest::collection::vec((0u8.., 0u8..), 0..12),
            b in proptest::collection::vec((0u8.., 0u8..), 0..12),
        ) {
            // Both families at once: a cut of one never touches the other.
            let mut set = set_of(&a, Family::V4).ranges().to_vec();
            set.extend(set_of(&a, Family::V6).ranges().to_vec());
            let set = RangeSet::from_ranges(set);
            let cut = set_of(&b, Family::V4);
            let d = set.subtract(&cut);
            let want = naive(&a, &b);
            for x in 0..=255u8 {
                let v4 = IpAddr::from([0, 0, 0, x]);
                proptest::prop_assert_eq!(d.contains(v4), want[x as usize]);
                proptest::prop_assert_eq!(
                    set.intersect(&cut).contains(v4),
                    set.contains(v4) && cut.contains(v4)
                );
            }
            proptest::prop_assert_eq!(
                d.count(),
                set_of(&a, Family::V6).count() + want.iter().filter(|w| **w).count() as u128
            );
            proptest::prop_assert_eq!(RangeSet::from_ranges(d.ranges().to_vec()), d);
        }
    }

    #[test]
    fn full_ipv6_range_length_saturates() {
        let all = IpRange::from_net("::/0".parse().unwrap());
        assert_eq!(all.count(), u128::MAX);
    }
}
