//! The TCP SYN probe: a template built once (optional Ethernet + IPv4 + TCP with the options a
//! Linux client sends: MSS, SACK-permitted, timestamps, window scale), then `craft` writes one
//! probe by copying it and patching only the per-target fields. Checksums start from partial
//! sums of the constant part, so a probe costs a 74-byte copy and a dozen additions, with no
//! allocation. This is the sender's hot path, written by hand for that reason.

use super::checksum::{add_bytes, add_u32, finish};
use std::net::Ipv4Addr;

/// Byte offsets inside the IPv4 and TCP headers (from the start of each header).
mod field {
    pub const IP_TOTAL_LEN: usize = 2;
    pub const IP_ID: usize = 4;
    pub const IP_TTL: usize = 8;
    pub const IP_PROTO: usize = 9;
    pub const IP_CHECKSUM: usize = 10;
    pub const IP_SRC: usize = 12;
    pub const IP_DST: usize = 16;
    pub const TCP_SPORT: usize = 0;
    pub const TCP_DPORT: usize = 2;
    pub const TCP_SEQ: usize = 4;
    pub const TCP_OFFSET: usize = 12;
    pub const TCP_FLAGS: usize = 13;
    pub const TCP_WINDOW: usize = 14;
    pub const TCP_CHECKSUM: usize = 16;
    /// TSval inside the options: MSS(4) + SACK-permitted(2) + kind/len(2).
    pub const TCP_TSVAL: usize = 20 + 4 + 2 + 2;
}

