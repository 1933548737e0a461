//! Stateless reply validation: SipHash-2-4, keyed from the scan seed, over the 4-tuple.
//!
//! The cookie picks each probe's TCP sequence number and source port, so a reply proves it
//! answers one of our probes (it acknowledges `seq + 1` on the port we chose) without the sender
//! keeping any per-probe state. The key comes from the seed, which the resume file keeps, so
//! replies to probes sent before an interruption still validate after `--resume`.

use siphasher::sip::SipHasher24;
use std::hash::Hasher;
use std::net::Ipv4Addr;

#[derive(Debug, Clone)]
pub struct CookieKey {
    k0: u64,
    k1: u64,
}

/// Our source ports: `base + (cookie mod count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourcePorts {
    pub base: u16,
    pub count: u16,
}

impl CookieKey {
    pub fn from_seed(seed: u64) -> CookieKey {
        // Two independent-looking words from one seed (splitmix64 steps).
        let step = |x: u64| {
            let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        CookieKey {
            k0: step(seed),
            k1: step(seed ^ 0x5157_5e3e_d00d_f00d),
        }
    }

    /// The 64-bit cookie of a probe to `them:their_port` from `us`; the source port is not an
    /// input (it is chosen from the cookie).
    pub fn cookie_v4(&self, them: Ipv4Addr, their_port: u16, us: Ipv4Addr) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(&them.octets());
        h.write_u16(their_port);
        h.write(&us.octets());
        h.finish()
    }
}

impl CookieKey {
    /// The cookie of an echo request: its own domain (a leading tag), so it can never equal a
    /// SYN's cookie for any port, port 0 included.
    pub fn echo_cookie_v4(&self, them: Ipv4Addr, us: Ipv4Addr) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(b"echo");
        h.write(&them.octets());
        h.write(&us.octets());
        h.finish()
    }
}

impl CookieKey {
    /// The cookie of a UDP probe to `them:their_port`: its own domain, so a TCP and a UDP
    /// probe to the same port never share a source port and id by construction.
    pub fn udp_cookie_v4(&self, them: Ipv4Addr, their_port: u16, us: Ipv4Addr) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(b"udp");
        h.write(&them.octets());
        h.write_u16(their_port);
        h.write(&us.octets());
        h.finish()
    }
}

impl SourcePorts {
    /// The lowest and highest port, inclusive.
    pub fn bounds(&self) -> (u16, u16) {
        (
            self.base,
            self.base.saturating_add(self.count.saturating_sub(1)),
        )
    }

    /// (sequence number, source port) of a probe with this cookie.
    pub fn pick(&self, cookie: u64) -> (u32, u16) {
        let offset = ((cookie >> 32) % u64::from(self.count.max(1))) as u16;
        (cookie as u32, self.base.wrapping_add(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_one_bit_change_changes_the_cookie(seed: u64, a: u32, port: u16, b: u32, bit in 0u32..80) {
            let k = CookieKey::from_seed(seed);
            let (them, us) = (Ipv4Addr::from(a), Ipv4Addr::from(b));
            let c = k.cookie_v4(them, port, us);
            let flipped = match bit {
                0..32 => k.cookie_v4(Ipv4Addr::from(a ^ (1 << bit)), port, us),
                32..48 => k.cookie_v4(them, port ^ (1 << (bit - 32)), us),
                _ => k.cookie_v4(them, port, Ipv4Addr::from(b ^ (1 << (bit - 48)))),
            };
            prop_assert_ne!(c as u32, flipped as u32);
            prop_assert_ne!(c, CookieKey::from_seed(seed ^ 1).cookie_v4(them, port, us));
        }
    }

    #[test]
    fn source_ports_stay_in_range() {
        let p = SourcePorts {
            base: 40000,
            count: 100,
        };
        for c in [0u64, u64::MAX, 0x1234_5678_9abc_def0] {
            let (_, sport) = p.pick(c);
            assert!((40000..40100).contains(&sport));
        }
    }
}
