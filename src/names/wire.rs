//! The DNS wire format, as much of it as a PTR client needs: a query, and a response read
//! totally (any bytes give a value or None, never a panic) inside RFC 1035's bounds — a name
//! is at most 255 octets, and a compression pointer points backwards, at most 16 times.
//!
//! A response is believed only as far as it answers the question asked: the PTR record's
//! owner must be the question's name (or the target of a CNAME owned by it, RFC 2317's
//! classless delegation), so a record about some other address is never taken for ours.

use std::net::IpAddr;

/// RFC 1035 §2.3.4: a name is at most 255 octets on the wire (labels and their lengths).
pub const MAX_NAME: usize = 255;
/// Compression pointers followed in one name. Each must point before itself, so a loop is
/// impossible anyway; this only bounds the work.
pub const MAX_HOPS: usize = 16;
/// CNAMEs followed from the question to its PTR record.
const MAX_CNAMES: usize = 8;
const TYPE_PTR: u16 = 12;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Name(String),
    /// NXDOMAIN, or an answer without a PTR record for the question.
    NoName,
    /// REFUSED: this server will not answer us (not for this name, not for any).
    Refused,
    /// SERVFAIL, truncation, an answer that does not parse …: try elsewhere.
    Failed,
}

/// A recursive PTR query for `ip` (in-addr.arpa / ip6.arpa).
pub fn query(id: u16, ip: IpAddr) -> Vec<u8> {
    let mut q = Vec::with_capacity(80);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    let mut label = |s: &str| {
        q.push(s.len() as u8);
        q.extend_from_slice(s.as_bytes());
    };
    match ip {
        IpAddr::V4(a) => {
            for o in a.octets().iter().rev() {
                label(&o.to_string());
            }
            label("in-addr");
        }
        IpAddr::V6(a) => {
            for b in a.octets().iter().rev() {
                label(&format!("{:x}", b & 0xf));
                label(&format!("{:x}", b >> 4));
            }
            label("ip6");
        }
    }
    label("arpa");
    q.push(0);
    q.extend_from_slice(&TYPE_PTR.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

/// The question section of a query we built (everything after the header).
pub fn question(q: &[u8]) -> &[u8] {
    q.get(12..).unwrap_or(&[])
}

fn u16_at(r: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *r.get(at)?,
        *r.get(at.checked_add(1)?)?,
    ]))
}

/// The name at `at`, uncompressed in wire form (labels with their lengths, then 0), and the
/// offset just past it where it was written. None past 255 octets, for a pointer that does
/// not point backwards, after 16 pointers, or for the reserved label types.
pub fn read_name(r: &[u8], start: usize) -> Option<(Vec<u8>, usize)> {
    let mut name = Vec::with_capacity(64);
    let mut end = None;
    let mut at = start;
    let mut hops = 0;
    loop {
        let len = *r.get(at)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                name.push(0);
                return (name.len() <= MAX_NAME).then(|| (name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = r.get(at + 1..at + 1 + usize::from(len))?;
                // Room for this label and the final zero.
                if name.len() + 1 + label.len() + 1 > MAX_NAME {
                    return None;
                }
                name.push(len);
                name.extend_from_slice(label);
                at += 1 + usize::from(len);
            }
            0xc0 => {
                let target = usize::from(u16_at(r, at)? & 0x3fff);
                hops += 1;
                if hops > MAX_HOPS || target >= at {
                    return None;
                }
                end.get_or_insert(at + 2);
                at = target;
            }
            _ => return None, // 0x40 and 0x80: extended label types, not in use
        }
    }
}

/// Same name, ignoring ASCII case (RFC 4343).
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A wire-form name as text: labels joined by dots, each byte outside letters, digits and
/// `-_*` (a dot inside a label, a backslash, any control byte) escaped as `\xNN`. At most
/// 4 × 255 characters, and never a control character.
pub fn name_text(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        let label = wire.get(at + 1..at + 1 + usize::from(len)).unwrap_or(&[]);
        if !out.is_empty() {
            out.push('.');
        }
        for &b in label {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        at += 1 + usize::from(len);
    }
    out
}

/// (id, question as written, answer) of a response; None if it is not a DNS response with
/// one question, or if it has records and none is about the question (no server answers
/// that way; a forger who guessed the id might). Records owned by other names are skipped.
pub fn parse(r: &[u8]) -> Option<(u16, Vec<u8>, Answer)> {
    let id = u16_at(r, 0)?;
    let flags = u16_at(r, 2)?;
    if flags & 0x8000 == 0 {
        return None; // a query, not a response
    }
    if u16_at(r, 4)? != 1 {
        return None;
    }
    let an = u16_at(r, 6)?;
    let (qname, qname_end) = read_name(r, 12)?;
    let (qtype, qclass) = (u16_at(r, qname_end)?, u16_at(r, qname_end + 2)?);
    let mut asked = qname.clone();
    asked.extend_from_slice(&qtype.to_be_bytes());
    asked.extend_from_slice(&qclass.to_be_bytes());
    let answer = match (flags & 0xf, flags & 0x0200 != 0) {
        (3, _) => Answer::NoName,
        (5, _) => Answer::Refused,
        (0, false) => match answers(r, qname_end + 4, an, qname) {
            Some(Some(a)) => a,
            Some(None) => return None,
            None => Answer::Failed,
        },
        _ => Answer::Failed,
    };
    Some((id, asked, answer))
}

/// The PTR answer for `owner` among the `an` records from `at`; None if they do not parse,
/// Some(None) if there are records and none is owned by the question's name.
fn answers(r: &[u8], mut at: usize, an: u16, mut owner: Vec<u8>) -> Option<Option<Answer>> {
    let mut cnames = 0;
    let mut about_us = false;
    for _ in 0..an {
        let (name, end) = read_name(r, at)?;
        let rtype = u16_at(r, end)?;
        let class = u16_at(r, end + 2)?;
        let len = usize::from(u16_at(r, end + 8)?);
        let data = end + 10;
        let rdata_end = data.checked_add(len)?;
        r.get(data..rdata_end)?;
        if class == CLASS_IN && same_name(&name, &owner) {
            about_us = true;
            match rtype {
                TYPE_PTR => {
                    let (target, used) = read_name(r, data)?;
                    if used > rdata_end || target == [0] {
                        return None;
                    }
                    return Some(Some(Answer::Name(name_text(&target))));
                }
                TYPE_CNAME if cnames < MAX_CNAMES => {
                    cnames += 1;
                    owner = read_name(r, data)?.0;
                }
                _ => {}
            }
        }
        at = rdata_end;
    }
    Some((an == 0 || about_us).then_some(Answer::NoName))
}

#[cfg(test)]
pub(crate) mod tests;
