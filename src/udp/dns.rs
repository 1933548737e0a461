//! DNS-format probes (RFC 1035 header): DNS itself, multicast DNS answering a unicast query
//! (RFC 6762 §6.7: the responder echoes the id), and the NetBIOS name service (RFC 1002),
//! which shares the header. The transaction id carries the cookie.

use super::{Check, Writer, id16};

fn header(w: &mut Writer, cookie: u64, flags: u16) {
    w.u16(id16(cookie));
    w.u16(flags);
    w.u16(1); // one question
    w.u16(0);
    w.u16(0);
    w.u16(0);
}

fn name(w: &mut Writer, labels: &[&[u8]]) {
    for l in labels {
        w.u8(l.len() as u8);
        w.put(l);
    }
    w.u8(0);
}

/// `version.bind TXT CH`: any server answers it (often REFUSED, which proves it as well), and
/// BIND-like servers say their version.
pub fn version_query(cookie: u64, w: &mut Writer) {
    header(w, cookie, 0x0000);
    name(w, &[b"version", b"bind"]);
    w.u16(16); // TXT
    w.u16(3); // CH
}

/// `_services._dns-sd._udp.local PTR`, class IN with the unicast-response bit: the services a
/// host advertises.
pub fn mdns_services(cookie: u64, w: &mut Writer) {
    header(w, cookie, 0x0000);
    name(w, &[b"_services", b"_dns-sd", b"_udp", b"local"]);
    w.u16(12); // PTR
    w.u16(0x8001); // IN, unicast response wanted
}

/// A node status request for the wildcard name `*` (its table of names, like `nbtstat -A`).
pub fn netbios_status(cookie: u64, w: &mut Writer) {
    header(w, cookie, 0x0000);
    // First-level encoding of "*" padded with NULs to 16 bytes: each nibble + 'A'.
    w.u8(32);
    w.put(b"CK");
    for _ in 0..15 {
        w.put(b"AA");
    }
    w.u8(0);
    w.u16(0x21); // NBSTAT
    w.u16(1); // IN
}

/// A response (QR set) with our transaction id.
pub fn check(cookie: u64, reply: &[u8]) -> Check {
    match reply {
        [a, b, flags, ..] if u16::from_be_bytes([*a, *b]) == id16(cookie) && flags & 0x80 != 0 => {
            Check::Proven
        }
        _ => Check::Forged,
    }
}
