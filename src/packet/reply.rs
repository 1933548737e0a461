//! Classifying what the capture thread receives. Total: any byte string gives a verdict, never
//! a panic. A reply counts only if it proves it answers one of our probes — SYN-ACK and RST must
//! acknowledge the cookie's sequence number on the source port the cookie chose; an ICMP error
//! must quote a probe of ours (source, ports and sequence number inside the quoted header).

use super::cookie::{CookieKey, SourcePorts};
use super::echo::EchoFields;
use crate::event::Proto;
use crate::udp::{Check, check_reply};
use etherparse::{
    Icmpv4Type, IpNumber, Ipv4HeaderSlice, NetSlice, SlicedPacket, TcpOptionElement, TransportSlice,
};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Ethernet II frames.
    Ethernet,
    /// Bare IP packets (tun, WireGuard, PPP, Linux cooked captures after their header).
    RawIp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A SYN-ACK acknowledging our probe.
    Open {
        ip: Ipv4Addr,
        port: u16,
        ttl: u8,
        window: u16,
        /// Our TSval echoed back: the send time, for the RTT.
        tsecr: Option<u32>,
    },
    /// A RST acknowledging our probe.
    Closed { ip: Ipv4Addr, port: u16, ttl: u8 },
    /// An ICMP destination-unreachable quoting our probe (`from` may be a router).
    Unreachable {
        ip: Ipv4Addr,
        port: u16,
        /// The quoted probe's transport.
        proto: Proto,
        code: u8,
        from: Ipv4Addr,
    },
    /// A UDP datagram answering our probe: the port is open.
    UdpOpen { ip: Ipv4Addr, port: u16, ttl: u8 },
    /// An ICMP echo reply to our echo request: the host is up.
    Echo {
        ip: Ipv4Addr,
        ttl: u8,
        /// The send time our request carried, echoed back.
        sent_us: u32,
    },
    /// Addressed to our probe's port but not proving it answers it: dropped and counted.
    Forged,
    /// Not an answer to a probe of ours (other address, port, protocol or flags).
    Unrelated,
    /// Could not be parsed.
    Malformed,
}

#[derive(Debug, Clone)]
pub struct Validator {
    pub key: CookieKey,
    pub us: Ipv4Addr,
    pub ports: SourcePorts,
}

impl Validator {
    fn ours(&self, port: u16) -> bool {
        port.wrapping_sub(self.ports.base) < self.ports.count
    }

    /// Does (them, their port) ← (our port, `ack` − 1 or `seq`) match a probe we sent?
    fn proves(&self, them: Ipv4Addr, their_port: u16, our_port: u16, seq: u32) -> bool {
        let (want_seq, want_port) = self
            .ports
            .pick(self.key.cookie_v4(them, their_port, self.us));
        want_seq == seq && want_port == our_port
    }

