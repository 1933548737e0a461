//! The capture side: every frame the kernel filter passed is classified by the probe (which
//! checks the cookie), turned into the index it answers, claimed in the state table, and
//! reported once. Forged, duplicate and unrelated frames are counted, never reported.

use super::icmp_pace::IcmpPace;
use super::path::PathMonitor;
use super::probed::ProbedByNow;
use super::table::AnsweredSet;
use crate::cursor::CursorState;
use crate::engine::EngineContext;
use crate::engine::report::{Answer, LocalReport};
use crate::event::{PortState, Proto, Reason};
use crate::packet::probe::Probe;
use crate::packet::reply::Verdict;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What the capture thread saw besides reportable answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Replies that passed the cookie check.
    pub answers: u64,
    /// Repeats of an answer already reported (SYN-ACK retransmissions, duplicated packets).
    pub duplicates: u64,
    /// Addressed to our probes' ports but failing the cookie: forged or stale.
    pub forged: u64,
    /// Not meant for this scan.
    pub unrelated: u64,
    pub malformed: u64,
    /// Replies the kernel dropped for want of room in the capture ring.
    pub ring_drops: u64,
    /// Answers to canaries (targets probed again to measure loss; see `path`).
    pub canary_answers: u64,
}

/// Once the canary pool is full, one answer in this many is offered to it (a fresh sample of
/// the path without a lock per answer).
const OFFER_EVERY: u64 = 16;

pub struct Capture<'a, P: Probe> {
    probe: &'a P,
    ctx: &'a EngineContext,
    answered: &'a AnsweredSet,
    /// Hosts reported up, open ports per host, and events waiting for room (never blocks).
    report: LocalReport,
    probed: ProbedByNow,
    /// UDP: hosts that ration their port unreachables, for the senders' retry pace.
    pacing: Option<&'a IcmpPace>,
    /// The adaptive rate's monitor: canaries are drawn from our answers and recognised here.
    path: Option<&'a PathMonitor>,
    pub counters: CaptureCounters,
}

impl<'a, P: Probe> Capture<'a, P> {
    pub fn new(probe: &'a P, ctx: &'a EngineContext, answered: &'a AnsweredSet) -> Self {
        Capture {
            probe,
            ctx,
            answered,
            report: ctx.report.local(&ctx.space),
            probed: ProbedByNow::new(
                ctx.space.size(),
                ctx.space.ports().len(),
                Duration::from_secs(1),
            ),
            pacing: None,
            path: None,
            counters: CaptureCounters::default(),
        }
    }

    /// Offers answers to `path`'s canary pool and counts the answers to its canaries.
    pub fn path(mut self, path: Option<&'a PathMonitor>) -> Self {
        self.path = path;
        self
    }

    /// Records port unreachables in `pace` (UDP scans).
    pub fn pacing(mut self, pace: Option<&'a IcmpPace>) -> Self {
        self.pacing = pace;
        self
    }

    /// Probes wait `timeout` for their answers (bounds how old "probed by now" may be).
    pub fn settle_within(mut self, timeout: Duration) -> Self {
        let space = &self.ctx.space;
        self.probed = ProbedByNow::new(space.size(), space.ports().len(), timeout);
        self
    }

    /// Once per pass of the capture loop, before its frames: what waits for room in the
    /// event channel goes first, and the estimate of ports probed per host moves on.
    pub fn pass(&mut self, now: Duration) {
        self.ctx.report.flush(&mut self.report);
        self.probed.sample(now, self.ctx.stats.walked.load(Relaxed));
        self.report.probed_per_host = self.probed.per_host(now);
    }

    /// The engine's resume point, behind every event this thread has reported.
    pub fn checkpoint(&mut self, state: CursorState) {
        self.ctx.report.checkpoint(&mut self.report, state);
    }

    /// Events waiting for room in the channel (the rest of the engine is held meanwhile).
    pub fn waiting(&self) -> usize {
        self.report.waiting()
    }

    /// The end of capture: what still waits is sent, blocking (nothing more is received).
    pub fn finish(mut self) -> CaptureCounters {
        self.ctx.report.flush_blocking(&mut self.report);
        self.counters
    }

