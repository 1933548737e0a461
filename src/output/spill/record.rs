//! One record of the spill log: a 4-byte length, then a body that starts with its kind and
//! the address it is about (the sort key, read without decoding the rest).
//!
//! Port and host records — nearly every record of a large scan — are a fixed layout written
//! by hand: they are appended on the output thread's hot path (200k a second), where a
//! serializer's allocation and text would cost more than the rest of the record's way, and
//! they are a third of their JSON size on disk. The rare rich events (names, banners,
//! nmap's services, hosts that answer everything) are their JSON, as the NDJSON has them.
//! Floats are stored as their bits, so what is read back renders to the same text.
//!
//! Decoding is total: any bytes give a record or an error naming what was wrong.

use crate::event::{Event, HostResult, PortResult, PortState, Proto, Reason};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const PORT: u8 = 1;
const HOST: u8 = 2;
const JSON: u8 = 3;
const UNLISTED: u8 = 4;

const HAS_RTT: u8 = 1;
const HAS_TTL: u8 = 2;
const HAS_HOSTNAME: u8 = 4;

/// The longest body read back: far beyond any real record (a banner keeps 1 KiB, nmap's
/// script output some KiB), short of what a corrupt length could make us allocate.
pub const MAX_BODY: usize = 16 << 20;

/// Sorts hosts as `IpAddr` does (every IPv4 address before every IPv6 one, each by its
/// bytes), so compared as bytes.
pub type Key = [u8; 17];

/// What a record holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A result the output thread accepted.
    Result(Event),
    /// Ports of a host answered but not listed, by state and reason (`<extraports>`).
    Unlisted(IpAddr, PortState, Reason, u64),
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

const STATES: [PortState; 4] = [
    PortState::Open,
    PortState::Closed,
    PortState::Filtered,
    PortState::OpenFiltered,
];

const REASONS: [Reason; 13] = [
    Reason::SynAck,
    Reason::ConnRefused,
    Reason::Reset,
    Reason::NoResponse,
    Reason::HostUnreach,
    Reason::NetUnreach,
    Reason::ProtoUnreach,
    Reason::PortUnreach,
    Reason::NetProhibited,
    Reason::HostProhibited,
    Reason::AdminProhibited,
    Reason::EchoReply,
    Reason::UdpResponse,
];

fn state_code(s: PortState) -> u8 {
    STATES.iter().position(|&x| x == s).unwrap_or(0) as u8
}

fn reason_code(r: Reason) -> u8 {
    REASONS.iter().position(|&x| x == r).unwrap_or(0) as u8
}

