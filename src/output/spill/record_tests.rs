//! Every event kind through a record and back, exactly; and no bytes make decoding panic.

use super::*;
use crate::event::{
    AiInfo, AnswersAllResult, BannerResult, HttpInfo, NameResult, ScriptResult, ServiceResult,
    TlsInfo,
};
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// Finite floats: what clocks and durations give (JSON has no NaN).
fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z0-9/-]{0,8}", Just(String::new())]
}

fn state() -> impl Strategy<Value = PortState> {
    proptest::sample::select(STATES.to_vec())
}

fn reason() -> impl Strategy<Value = Reason> {
    proptest::sample::select(REASONS.to_vec())
}

fn proto() -> impl Strategy<Value = Proto> {
    prop_oneof![Just(Proto::Tcp), Just(Proto::Udp)]
}

fn port() -> impl Strategy<Value = Event> {
    (
        (ip(), any::<u16>(), proto(), state(), reason(), text()),
        (
            proptest::option::of(float()),
            float(),
            proptest::option::of(text()),
            proptest::option::of(any::<u8>()),
        ),
    )
        .prop_map(
            |((ip, port, proto, state, reason, service), (rtt_ms, ts, hostname, ttl))| {
                Event::Port(PortResult {
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
                })
            },
        )
}

fn host() -> impl Strategy<Value = Event> {
    (
        ip(),
        text(),
        reason(),
        proptest::option::of(float()),
        float(),
        proptest::option::of(text()),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(ip, state, reason, rtt_ms, ts, hostname, ttl)| {
            Event::Host(HostResult {
                ip,
                state,
                reason,
                rtt_ms,
                ts,
                hostname,
                ttl,
            })
        })
}

fn banner() -> impl Strategy<Value = Event> {
    (
        (ip(), any::<u16>(), proto(), text(), text()),
        proptest::option::of(text()),
        proptest::option::of((any::<u16>(), proptest::option::of(text()))),
        proptest::option::of((text(), proptest::collection::vec(text(), 0..3))),
        proptest::option::of((
            text(),
            proptest::collection::vec(text(), 0..3),
            any::<bool>(),
        )),
        float(),
    )
        .prop_map(
            |((ip, port, proto, service, text), data, http, tls, ai, ts)| {
                Event::Banner(Box::new(BannerResult {
                    ip,
                    port,
                    proto,
                    service,
                    text: text.clone(),
                    data_b64: data,
                    http: http.map(|(status, server)| HttpInfo {
                        status,
                        server,
                        title: Some(text.clone()),
                    }),
                    tls: tls.map(|(subject, sans)| TlsInfo {
                        version: "TLSv1.3".into(),
                        subject: subject.clone(),
                        issuer: subject,
                        sans,
                        not_after: "2030-01-01T00:00:00Z".into(),
                    }),
                    ai: ai.map(|(product, models, open_access)| AiInfo {
                        product,
                        version: None,
                        models,
                        open_access,
                    }),
                    ts,
                }))
            },
        )
}

fn rich() -> impl Strategy<Value = Event> {
    prop_oneof![
        (ip(), text(), float()).prop_map(|(ip, ptr, ts)| Event::Name(NameResult { ip, ptr, ts })),
        banner(),
        (ip(), any::<u16>(), text(), any::<u8>(), float(), text()).prop_map(
            |(ip, port, name, conf, ts, out)| Event::Service(Box::new(ServiceResult {
                ip,
                port,
                proto: Proto::Tcp,
                name: name.clone(),
                product: Some(name),
                version: None,
                extrainfo: None,
                tunnel: None,
                method: "probed".into(),
                conf,
                cpe: vec![],
                scripts: vec![ScriptResult {
                    id: "x".into(),
                    output: out,
                }],
                ts,
            }))
        ),
        (ip(), proto(), any::<u32>(), any::<u64>(), float()).prop_map(
            |(ip, proto, listed, probed, ts)| Event::AnswersAll(AnswersAllResult {
                ip,
                proto,
                listed,
                probed,
                ts,
            })
        ),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![4 => port(), 2 => host(), 1 => rich()]
}

fn body(buf: &[u8]) -> &[u8] {
    let n = body_len([buf[0], buf[1], buf[2], buf[3]]).unwrap();
    assert_eq!(buf.len(), n + 4, "one record, its length right");
    &buf[4..]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(512)))]

    #[test]
    fn every_event_comes_back_as_it_went_in(e in event()) {
        let mut buf = Vec::new();
        encode(&e, &mut buf).unwrap();
        let b = body(&buf);
        prop_assert_eq!(key_ip(&key(b).unwrap()), e.ip().unwrap());
        prop_assert_eq!(decode(b).unwrap(), Record::Result(e));
    }

    #[test]
    fn unlisted_counts_come_back(ip in ip(), s in state(), r in reason(), n: u64) {
        let mut buf = Vec::new();
        encode_unlisted(ip, s, r, n, &mut buf);
        prop_assert_eq!(decode(body(&buf)).unwrap(), Record::Unlisted(ip, s, r, n));
    }

    /// Keys order hosts as `IpAddr` does (the in-memory store's `BTreeMap` order).
    #[test]
    fn keys_sort_as_addresses_do(a in ip(), b in ip()) {
        let k = |ip| {
            let mut buf = Vec::new();
            encode_unlisted(ip, PortState::Closed, Reason::Reset, 1, &mut buf);
            key(&buf[4..]).unwrap()
        };
        prop_assert_eq!(k(a).cmp(&k(b)), a.cmp(&b));
    }

    #[test]
    fn no_bytes_make_decoding_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = decode(&b);
        let _ = key(&b);
    }

    /// A record with a byte flipped decodes to something or to an error, never a panic.
    #[test]
    fn a_damaged_record_is_an_error_or_a_record(e in event(), at: usize, bit in 0u8..8) {
        let mut buf = Vec::new();
        encode(&e, &mut buf).unwrap();
        let i = 4 + at % (buf.len() - 4);
        buf[i] ^= 1 << bit;
        let _ = decode(&buf[4..]);
    }
}

#[test]
fn a_checkpoint_is_no_record_and_leaves_nothing_behind() {
    let mut buf = vec![1, 2, 3];
    let cp = Event::Checkpoint(Box::default());
    assert!(encode(&cp, &mut buf).is_err());
    assert_eq!(buf, vec![1, 2, 3]);
}

#[test]
fn an_ipv4_port_record_is_small() {
    let e = Event::Port(PortResult {
        ip: "198.18.0.1".parse().unwrap(),
        port: 443,
        proto: Proto::Tcp,
        state: PortState::Open,
        reason: Reason::SynAck,
        service: "https".into(),
        rtt_ms: Some(0.5),
        ts: 1.7e9,
        hostname: None,
        ttl: Some(64),
    });
    let mut buf = Vec::new();
    encode(&e, &mut buf).unwrap();
    // 4 length, 1 kind, 5 address, 2 port, 3 codes, 1 flags, 8 rtt, 1 ttl, 8 ts, 6 service.
    assert_eq!(buf.len(), 39);
    let json = serde_json::to_vec(&e).unwrap();
    assert!(json.len() > 3 * buf.len(), "{}", json.len());
}