    /// `now` is on the sender's clock (since the scan's origin), for RTTs from echoed times.
    pub fn handle(&mut self, frame: &[u8], now: Duration) {
        let now_us = now.as_micros() as u32;
        let rtt = |sent_us: u32| {
            Some(Duration::from_micros(u64::from(
                now_us.wrapping_sub(sent_us),
            )))
        };
        // The TTL of an ICMP error is the router's or the host's, not the port's: none is given.
        let (ip, port, proto, state, reason, rtt, ttl) = match self.probe.classify(frame) {
            Verdict::Open {
                ip,
                port,
                tsecr,
                ttl,
                ..
            } => {
                let rtt = tsecr.and_then(rtt);
                if let Some(d) = rtt {
                    self.probed.observe_rtt(d);
                }
                (
                    ip,
                    port,
                    Proto::Tcp,
                    PortState::Open,
                    Reason::SynAck,
                    rtt,
                    Some(ttl),
                )
            }
            Verdict::Closed { ip, port, ttl } => (
                ip,
                port,
                Proto::Tcp,
                PortState::Closed,
                Reason::Reset,
                None,
                Some(ttl),
            ),
            Verdict::UdpOpen { ip, port, ttl } => (
                ip,
                port,
                Proto::Udp,
                PortState::Open,
                Reason::UdpResponse,
                None,
                Some(ttl),
            ),
            // A UDP port the host itself says is unreachable is closed (RFC 1122 §4.1.3.1);
            // any other unreachable, or one about a TCP port, says a filter stood in the way.
            Verdict::Unreachable {
                ip,
                port,
                proto: Proto::Udp,
                code: 3,
                ..
            } => (
                ip,
                port,
                Proto::Udp,
                PortState::Closed,
                Reason::PortUnreach,
                None,
                None,
            ),
            Verdict::Unreachable {
                ip,
                port,
                proto,
                code,
                ..
            } => (
                ip,
                port,
                proto,
                PortState::Filtered,
                unreachable_reason(code),
                None,
                None,
            ),
            Verdict::Echo { ip, sent_us, ttl } => {
                self.host_answered(ip, rtt(sent_us), ttl, now);
                return;
            }
            Verdict::Forged => return self.counters.forged += 1,
            Verdict::Unrelated => return self.counters.unrelated += 1,
            Verdict::Malformed => return self.counters.malformed += 1,
        };
        if proto != self.ctx.space.proto() {
            // A valid cookie for the other transport: only a scan sharing our seed sends those.
            return self.counters.unrelated += 1;
        }
        let Some(j) = self.claim(ip, port, now) else {
            return;
        };
        // What the host itself answered may answer again: a canary. (A router's unreachable
        // is rationed, and says nothing of the probes' path to the host.)
        if matches!(reason, Reason::SynAck | Reason::Reset | Reason::UdpResponse) {
            self.offer(j);
        }
        if reason == Reason::PortUnreach
            && proto == Proto::Udp
            && let Some(p) = self.pacing
        {
            p.record(j % self.ctx.space.hosts().max(1), now);
        }
        let ip = IpAddr::V4(ip);
        let answer = Answer {
            ip,
            host: j % self.ctx.space.hosts().max(1),
            port,
            proto,
            state,
            reason,
            rtt,
            ttl,
        };
        self.ctx.report.answer(&mut self.report, answer);
    }

    /// The index an answer belongs to, claimed; None (and counted) if it is a repeat or names
    /// a target outside the scan (which a valid cookie makes impossible unless the seed is
    /// shared with another scan — such answers are never reported).
    fn claim(&mut self, ip: Ipv4Addr, port: u16, now: Duration) -> Option<u64> {
        let Some(j) = self.ctx.space.index_of(IpAddr::V4(ip), port) else {
            self.counters.unrelated += 1;
            return None;
        };
        self.claim_index(j, now)
    }

    /// Marks `j` answered; None (counted) for a repeat — or for the answer to a canary.
    fn claim_index(&mut self, j: u64, now: Duration) -> Option<u64> {
        self.counters.answers += 1;
        if self.answered.claim(j) {
            return Some(j);
        }
        if self.path.is_some_and(|p| p.canary_answered(j, now)) {
            self.counters.canary_answers += 1;
        } else {
            self.counters.duplicates += 1;
        }
        None
    }

    /// An answered target as a canary candidate — never one of a host that answers every
    /// port: it answers whatever the path does to the rest.
    fn offer(&mut self, j: u64) {
        if let Some(p) = self.path
            && (p.hungry() || self.counters.answers.is_multiple_of(OFFER_EVERY))
            && !self
                .ctx
                .report
                .answers_all()
                .contains(j % self.ctx.space.hosts().max(1))
        {
            p.offer(j);
        }
    }

    fn host_answered(&mut self, ip: Ipv4Addr, rtt: Option<Duration>, ttl: u8, now: Duration) {
        let ip = IpAddr::V4(ip);
        let Some(j) = self.ctx.space.echo_index_of(ip) else {
            self.counters.unrelated += 1;
            return;
        };
        if self.claim_index(j, now).is_none() {
            return;
        }
        self.offer(j);
        // A host already up through a port's answer: the echo is counted, not repeated.
        let host = j % self.ctx.space.hosts().max(1);
        self.ctx.report.host_up(
            &mut self.report,
            host,
            ip,
            Reason::EchoReply,
            rtt,
            Some(ttl),
        );
    }
}

/// nmap's reason words for ICMP destination-unreachable codes (RFC 792, RFC 1812).
fn unreachable_reason(code: u8) -> Reason {
    match code {
        0 => Reason::NetUnreach,
        1 => Reason::HostUnreach,
        2 => Reason::ProtoUnreach,
        3 => Reason::PortUnreach,
        9 => Reason::NetProhibited,
        10 => Reason::HostProhibited,
        13 => Reason::AdminProhibited,
        _ => Reason::HostUnreach,
    }
}