fn proto_code(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 0,
        Proto::Udp => 1,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_ip(out: &mut Vec<u8>, kind: u8, ip: IpAddr) {
    out.push(kind);
    match ip {
        IpAddr::V4(a) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
    }
}

/// The optional fields' flags and values: (rtt, ttl, hostname).
fn put_optional(out: &mut Vec<u8>, rtt: Option<f64>, ttl: Option<u8>, name: Option<&str>) {
    let flags =
        rtt.map_or(0, |_| HAS_RTT) | ttl.map_or(0, |_| HAS_TTL) | name.map_or(0, |_| HAS_HOSTNAME);
    out.push(flags);
    if let Some(r) = rtt {
        out.extend_from_slice(&r.to_bits().to_le_bytes());
    }
    if let Some(t) = ttl {
        out.push(t);
    }
}

/// Appends `e`'s record (length and body) to `out`. A checkpoint is no result: an error.
pub fn encode(e: &Event, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match e {
        Event::Port(p) => {
            put_ip(out, PORT, p.ip);
            out.extend_from_slice(&p.port.to_le_bytes());
            out.extend_from_slice(&[
                proto_code(p.proto),
                state_code(p.state),
                reason_code(p.reason),
            ]);
            put_optional(out, p.rtt_ms, p.ttl, p.hostname.as_deref());
            out.extend_from_slice(&p.ts.to_bits().to_le_bytes());
            put_str(out, &p.service);
            if let Some(n) = &p.hostname {
                put_str(out, n);
            }
        }
        Event::Host(h) => {
            put_ip(out, HOST, h.ip);
            out.push(reason_code(h.reason));
            put_optional(out, h.rtt_ms, h.ttl, h.hostname.as_deref());
            out.extend_from_slice(&h.ts.to_bits().to_le_bytes());
            put_str(out, &h.state);
            if let Some(n) = &h.hostname {
                put_str(out, n);
            }
        }
        Event::Checkpoint(_) => {
            out.truncate(start);
            return Err(bad("a checkpoint is not a result"));
        }
        rich => {
            let Some(ip) = rich.ip() else {
                out.truncate(start);
                return Err(bad("an event without an address"));
            };
            put_ip(out, JSON, ip);
            serde_json::to_writer(&mut *out, rich)?;
        }
    }
    finish(out, start)
}

/// Appends the record of `n` unlisted ports of `ip` in `state` for `reason`.
pub fn encode_unlisted(ip: IpAddr, state: PortState, reason: Reason, n: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    put_ip(out, UNLISTED, ip);
    out.extend_from_slice(&[state_code(state), reason_code(reason)]);
    put_varint(out, n);
    // A body of a few dozen bytes: its length always fits.
    let _ = finish(out, start);
}

fn finish(out: &mut Vec<u8>, start: usize) -> io::Result<()> {
    let len = out.len() - start - 4;
    if len > MAX_BODY {
        // Not left half-written in the buffer: a prefix of zeros would end the log there.
        out.truncate(start);
        return Err(bad(format!("a record of {len} bytes")));
    }
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// The body length a record's 4-byte prefix gives, checked.
pub fn body_len(prefix: [u8; 4]) -> io::Result<usize> {
    let n = u32::from_le_bytes(prefix) as usize;
    if !(6..=MAX_BODY).contains(&n) {
        return Err(bad(format!("a record length of {n} bytes")));
    }
    Ok(n)
}

/// The sort key of a body: its address.
pub fn key(body: &[u8]) -> io::Result<Key> {
    let mut k = [0u8; 17];
    match (body.get(1), body.get(2..6), body.get(2..18)) {
        (Some(4), Some(a), _) => k[1..5].copy_from_slice(a),
        (Some(6), _, Some(a)) => {
            k[0] = 1;
            k[1..].copy_from_slice(a);
        }
        _ => return Err(bad("a record without an address")),
    }
    Ok(k)
}

/// The address of a key.
pub fn key_ip(k: &Key) -> IpAddr {
    if k[0] == 0 {
        IpAddr::V4(Ipv4Addr::new(k[1], k[2], k[3], k[4]))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&k[1..]);
        IpAddr::V6(Ipv6Addr::from(a))
    }
}

/// Reads a body front to back; every read checks what is left.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(bad("a record cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> io::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn f64(&mut self) -> io::Result<f64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(f64::from_bits(u64::from_le_bytes(b)))
    }
    fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("a number too long"))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = usize::try_from(self.varint()?).map_err(|_| bad("a string too long"))?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| bad("a string not UTF-8"))
    }
    fn ip(&mut self) -> io::Result<IpAddr> {
        Ok(match self.u8()? {
            4 => {
                let b = self.take(4)?;
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(self.take(16)?);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            f => return Err(bad(format!("address family {f}"))),
        })
    }
    fn state(&mut self) -> io::Result<PortState> {
        let c = self.u8()?;
        STATES
            .get(usize::from(c))
            .copied()
            .ok_or_else(|| bad(format!("port state {c}")))
    }
    fn reason(&mut self) -> io::Result<Reason> {
        let c = self.u8()?;
        REASONS
            .get(usize::from(c))
            .copied()
            .ok_or_else(|| bad(format!("reason {c}")))
    }
    fn proto(&mut self) -> io::Result<Proto> {
        match self.u8()? {
            0 => Ok(Proto::Tcp),
            1 => Ok(Proto::Udp),
            c => Err(bad(format!("protocol {c}"))),
        }
    }
    /// (rtt, ttl, has a hostname) as `put_optional` wrote them.
    fn optional(&mut self) -> io::Result<(Option<f64>, Option<u8>, bool)> {
        let flags = self.u8()?;
        if flags & !(HAS_RTT | HAS_TTL | HAS_HOSTNAME) != 0 {
            return Err(bad(format!("flags {flags:#x}")));
        }
        let rtt = (flags & HAS_RTT != 0).then(|| self.f64()).transpose()?;
        let ttl = (flags & HAS_TTL != 0).then(|| self.u8()).transpose()?;
        Ok((rtt, ttl, flags & HAS_HOSTNAME != 0))
    }
    fn end(&self) -> io::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(bad("bytes after a record's end"))
        }
    }
}

/// The record of a body (without its length prefix).
pub fn decode(body: &[u8]) -> io::Result<Record> {
    let mut r = Reader(body);
    let kind = r.u8()?;
    let ip = r.ip()?;
    let rec = match kind {
        PORT => {
            let port = r.u16()?;
            let (proto, state, reason) = (r.proto()?, r.state()?, r.reason()?);
            let (rtt_ms, ttl, named) = r.optional()?;
            let ts = r.f64()?;
            let service = r.string()?;
            let hostname = named.then(|| r.string()).transpose()?;
            Record::Result(Event::Port(PortResult {
                ip,
                port,
                proto,
                state,
                reason,
                service,
                rtt_ms,
                ts,
                hostname,
                ttl,
            }))
        }
        HOST => {
            let reason = r.reason()?;
            let (rtt_ms, ttl, named) = r.optional()?;
            let ts = r.f64()?;
            let state = r.string()?;
            let hostname = named.then(|| r.string()).transpose()?;
            Record::Result(Event::Host(HostResult {
                ip,
                state,
                reason,
                rtt_ms,
                ts,
                hostname,
                ttl,
            }))
        }
        JSON => {
            let e: Event = serde_json::from_slice(r.take(r.0.len())?)
                .map_err(|e| bad(format!("a rich record: {e}")))?;
            if e.ip() != Some(ip) || matches!(e, Event::Port(_) | Event::Host(_)) {
                return Err(bad("a rich record that is not what its header says"));
            }
            Record::Result(e)
        }
        UNLISTED => {
            let (state, reason) = (r.state()?, r.reason()?);
            Record::Unlisted(ip, state, reason, r.varint()?)
        }
        k => return Err(bad(format!("record kind {k}"))),
    };
    r.end()?;
    Ok(rec)
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
