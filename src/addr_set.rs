//! A set of addresses, compactly: an IPv4 address by its 32 bits, an IPv6 one by its 128, each
//! in a hash set of its own (5 or 17 bytes a slot with the table's control byte, 6–12 and
//! 18–36 bytes an address with its slack) rather than a set of `IpAddr` (17 bytes each plus
//! padding, whatever the family).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Default, Clone)]
pub struct AddrSet {
    v4: HashSet<u32>,
    v6: HashSet<u128>,
}

impl AddrSet {
    /// Adds `ip`; false if it was there.
    pub fn insert(&mut self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.insert(a.to_bits()),
            IpAddr::V6(a) => self.v6.insert(a.to_bits()),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(&a.to_bits()),
            IpAddr::V6(a) => self.v6.contains(&a.to_bits()),
        }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses, IPv4 first, in no order within a family.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v4 = self.v4.iter().map(|&a| IpAddr::V4(Ipv4Addr::from_bits(a)));
        let v6 = self.v6.iter().map(|&a| IpAddr::V6(Ipv6Addr::from_bits(a)));
        v4.chain(v6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_once_whatever_its_family() {
        let mut s = AddrSet::default();
        let (a, b): (IpAddr, IpAddr) = (
            "198.18.0.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        );
        assert!(s.insert(a) && s.insert(b) && !s.insert(a));
        assert!(s.contains(a) && s.contains(b) && !s.contains("198.18.0.2".parse().unwrap()));
        assert_eq!(s.len(), 2);
        let mut all: Vec<IpAddr> = s.iter().collect();
        all.sort();
        assert_eq!(all, vec![a, b]);
    }
}
