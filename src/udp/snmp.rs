//! SNMP (RFC 1157): a version-1 GetRequest for `sysDescr.0` with the community `public`. The
//! request id carries the cookie; v2c agents answer v1 requests too. The answer is read with
//! a small BER walker that bounds every length by the bytes present.

use super::{Check, Writer};

/// sysDescr.0 = 1.3.6.1.2.1.1.1.0
const SYS_DESCR: [u8; 8] = [0x2b, 6, 1, 2, 1, 1, 1, 0];
const COMMUNITY: &[u8] = b"public";

/// The request id: 31 bits of the cookie, so the INTEGER is positive in four bytes.
fn request_id(cookie: u64) -> u32 {
    (cookie as u32) & 0x7fff_ffff
}

pub fn get_request(cookie: u64, w: &mut Writer) {
    // Every length fits one byte (the message is 43 bytes), so the nesting is sized inside
    // out by hand: contents of the varbind 12, list 14, PDU 28, message 41.
    let varbind = 2 + SYS_DESCR.len() + 2;
    let list = 2 + varbind;
    let pdu = 6 + 3 + 3 + 2 + list;
    let message = 3 + 2 + COMMUNITY.len() + 2 + pdu;
    w.put(&[0x30, message as u8]);
    w.put(&[0x02, 1, 0]); // version 1 (0)
    w.put(&[0x04, COMMUNITY.len() as u8]);
    w.put(COMMUNITY);
    w.put(&[0xa0, pdu as u8]); // GetRequest
    w.put(&[0x02, 4]);
    w.u32(request_id(cookie));
    w.put(&[0x02, 1, 0]); // error status
    w.put(&[0x02, 1, 0]); // error index
    w.put(&[0x30, list as u8, 0x30, varbind as u8]);
    w.put(&[0x06, SYS_DESCR.len() as u8]);
    w.put(&SYS_DESCR);
    w.put(&[0x05, 0]); // NULL
}

/// One BER element: (tag, contents, rest), or None if the bytes end early.
fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None; // indefinite or absurd lengths are not SNMP
        }
        let (digits, rest) = (rest.get(..n)?, rest.get(n..)?);
        (
            digits.iter().fold(0usize, |a, &d| a << 8 | usize::from(d)),
            rest,
        )
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

fn integer(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let sign = if b[0] & 0x80 != 0 { -1i64 } else { 0 };
    Some(b.iter().fold(sign, |a, &d| a << 8 | i64::from(d)))
}

/// A GetResponse (or any PDU) whose request id is ours.
pub fn check(cookie: u64, reply: &[u8]) -> Check {
    let id = (|| {
        let (0x30, message, _) = element(reply)? else {
            return None;
        };
        let (0x02, _version, rest) = element(message)? else {
            return None;
        };
        let (0x04, _community, rest) = element(rest)? else {
            return None;
        };
        let (_pdu_tag, pdu, _) = element(rest)?;
        let (0x02, id, _) = element(pdu)? else {
            return None;
        };
        integer(id)
    })();
    if id == Some(i64::from(request_id(cookie))) {
        Check::Proven
    } else {
        Check::Forged
    }
}
