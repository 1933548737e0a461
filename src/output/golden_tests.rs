//! The documents every format writes for two fixed scans, against golden text captured from
//! the code as it was when every result was held in memory: rendering from the spill log
//! must not change a byte of them. `SYNSWEEP_BLESS=1 cargo test --lib golden` rewrites the
//! files (then read the diff).

use crate::event::{
    AiInfo, AnswersAllResult, BannerResult, Event, HostResult, HttpInfo, NameResult, PortResult,
    PortState, Proto, Reason, ScriptResult, ServiceResult, TlsInfo,
};
use crate::output::meta::{Figures, ScanMeta, Summary};
use std::net::IpAddr;
use std::path::PathBuf;

const START: f64 = 1_700_000_000.25;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn port(a: &str, n: u16, state: PortState, reason: Reason, service: &str) -> PortResult {
    PortResult {
        ip: ip(a),
        port: n,
        proto: Proto::Tcp,
        state,
        reason,
        service: service.into(),
        rtt_ms: n.is_multiple_of(3).then_some(0.125 * f64::from(n % 7)),
        ts: START + f64::from(n) / 1000.0,
        hostname: None,
        ttl: n.is_multiple_of(2).then_some(64),
    }
}

fn open(a: &str, n: u16, service: &str) -> Event {
    Event::Port(port(a, n, PortState::Open, Reason::SynAck, service))
}

fn host(a: &str, reason: Reason, hostname: Option<&str>, rtt: Option<f64>) -> Event {
    Event::Host(HostResult {
        ip: ip(a),
        state: "up".into(),
        reason,
        rtt_ms: rtt,
        ts: START + 0.5,
        hostname: hostname.map(String::from),
        ttl: Some(63),
    })
}

fn banner(a: &str, n: u16) -> BannerResult {
    BannerResult {
        ip: ip(a),
        port: n,
        proto: Proto::Tcp,
        service: "unknown".into(),
        text: format!("hello from {n}"),
        data_b64: None,
        http: None,
        tls: None,
        ai: None,
        ts: START + 3.0,
    }
}

fn service(a: &str, n: u16) -> ServiceResult {
    ServiceResult {
        ip: ip(a),
        port: n,
        proto: Proto::Tcp,
        name: "http".into(),
        product: Some("nginx".into()),
        version: Some("1.22.1".into()),
        extrainfo: None,
        tunnel: Some("ssl".into()),
        method: "probed".into(),
        conf: 10,
        cpe: vec!["cpe:/a:igor_sysoev:nginx:1.22.1".into()],
        scripts: vec![ScriptResult {
            id: "http-title".into(),
            output: "Welcome\nto nginx".into(),
        }],
        ts: START + 9.0,
    }
}

