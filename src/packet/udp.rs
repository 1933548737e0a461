//! The UDP probe: Ethernet + IPv4 + UDP headers from a template built once, then the port's
//! protocol payload (`crate::udp`) written straight into the frame. The payload varies per
//! port and cookie, so its checksum is summed per probe (at most 512 bytes; a UDP scan runs
//! far below the rates where that shows).

use super::checksum::{add_bytes, add_u32, finish};
use super::syn::{ETH_LEN, EthernetAddrs, IP_LEN, write_ethernet};
use std::net::Ipv4Addr;

pub const UDP_LEN: usize = 8;

/// What varies per probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpFields {
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub sport: u16,
    pub ip_id: u16,
    /// Carried in the payload's id field where the protocol has one.
    pub cookie: u64,
}

#[derive(Debug, Clone)]
pub struct UdpTemplate {
    bytes: [u8; ETH_LEN + IP_LEN],
    ip_at: usize,
    src: Ipv4Addr,
    /// Sum of the IP header's constant words (length, id, destination and checksum zero).
    ip_sum: u32,
}

impl UdpTemplate {
    pub fn new_v4(src: Ipv4Addr, eth: Option<EthernetAddrs>, ttl: u8) -> UdpTemplate {
        let mut b = [0u8; ETH_LEN + IP_LEN];
        let ip_at = write_ethernet(&mut b, eth);
        let ip = &mut b[ip_at..ip_at + IP_LEN];
        ip[0] = 0x45;
        ip[8] = ttl;
        ip[9] = 17; // UDP
        ip[12..16].copy_from_slice(&src.octets());
        let ip_sum = add_bytes(0, ip);
        UdpTemplate {
            bytes: b,
            ip_at,
            src,
            ip_sum,
        }
    }

    /// Writes one probe into `out`; its length, or None if `out` is too small.
    pub fn craft(&self, out: &mut [u8], f: &UdpFields) -> Option<usize> {
        let head = self.ip_at + IP_LEN + UDP_LEN;
        let (headers, payload) = out.split_at_mut_checked(head)?;
        let payload_len = crate::udp::write_payload(f.dport, f.cookie, payload)?;
        let udp_len = (UDP_LEN + payload_len) as u16;
        let total = IP_LEN as u16 + udp_len;
        headers[..self.ip_at + IP_LEN].copy_from_slice(&self.bytes[..self.ip_at + IP_LEN]);
        let (ip, udp) = headers[self.ip_at..].split_at_mut(IP_LEN);
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[4..6].copy_from_slice(&f.ip_id.to_be_bytes());
        ip[16..20].copy_from_slice(&f.dst.octets());
        let dst = u32::from(f.dst);
        let ip_sum = add_u32(self.ip_sum + u32::from(total) + u32::from(f.ip_id), dst);
        ip[10..12].copy_from_slice(&finish(ip_sum).to_be_bytes());
        udp[0..2].copy_from_slice(&f.sport.to_be_bytes());
        udp[2..4].copy_from_slice(&f.dport.to_be_bytes());
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        udp[6..8].copy_from_slice(&[0, 0]);
        // Pseudo-header (RFC 768): addresses, protocol, length; then header and payload.
        let mut sum = add_u32(add_u32(17 + u32::from(udp_len), u32::from(self.src)), dst);
        sum = add_bytes(sum, udp);
        sum = add_bytes(sum, &payload[..payload_len]);
        // A computed zero is sent as all ones: zero means "no checksum" in UDP.
        let check = match finish(sum) {
            0 => 0xffff,
            c => c,
        };
        udp[6..8].copy_from_slice(&check.to_be_bytes());
        Some(head + payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use proptest::prelude::*;

    const ETH: EthernetAddrs = EthernetAddrs {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };

    /// A golden probe (DNS to port 53), checksums worked by hand.
    #[test]
    fn golden_bytes() {
        let t = UdpTemplate::new_v4(Ipv4Addr::new(198, 19, 0, 1), Some(ETH), 64);
        let mut buf = [0u8; 640];
        let f = UdpFields {
            dst: Ipv4Addr::new(198, 18, 0, 7),
            dport: 53,
            sport: 61000,
            ip_id: 0x1234,
            cookie: 0xbeef,
        };
        let n = t.craft(&mut buf, &f).unwrap();
        let hex: String = buf[..n].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "020000000002020000000001",
                "0800",
                // 4500+003a+1234+4011+c613+0001+c612+0007 = 2_23ac → 23ae → !23ae
                "4500003a12340000",
                "4011",
                "dc51",
                "c6130001",
                "c6120007",
                "ee480035", // 61000 → 53
                "0026",     // 8 + 30
                "a461",     // checked against etherparse's sum in the property below
                "beef000000010000000000000776657273696f6e0462696e6400",
                "00100003"
            )
        );
    }

    proptest! {
        #[test]
        fn crafted_probes_parse_back_with_valid_checksums(
            dst: u32, dport in proptest::sample::select(crate::udp::payload_ports().chain([9, 40000]).collect::<Vec<_>>()),
            sport: u16, id: u16, cookie: u64, src: u32, ethernet: bool
        ) {
            let t = UdpTemplate::new_v4(Ipv4Addr::from(src), ethernet.then_some(ETH), 64);
            let mut buf = [0u8; 640];
            let f = UdpFields { dst: Ipv4Addr::from(dst), dport, sport, ip_id: id, cookie };
            let n = t.craft(&mut buf, &f).unwrap();
            let p = if ethernet { SlicedPacket::from_ethernet(&buf[..n]) } else { SlicedPacket::from_ip(&buf[..n]) }
                .expect("parses");
            let Some(NetSlice::Ipv4(ip)) = p.net else { panic!("not IPv4") };
            let h = ip.header();
            prop_assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
            prop_assert_eq!(h.identification(), id);
            let Some(TransportSlice::Udp(udp)) = p.transport else { panic!("not UDP") };
            prop_assert_eq!((udp.source_port(), udp.destination_port()), (sport, dport));
            let want = udp.to_header().calc_checksum_ipv4_raw(src.to_be_bytes(), dst.to_be_bytes(), udp.payload()).unwrap();
            prop_assert_eq!(udp.checksum(), want);
            let mut expect = [0u8; 512];
            let m = crate::udp::write_payload(dport, cookie, &mut expect).unwrap();
            prop_assert_eq!(udp.payload(), &expect[..m]);
        }
    }

    #[test]
    fn a_short_buffer_is_refused_not_overrun() {
        let t = UdpTemplate::new_v4(Ipv4Addr::LOCALHOST, None, 64);
        let f = UdpFields {
            dst: Ipv4Addr::LOCALHOST,
            dport: 123,
            sport: 1,
            ip_id: 0,
            cookie: 0,
        };
        assert_eq!(t.craft(&mut [0u8; 75], &f), None);
        assert_eq!(t.craft(&mut [0u8; 76], &f), Some(76));
    }
}
