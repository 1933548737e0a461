//! The `Probe` seam: one implementation per probe type. A probe is built once per scan (its
//! template, cookie key and validator); `craft` patches only per-target fields and never
//! allocates; `classify` turns a captured frame into a verdict, accepting only replies that
//! prove (through the cookie) that they answer a probe of ours.

use super::cookie::{CookieKey, SourcePorts};
use super::echo::{EchoFields, EchoTemplate};
use super::reply::{LinkKind, Validator, Verdict};
use super::syn::{EthernetAddrs, SynFields, SynTemplate};
use std::net::Ipv4Addr;

/// What a scan with this probe finds: ports on hosts, or hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    TcpSyn,
    IcmpEcho,
}

pub trait Probe: Sync {
    fn kind(&self) -> ProbeKind;
    /// Writes the probe for `dst:port` (port is ignored by host probes) sent at `sent_us`
    /// (microseconds since the scan began, wrapping), returning its length.
    fn craft(&self, out: &mut [u8], dst: Ipv4Addr, port: u16, sent_us: u32) -> Option<usize>;
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

pub struct SynProbe {
    template: SynTemplate,
    validator: Validator,
    link: LinkKind,
}

impl SynProbe {
    pub fn new(s: &ProbeSetup) -> SynProbe {
        SynProbe {
            template: SynTemplate::new_v4(s.src, s.eth, s.ttl),
            validator: s.validator(),
            link: s.link(),
        }
    }
}

impl Probe for SynProbe {
    fn kind(&self) -> ProbeKind {
        ProbeKind::TcpSyn
    }

    #[inline]
    fn craft(&self, out: &mut [u8], dst: Ipv4Addr, port: u16, sent_us: u32) -> Option<usize> {
        let v = &self.validator;
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
        self.template.craft(out, &f)
    }

    fn classify(&self, frame: &[u8]) -> Verdict {
        match self.validator.classify(frame, self.link) {
            Verdict::Echo { .. } => Verdict::Unrelated,
            v => v,
        }
    }
}

pub struct EchoProbe {
    template: EchoTemplate,
    validator: Validator,
    link: LinkKind,
}

impl EchoProbe {
    pub fn new(s: &ProbeSetup) -> EchoProbe {
        EchoProbe {
            template: EchoTemplate::new_v4(s.src, s.eth, s.ttl),
            validator: s.validator(),
            link: s.link(),
        }
    }
}

impl Probe for EchoProbe {
    fn kind(&self) -> ProbeKind {
        ProbeKind::IcmpEcho
    }

    #[inline]
    fn craft(&self, out: &mut [u8], dst: Ipv4Addr, _port: u16, sent_us: u32) -> Option<usize> {
        let v = &self.validator;
        // Port 0 in the cookie: a SYN to port 0 is never sent, so the two cannot collide.
        let cookie = v.key.cookie_v4(dst, 0, v.us);
        let f = EchoFields::from_cookie(cookie);
        self.template
            .craft(out, dst, &f, sent_us, (cookie >> 16) as u16)
    }

    fn classify(&self, frame: &[u8]) -> Verdict {
        let verdict = self.validator.classify(frame, self.link);
        // A SYN scan's answers are not what an echo sweep asked for.
        match verdict {
            Verdict::Echo { .. } | Verdict::Forged | Verdict::Malformed => verdict,
            _ => Verdict::Unrelated,
        }
    }
}
