//! Byte fixtures for every payload (cookie 0x0123_4567_89ab_cdef), answers as real servers
//! write them, and the rule that no bytes make a check panic.

use super::*;
use proptest::prelude::*;

const COOKIE: u64 = 0x0123_4567_89ab_cdef;

fn payload(port: u16, cookie: u64) -> Vec<u8> {
    let mut buf = [0u8; MAX_PAYLOAD];
    let n = write_payload(port, cookie, &mut buf).expect("fits");
    buf[..n].to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn binary_payloads_match_their_specifications() {
    let cases: &[(u16, &str)] = &[
        // DNS: id cdef, no flags, 1 question, version.bind TXT CH.
        (
            53,
            "cdef 0000 0001 0000 0000 0000 07 76657273696f6e 04 62696e64 00 0010 0003",
        ),
        // NetBIOS NBSTAT for "*": CK + 15 × AA, type 0x21, class IN.
        (
            137,
            "cdef 0000 0001 0000 0000 0000 20 434b 414141414141414141414141414141414141414141414141414141414141 00 0021 0001",
        ),
        // mDNS: _services._dns-sd._udp.local PTR, unicast-response class.
        (
            5353,
            "cdef 0000 0001 0000 0000 0000 09 5f7365727669636573 07 5f646e732d7364 04 5f756470 05 6c6f63616c 00 000c 8001",
        ),
        // NTP v4 client, transmit timestamp = cookie.
        (
            123,
            concat!(
                "23",
                "000000000000000000000000000000000000000000000000000000000000000000000000000000",
                "0123456789abcdef"
            ),
        ),
        // SNMPv1 GetRequest public, request id 0x09abcdef (31 bits), sysDescr.0.
        (
            161,
            "3029 020100 0406 7075626c6963 a01c 0204 09abcdef 020100 020100 300e 300c 0608 2b06010201010100 0500",
        ),
        // Portmapper NULL: XID 89abcdef, CALL, v2, program 100000 v2, proc 0, AUTH_NONE × 2.
        (
            111,
            "89abcdef 00000000 00000002 000186a0 00000002 00000000 00000000 00000000 00000000 00000000",
        ),
        // memcached: request id cdef, seq 0, 1 datagram, "version\r\n".
        (11211, "cdef 0000 0001 0000 76657273696f6e0d0a"),
        // CoAP CON GET, message id cdef, token 456789ab, /.well-known/core.
        (
            5683,
            "44 01 cdef 456789ab bb 2e77656c6c2d6b6e6f776e 04 636f7265",
        ),
        // STUN binding: magic cookie, transaction id = cookie + (0x01234567 ^ "STUN").
        (3478, "0001 0000 2112a442 0123456789abcdef 52771029"),
        // RMCP presence ping with tag ef.
        (623, "06 00 ff 06 000011be 80 ef 00 00"),
        // OpenVPN hard reset v2, session id = cookie.
        (1194, "38 0123456789abcdef 00 00000000"),
        (1434, "03"),
        (5351, "0000"),
        (10001, "01000000"),
        (520, "01020000 00000000000000000000000000000000 00000010"),
        (7, "73796e7377656570 0123456789abcdef"),
    ];
    for (port, want) in cases {
        assert_eq!(
            hex(&payload(*port, COOKIE)),
            hex(&unhex(want)),
            "port {port}"
        );
    }
    // IKE: header (SPI = cookie, SA next, v1.0, main mode, length 80), then the proposal.
    let ike = payload(500, COOKIE);
    assert_eq!(ike.len(), 80);
    assert_eq!(
        hex(&ike[..28]),
        "0123456789abcdef00000000000000000110020000000000".to_string() + "00000050"
    );
    assert_eq!(hex(&ike[28..40]), "000000340000000100000001"); // SA length 52, IPsec, identity
    assert_eq!(hex(&ike[40..48]), "0000002801010001"); // proposal length 40, one transform
    assert_eq!(hex(&ike[48..56]), "0000002001010000"); // transform length 32, KEY_IKE
    assert_eq!(
        hex(&ike[56..]),
        "800100058002000280030001800400028 00b0001800c7080".replace(' ', "")
    );
    // Ports without a protocol get an empty datagram.
    assert!(payload(9, COOKIE).is_empty());
}

#[test]
fn text_payloads_carry_the_cookie() {
    let ssdp = String::from_utf8(payload(1900, COOKIE)).unwrap();
    assert!(ssdp.starts_with("M-SEARCH * HTTP/1.1\r\n") && ssdp.ends_with("\r\n\r\n"));
    assert!(ssdp.contains("MAN: \"ssdp:discover\"\r\n") && ssdp.contains("ST: ssdp:all\r\n"));
    let wsd = String::from_utf8(payload(3702, COOKIE)).unwrap();
    assert!(
        wsd.contains("<a:MessageID>urn:uuid:01234567-89ab-4def-8123-"),
        "{wsd}"
    );
    assert!(wsd.ends_with("</s:Envelope>"));
    let sip = String::from_utf8(payload(5060, COOKIE)).unwrap();
    assert!(sip.starts_with("OPTIONS sip:synsweep@invalid SIP/2.0\r\n"));
    assert!(sip.contains("\r\nCall-ID: 0123456789abcdef@synsweep\r\n"));
    assert!(sip.ends_with("Content-Length: 0\r\n\r\n"));
}

/// What a server of each protocol sends back for `cookie` (by their specifications).
fn answer(port: u16, cookie: u64) -> Vec<u8> {
    let sent = payload(port, cookie);
    match port {
        53 | 137 | 5353 => {
            let mut r = sent.clone();
            r[2] |= 0x84; // QR, AA
            r
        }
        123 => {
            let mut r = vec![0x24u8; 48]; // version 4, mode 4
            r[24..32].copy_from_slice(&sent[40..48]);
            r
        }
        161 => {
            // A v2c GetResponse with the same request id and a two-byte length form.
            let id = &sent[17..21];
            let mut pdu = vec![0x02, 4];
            pdu.extend_from_slice(id);
            pdu.extend_from_slice(&[2, 1, 0, 2, 1, 0, 0x30, 0x81, 0x00]);
            let mut msg = vec![0x02, 1, 1, 0x04, 6];
            msg.extend_from_slice(b"public");
            msg.push(0xa2);
            msg.push(pdu.len() as u8);
            msg.extend_from_slice(&pdu);
            let mut r = vec![0x30, 0x81, msg.len() as u8];
            r.extend_from_slice(&msg);
            r
        }
        111 => [&sent[..4], &[0, 0, 0, 1], &[0; 16]].concat(),
        500 => [&sent[..8], &[0x55; 8], &sent[16..28]].concat(),
        623 => [&sent[..8], &[0x40, sent[9], 0, 0x10]].concat(),
        1194 => [
            &[0x40][..],
            &[9; 8],
            &[1],
            &[0, 0, 0, 0],
            &sent[1..9],
            &[0, 0, 0, 0],
        ]
        .concat(),
        3478 => [&[0x01, 0x01, 0, 0], &sent[4..20]].concat(),
        3702 => {
            let id = &payload(3702, cookie);
            let at = id.windows(9).position(|w| w == b"urn:uuid:").unwrap();
            [
                &b"<wsa:RelatesTo>"[..],
                &id[at..at + 45],
                b"</wsa:RelatesTo>",
            ]
            .concat()
        }
        5060 => [
            &b"SIP/2.0 200 OK\r\nCall-ID: "[..],
            &hex_of(cookie),
            b"@synsweep\r\n\r\n",
        ]
        .concat(),
        5683 => [&[0x64, 0x45], &sent[2..8], &[0xff], b"</x>"].concat(),
        7 => sent,
        11211 => [&sent[..8], b"VERSION 1.6.21\r\n"].concat(),
        _ => b"anything".to_vec(),
    }
}

fn hex_of(cookie: u64) -> Vec<u8> {
    format!("{cookie:016x}").into_bytes()
}

#[test]
fn real_answers_are_proven_and_other_cookies_are_not() {
    let other = COOKIE ^ 0x0101_0101_0101_0101;
    for port in payload_ports() {
        let ours = answer(port, COOKIE);
        let theirs = answer(port, other);
        match check_reply(port, COOKIE, &ours) {
            Check::PortOnly => {
                assert!(
                    [520, 1434, 1900, 5351, 10001].contains(&port),
                    "port {port}"
                );
            }
            c => {
                assert_eq!(c, Check::Proven, "port {port}: {}", hex(&ours));
                assert_eq!(
                    check_reply(port, COOKIE, &theirs),
                    Check::Forged,
                    "port {port}"
                );
                assert_eq!(check_reply(port, COOKIE, &[]), Check::Forged, "port {port}");
            }
        }
    }
    assert_eq!(check_reply(9, COOKIE, b"x"), Check::PortOnly);
}

#[test]
fn every_payload_fits_and_names_its_protocol() {
    for port in payload_ports() {
        assert!(protocol_name(port).is_some());
        let mut small = [0u8; 8];
        let fits = write_payload(port, COOKIE, &mut small);
        let n = payload(port, COOKIE).len();
        assert!(n <= MAX_PAYLOAD);
        assert_eq!(
            fits.is_some(),
            n <= 8,
            "port {port}: a short buffer is refused, not overrun"
        );
    }
}

proptest! {
    #[test]
    fn no_bytes_make_a_check_panic(port in proptest::sample::select(payload_ports().chain([9]).collect::<Vec<_>>()),
                                   cookie: u64, bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = check_reply(port, cookie, &bytes);
    }

    #[test]
    fn a_flipped_id_bit_is_forged(port in proptest::sample::select(vec![53u16, 123, 137, 161, 500, 5353, 11211, 111, 3478]),
                                  bit in 0u32..16) {
        let ours = answer(port, COOKIE);
        let other = COOKIE ^ (1 << bit);
        prop_assert_eq!(check_reply(port, other, &ours), Check::Forged);
    }

    /// Each protocol's true answer with bytes set to extremes (BER lengths 0x84 ff ff ff ff,
    /// counts of 255, ids flipped) and cut or padded: no check panics, for our cookie or
    /// another.
    #[test]
    fn mutated_answers_are_safe(
        port in proptest::sample::select(payload_ports().collect::<Vec<_>>()),
        hits in proptest::collection::vec((0usize..64, prop_oneof![Just(0xffu8), Just(0x84), Just(0x80), Just(0), any::<u8>()]), 0..6),
        cut in 0usize..64,
        pad in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut b = answer(port, COOKIE);
        for (at, x) in hits {
            if let Some(y) = b.get_mut(at) {
                *y = x;
            }
        }
        let keep = b.len().saturating_sub(cut);
        b.truncate(keep);
        b.extend_from_slice(&pad);
        let _ = check_reply(port, COOKIE, &b);
        let _ = check_reply(port, !COOKIE, &b);
    }
}
