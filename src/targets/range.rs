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
    pub fn from_ranges(mut ranges: Vec<IpRange>) -> RangeSet {
        ranges.sort();
        let mut merged: Vec<IpRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(m) if m.family == r.family && r.first <= m.last.saturating_add(1) => {
                    m.last = m.last.max(r.last);
                }
                _ => merged.push(r),
            }
        }
        RangeSet { ranges: merged }
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

    /// `self` minus every address of `cut`.
    pub fn subtract(&self, cut: &RangeSet) -> RangeSet {
        let mut out = Vec::with_capacity(self.ranges.len());
        for r in &self.ranges {
            let mut pieces = vec![*r];
            for c in cut.ranges.iter().filter(|c| c.overlaps(r)) {
                pieces = pieces.into_iter().flat_map(|p| split_off(p, c)).collect();
            }
            out.extend(pieces);
        }
        RangeSet { ranges: out }
    }

    /// The addresses both sets hold.
    pub fn union(&self, other: &RangeSet) -> RangeSet {
        RangeSet::from_ranges(self.ranges.iter().chain(&other.ranges).copied().collect())
    }

    pub fn intersect(&self, other: &RangeSet) -> RangeSet {
        let mut out = Vec::new();
        for a in &self.ranges {
            for b in other.ranges.iter().filter(|b| b.overlaps(a)) {
                out.push(IpRange {
                    family: a.family,
                    first: a.first.max(b.first),
                    last: a.last.min(b.last),
                });
            }
        }
        RangeSet::from_ranges(out)
    }
}

/// The parts of `r` left after removing `c` (zero, one or two ranges).
fn split_off(r: IpRange, c: &IpRange) -> Vec<IpRange> {
    if !r.overlaps(c) {
        return vec![r];
    }
    let mut v = Vec::with_capacity(2);
    if r.first < c.first {
        v.push(IpRange {
            last: c.first - 1,
            ..r
        });
    }
    if c.last < r.last {
        v.push(IpRange {
            first: c.last + 1,
            ..r
        });
    }
    v
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

    #[test]
    fn full_ipv6_range_length_saturates() {
        let all = IpRange::from_net("::/0".parse().unwrap());
        assert_eq!(all.count(), u128::MAX);
    }
}
