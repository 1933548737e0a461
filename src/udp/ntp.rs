//! NTP (RFC 5905): a version-4 client request whose transmit timestamp is the cookie; a
//! server copies it into the origin timestamp of its answer.

use super::{Check, Writer};

const LEN: usize = 48;

pub fn client_request(cookie: u64, w: &mut Writer) {
    w.u8(0x23); // leap 0, version 4, mode 3 (client)
    w.put(&[0; 39]);
    w.u64(cookie); // transmit timestamp, bytes 40..48
}

/// A server-mode answer (mode 4) whose origin timestamp is our transmit timestamp.
pub fn check(cookie: u64, reply: &[u8]) -> Check {
    let (Some(first), Some(origin)) = (reply.first(), reply.get(24..32)) else {
        return Check::Forged;
    };
    if reply.len() >= LEN && first & 7 == 4 && origin == cookie.to_be_bytes() {
        Check::Proven
    } else {
        Check::Forged
    }
}
