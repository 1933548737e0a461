//! SimNet: an in-memory network for deterministic tests of the whole raw engine. Probes go in
//! through `PacketTx`; each target behaves as scripted (open, closed, unreachable, silent,
//! answering pings) and the answers come back through `PacketRx` at their due time on the
//! caller's clock, with seeded faults: reply loss, duplication, jitter (so reordering),
//! SYN-ACK retransmissions, and a storm of forged replies per probe.
//!
//! It parses what the engine sends (and counts probes whose checksums are wrong), so a test
//! also proves the bytes on the wire are right.

use super::{FrameBatch, PacketRx, PacketTx};
use etherparse::{
    Icmpv4Type, NetSlice, PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice,
    icmpv4::DestUnreachableHeader,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// SYN-ACK to a SYN; echo reply to a ping.
    Open,
    /// RST to a SYN; echo reply to a ping.
    Closed,
    /// A router answers with ICMP destination unreachable of this code.
    Unreachable(u8),
    /// Nothing, ever.
    Silent,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Chance that any one reply is lost.
    pub loss: f64,
    /// Chance that a reply arrives twice.
    pub duplicate: f64,
    /// Each reply is delayed by `latency` plus up to this much more (so replies reorder).
    pub jitter: Duration,
    /// SYN-ACKs the target repeats (at 1 s, 3 s, 7 s … as Linux does) when no RST comes.
    pub synack_retransmits: u32,
    /// Forged replies per probe: SYN-ACKs and RSTs to our port range with wrong acks.
    pub forged_per_probe: u32,
    /// ICMP errors the network's hosts send per second in all, bursts of 50, as Linux's
    /// `icmp_msgs_per_sec` (0 = no limit).
    pub icmp_per_sec: u64,
    /// A policer on the way to the targets: probes beyond its rate are dropped.
    pub policer: Option<Policer>,
    /// Chance that a reply is dropped in our own capture ring (counted as a ring drop).
    pub ring_drop: f64,
}

/// A token bucket on the path (a provider's egress policer): `rate` probes a second, `burst`
/// at once; from each `(time, rate)` of `changes` on, that rate (a path whose capacity drops
/// and comes back).
#[derive(Debug, Clone, Default)]
pub struct Policer {
    pub rate: u64,
    pub burst: u64,
    pub changes: Vec<(Duration, u64)>,
}

impl Policer {
    fn rate_at(&self, now: Duration) -> u64 {
        self.changes
            .iter()
            .rfind(|(at, _)| *at <= now)
            .map_or(self.rate, |(_, r)| *r)
    }
}

pub const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 255, 254);
const ICMP_BURST: f64 = 50.0;

type Script = Box<dyn Fn(Ipv4Addr, u16) -> Behaviour + Send>;

pub struct SimNet {
    us_mac: [u8; 6],
    gw_mac: [u8; 6],
    script: Script,
    faults: Faults,
    latency: Duration,
    rng: StdRng,
    now: Duration,
    order: u64,
    pending: BinaryHeap<Reverse<(Duration, u64, Vec<u8>)>>,
    /// Probes received per (target, port); port 0 for pings.
    pub probes: HashMap<(Ipv4Addr, u16), u32>,
    /// Replies delivered per (target, port), after loss.
    pub delivered: HashMap<(Ipv4Addr, u16), u32>,
    /// Probes that did not parse or had a wrong checksum.
    pub bad_probes: u64,
    /// The send time of every probe, in order (for rate checks).
    pub send_times: Vec<Duration>,
    /// The ICMP limiter's credit and when it was last topped up.
    icmp_credit: f64,
    icmp_at: Duration,
    /// ICMP errors the limit swallowed.
    pub icmp_dropped: u64,
    /// The policer's credit and when it was last topped up.
    policer_credit: f64,
    policer_at: Duration,
    /// Probes the policer dropped.
    pub policed: u64,
    /// Replies our "capture ring" dropped, and how many of them `drops` reported so far.
    pub ring_dropped: u64,
    drops_read: u64,
    /// Every probe that reached its target: when, and to whom.
    pub arrivals: Vec<(Duration, Ipv4Addr)>,
}

