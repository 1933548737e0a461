//! Binary protocols, each a few fields laid out by its specification. The field that carries
//! the cookie is named at each one.

use super::{Check, Writer, id16};

fn proven_if(ok: bool) -> Check {
    if ok { Check::Proven } else { Check::Forged }
}

/// Echo (RFC 862): the server returns the datagram, cookie and all.
pub fn echo(cookie: u64, w: &mut Writer) {
    w.put(b"synsweep");
    w.u64(cookie);
}

pub fn check_echo(cookie: u64, reply: &[u8]) -> Check {
    proven_if(reply.len() == 16 && reply[..8] == *b"synsweep" && reply[8..] == cookie.to_be_bytes())
}

/// ONC RPC (RFC 5531) NULL call to the portmapper (program 100000 v2); the XID carries the
/// cookie.
pub fn rpc_null(cookie: u64, w: &mut Writer) {
    w.u32(cookie as u32); // XID
    w.u32(0); // CALL
    w.u32(2); // RPC version
    w.u32(100_000);
    w.u32(2);
    w.u32(0); // procedure NULL
    w.put(&[0; 16]); // credential and verifier: AUTH_NONE, empty
}

pub fn check_rpc(cookie: u64, reply: &[u8]) -> Check {
    let (xid, kind) = (reply.get(..4), reply.get(4..8));
    proven_if(xid == Some(&(cookie as u32).to_be_bytes()[..]) && kind == Some(&[0, 0, 0, 1][..]))
}

/// IKEv1 (RFC 2408/2409) Main Mode with one proposal (3DES, SHA-1, pre-shared key, MODP-1024):
/// a responder answers with its choice or a notification, echoing the initiator SPI, which is
/// the cookie.
pub fn ike_main_mode(cookie: u64, w: &mut Writer) {
    const ATTRIBUTES: [(u16, u16); 6] = [
        (1, 5),      // encryption: 3DES-CBC
        (2, 2),      // hash: SHA
        (3, 1),      // authentication: pre-shared key
        (4, 2),      // group: MODP 1024
        (11, 1),     // life type: seconds
        (12, 28800), // life duration
    ];
    let transform = 8 + 4 * ATTRIBUTES.len() as u16;
    let proposal = 8 + transform;
    let sa = 12 + proposal;
    w.u64(cookie); // initiator SPI
    w.u64(0); // responder SPI
    w.put(&[1, 0x10, 2, 0]); // next: SA; version 1.0; Identity Protection; no flags
    w.u32(0); // message id
    w.u32(28 + u32::from(sa));
    w.put(&[0, 0]);
    w.u16(sa);
    w.u32(1); // DOI: IPsec
    w.u32(1); // situation: identity only
    w.put(&[0, 0]);
    w.u16(proposal);
    w.put(&[1, 1, 0, 1]); // proposal 1, ISAKMP, no SPI, one transform
    w.put(&[0, 0]);
    w.u16(transform);
    w.put(&[1, 1, 0, 0]); // transform 1, KEY_IKE
    for (kind, value) in ATTRIBUTES {
        w.u16(0x8000 | kind); // TV form
        w.u16(value);
    }
}

pub fn check_ike(cookie: u64, reply: &[u8]) -> Check {
    proven_if(reply.len() >= 28 && reply[..8] == cookie.to_be_bytes())
}

/// RIPv2 (RFC 2453 §3.9.1) request for the whole routing table.
pub fn rip_request(_cookie: u64, w: &mut Writer) {
    w.put(&[1, 2, 0, 0]);
    w.put(&[0; 16]);
    w.u32(16); // metric infinity
}

/// RMCP/ASF presence ping (DSP0136), answered by IPMI BMCs; the message tag carries 8 bits of
/// the cookie.
pub fn rmcp_ping(cookie: u64, w: &mut Writer) {
    w.put(&[0x06, 0x00, 0xff, 0x06]); // RMCP v1, no ack, class ASF
    w.u32(4542); // ASF IANA enterprise number
    w.put(&[0x80, cookie as u8, 0, 0]); // presence ping, tag, reserved, no data
}