/// A scan of 198.18.0.0/29 and 2001:db8::/126 on 50 ports, in the order an engine and its
/// stages would report it (hosts interleaved, repeats included):
/// - .1 up under a user's name, PTR, three open ports, an SSH and an HTTP banner, unlisted
///   closed and filtered ports;
/// - .2 up, 40 open ports arriving out of order (a port map beyond 32), nmap's service on one,
///   a banner, and recognised as answering everything;
/// - .3 only a filtered port listed (`--show-closed`), never up;
/// - .4 only unlisted ports (not a host to list);
/// - 2001:db8::5 up with two open ports, a TLS banner of an AI service, a name;
/// - 2001:db8::2 up with no port.
pub fn events() -> Vec<Event> {
    let (a, b, c, v6, v6b) = (
        "198.18.0.1",
        "198.18.0.2",
        "198.18.0.3",
        "2001:db8::5",
        "2001:db8::2",
    );
    let mut out = vec![
        host(b, Reason::SynAck, None, Some(0.75)),
        open(b, 49, "unknown"),
        host(a, Reason::SynAck, Some("web.example"), Some(1.5)),
        open(a, 22, "ssh"),
        host(v6, Reason::SynAck, None, None),
    ];
    // .2's ports, scrambled: 7 × k mod 41 walks 1..=40 in another order.
    for k in 1..=40u16 {
        out.push(open(b, (7 * k) % 41, "unknown"));
        if k == 20 {
            out.push(open(a, 80, "http"));
            out.push(host(a, Reason::Reset, None, None)); // a repeat: the first one stays
        }
    }
    let mut named = port(a, 8080, PortState::Open, Reason::SynAck, "http-proxy");
    named.hostname = Some("web.example".into());
    out.extend([
        Event::Port(named),
        open(v6, 443, "https"),
        Event::Port(port(
            c,
            80,
            PortState::Filtered,
            Reason::HostUnreach,
            "http",
        )),
        Event::Name(NameResult {
            ip: ip(a),
            ptr: "one.lab.example".into(),
            ts: START + 4.0,
        }),
        Event::Banner(Box::new(BannerResult {
            service: "ssh".into(),
            text: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3".into(),
            data_b64: Some("U1NILTIuMA==".into()),
            ..banner(a, 22)
        })),
        open(v6, 11434, "unknown"),
        Event::Banner(Box::new(BannerResult {
            service: "http".into(),
            text: "HTTP/1.1 200 OK".into(),
            http: Some(HttpInfo {
                status: 200,
                server: Some("Apache/2.4.57 (Debian)".into()),
                title: Some("It works".into()),
            }),
            ..banner(a, 80)
        })),
        Event::Banner(Box::new(banner(b, 17))),
        Event::Service(Box::new(service(b, 17))),
        Event::AnswersAll(AnswersAllResult {
            ip: ip(b),
            proto: Proto::Tcp,
            listed: 40,
            probed: 50,
            ts: START + 5.0,
        }),
        Event::Banner(Box::new(BannerResult {
            service: "https".into(),
            text: "HTTP/1.1 200 OK".into(),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                subject: "CN=ai.lab".into(),
                issuer: "CN=lab CA".into(),
                sans: vec!["ai.lab".into(), "2001:db8::5".into()],
                not_after: "2030-01-01T00:00:00Z".into(),
            }),
            ai: Some(AiInfo {
                product: "ollama".into(),
                version: Some("0.5.7".into()),
                models: vec!["llama3.2:1b".into()],
                open_access: true,
            }),
            ..banner(v6, 443)
        })),
        Event::Name(NameResult {
            ip: ip(v6),
            ptr: "ai.lab.example".into(),
            ts: START + 6.0,
        }),
        host(v6b, Reason::EchoReply, None, Some(0.25)),
        open(a, 22, "ssh"), // a repeat
    ]);
    out
}

/// The ports the same scan answered but does not list: (address, port, state, reason).
pub fn unlisted() -> Vec<PortResult> {
    let mut out = Vec::new();
    for n in 1..=5 {
        out.push(port("198.18.0.1", n, PortState::Closed, Reason::Reset, ""));
    }
    out.push(port(
        "198.18.0.1",
        6,
        PortState::Filtered,
        Reason::AdminProhibited,
        "",
    ));
    for n in 1..=7 {
        out.push(port("198.18.0.4", n, PortState::Closed, Reason::Reset, ""));
    }
    out.push(port("2001:db8::5", 9, PortState::Closed, Reason::Reset, ""));
    out
}

pub fn meta(port_count: usize) -> ScanMeta {
    ScanMeta {
        scanner: "synsweep",
        version: "0.1.0",
        args: vec!["synsweep".into(), "-oA".into(), "x".into()],
        start: START,
        scan_type: if port_count == 0 { "ping" } else { "syn" },
        ports: if port_count == 0 {
            String::new()
        } else {
            "1-50".into()
        },
        port_count,
        hosts: 12,
        seed: 7,
        shard: "0/1".into(),
        resumed: false,
    }
}