impl SimNet {
    pub fn new(
        script: impl Fn(Ipv4Addr, u16) -> Behaviour + Send + 'static,
        faults: Faults,
        latency: Duration,
        seed: u64,
    ) -> SimNet {
        SimNet {
            us_mac: [2, 0, 0, 0, 0, 1],
            gw_mac: [2, 0, 0, 0, 0, 2],
            script: Box::new(script),
            faults,
            latency,
            rng: StdRng::seed_from_u64(seed),
            now: Duration::ZERO,
            order: 0,
            pending: BinaryHeap::new(),
            probes: HashMap::new(),
            delivered: HashMap::new(),
            bad_probes: 0,
            send_times: Vec::new(),
            icmp_credit: ICMP_BURST,
            icmp_at: Duration::ZERO,
            icmp_dropped: 0,
            policer_credit: 0.0,
            policer_at: Duration::ZERO,
            policed: 0,
            ring_dropped: 0,
            drops_read: 0,
            arrivals: Vec::new(),
        }
        .with_full_policer()
    }

    fn with_full_policer(mut self) -> SimNet {
        self.policer_credit = self.faults.policer.as_ref().map_or(0.0, |p| p.burst as f64);
        self
    }

    /// Does the policer let a probe through now?
    fn policer_passes(&mut self) -> bool {
        let Some(p) = &self.faults.policer else {
            return true;
        };
        let dt = self.now.saturating_sub(self.policer_at).as_secs_f64();
        self.policer_at = self.now;
        let rate = p.rate_at(self.now) as f64;
        self.policer_credit = (self.policer_credit + dt * rate).min(p.burst.max(1) as f64);
        if self.policer_credit >= 1.0 {
            self.policer_credit -= 1.0;
            true
        } else {
            self.policed += 1;
            false
        }
    }

    /// May an ICMP error go out now? (A token bucket, as the kernel's global limit.)
    fn icmp_allowed(&mut self) -> bool {
        let rate = self.faults.icmp_per_sec;
        if rate == 0 {
            return true;
        }
        let dt = self.now.saturating_sub(self.icmp_at).as_secs_f64();
        self.icmp_at = self.now;
        self.icmp_credit = (self.icmp_credit + dt * rate as f64).min(ICMP_BURST);
        if self.icmp_credit >= 1.0 {
            self.icmp_credit -= 1.0;
            true
        } else {
            self.icmp_dropped += 1;
            false
        }
    }

    /// The MACs frames must carry: (ours, the gateway's).
    pub fn macs(&self) -> ([u8; 6], [u8; 6]) {
        (self.us_mac, self.gw_mac)
    }

    /// Moves the network's clock (the caller's time, since the scan's origin).
    pub fn set_now(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    /// When the next reply is due, if any is on its way.
    pub fn next_due(&self) -> Option<Duration> {
        self.pending.peek().map(|Reverse((t, ..))| *t)
    }

    fn reply_later(&mut self, key: (Ipv4Addr, u16), frame: Vec<u8>, extra: Duration) {
        if self.rng.random_bool(self.faults.loss) {
            return;
        }
        let copies = if self.rng.random_bool(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter_ns = self.faults.jitter.as_nanos() as u64;
            let jitter = Duration::from_nanos(if jitter_ns > 0 {
                self.rng.random_range(0..jitter_ns)
            } else {
                0
            });
            let due = self.now + self.latency + extra + jitter;
            self.order += 1;
            *self.delivered.entry(key).or_default() += 1;
            self.pending.push(Reverse((due, self.order, frame.clone())));
        }
    }

    fn builder(
        &self,
        from: Ipv4Addr,
        to: Ipv4Addr,
    ) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        PacketBuilder::ethernet2(self.gw_mac, self.us_mac).ipv4(from.octets(), to.octets(), 57)
    }