pub fn check_rmcp(cookie: u64, reply: &[u8]) -> Check {
    proven_if(reply.get(9) == Some(&(cookie as u8)))
}

/// OpenVPN control-channel hard reset (no tls-auth): the server's reset acknowledges our
/// session id, which is the cookie.
pub fn openvpn_reset(cookie: u64, w: &mut Writer) {
    w.u8(7 << 3); // P_CONTROL_HARD_RESET_CLIENT_V2, key 0
    w.u64(cookie); // session id
    w.u8(0); // no acks
    w.u32(0); // packet id
}

pub fn check_openvpn(cookie: u64, reply: &[u8]) -> Check {
    let acks = usize::from(reply.get(9).copied().unwrap_or(0));
    let remote = 10 + 4 * acks;
    let ok = reply.first().is_some_and(|b| b >> 3 == 8)
        && acks > 0
        && reply.get(remote..remote + 8) == Some(&cookie.to_be_bytes()[..]);
    proven_if(ok)
}

/// SQL Server Browser (MC-SQLR) unicast enumeration request: the instances and their ports.
pub fn mssql_browse(_cookie: u64, w: &mut Writer) {
    w.u8(0x03);
}

/// STUN (RFC 8489) Binding request; the transaction id carries the cookie.
pub fn stun_binding(cookie: u64, w: &mut Writer) {
    w.u16(0x0001);
    w.u16(0);
    w.u32(0x2112_a442); // magic cookie
    stun_transaction(cookie, w);
}

fn stun_transaction(cookie: u64, w: &mut Writer) {
    w.u64(cookie);
    w.u32((cookie >> 32) as u32 ^ 0x5354_554e);
}

pub fn check_stun(cookie: u64, reply: &[u8]) -> Check {
    let mut want = [0u8; 12];
    stun_transaction(cookie, &mut Writer::new(&mut want));
    proven_if(reply.get(8..20) == Some(&want[..]))
}

/// NAT-PMP (RFC 6886) external-address request.
pub fn natpmp_address(_cookie: u64, w: &mut Writer) {
    w.put(&[0, 0]);
}

/// CoAP (RFC 7252) confirmable GET /.well-known/core (RFC 6690): the resources a device
/// offers. Message id and token carry the cookie; a piggybacked answer echoes both, a
/// separate one the token.
pub fn coap_core(cookie: u64, w: &mut Writer) {
    w.u8(0x44); // version 1, confirmable, 4-byte token
    w.u8(0x01); // GET
    w.u16(id16(cookie));
    w.u32((cookie >> 16) as u32);
    w.u8(0xbb); // Uri-Path (option 11), 11 bytes
    w.put(b".well-known");
    w.u8(0x04); // Uri-Path again, 4 bytes
    w.put(b"core");
}

pub fn check_coap(cookie: u64, reply: &[u8]) -> Check {
    let [first, _code, a, b, ..] = *reply else {
        return Check::Forged;
    };
    let token = reply.get(4..4 + usize::from(first & 0x0f));
    let ok = first >> 6 == 1
        && (u16::from_be_bytes([a, b]) == id16(cookie)
            || token == Some(&((cookie >> 16) as u32).to_be_bytes()[..]));
    proven_if(ok)
}

/// Ubiquiti device discovery (v1).
pub fn ubiquiti(_cookie: u64, w: &mut Writer) {
    w.put(&[1, 0, 0, 0]);
}

/// memcached's UDP frame (protocol.txt, "UDP protocol") with `version`; the request id
/// carries the cookie.
pub fn memcached_version(cookie: u64, w: &mut Writer) {
    w.u16(id16(cookie));
    w.put(&[0, 0, 0, 1, 0, 0]); // sequence 0 of 1 datagram
    w.put(b"version\r\n");
}

pub fn check_memcached(cookie: u64, reply: &[u8]) -> Check {
    proven_if(reply.len() >= 8 && reply[..2] == id16(cookie).to_be_bytes())
}
