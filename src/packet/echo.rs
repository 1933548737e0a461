//! The ICMP echo probe (host discovery, `-sn` / `-PE`): a template built once, patched per
//! target like the SYN probe. The cookie fills the identifier and sequence number (32 bits)
//! and the first payload word (32 more), so an echo reply proves it answers our request; the
//! second payload word is the send time, which the reply carries back (RTT without state).

use super::checksum::{add_bytes, add_u32, finish};
use super::syn::{ETH_LEN, EthernetAddrs, IP_LEN, write_ethernet};
use std::net::Ipv4Addr;

pub const ICMP_LEN: usize = 8;
pub const PAYLOAD_LEN: usize = 8;

/// The per-target fields an echo request carries, derived from the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoFields {
    pub id: u16,
    pub seq: u16,
    /// Echoed back in the payload: proves the reply (with id and seq) without state.
    pub check: u32,
}

impl EchoFields {
    pub fn from_cookie(cookie: u64) -> EchoFields {
        EchoFields {
            id: (cookie >> 48) as u16,
            seq: (cookie >> 32) as u16,
            check: cookie as u32,
        }
    }
}

#[derive(Debug, Clone)]
pub struct EchoTemplate {
    bytes: [u8; ETH_LEN + IP_LEN + ICMP_LEN + PAYLOAD_LEN],
    ip_at: usize,
    ip_sum: u32,
}

impl EchoTemplate {
    pub fn new_v4(src: Ipv4Addr, eth: Option<EthernetAddrs>, ttl: u8) -> EchoTemplate {
        let mut b = [0u8; ETH_LEN + IP_LEN + ICMP_LEN + PAYLOAD_LEN];
        let ip_at = write_ethernet(&mut b, eth);
        let ip = &mut b[ip_at..ip_at + IP_LEN];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((IP_LEN + ICMP_LEN + PAYLOAD_LEN) as u16).to_be_bytes());
        ip[8] = ttl;
        ip[9] = 1; // ICMP
        ip[12..16].copy_from_slice(&src.octets());
        let ip_sum = add_bytes(0, ip);
        b[ip_at + IP_LEN] = 8; // echo request, code 0
        EchoTemplate {
            bytes: b,
            ip_at,
            ip_sum,
        }
    }

    pub fn len(&self) -> usize {
        self.ip_at + IP_LEN + ICMP_LEN + PAYLOAD_LEN
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes one echo request to `dst` into `out`; returns the bytes written.
    #[inline]
    pub fn craft(
        &self,
        out: &mut [u8],
        dst: Ipv4Addr,
        f: &EchoFields,
        sent_us: u32,
        ip_id: u16,
    ) -> Option<usize> {
        let n = self.len();
        let out = out.get_mut(..n)?;
        out.copy_from_slice(&self.bytes[..n]);
        let (ip, icmp) = out[self.ip_at..].split_at_mut(IP_LEN);
        ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
        ip[16..20].copy_from_slice(&dst.octets());
        let ip_sum = add_u32(self.ip_sum + u32::from(ip_id), u32::from(dst));
        ip[10..12].copy_from_slice(&finish(ip_sum).to_be_bytes());
        icmp[4..6].copy_from_slice(&f.id.to_be_bytes());
        icmp[6..8].copy_from_slice(&f.seq.to_be_bytes());
        icmp[8..12].copy_from_slice(&f.check.to_be_bytes());
        icmp[12..16].copy_from_slice(&sent_us.to_be_bytes());
        // Type 8 in the high byte of the first word; the checksum field itself counts as 0.
        let sum = add_u32(
            add_u32(0x0800 + u32::from(f.id) + u32::from(f.seq), f.check),
            sent_us,
        );
        icmp[2..4].copy_from_slice(&finish(sum).to_be_bytes());
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Icmpv4Type, NetSlice, SlicedPacket, TransportSlice};
    use proptest::prelude::*;

    const ETH: EthernetAddrs = EthernetAddrs {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };

    #[test]
    fn golden_bytes() {
        let t = EchoTemplate::new_v4(Ipv4Addr::new(198, 19, 0, 1), Some(ETH), 64);
        let mut buf = [0u8; 64];
        let f = EchoFields::from_cookie(0x1122_3344_5566_7788);
        let n = t
            .craft(
                &mut buf,
                Ipv4Addr::new(198, 18, 0, 7),
                &f,
                0x0a0b_0c0d,
                0x1234,
            )
            .unwrap();
        let hex: String = buf[..n].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "020000000002",
                "020000000001",
                "0800",
                "4500002412340000",
                "4001",
                "dc77", // 4500+0024+1234+4001+c613+0001+c612+0007 = 2_2386 → 2388 → !2388
                "c6130001",
                "c6120007",
                "0800",
                "d092", // 0800+1122+3344+5566+7788+0a0b+0c0d = 1_2f6c → 2f6d → !2f6d
                "1122", // identifier
                "3344", // sequence number
                "55667788",
                "0a0b0c0d"
            )
        );
    }

    proptest! {
        #[test]
        fn crafted_requests_parse_back_with_valid_checksums(
            dst: u32, cookie: u64, sent: u32, id: u16, src: u32, ethernet: bool
        ) {
            let t = EchoTemplate::new_v4(Ipv4Addr::from(src), ethernet.then_some(ETH), 64);
            let mut buf = [0u8; 64];
            let f = EchoFields::from_cookie(cookie);
            let n = t.craft(&mut buf, Ipv4Addr::from(dst), &f, sent, id).unwrap();
            let p = if ethernet { SlicedPacket::from_ethernet(&buf[..n]) } else { SlicedPacket::from_ip(&buf[..n]) }
                .expect("parses");
            let Some(NetSlice::Ipv4(ip)) = p.net else { panic!("not IPv4") };
            let h = ip.header();
            prop_assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
            let Some(TransportSlice::Icmpv4(icmp)) = p.transport else { panic!("not ICMP") };
            let Icmpv4Type::EchoRequest(e) = icmp.icmp_type() else { panic!("not an echo request") };
            prop_assert_eq!((e.id, e.seq), (f.id, f.seq));
            prop_assert_eq!(icmp.checksum(), icmp.icmp_type().calc_checksum(icmp.payload()));
            prop_assert_eq!(icmp.payload(), &[f.check.to_be_bytes(), sent.to_be_bytes()].concat()[..]);
        }
    }
}
