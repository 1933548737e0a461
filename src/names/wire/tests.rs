use super::*;
use proptest::prelude::*;

/// A response as a server writes it: the question, then a PTR answer whose owner is a
/// compression pointer to the question's name.
pub fn response(q: &[u8], rcode: u8, ptr: Option<&str>) -> Vec<u8> {
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80 | rcode;
    if let Some(name) = ptr {
        r[7] = 1;
        let rdata = wire_name(name);
        r.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 1, 44]);
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
    }
    r
}

pub fn wire_name(name: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        w.push(l.len() as u8);
        w.extend_from_slice(l.as_bytes());
    }
    w.push(0);
    w
}

/// Appends a record (owner, type, rdata) and counts it in the header.
fn record(r: &mut Vec<u8>, owner: &[u8], rtype: u16, rdata: &[u8]) {
    r.extend_from_slice(owner);
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    let an = u16::from_be_bytes([r[6], r[7]]) + 1;
    r[6..8].copy_from_slice(&an.to_be_bytes());
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn queries_name_the_reverse_zone() {
    let q = query(0xbeef, ip("198.18.0.7"));
    assert_eq!(&q[..2], &[0xbe, 0xef]);
    assert_eq!(
        question(&q),
        b"\x017\x010\x0218\x03198\x07in-addr\x04arpa\x00\x00\x0c\x00\x01"
    );
    let q6 = query(1, ip("2001:db8::1"));
    assert!(q6.windows(10).any(|w| w == b"\x03ip6\x04arpa\x00"));
    assert_eq!(q6.len(), 12 + 64 + 4 + 5 + 1 + 4);
}

#[test]
fn answers_parse_with_compression_and_failures_are_told_apart() {
    let q = query(7, ip("198.18.3.4"));
    let (id, asked, a) = parse(&response(&q, 0, Some("h3-4.lab"))).unwrap();
    assert_eq!(
        (id, asked.as_slice(), a),
        (7, question(&q), Answer::Name("h3-4.lab".into()))
    );
    assert_eq!(parse(&response(&q, 3, None)).unwrap().2, Answer::NoName);
    assert_eq!(parse(&response(&q, 2, None)).unwrap().2, Answer::Failed);
    assert_eq!(parse(&response(&q, 5, None)).unwrap().2, Answer::Refused);
    assert_eq!(parse(&response(&q, 0, None)).unwrap().2, Answer::NoName);
    assert_eq!(parse(&q), None, "our own query is no answer");
}

#[test]
fn pointers_must_point_backwards() {
    let q = query(7, ip("198.18.3.4"));
    // The PTR's name is a pointer to itself: a loop, which the old 128-hop bound walked.
    let mut looped = response(&q, 0, Some("x"));
    let n = looped.len();
    looped[n - 3..].copy_from_slice(&[0xc0, (n - 3) as u8, 0]);
    assert_eq!(parse(&looped).unwrap().2, Answer::Failed);
    // A pointer forwards, into bytes that hold a fine name, is refused too.
    let mut fwd = q.clone();
    fwd[2] = 0x81;
    fwd[3] = 0x80;
    let at = fwd.len() + 12 + 2;
    record(&mut fwd, &[0xc0, 12], 12, &[0xc0, at as u8]);
    fwd.extend_from_slice(&wire_name("ahead.lab"));
    assert_eq!(parse(&fwd).unwrap().2, Answer::Failed);
}

/// The 8 KB name, answering `q`: an ignored TXT record carries a chain of 128
/// segments, each a 63-byte label and then a pointer back to the one before; the PTR's
/// name points at the last. (response, offset of the chain, offset of its last segment)
pub fn many_hops_response(q: &[u8]) -> (Vec<u8>, usize, u16) {
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80;
    let base = r.len() + 2 + 10;
    let mut chain = Vec::new();
    let mut prev: Option<usize> = None;
    for _ in 0..128 {
        let here = base + chain.len();
        chain.push(63);
        chain.extend(std::iter::repeat_n(b'a', 63));
        match prev {
            Some(p) => chain.extend_from_slice(&(0xc000 | p as u16).to_be_bytes()),
            None => chain.push(0),
        }
        prev = Some(here);
    }
    assert!(base + chain.len() < 0x3fff);
    record(&mut r, &[0xc0, 12], 16, &chain);
    let last = prev.unwrap_or(base) as u16;
    record(&mut r, &[0xc0, 12], 12, &(0xc000 | last).to_be_bytes());
    (r, base, last)
}

/// 128 hops of 63-byte labels made ~8 KB names. Now at most 255 octets.
#[test]
fn regression_a_name_of_many_hops_is_refused_past_255_octets() {
    let (r, base, last) = many_hops_response(&query(9, ip("198.18.0.9")));
    assert_eq!(parse(&r).unwrap().2, Answer::Failed);
    assert_eq!(read_name(&r, last.into()), None);
    // Segment i starts at base + 65 + 66 (i - 1): three labels fit, four (257 octets) do not.
    let (name, _) = read_name(&r, base + 65 + 66).unwrap();
    assert_eq!(name.len(), 3 * 64 + 1);
    assert!(read_name(&r, base + 65 + 2 * 66).is_none());
}

#[test]
fn only_records_about_the_question_are_believed() {
    let q = query(5, ip("198.18.0.5"));
    let mut r = q.clone();
    r[2] = 0x81;
    r[3] = 0x80;
    // Only a PTR for another address: no answer to our question at all, so not taken for
    // one (a forger who guessed the id cannot make it "no name" either).
    record(
        &mut r,
        &wire_name("6.0.18.198.in-addr.arpa"),
        12,
        &wire_name("spoofed.lab"),
    );
    assert_eq!(parse(&r), None);
    // The question's own, in another case (RFC 4343): believed.
    record(
        &mut r,
        &wire_name("5.0.18.198.IN-ADDR.arpa"),
        12,
        &wire_name("h5.lab"),
    );
    assert_eq!(parse(&r).unwrap().2, Answer::Name("h5.lab".into()));
}

#[test]
fn classless_delegation_follows_the_cname() {
    let q = query(5, ip("198.18.0.5"));
    let mut r = q.clone();
    r[2] = 0x81;
    r[3] = 0x80;
    let target = wire_name("5.0/25.0.18.198.in-addr.arpa");
    record(&mut r, &[0xc0, 12], 5, &target);
    record(&mut r, &target, 12, &wire_name("h5.lab"));
    assert_eq!(parse(&r).unwrap().2, Answer::Name("h5.lab".into()));
}

#[test]
fn names_are_text_without_controls() {
    let w = [3, b'a', b'\t', b'.', 2, 0x1b, b'\\', 0];
    assert_eq!(name_text(&w), "a\\x09\\x2e.\\x1b\\x5c");
    assert_eq!(name_text(&wire_name("Web-1.lab")), "Web-1.lab");
}

/// A header and question that match a query of ours, then records built from parts a
/// hostile server would mutate: owners and rdata of labels and pointers anywhere.
fn hostile_response() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        (0u8..=63, any::<u8>()).prop_map(|(n, c)| {
            let mut v = vec![n];
            v.extend(std::iter::repeat_n(c, usize::from(n)));
            v
        }),
        (0u16..0x4000).prop_map(|p| (0xc000 | p).to_be_bytes().to_vec()),
        Just(vec![0]),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    let name = proptest::collection::vec(piece, 0..6).prop_map(|v| v.concat());
    let rec = (
        name.clone(),
        prop_oneof![Just(12u16), Just(5u16), any::<u16>()],
        any::<u16>(),
        name,
        any::<bool>(),
    )
        .prop_map(|(owner, t, len, data, honest)| {
            let mut r = owner;
            r.extend_from_slice(&t.to_be_bytes());
            r.extend_from_slice(&[0, 1, 0, 0, 0, 1]);
            let len = if honest { data.len() as u16 } else { len };
            r.extend_from_slice(&len.to_be_bytes());
            r.extend_from_slice(&data);
            r
        });
    (
        proptest::collection::vec(rec, 0..5),
        any::<u16>(),
        0u8..16,
        any::<[u8; 4]>(),
    )
        .prop_map(|(recs, an, rcode, ipb)| {
            let mut r = query(1, IpAddr::from(ipb));
            r[2] = 0x81;
            r[3] = 0x80 | rcode;
            r[6..8].copy_from_slice(&an.min(8).to_be_bytes());
            r.extend(recs.concat());
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(2048)))]
    #[test]
    fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes);
        for at in 0..bytes.len().min(40) {
            if let Some((name, end)) = read_name(&bytes, at) {
                prop_assert!(name.len() <= MAX_NAME);
                prop_assert!(end <= bytes.len());
            }
        }
    }

    #[test]
    fn hostile_records_are_safe_and_names_bounded(r in hostile_response()) {
        let parsed = parse(&r);
        if let Some((_, asked, Answer::Name(n))) = parsed {
            prop_assert!(asked.len() <= MAX_NAME + 4);
            prop_assert!(!n.is_empty() && n.len() <= 4 * MAX_NAME);
            prop_assert!(n.chars().all(|c| c.is_ascii_graphic()));
        }
    }
}