pub const ETH_LEN: usize = 14;
pub const IP_LEN: usize = 20;
pub const TCP_LEN: usize = 40;
const TCP_OPTIONS: [u8; 20] = [
    2, 4, 0x05, 0xb4, // MSS 1460
    4, 2, // SACK permitted
    8, 10, 0, 0, 0, 0, 0, 0, 0, 0, // timestamps: TSval (patched), TSecr 0
    1, // NOP
    3, 3, 7, // window scale 7
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetAddrs {
    pub src: [u8; 6],
    pub dst: [u8; 6],
}

/// Writes an IPv4 Ethernet II header at the start of a template, if the link has one;
/// returns where the IP header starts (14, or 0 on bare-IP links).
pub fn write_ethernet(b: &mut [u8], eth: Option<EthernetAddrs>) -> usize {
    match eth {
        Some(e) => {
            b[0..6].copy_from_slice(&e.dst);
            b[6..12].copy_from_slice(&e.src);
            b[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            ETH_LEN
        }
        None => 0,
    }
}

/// What varies per probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynFields {
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub sport: u16,
    pub seq: u32,
    /// Our timestamp: the send time in milliseconds, echoed back as TSecr (RTT without state).
    pub tsval: u32,
    pub ip_id: u16,
}

#[derive(Debug, Clone)]
pub struct SynTemplate {
    bytes: [u8; ETH_LEN + IP_LEN + TCP_LEN],
    /// Where the IP header starts: 14 with Ethernet, 0 on links without one (tun, WireGuard).
    ip_at: usize,
    ip_sum: u32,
    tcp_sum: u32,
}

impl SynTemplate {
    pub fn new_v4(src: Ipv4Addr, eth: Option<EthernetAddrs>, ttl: u8) -> SynTemplate {
        let mut b = [0u8; ETH_LEN + IP_LEN + TCP_LEN];
        let ip_at = write_ethernet(&mut b, eth);
        let (ip, rest) = b[ip_at..].split_at_mut(IP_LEN);
        ip[0] = 0x45;
        ip[field::IP_TOTAL_LEN..][..2].copy_from_slice(&((IP_LEN + TCP_LEN) as u16).to_be_bytes());
        ip[field::IP_TTL] = ttl;
        ip[field::IP_PROTO] = 6;
        ip[field::IP_SRC..][..4].copy_from_slice(&src.octets());
        let tcp = &mut rest[..TCP_LEN];
        tcp[field::TCP_OFFSET] = ((TCP_LEN / 4) as u8) << 4;
        tcp[field::TCP_FLAGS] = 0x02; // SYN
        tcp[field::TCP_WINDOW..][..2].copy_from_slice(&64240u16.to_be_bytes());
        tcp[20..].copy_from_slice(&TCP_OPTIONS);
        // Partial sums over everything constant; per-target fields are zero here.
        let ip_sum = add_bytes(0, ip);
        let pseudo = add_bytes(0, &src.octets()) + 6 + TCP_LEN as u32;
        let tcp_sum = add_bytes(pseudo, tcp);
        SynTemplate {
            bytes: b,
            ip_at,
            ip_sum,
            tcp_sum,
        }
    }

    /// Length of every probe this template makes.
    pub fn len(&self) -> usize {
        self.ip_at + IP_LEN + TCP_LEN
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes one probe into `out` (at least `len()` bytes); returns the bytes written.
    #[inline]
    pub fn craft(&self, out: &mut [u8], f: &SynFields) -> Option<usize> {
        let n = self.len();
        let out = out.get_mut(..n)?;
        out.copy_from_slice(&self.bytes[..n]);
        let dst = u32::from(f.dst);
        let (ip, tcp) = out[self.ip_at..].split_at_mut(IP_LEN);
        ip[field::IP_ID..][..2].copy_from_slice(&f.ip_id.to_be_bytes());
        ip[field::IP_DST..][..4].copy_from_slice(&f.dst.octets());
        let ip_sum = add_u32(self.ip_sum + u32::from(f.ip_id), dst);
        ip[field::IP_CHECKSUM..][..2].copy_from_slice(&finish(ip_sum).to_be_bytes());
        tcp[field::TCP_SPORT..][..2].copy_from_slice(&f.sport.to_be_bytes());
        tcp[field::TCP_DPORT..][..2].copy_from_slice(&f.dport.to_be_bytes());
        tcp[field::TCP_SEQ..][..4].copy_from_slice(&f.seq.to_be_bytes());
        tcp[field::TCP_TSVAL..][..4].copy_from_slice(&f.tsval.to_be_bytes());
        let mut sum = add_u32(self.tcp_sum, dst) + u32::from(f.sport) + u32::from(f.dport);
        sum = add_u32(add_u32(sum, f.seq), f.tsval);
        tcp[field::TCP_CHECKSUM..][..2].copy_from_slice(&finish(sum).to_be_bytes());
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
    use proptest::prelude::*;

    const ETH: EthernetAddrs = EthernetAddrs {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };

    fn fields(dst: u32, dport: u16, sport: u16, seq: u32, tsval: u32, ip_id: u16) -> SynFields {
        SynFields {
            dst: Ipv4Addr::from(dst),
            dport,
            sport,
            seq,
            tsval,
            ip_id,
        }
    }

    /// A golden probe: every byte checked by hand against RFC 791 / 793 / 7323 layouts, and
    /// its checksums by etherparse below; any change to the template shows here.
    #[test]
    fn golden_bytes() {
        let t = SynTemplate::new_v4(Ipv4Addr::new(198, 19, 0, 1), Some(ETH), 64);
        let mut buf = [0u8; 128];
        let n = t
            .craft(
                &mut buf,
                &fields(0xc612_0007, 443, 40001, 0x0102_0304, 0x0a0b_0c0d, 0x1234),
            )
            .unwrap();
        let hex: String = buf[..n].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "020000000002",
                "020000000001",
                "0800",
                "4500003c12340000",
                "4006",
                "dc5a",
                "c6130001",
                "c6120007",
                "9c4101bb",
                "01020304",
                "00000000",
                "a002faf0",
                "08c7",
                "0000",
                "020405b4",
                "0402",
                "080a0a0b0c0d00000000",
                "01",
                "030307"
            )
        );
    }

    proptest! {
        #[test]
        fn crafted_probes_parse_back_with_valid_checksums(
            dst: u32, dport: u16, sport: u16, seq: u32, tsval: u32, id: u16, src: u32, ethernet: bool
        ) {
            let t = SynTemplate::new_v4(Ipv4Addr::from(src), ethernet.then_some(ETH), 64);
            let mut buf = [0u8; 128];
            let n = t.craft(&mut buf, &fields(dst, dport, sport, seq, tsval, id)).unwrap();
            let p = if ethernet { SlicedPacket::from_ethernet(&buf[..n]) } else { SlicedPacket::from_ip(&buf[..n]) }
                .expect("parses");
            let Some(NetSlice::Ipv4(ip)) = p.net else { panic!("not IPv4") };
            let h = ip.header();
            prop_assert_eq!(h.destination_addr(), Ipv4Addr::from(dst));
            prop_assert_eq!(h.identification(), id);
            prop_assert_eq!(h.header_checksum(), h.to_header().calc_header_checksum());
            let Some(TransportSlice::Tcp(tcp)) = p.transport else { panic!("not TCP") };
            prop_assert!(tcp.syn() && !tcp.ack());
            prop_assert_eq!((tcp.source_port(), tcp.destination_port(), tcp.sequence_number()), (sport, dport, seq));
            prop_assert_eq!(tcp.checksum(), tcp.calc_checksum_ipv4(src.to_be_bytes(), dst.to_be_bytes()).unwrap());
            let ts = tcp.options_iterator().find_map(|o| match o {
                Ok(TcpOptionElement::Timestamp(v, e)) => Some((v, e)),
                _ => None,
            });
            prop_assert_eq!(ts, Some((tsval, 0)));
        }
    }

    #[test]
    fn a_short_buffer_is_refused_not_overrun() {
        let t = SynTemplate::new_v4(Ipv4Addr::LOCALHOST, None, 64);
        assert_eq!(t.craft(&mut [0u8; 59], &fields(1, 2, 3, 4, 5, 6)), None);
        assert_eq!(t.craft(&mut [0u8; 60], &fields(1, 2, 3, 4, 5, 6)), Some(60));
    }
}