pub fn summary() -> Summary {
    Summary {
        figures: Figures {
            elapsed_s: 12.5,
            total: 600,
            sent: 610,
            done: 600,
            open: 47,
            closed: 13,
            filtered: 2,
            hosts_up: 4,
            errors: 0,
            ..Figures::default()
        },
        complete: true,
    }
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/output/golden")
        .join(name)
}

/// Compares `got` with the golden file `name`, or writes it under `SYNSWEEP_BLESS=1`.
pub fn check(name: &str, got: &str) {
    let path = golden(name);
    if std::env::var("SYNSWEEP_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SYNSWEEP_BLESS=1 writes it)", path.display()));
    if want != got {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name} differs from its golden text at line {}:\nwant: {:?}\ngot:  {:?}",
            line + 1,
            want.lines().nth(line),
            got.lines().nth(line)
        );
    }
}

/// The formats and the file extension of each one's golden text.
pub const FORMATS: [(&str, crate::output::Format); 4] = [
    ("json", crate::output::Format::Json),
    ("xml", crate::output::Format::Xml),
    ("gnmap", crate::output::Format::Grepable),
    ("nmap", crate::output::Format::Normal),
];

/// Renders `events` (and the unlisted ports) the way the output thread does — into the
/// spill log, sorted within `budget`, a host at a time — through the sink of `format`
/// (None: the table).
fn render(
    format: Option<crate::output::Format>,
    port_count: usize,
    budget: crate::output::spill::Budget,
) -> String {
    use crate::output::spill::{Seen, SpillLog};
    use crate::output::{Doc, Format, Sink};
    let mut log = SpillLog::create(None).unwrap();
    let mut seen = Seen::default();
    for e in events() {
        if seen.first(&e) {
            log.append(&e).unwrap();
        }
    }
    for p in unlisted() {
        log.count_unlisted(&p).unwrap();
    }
    log.flush().unwrap();
    let mut out = Vec::new();
    {
        let sink: Box<dyn Sink + '_> = match format {
            Some(Format::Json) => Box::new(crate::output::json::JsonSink::new(&mut out)),
            Some(Format::Xml) => Box::new(crate::output::xml::XmlSink::new(&mut out)),
            Some(Format::Grepable) => {
                Box::new(crate::output::grepable::GrepableSink::new(&mut out))
            }
            Some(Format::Normal) => Box::new(crate::output::normal::NormalSink::new(&mut out)),
            _ => Box::new(crate::output::table::TableSink::new(&mut out)),
        };
        let (meta, summary) = (meta(port_count), summary());
        let doc = Doc {
            meta: &meta,
            summary: &summary,
        };
        let hosts = log.hosts(budget).unwrap();
        let err = crate::output::documents::write(&mut [sink], hosts, &doc);
        assert!(err.is_none(), "{err:?}");
    }
    String::from_utf8(out).unwrap()
}

/// The golden file for `scan`'s `ext` document. The XML names each port's service from nmap's
/// own table when nmap is installed and from the embedded IANA table otherwise (as nmap's
/// tools expect; see `ports::services`), so its port list has one golden text for each.
fn golden_name(scan: &str, ext: &str) -> String {
    if ext == "xml" && scan == "ports" && !crate::ports::services::nmap_names_in_use() {
        format!("{scan}.iana.{ext}")
    } else {
        format!("{scan}.{ext}")
    }
}

#[test]
fn documents_from_the_log_are_the_golden_ones() {
    use crate::output::spill::Budget;
    // Sorted in memory, and in runs of a few records merged two at a time.
    let tiny = Budget {
        chunk_bytes: 300,
        fan_in: 2,
        read_buf: 64,
    };
    for budget in [Budget::default(), tiny] {
        for (port_count, scan) in [(50, "ports"), (0, "sweep")] {
            for (ext, format) in FORMATS {
                let got = render(Some(format), port_count, budget);
                check(&golden_name(scan, ext), &got);
            }
            check(&format!("{scan}.table"), &render(None, port_count, budget));
        }
    }
}