    pub fn classify(&self, frame: &[u8], link: LinkKind) -> Verdict {
        let parsed = match link {
            LinkKind::Ethernet => SlicedPacket::from_ethernet(frame),
            LinkKind::RawIp => SlicedPacket::from_ip(frame),
        };
        let Ok(p) = parsed else {
            return Verdict::Malformed;
        };
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            return Verdict::Unrelated;
        };
        let h = ip.header();
        if h.destination_addr() != self.us {
            return Verdict::Unrelated;
        }
        let (them, ttl) = (h.source_addr(), h.ttl());
        match &p.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                if !self.ours(tcp.destination_port()) || !tcp.ack() {
                    return Verdict::Unrelated;
                }
                let sent_seq = tcp.acknowledgment_number().wrapping_sub(1);
                if !self.proves(them, tcp.source_port(), tcp.destination_port(), sent_seq) {
                    return Verdict::Forged;
                }
                let port = tcp.source_port();
                if tcp.rst() {
                    Verdict::Closed {
                        ip: them,
                        port,
                        ttl,
                    }
                } else if tcp.syn() {
                    let tsecr = tcp.options_iterator().find_map(|o| match o {
                        Ok(TcpOptionElement::Timestamp(_, echoed)) => Some(echoed),
                        _ => None,
                    });
                    Verdict::Open {
                        ip: them,
                        port,
                        ttl,
                        window: tcp.window_size(),
                        tsecr,
                    }
                } else {
                    Verdict::Unrelated
                }
            }
            Some(TransportSlice::Udp(udp)) => {
                let (our_port, their_port) = (udp.destination_port(), udp.source_port());
                if !self.ours(our_port) {
                    return Verdict::Unrelated;
                }
                let cookie = self.key.udp_cookie_v4(them, their_port, self.us);
                if self.ports.pick(cookie).1 != our_port {
                    return Verdict::Forged;
                }
                match check_reply(their_port, cookie, udp.payload()) {
                    Check::Forged => Verdict::Forged,
                    Check::Proven | Check::PortOnly => Verdict::UdpOpen {
                        ip: them,
                        port: their_port,
                        ttl,
                    },
                }
            }
            Some(TransportSlice::Icmpv4(icmp)) => match icmp.icmp_type() {
                Icmpv4Type::DestinationUnreachable(u) => {
                    self.quoted(icmp.payload(), u.code_u8(), them)
                }
                Icmpv4Type::EchoReply(e) => self.echo(them, ttl, e.id, e.seq, icmp.payload()),
                _ => Verdict::Unrelated,
            },
            _ => Verdict::Unrelated,
        }
    }

    /// An echo reply proves itself with the identifier, sequence number and first payload
    /// word our request carried (see `echo`).
    fn echo(&self, them: Ipv4Addr, ttl: u8, id: u16, seq: u16, payload: &[u8]) -> Verdict {
        let (Some(check), Some(sent)) = (payload.get(0..4), payload.get(4..8)) else {
            return Verdict::Unrelated; // someone else's ping, or a truncated one
        };
        let want = EchoFields::from_cookie(self.key.echo_cookie_v4(them, self.us));
        let check = u32::from_be_bytes([check[0], check[1], check[2], check[3]]);
        if (id, seq, check) != (want.id, want.seq, want.check) {
            return Verdict::Forged;
        }
        Verdict::Echo {
            ip: them,
            ttl,
            sent_us: u32::from_be_bytes([sent[0], sent[1], sent[2], sent[3]]),
        }
    }

    /// The probe quoted inside an ICMP error: its IPv4 header and at least 8 bytes of TCP or
    /// UDP (RFC 792). A TCP probe proves itself by its sequence number; a UDP probe, which has
    /// none, by its source port and the IP id, both chosen by the cookie.
    fn quoted(&self, payload: &[u8], code: u8, from: Ipv4Addr) -> Verdict {
        let Ok(q) = Ipv4HeaderSlice::from_slice(payload) else {
            return Verdict::Malformed;
        };
        let proto = match q.protocol() {
            IpNumber::TCP => Proto::Tcp,
            IpNumber::UDP => Proto::Udp,
            _ => return Verdict::Unrelated,
        };
        if q.source_addr() != self.us {
            return Verdict::Unrelated;
        }
        let Some(head) = payload.get(q.slice().len()..q.slice().len() + 8) else {
            return Verdict::Malformed;
        };
        let our_port = u16::from_be_bytes([head[0], head[1]]);
        let their_port = u16::from_be_bytes([head[2], head[3]]);
        let them = q.destination_addr();
        if !self.ours(our_port) {
            return Verdict::Unrelated;
        }
        let proven = match proto {
            Proto::Tcp => {
                let seq = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
                self.proves(them, their_port, our_port, seq)
            }
            Proto::Udp => {
                let cookie = self.key.udp_cookie_v4(them, their_port, self.us);
                self.ports.pick(cookie).1 == our_port && q.identification() == (cookie >> 16) as u16
            }
        };
        if !proven {
            return Verdict::Forged;
        }
        Verdict::Unreachable {
            ip: them,
            port: their_port,
            proto,
            code,
            from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::syn::{ETH_LEN, EthernetAddrs, SynFields, SynTemplate};
    use super::*;
    use etherparse::{PacketBuilder, icmpv4::DestUnreachableHeader};
    use proptest::prelude::*;

    const US: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
    const THEM: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 7);
    const MAC_US: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MAC_GW: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn validator(seed: u64) -> Validator {
        Validator {
            key: CookieKey::from_seed(seed),
            us: US,
            ports: SourcePorts {
                base: 40000,
                count: 1000,
            },
        }
    }

    /// The probe we would send to THEM:port: (frame, seq, sport).
    fn probe(v: &Validator, port: u16) -> (Vec<u8>, u32, u16) {
        let (seq, sport) = v.ports.pick(v.key.cookie_v4(THEM, port, US));
        let t = SynTemplate::new_v4(
            US,
            Some(EthernetAddrs {
                src: MAC_US,
                dst: MAC_GW,
            }),
            64,
        );
        let mut buf = vec![0u8; t.len()];
        let f = SynFields {
            dst: THEM,
            dport: port,
            sport,
            seq,
            tsval: 777,
            ip_id: 1,
        };
        t.craft(&mut buf, &f).unwrap();
        (buf, seq, sport)
    }

    /// A TCP answer from THEM:port to our `sport`, acknowledging `ack`.
    fn answer(port: u16, sport: u16, ack: u32, syn: bool) -> Vec<u8> {
        let b = PacketBuilder::ethernet2(MAC_GW, MAC_US).ipv4(THEM.octets(), US.octets(), 57);
        let mut tcp = b.tcp(port, sport, 999, 65160);
        tcp = if syn {
            tcp.syn()
                .ack(ack)
                .options(&[TcpOptionElement::Timestamp(555, 777)])
                .unwrap()
        } else {
            tcp.rst().ack(ack)
        };
        let mut out = Vec::new();
        tcp.write(&mut out, &[]).unwrap();
        out
    }

    fn unreachable(quoted: &[u8], code: u8) -> Vec<u8> {
        let router = [198, 18, 255, 254];
        let icmp = Icmpv4Type::DestinationUnreachable(
            DestUnreachableHeader::from_values(code, 0).unwrap(),
        );
        let b = PacketBuilder::ethernet2(MAC_GW, MAC_US)
            .ipv4(router, US.octets(), 60)
            .icmpv4(icmp);
        let mut out = Vec::new();
        b.write(&mut out, quoted).unwrap();
        out
    }

    #[test]
    fn answers_to_our_probes_are_recognised() {
        let v = validator(1);
        let (_, seq, sport) = probe(&v, 443);
        let got = v.classify(
            &answer(443, sport, seq.wrapping_add(1), true),
            LinkKind::Ethernet,
        );
        assert_eq!(
            got,
            Verdict::Open {
                ip: THEM,
                port: 443,
                ttl: 57,
                window: 65160,
                tsecr: Some(777)
            }
        );
        let got = v.classify(
            &answer(443, sport, seq.wrapping_add(1), false),
            LinkKind::Ethernet,
        );
        assert_eq!(
            got,
            Verdict::Closed {
                ip: THEM,
                port: 443,
                ttl: 57
            }
        );
        // Without the Ethernet header, as on tun / WireGuard links.
        let frame = answer(443, sport, seq.wrapping_add(1), true);
        assert!(matches!(
            v.classify(&frame[ETH_LEN..], LinkKind::RawIp),
            Verdict::Open { port: 443, .. }
        ));
    }

    #[test]
    fn icmp_errors_count_only_when_they_quote_our_probe() {
        let v = validator(2);
        let (frame, ..) = probe(&v, 8443);
        // Routers quote the IP header and at least the first 8 bytes of TCP (RFC 792).
        let quoted = &frame[ETH_LEN..ETH_LEN + 28];
        let got = v.classify(&unreachable(quoted, 13), LinkKind::Ethernet);
        assert_eq!(
            got,
            Verdict::Unreachable {
                ip: THEM,
                port: 8443,
                proto: Proto::Tcp,
                code: 13,
                from: Ipv4Addr::new(198, 18, 255, 254)
            }
        );
        let mut forged = quoted.to_vec();
        forged[27] ^= 1; // one bit of the quoted sequence number
        assert_eq!(
            v.classify(&unreachable(&forged, 13), LinkKind::Ethernet),
            Verdict::Forged
        );
        assert_eq!(
            v.classify(&unreachable(&quoted[..24], 13), LinkKind::Ethernet),
            Verdict::Malformed
        );
    }

    #[test]
    fn forged_and_unrelated_packets_are_told_apart() {
        let v = validator(3);
        let (_, seq, sport) = probe(&v, 22);
        assert_eq!(
            v.classify(&answer(22, sport, seq, true), LinkKind::Ethernet),
            Verdict::Forged,
            "ack off by one"
        );
        assert_eq!(
            v.classify(
                &answer(23, sport, seq.wrapping_add(1), true),
                LinkKind::Ethernet
            ),
            Verdict::Forged,
            "other port"
        );
        let other_sport = if sport == 40000 { 40001 } else { 40000 };
        assert_eq!(
            v.classify(
                &answer(22, other_sport, seq.wrapping_add(1), true),
                LinkKind::Ethernet
            ),
            Verdict::Forged
        );
        assert_eq!(
            v.classify(
                &answer(22, 1234, seq.wrapping_add(1), true),
                LinkKind::Ethernet
            ),
            Verdict::Unrelated,
            "not our port range"
        );
        // Another scan's key cannot forge ours.
        assert_eq!(
            validator(4).classify(
                &answer(22, sport, seq.wrapping_add(1), true),
                LinkKind::Ethernet
            ),
            Verdict::Forged
        );
        // Our own outgoing probe is not an answer.
        let (frame, ..) = probe(&v, 22);
        assert_eq!(v.classify(&frame, LinkKind::Ethernet), Verdict::Unrelated);
    }

    /// The UDP probe we would send to THEM:port (frame from the real template).
    fn udp_probe(v: &Validator, port: u16) -> (Vec<u8>, u16, u64) {
        use super::super::udp::{UdpFields, UdpTemplate};
        let cookie = v.key.udp_cookie_v4(THEM, port, US);
        let sport = v.ports.pick(cookie).1;
        let eth = EthernetAddrs {
            src: MAC_US,
            dst: MAC_GW,
        };
        let t = UdpTemplate::new_v4(US, Some(eth), 64);
        let mut buf = vec![0u8; 640];
        let f = UdpFields {
            dst: THEM,
            dport: port,
            sport,
            ip_id: (cookie >> 16) as u16,
            cookie,
        };
        let n = t.craft(&mut buf, &f).unwrap();
        buf.truncate(n);
        (buf, sport, cookie)
    }

    fn udp_answer(port: u16, sport: u16, payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2(MAC_GW, MAC_US)
            .ipv4(THEM.octets(), US.octets(), 61)
            .udp(port, sport);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn udp_answers_prove_themselves_by_port_and_payload_id() {
        let v = validator(7);
        let (frame, sport, _) = udp_probe(&v, 123);
        // An NTP server copies our transmit timestamp into its origin timestamp.
        let mut ntp = vec![0x24u8; 48];
        ntp[24..32].copy_from_slice(&frame[frame.len() - 8..]);
        let open = Verdict::UdpOpen {
            ip: THEM,
            port: 123,
            ttl: 61,
        };
        assert_eq!(
            v.classify(&udp_answer(123, sport, &ntp), LinkKind::Ethernet),
            open
        );
        ntp[31] ^= 1;
        assert_eq!(
            v.classify(&udp_answer(123, sport, &ntp), LinkKind::Ethernet),
            Verdict::Forged,
            "origin timestamp off by a bit"
        );
        // A port without a protocol is proven by the source port alone.
        let (_, sport9, _) = udp_probe(&v, 9);
        let other = if sport9 == 40000 { 40001 } else { 40000 };
        assert!(matches!(
            v.classify(&udp_answer(9, sport9, b"x"), LinkKind::Ethernet),
            Verdict::UdpOpen { port: 9, .. }
        ));
        assert_eq!(
            v.classify(&udp_answer(9, other, b"x"), LinkKind::Ethernet),
            Verdict::Forged
        );
        assert_eq!(
            v.classify(&udp_answer(9, 53, b"x"), LinkKind::Ethernet),
            Verdict::Unrelated,
            "not our port range"
        );
    }

    #[test]
    fn port_unreachables_for_udp_must_quote_our_ip_id() {
        let v = validator(8);
        let (frame, ..) = udp_probe(&v, 161);
        let quoted = &frame[ETH_LEN..ETH_LEN + 28];
        assert_eq!(
            v.classify(&unreachable(quoted, 3), LinkKind::Ethernet),
            Verdict::Unreachable {
                ip: THEM,
                port: 161,
                proto: Proto::Udp,
                code: 3,
                from: Ipv4Addr::new(198, 18, 255, 254)
            }
        );
        let mut forged = quoted.to_vec();
        forged[5] ^= 1; // the IP id
        assert_eq!(
            v.classify(&unreachable(&forged, 3), LinkKind::Ethernet),
            Verdict::Forged
        );
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..200), raw: bool) {
            let link = if raw { LinkKind::RawIp } else { LinkKind::Ethernet };
            let _ = validator(5).classify(&bytes, link);
        }

        #[test]
        fn damaged_answers_never_pass_as_ours(cut in 0usize..80, flip in 0usize..640) {
            let v = validator(6);
            let (_, seq, sport) = probe(&v, 80);
            let mut frame = answer(80, sport, seq.wrapping_add(1), true);
            let len = frame.len();
            frame.truncate(len - cut.min(len));
            if let Some(b) = frame.get_mut(flip / 8) {
                *b ^= 1 << (flip % 8);
            }
            let verdict = v.classify(&frame, LinkKind::Ethernet);
            // A flip in a field the cookie covers (addresses, ports, ack) must not yield Open
            // for anything but the probe we sent; flips elsewhere (TTL, window, checksum) may.
            if let Verdict::Open { ip, port, .. } = verdict {
                prop_assert_eq!((ip, port), (THEM, 80));
            }
        }

        /// An ICMP error quoting our probe, with the quoted header's fields set to extremes:
        /// IHL, total length, protocol, addresses, ports, sequence; cut anywhere.
        #[test]
        fn mutated_icmp_errors_are_safe(
            hits in proptest::collection::vec((0usize..48, prop_oneof![Just(0xffu8), Just(0x4f), Just(0x45), Just(0), any::<u8>()]), 0..6),
            cut in 0usize..48,
            code in 0u8..16,
        ) {
            let v = validator(7);
            let (frame, _, sport) = probe(&v, 443);
            let mut quoted = frame[ETH_LEN..ETH_LEN + 28].to_vec();
            for (at, b) in hits {
                if let Some(x) = quoted.get_mut(at) {
                    *x = b;
                }
            }
            quoted.truncate(28 - cut.min(28));
            let verdict = v.classify(&unreachable(&quoted, code), LinkKind::Ethernet);
            if let Verdict::Unreachable { ip, port, .. } = verdict {
                prop_assert_eq!((ip, port), (THEM, 443));
                prop_assert_eq!(&quoted[20..22], &sport.to_be_bytes());
            }
            let _ = v.classify(&unreachable(&quoted, code)[ETH_LEN..], LinkKind::RawIp);
        }
    }
}
