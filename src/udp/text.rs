//! Text protocols: SSDP (UPnP discovery), WS-Discovery (SOAP over UDP, ONVIF cameras and
//! printers) and SIP. WS-Discovery's MessageID and SIP's Call-ID carry the cookie, and their
//! answers quote it (RelatesTo, Call-ID).

use super::writer::hex_bytes;
use super::{Check, Writer};

/// A unicast M-SEARCH for everything (UPnP Device Architecture 2.0 §1.3.2).
pub fn ssdp_search(_cookie: u64, w: &mut Writer) {
    w.put(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n");
}

/// The cookie as a UUID (version-4 layout; the bits are the cookie's, twice).
fn uuid(cookie: u64, w: &mut Writer) {
    w.hex(cookie >> 32, 8);
    w.u8(b'-');
    w.hex((cookie >> 16) & 0xffff, 4);
    w.u8(b'-');
    w.hex(0x4000 | (cookie & 0x0fff), 4);
    w.u8(b'-');
    w.hex(0x8000 | ((cookie >> 48) & 0x3fff), 4);
    w.u8(b'-');
    w.hex(cookie.rotate_left(17) & 0xffff_ffff_ffff, 12);
}

fn uuid_bytes(cookie: u64) -> [u8; 36] {
    let mut out = [0u8; 36];
    let mut w = Writer::new(&mut out);
    uuid(cookie, &mut w);
    out
}

/// A WS-Discovery Probe (2005/04 namespace, the one devices answer) for any type.
pub fn wsd_probe(cookie: u64, w: &mut Writer) {
    w.put(br#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>urn:uuid:"#);
    uuid(cookie, w);
    w.put(b"</a:MessageID></s:Header><s:Body><d:Probe/></s:Body></s:Envelope>");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|x| x == needle)
}

/// A ProbeMatches relates to our MessageID.
pub fn check_wsd(cookie: u64, reply: &[u8]) -> Check {
    if contains(reply, &uuid_bytes(cookie)) {
        Check::Proven
    } else {
        Check::Forged
    }
}

/// An OPTIONS request (RFC 3261 §11): every SIP server answers it, with its Call-ID.
pub fn sip_options(cookie: u64, w: &mut Writer) {
    w.put(b"OPTIONS sip:synsweep@invalid SIP/2.0\r\nVia: SIP/2.0/UDP invalid;branch=z9hG4bK");
    w.hex(cookie, 16);
    w.put(
        b"\r\nMax-Forwards: 70\r\nTo: <sip:synsweep@invalid>\r\nFrom: <sip:synsweep@invalid>;tag=",
    );
    w.hex(cookie >> 32, 8);
    w.put(b"\r\nCall-ID: ");
    w.hex(cookie, 16);
    w.put(b"@synsweep\r\nCSeq: 1 OPTIONS\r\nContact: <sip:synsweep@invalid>\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n");
}

/// A SIP response quoting our Call-ID.
pub fn check_sip(cookie: u64, reply: &[u8]) -> Check {
    if reply.starts_with(b"SIP/2.0 ") && contains(reply, &hex_bytes::<16>(cookie)) {
        Check::Proven
    } else {
        Check::Forged
    }
}