    fn take_probe(&mut self, frame: &[u8]) {
        let Ok(p) = SlicedPacket::from_ethernet(frame) else {
            self.bad_probes += 1;
            return;
        };
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            self.bad_probes += 1;
            return;
        };
        let h = ip.header();
        if h.header_checksum() != h.to_header().calc_header_checksum() {
            self.bad_probes += 1;
            return;
        }
        let (us, them) = (h.source_addr(), h.destination_addr());
        self.send_times.push(self.now);
        if !self.policer_passes() {
            return;
        }
        self.arrivals.push((self.now, them));
        match &p.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let ok =
                    tcp.calc_checksum_ipv4(us.octets(), them.octets()).ok() == Some(tcp.checksum());
                if !ok || !tcp.syn() || tcp.ack() {
                    self.bad_probes += 1;
                    return;
                }
                let tsval = tcp.options_iterator().find_map(|o| match o {
                    Ok(TcpOptionElement::Timestamp(v, _)) => Some(v),
                    _ => None,
                });
                let (sport, dport, seq) = (
                    tcp.source_port(),
                    tcp.destination_port(),
                    tcp.sequence_number(),
                );
                // Routers quote the IP header and the first 8 bytes after it (RFC 792).
                let quoted = frame
                    .get(14..14 + h.slice().len() + 8)
                    .unwrap_or_default()
                    .to_vec();
                self.answer_syn(us, them, sport, dport, seq, tsval.unwrap_or(0), &quoted);
            }
            Some(TransportSlice::Udp(udp)) => {
                let want = udp
                    .to_header()
                    .calc_checksum_ipv4_raw(us.octets(), them.octets(), udp.payload())
                    .ok();
                if want != Some(udp.checksum()) {
                    self.bad_probes += 1;
                    return;
                }
                let quoted = frame
                    .get(14..14 + h.slice().len() + 8)
                    .unwrap_or_default()
                    .to_vec();
                let (sport, dport) = (udp.source_port(), udp.destination_port());
                let payload = udp.payload().to_vec();
                self.answer_udp(us, them, sport, dport, &payload, &quoted);
            }
            Some(TransportSlice::Icmpv4(icmp)) => {
                let Icmpv4Type::EchoRequest(e) = icmp.icmp_type() else {
                    self.bad_probes += 1;
                    return;
                };
                if icmp.checksum() != icmp.icmp_type().calc_checksum(icmp.payload()) {
                    self.bad_probes += 1;
                    return;
                }
                *self.probes.entry((them, 0)).or_default() += 1;
                if matches!((self.script)(them, 0), Behaviour::Open | Behaviour::Closed) {
                    let mut out = Vec::new();
                    let b = self.builder(them, us).icmpv4_echo_reply(e.id, e.seq);
                    if b.write(&mut out, icmp.payload()).is_ok() {
                        self.reply_later((them, 0), out, Duration::ZERO);
                    }
                }
            }
            _ => self.bad_probes += 1,
        }
    }

    /// A UDP service echoes the probe's payload back (which any probe's check accepts on a
    /// port without a protocol, and the echo protocol's on port 7); a closed port is the
    /// host's own ICMP port unreachable. Forgeries come to other source ports of ours.
    fn answer_udp(
        &mut self,
        us: Ipv4Addr,
        them: Ipv4Addr,
        sport: u16,
        dport: u16,
        payload: &[u8],
        quoted: &[u8],
    ) {
        let key = (them, dport);
        *self.probes.entry(key).or_default() += 1;
        let unreachable = |from: Ipv4Addr, code: u8, net: &SimNet| {
            let h = DestUnreachableHeader::from_values(code, 0)?;
            let b = net
                .builder(from, us)
                .icmpv4(Icmpv4Type::DestinationUnreachable(h));
            let mut out = Vec::new();
            b.write(&mut out, quoted).ok()?;
            Some(out)
        };
        let reply = match (self.script)(them, dport) {
            Behaviour::Open => {
                let mut out = Vec::new();
                let b = self.builder(them, us).udp(dport, sport);
                b.write(&mut out, payload).ok().map(|()| out)
            }
            Behaviour::Closed if self.icmp_allowed() => unreachable(them, 3, self),
            Behaviour::Closed => None,
            Behaviour::Unreachable(code) => unreachable(ROUTER, code, self),
            Behaviour::Silent => None,
        };
        if let Some(out) = reply {
            self.reply_later(key, out, Duration::ZERO);
        }
        for _ in 0..self.faults.forged_per_probe {
            let wrong = sport.wrapping_add(self.rng.random_range(1..1000));
            let mut out = Vec::new();
            if self
                .builder(them, us)
                .udp(dport, wrong)
                .write(&mut out, payload)
                .is_ok()
            {
                self.order += 1;
                self.pending
                    .push(Reverse((self.now + self.latency, self.order, out)));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn answer_syn(
        &mut self,
        us: Ipv4Addr,
        them: Ipv4Addr,
        sport: u16,
        dport: u16,
        seq: u32,
        tsval: u32,
        quoted: &[u8],
    ) {
        let key = (them, dport);
        *self.probes.entry(key).or_default() += 1;
        let ack = seq.wrapping_add(1);
        match (self.script)(them, dport) {
            Behaviour::Open => {
                let mut out = Vec::new();
                let b = self
                    .builder(them, us)
                    .tcp(dport, sport, 0x5eed, 65160)
                    .syn()
                    .ack(ack)
                    .options(&[TcpOptionElement::Timestamp(1, tsval)]);
                if b.is_ok_and(|b| b.write(&mut out, &[]).is_ok()) {
                    let mut extra = Duration::ZERO;
                    for i in 0..=self.faults.synack_retransmits {
                        self.reply_later(key, out.clone(), extra);
                        extra += Duration::from_secs(1 << i);
                    }
                }
            }
            Behaviour::Closed => {
                let mut out = Vec::new();
                let b = self
                    .builder(them, us)
                    .tcp(dport, sport, 0, 0)
                    .rst()
                    .ack(ack);
                if b.write(&mut out, &[]).is_ok() {
                    self.reply_later(key, out, Duration::ZERO);
                }
            }
            Behaviour::Unreachable(code) => {
                let mut out = Vec::new();
                let Some(h) = DestUnreachableHeader::from_values(code, 0) else {
                    return;
                };
                let b = self
                    .builder(ROUTER, us)
                    .icmpv4(Icmpv4Type::DestinationUnreachable(h));
                if b.write(&mut out, quoted).is_ok() {
                    self.reply_later(key, out, Duration::ZERO);
                }
            }
            Behaviour::Silent => {}
        }
        for _ in 0..self.faults.forged_per_probe {
            let wrong_ack = ack.wrapping_add(self.rng.random_range(1..u32::MAX));
            let rst = self.rng.random_bool(0.5);
            let mut out = Vec::new();
            let b = self.builder(them, us).tcp(dport, sport, 7, 1024);
            let b = if rst {
                b.rst().ack(wrong_ack)
            } else {
                b.syn().ack(wrong_ack)
            };
            if b.write(&mut out, &[]).is_ok() {
                self.order += 1;
                // Forged frames are not "delivered replies": they are noise, never lost.
                self.pending
                    .push(Reverse((self.now + self.latency, self.order, out)));
            }
        }
    }
}

impl PacketTx for SimNet {
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize> {
        for frame in batch.frames() {
            self.take_probe(frame);
        }
        Ok(batch.len())
    }
}

impl PacketRx for SimNet {
    /// Delivers every reply due by the network's clock; never waits (the caller owns time).
    fn recv(&mut self, _timeout: Duration, handle: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut n = 0;
        while let Some(Reverse((due, ..))) = self.pending.peek() {
            if *due > self.now {
                break;
            }
            if let Some(Reverse((_, _, frame))) = self.pending.pop() {
                if self.faults.ring_drop > 0.0 && self.rng.random_bool(self.faults.ring_drop) {
                    self.ring_dropped += 1;
                    continue;
                }
                handle(&frame);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Since the last call, as the kernel's counter is read (reading resets it).
    fn drops(&mut self) -> u64 {
        let n = self.ring_dropped - self.drops_read;
        self.drops_read = self.ring_dropped;
        n
    }
}
