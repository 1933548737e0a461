//! The `Probe` seam: one implementation per probe type. A probe is built once per scan (its
//! template, cookie key and validator); `craft` patches only per-target fields and never
//! allocates; `classify` turns a captured frame into a verdict, accepting only replies that
//! prove (through the cookie) that they answer a probe of ours.

use super::cookie::{CookieKey, SourcePorts};
use super::echo::{EchoFields, EchoTemplate};
use super::reply::{LinkKind, Validator, Verdict};
use super::syn::{EthernetAddrs, SynFields, SynTemplate};
use super::udp::{UdpFields, UdpTemplate};
use crate::event::Proto;
pub use crate::space::Slot;
use std::net::Ipv4Addr;

pub trait Probe: Sync {
    /// Writes the probe for `slot` of `dst` (a SYN to a port, or an echo request) sent at
    /// `sent_us` (microseconds since the scan began, wrapping), returning its length.
    fn craft(&self, out: &mut [u8], dst: Ipv4Addr, slot: Slot, sent_us: u32) -> Option<usize>;
    fn classify(&self, frame: &[u8]) -> Verdict;
}

/// Everything both probe types are built from.
#[derive(Debug, Clone)]
pub struct ProbeSetup {
    pub seed: u64,
    pub src: Ipv4Addr,
    /// None on links without Ethernet headers.
    pub eth: Option<EthernetAddrs>,
    pub ttl: u8,
    pub source_ports: SourcePorts,
    /// What the port slots are probed with: SYN (TCP) or a datagram (UDP).
    pub proto: Proto,
}

impl ProbeSetup {
    fn validator(&self) -> Validator {
        Validator {
            key: CookieKey::from_seed(self.seed),
            us: self.src,
            ports: self.source_ports,
        }
    }
    fn link(&self) -> LinkKind {
        if self.eth.is_some() {
            LinkKind::Ethernet
        } else {
            LinkKind::RawIp
        }
    }
}

/// TCP SYN or UDP to ports and ICMP echo to hosts, one template each, one cookie key, one
/// validator (which tells SYN-ACKs, RSTs, UDP answers, ICMP errors and echo replies apart).
pub struct ScanProbe {
    syn: SynTemplate,
    udp: UdpTemplate,
    proto: Proto,
    echo: EchoTemplate,
    validator: Validator,
    link: LinkKind,
}

impl ScanProbe {
    pub fn new(s: &ProbeSetup) -> ScanProbe {
        ScanProbe {
            syn: SynTemplate::new_v4(s.src, s.eth, s.ttl),
            udp: UdpTemplate::new_v4(s.src, s.eth, s.ttl),
            proto: s.proto,
            echo: EchoTemplate::new_v4(s.src, s.eth, s.ttl),
            validator: s.validator(),
            link: s.link(),
        }
    }
}

impl Probe for ScanProbe {
    #[inline]
    fn craft(&self, out: &mut [u8], dst: Ipv4Addr, slot: Slot, sent_us: u32) -> Option<usize> {
        let v = &self.validator;
        match slot {
            Slot::Port(port) if self.proto == Proto::Udp => {
                let cookie = v.key.udp_cookie_v4(dst, port, v.us);
                let f = UdpFields {
                    dst,
                    dport: port,
                    sport: v.ports.pick(cookie).1,
                    ip_id: (cookie >> 16) as u16,
                    cookie,
                };
                self.udp.craft(out, &f)
            }
            Slot::Port(port) => {
                let cookie = v.key.cookie_v4(dst, port, v.us);
                let (seq, sport) = v.ports.pick(cookie);
                let f = SynFields {
                    dst,
                    dport: port,
                    sport,
                    seq,
                    tsval: sent_us,
                    ip_id: (cookie >> 16) as u16,
                };
                self.syn.craft(out, &f)
            }
            Slot::Echo => {
                let cookie = v.key.echo_cookie_v4(dst, v.us);
                let f = EchoFields::from_cookie(cookie);
                self.echo
                    .craft(out, dst, &f, sent_us, (cookie >> 16) as u16)
            }
        }
    }

    fn classify(&self, frame: &[u8]) -> Verdict {
        self.validator.classify(frame, self.link)
    }
}
