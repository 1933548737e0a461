//! Hostile strings — ESC, BEL, CR, LF, TAB, NUL, DEL, C1, bidi overrides, noncharacters —
//! in every outside field of every event kind, through every sink.

use super::*;
use crate::event::{
    AiInfo, BannerResult, HostResult, HttpInfo, NameResult, PortResult, PortState, Proto, Reason,
    TlsInfo,
};
use crate::output::Sink;
use crate::output::meta::{Figures, ScanMeta, Summary};
use crate::output::store::ResultStore;
use proptest::prelude::*;

/// Every kind of character the sinks must not pass on.
const NASTY: &str = "a\x1b[31mred\x07\r\n\tb\0c\x7f\u{85}\u{202e}evil\u{2066}\u{200f}\u{feff}\u{fffe}\u{2028}\u{e0041}z";

fn s(tag: &str) -> String {
    format!("{tag}{NASTY}")
}

fn events() -> Vec<Event> {
    let ip = "198.18.0.7".parse().unwrap();
    vec![
        Event::Host(HostResult {
            ip,
            state: "up".into(),
            reason: Reason::SynAck,
            rtt_ms: Some(1.0),
            ts: 0.0,
            hostname: Some(s("user")),
            ttl: None,
        }),
        Event::Port(PortResult {
            ip,
            port: 80,
            proto: Proto::Tcp,
            state: PortState::Open,
            reason: Reason::SynAck,
            service: s("svc/x,y"),
            rtt_ms: None,
            ts: 0.0,
            hostname: Some(s("user")),
            ttl: None,
        }),
        Event::Name(NameResult {
            ip,
            ptr: s("ptr"),
            ts: 0.0,
        }),
        Event::Banner(Box::new(BannerResult {
            ip,
            port: 80,
            proto: Proto::Tcp,
            service: s("http"),
            text: s("text"),
            data_b64: None,
            http: Some(HttpInfo {
                status: 200,
                server: Some(s("server")),
                title: Some(s("title")),
            }),
            tls: Some(TlsInfo {
                version: s("v"),
                subject: s("subject"),
                issuer: s("issuer"),
                sans: vec![s("san")],
                not_after: s("after"),
            }),
            ai: Some(AiInfo {
                product: s("product"),
                version: Some(s("version")),
                models: vec![s("model")],
                open_access: true,
            }),
            ts: 0.0,
        })),
    ]
}

fn meta() -> ScanMeta {
    ScanMeta {
        scanner: "synsweep",
        version: "0",
        args: vec![s("arg")],
        start: 0.0,
        scan_type: "connect",
        ports: "80".into(),
        port_count: 1,
        hosts: 1,
        seed: 1,
        shard: "1/1".into(),
        resumed: false,
    }
}

/// A writer the test keeps a handle on.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a sink wrote for the hostile events.
fn render(make: fn(Shared) -> Box<dyn Sink>) -> String {
    let buf = Shared::default();
    let mut sink = make(buf.clone());
    let mut store = ResultStore::default();
    for e in events() {
        sink.event(&e).unwrap();
        store.add(e);
    }
    let summary = Summary {
        figures: Figures::default(),
        complete: true,
    };
    crate::output::documents::write_store(sink, &store, &meta(), &summary).unwrap();
    let bytes = buf.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

/// No unfit character but the line breaks (and, for the table, nothing else either).
fn assert_clean(out: &str, what: &str) {
    let bad: Vec<char> = out.chars().filter(|&c| unfit(c) && c != '\n').collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in\n{out}");
}

#[test]
fn the_table_is_clean() {
    let out = render(|v| Box::new(crate::output::table::TableSink::new(v)));
    assert_clean(&out, "table");
    assert!(out.contains("ptr") || out.contains("user"), "{out}");
    assert!(out.contains("\\x1b[31mred"), "shown, not dropped: {out}");
}

#[test]
fn grepable_lines_have_only_their_own_fields() {
    let out = render(|v| Box::new(crate::output::grepable::GrepableSink::new(v)));
    for line in out.lines() {
        let bad: Vec<char> = line.chars().filter(|&c| unfit(c) && c != '\t').collect();
        assert!(bad.is_empty(), "{bad:?} in {line}");
        let tabs = line.matches('\t').count();
        assert!(
            tabs <= 1,
            "one TAB per host line, the format's own: {line:?}"
        );
        if let Some(ports) = line.split("\tPorts: ").nth(1) {
            assert_eq!(
                ports.matches('/').count(),
                7,
                "a port's seven fields: {ports}"
            );
            assert!(!ports.contains(','), "one port: {ports}");
        }
    }
    assert_eq!(out.lines().filter(|l| l.starts_with("Host: ")).count(), 2);
}

#[test]
fn xml_is_well_formed_and_clean() {
    let out = render(|v| Box::new(crate::output::xml::XmlSink::new(v)));
    assert_clean(&out, "xml");
    let mut r = quick_xml::Reader::from_str(&out);
    let mut elements = 0;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                elements += 1;
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("bad attribute: {err} in\n{out}"));
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap();
                    assert!(!v.chars().any(|c| unfit(c) && c != '\n'), "{v:?}");
                }
            }
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}\n{out}", r.buffer_position()),
        }
    }
    assert!(elements > 8, "{out}");
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

#[test]
fn json_and_ndjson_hold_clean_strings() {
    let doc = render(|v| Box::new(crate::output::json::JsonSink::new(v)));
    let nd = render(|v| Box::new(crate::output::ndjson::NdjsonSink::new(v)));
    let mut strings = Vec::new();
    json_strings(&serde_json::from_str(&doc).unwrap(), &mut strings);
    assert_eq!(nd.lines().count(), 4);
    for line in nd.lines() {
        json_strings(&serde_json::from_str(line).unwrap(), &mut strings);
    }
    assert!(strings.len() > 30);
    for s in &strings {
        assert!(!s.chars().any(unfit), "{s:?}");
    }
    assert!(strings.iter().any(|s| s.contains("ptra\\x1b[31mred")));
}

#[test]
fn clean_text_is_borrowed_and_escapes_are_visible() {
    assert!(matches!(text("web.lab"), Cow::Borrowed(_)));
    assert_eq!(text("a\tb\u{202e}c\0"), "a\\x09b\\u{202e}c\\x00");
    assert_eq!(field("x/y,z\t"), "x y z\\x09");
    assert_eq!(
        xml("<a&\"b\">\n\u{1}"),
        "&lt;a&amp;&quot;b&quot;&gt;&#xa;\\x01"
    );
    let e = &events()[0];
    assert!(matches!(event(e), Cow::Owned(_)));
    let fine = Event::Name(NameResult {
        ip: "198.18.0.1".parse().unwrap(),
        ptr: "h1.lab".into(),
        ts: 0.0,
    });
    assert!(matches!(event(&fine), Cow::Borrowed(_)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(1024)))]
    #[test]
    fn any_string_comes_out_clean(s in any::<String>()) {
        prop_assert!(!text(&s).chars().any(unfit));
        prop_assert!(!field(&s).contains(['/', ',', '\t']));
        let x = xml(&s);
        prop_assert!(!x.chars().any(unfit));
        let doc = format!("<a b=\"{x}\">{x}</a>");
        let mut r = quick_xml::Reader::from_str(&doc);
        loop {
            match r.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => prop_assert!(false, "{e}: {doc:?}"),
            }
        }
    }
}
