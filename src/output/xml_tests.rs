//! The XML sink against a scripted result store: read back with a real XML parser, checked
//! against nmap's DTD with xmllint and read by python-libnmap where those are installed (and
//! required to be under `SYNSWEEP_REQUIRE_LAB=1`, as in CI).

use super::XmlSink;
use crate::event::{
    BannerResult, Event, HostResult, HttpInfo, NameResult, PortResult, PortState, Proto, Reason,
};
use crate::output::meta::{Figures, ScanMeta, Summary};
use crate::output::store::ResultStore;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as X};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const START: f64 = 1_700_000_000.25;
const ELAPSED: f64 = 12.5;
const NMAP_DTD: &str = "/usr/share/nmap/nmap.dtd";
/// A user's name with every character XML must escape.
const ODD_NAME: &str = "we<b>&\"x'";

fn port(ip: &str, n: u16, state: PortState, reason: Reason, service: &str) -> PortResult {
    PortResult {
        ip: ip.parse().unwrap(),
        port: n,
        proto: Proto::Tcp,
        state,
        reason,
        service: service.into(),
        rtt_ms: None,
        ts: START + 1.0,
        hostname: None,
        ttl: Some(64),
    }
}

fn host(ip: &str, reason: Reason, hostname: Option<&str>) -> Event {
    Event::Host(HostResult {
        ip: ip.parse().unwrap(),
        state: "up".into(),
        reason,
        rtt_ms: Some(0.5),
        ts: START + 1.0,
        hostname: hostname.map(str::to_string),
        ttl: Some(63),
    })
}

fn banner(ip: &str, n: u16, service: &str, text: &str, server: Option<&str>) -> Event {
    Event::Banner(Box::new(BannerResult {
        ip: ip.parse().unwrap(),
        port: n,
        proto: Proto::Tcp,
        service: service.into(),
        text: text.into(),
        data_b64: None,
        http: server.map(|s| HttpInfo {
            status: 200,
            server: Some(s.into()),
            title: Some("t\u{1}itle\nnext".into()),
        }),
        tls: None,
        ai: None,
        ts: START + 2.0,
    }))
}

/// Four addresses scanned on ten ports: .1 up with three open ports (names from the table,
/// banners) and seven unlisted (three closed, one refused by a filter, three silent); .2 up
/// with ten closed; .3 with only a filtered port listed (`--show-closed`) and not up; .4 down.
pub fn scripted() -> (ResultStore, ScanMeta, Summary) {
    let a = "198.18.0.1";
    let mut s = ResultStore::default();
    for e in [
        host(a, Reason::SynAck, Some(ODD_NAME)),
        Event::Name(NameResult {
            ip: a.parse().unwrap(),
            ptr: "one.example".into(),
            ts: START + 3.0,
        }),
        Event::Port(port(a, 22, PortState::Open, Reason::SynAck, "ssh")),
        Event::Port(port(a, 8088, PortState::Open, Reason::SynAck, "radan-http")),
        Event::Port(port(a, 47999, PortState::Open, Reason::SynAck, "unknown")),
        banner(a, 22, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", None),
        banner(
            a,
            8088,
            "http",
            "HTTP/1.1 200 OK",
            Some("Apache/2.4.57 (Debian)"),
        ),
        host("198.18.0.2", Reason::Reset, None),
        Event::Port(port(
            "198.18.0.3",
            80,
            PortState::Filtered,
            Reason::HostUnreach,
            "http",
        )),
    ] {
        assert!(s.add(e));
    }
    for n in 1..=3 {
        s.count_unlisted(&port(a, n, PortState::Closed, Reason::Reset, ""));
    }
    s.count_unlisted(&port(
        a,
        4,
        PortState::Filtered,
        Reason::AdminProhibited,
        "",
    ));
    for n in 1..=10 {
        s.count_unlisted(&port("198.18.0.2", n, PortState::Closed, Reason::Reset, ""));
    }
    let meta = ScanMeta {
        scanner: "synsweep",
        version: env!("CARGO_PKG_VERSION"),
        args: vec!["synsweep".into(), "-oX".into(), "a&b.xml".into()],
        start: START,
        scan_type: "syn",
        ports: "1-4,22,80,443,8088,9000,47999".into(),
        port_count: 10,
        hosts: 4,
        seed: 1,
        shard: "0/1".into(),
        resumed: false,
    };
    let summary = Summary {
        figures: Figures {
            elapsed_s: ELAPSED,
            ..Figures::default()
        },
        complete: true,
    };
    (s, meta, summary)
}

pub fn render(store: &ResultStore, meta: &ScanMeta, summary: &Summary) -> String {
    let mut out = Vec::new();
    let sink = Box::new(XmlSink::new(&mut out));
    crate::output::documents::write_store(sink, store, meta, summary).unwrap();
    String::from_utf8(out).unwrap()
}

/// An element, read back: name, attributes (normalised as a parser gives them), children.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    kids: Vec<El>,
}

impl El {
    fn kid(&self, name: &str) -> &El {
        self.kids
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name))
    }
    fn all(&self, name: &str) -> Vec<&El> {
        self.kids.iter().filter(|k| k.name == name).collect()
    }
    fn at(&self, key: &str) -> &str {
        self.attrs
            .get(key)
            .unwrap_or_else(|| panic!("<{}> has no {key}=: {:?}", self.name, self.attrs))
    }
}

fn element(e: &BytesStart) -> El {
    let mut attrs = BTreeMap::new();
    for a in e.attributes() {
        let a = a.expect("well-formed attribute");
        let v = a
            .normalized_value(XmlVersion::Explicit1_0)
            .expect("attribute value unescapes");
        attrs.insert(a.key.0.to_string(), v.into_owned());
    }
    El {
        name: e.name().0.to_string(),
        attrs,
        kids: Vec::new(),
    }
}

/// Parses the whole document with quick-xml (end names checked); the root element.
fn parse(xml: &str) -> El {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut stack = vec![El::default()];
    loop {
        match r.read_event().expect("well-formed XML") {
            X::Start(e) => stack.push(element(&e)),
            X::Empty(e) => stack.last_mut().unwrap().kids.push(element(&e)),
            X::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().expect("balanced").kids.push(done);
            }
            X::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut top = stack.pop().unwrap().kids;
    assert_eq!(top.len(), 1, "one root element");
    top.pop().unwrap()
}

fn port_el(host: &El, n: u16) -> &El {
    host.kid("ports")
        .all("port")
        .into_iter()
        .find(|p| p.at("portid") == n.to_string())
        .unwrap_or_else(|| panic!("no port {n}"))
}

/// An `<extraports>` read back: state, count, (reason, count) pairs.
type Extra<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

#[test]
fn document_says_what_nmaps_readers_look_for() {
    let (store, meta, summary) = scripted();
    let root = parse(&render(&store, &meta, &summary));
    assert_eq!(root.name, "nmaprun");
    assert_eq!(root.at("scanner"), "synsweep");
    assert_eq!(root.at("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(root.at("start"), "1700000000");
    assert_eq!(root.at("args"), "synsweep -oX a&b.xml");
    assert_eq!(root.kid("verbose").at("level"), "0");
    assert_eq!(root.kid("debugging").at("level"), "0");
    assert_eq!(root.kid("scaninfo").at("numservices"), "10");

    let hosts = root.all("host");
    assert_eq!(hosts.len(), 3, "the down host is not listed");
    for h in &hosts {
        assert_eq!(h.at("starttime"), "1700000000");
        assert_eq!(h.at("endtime"), "1700000012");
    }
    let one = hosts[0];
    let status = one.kid("status");
    assert_eq!(
        (
            status.at("state"),
            status.at("reason"),
            status.at("reason_ttl")
        ),
        ("up", "syn-ack", "63")
    );
    let names: Vec<(&str, &str)> = one
        .kid("hostnames")
        .all("hostname")
        .iter()
        .map(|n| (n.at("name"), n.at("type")))
        .collect();
    assert_eq!(names, vec![(ODD_NAME, "user"), ("one.example", "PTR")]);

    // Listed: the open ports, each with its TTL; unlisted: counts by state and reason.
    let ports = one.kid("ports");
    assert_eq!(ports.all("port").len(), 3);
    let extra: Vec<Extra> = ports
        .all("extraports")
        .iter()
        .map(|e| {
            let why = e
                .all("extrareasons")
                .iter()
                .map(|r| (r.at("reason"), r.at("count")))
                .collect();
            (e.at("state"), e.at("count"), why)
        })
        .collect();
    assert_eq!(
        extra,
        vec![
            ("closed", "3", vec![("resets", "3")]),
            (
                "filtered",
                "4",
                vec![("admin-prohibiteds", "1"), ("no-responses", "3")]
            ),
        ]
    );
    assert_eq!(port_el(one, 22).kid("state").at("reason_ttl"), "64");

    // Names: the table's, or what the banner said; none for a port no table names.
    let ssh = port_el(one, 22).kid("service");
    assert_eq!(
        (ssh.at("name"), ssh.at("product"), ssh.at("version")),
        ("ssh", "OpenSSH", "9.2p1")
    );
    assert_eq!((ssh.at("method"), ssh.at("conf")), ("probed", "10"));
    let web = port_el(one, 8088).kid("service");
    assert_eq!(
        (web.at("name"), web.at("product"), web.at("version")),
        ("http", "Apache", "2.4.57")
    );
    let script = port_el(one, 8088).kid("script");
    assert!(
        // The sink's own line breaks between banner lines stay; one inside a title came from
        // the network and is spelled out like any control character (output::clean).
        script.at("output").contains("title: t\\x01itle\\x0anext"),
        "control characters spelled out: {:?}",
        script.at("output")
    );
    assert!(port_el(one, 47999).all("service").is_empty());

    let two = hosts[1];
    assert_eq!(two.kid("status").at("reason"), "reset");
    assert!(two.kid("ports").all("port").is_empty());
    let closed = two.kid("ports").kid("extraports");
    assert_eq!((closed.at("state"), closed.at("count")), ("closed", "10"));

    let three = hosts[2];
    assert_eq!(three.kid("status").at("state"), "unknown");
    let p80 = port_el(three, 80);
    assert_eq!(p80.kid("state").at("state"), "filtered");
    assert_eq!(p80.kid("service").at("name"), "http");

    let run = root.kid("runstats");
    let fin = run.kid("finished");
    assert_eq!(
        (fin.at("time"), fin.at("elapsed"), fin.at("exit")),
        ("1700000012", "12.50", "success")
    );
    assert!(fin.at("summary").contains("4 IP addresses (2 hosts up)"));
    let h = run.kid("hosts");
    assert_eq!((h.at("up"), h.at("down"), h.at("total")), ("2", "2", "4"));
}

/// A shard, a stopped scan or a resumed one did not probe every port of every host in this
/// run: the ports without a result are not counted as silent.
#[test]
fn a_partial_run_does_not_guess_the_silent_ports() {
    let filtered = |root: &El| {
        root.all("host")[0]
            .kid("ports")
            .all("extraports")
            .into_iter()
            .find(|e| e.at("state") == "filtered")
            .map(|e| e.at("count").to_string())
    };
    let (store, meta, summary) = scripted();
    assert_eq!(
        filtered(&parse(&render(&store, &meta, &summary))).as_deref(),
        Some("4")
    );
    let mut shard = meta.clone();
    shard.shard = "1/4".into();
    let mut resumed = meta.clone();
    resumed.resumed = true;
    let mut stopped = summary.clone();
    stopped.complete = false;
    for (m, s) in [(&shard, &summary), (&resumed, &summary), (&meta, &stopped)] {
        let root = parse(&render(&store, m, s));
        assert_eq!(filtered(&root).as_deref(), Some("1"), "only what was seen");
    }
}

#[test]
fn a_ping_sweep_has_no_scaninfo_and_no_ports() {
    let (store, mut meta, summary) = scripted();
    meta.scan_type = "ping";
    meta.port_count = 0;
    meta.ports = String::new();
    let root = parse(&render(&store, &meta, &summary));
    assert!(root.all("scaninfo").is_empty());
    assert!(root.all("host").iter().all(|h| h.all("ports").is_empty()));
}

/// Under `SYNSWEEP_REQUIRE_LAB=1` (CI, as root) a missing tool fails the test.
pub fn required() -> bool {
    std::env::var("SYNSWEEP_REQUIRE_LAB").is_ok_and(|v| v == "1")
}

pub fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("synsweep-xml-{}-{name}", std::process::id()))
}

/// nmap's DTD with its one line that names the scanner widened to admit synsweep: the one
/// place this output departs from it.
fn widened_dtd(stock: &str) -> String {
    // "(nmap)" is the scanner attribute's enumeration, and nothing else in the DTD.
    assert_eq!(
        stock.matches("(nmap)").count(),
        1,
        "the DTD's scanner line changed"
    );
    stock.replace("(nmap)", "(nmap|synsweep)")
}

#[test]
fn nmaps_dtd_accepts_the_document_but_for_the_scanners_name() {
    if !have("xmllint", "--version") || !Path::new(NMAP_DTD).exists() {
        assert!(
            !required(),
            "xmllint and {NMAP_DTD} are required (apt-get install libxml2-utils nmap)"
        );
        eprintln!("skipped: no xmllint or no {NMAP_DTD}");
        return;
    }
    let (store, meta, summary) = scripted();
    dtd_check(&render(&store, &meta, &summary));
    // The golden document: a host that answers everything, and its host script.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/output/golden/ports.xml");
    let golden = std::fs::read_to_string(golden).unwrap();
    assert!(golden.contains("<hostscript>"));
    dtd_check(&golden);
}

/// `xml` is valid by nmap's DTD widened for the scanner's name, and by the stock DTD but
/// for that one attribute.
fn dtd_check(xml: &str) {
    let doc = temp("doc.xml");
    std::fs::write(&doc, xml).unwrap();
    let stock = std::fs::read_to_string(NMAP_DTD).unwrap();
    let dtd = temp("nmap.dtd");
    std::fs::write(&dtd, widened_dtd(&stock)).unwrap();
    let lint = |dtd: &Path| {
        Command::new("xmllint")
            .arg("--noout")
            .arg("--dtdvalid")
            .arg(dtd)
            .arg(&doc)
            .output()
            .unwrap()
    };
    let widened = lint(&dtd);
    let as_is = lint(Path::new(NMAP_DTD));
    std::fs::remove_file(&dtd).ok();
    std::fs::remove_file(&doc).ok();
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(widened.status.success(), "xmllint: {}", err(&widened));
    let complaints: Vec<String> = err(&as_is)
        .lines()
        .filter(|l| l.contains("validity error"))
        .map(str::to_string)
        .collect();
    assert_eq!(complaints.len(), 1, "{complaints:?}");
    assert!(
        complaints[0].contains("scanner") && complaints[0].contains("synsweep"),
        "{complaints:?}"
    );
}

#[test]
fn python_libnmap_reads_start_times_extraports_and_services() {
    if !Command::new("python3")
        .args(["-c", "import libnmap.parser"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            !required(),
            "python3 with libnmap is required (pip install python-libnmap)"
        );
        eprintln!("skipped: no python3 with libnmap");
        return;
    }
    let (store, meta, summary) = scripted();
    let doc = temp("libnmap.xml");
    std::fs::write(&doc, render(&store, &meta, &summary)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/libnmap_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&doc)
        .output()
        .unwrap();
    std::fs::remove_file(&doc).ok();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = [
        "scanner synsweep started 1700000000 hosts 2/4 up",
        "host 198.18.0.1 up start 1700000000 end 1700000012",
        // libnmap keeps a host's last <extraports>; like nmap we write closed before filtered.
        "  extraports filtered 4 admin-prohibiteds 1 no-responses 3",
        "  22/tcp open ssh OpenSSH 9.2p1",
        "  8088/tcp open http Apache 2.4.57",
        "  47999/tcp open - - -",
        "host 198.18.0.2 up start 1700000000 end 1700000012",
        "  extraports closed 10 resets 10",
        "host 198.18.0.3 unknown start 1700000000 end 1700000012",
        "  extraports filtered 9 no-responses 9",
        "  80/tcp filtered http - -",
    ];
    assert_eq!(said.lines().collect::<Vec<_>>(), want, "{said}");
}

#[test]
fn python_libnmap_reads_the_answers_all_host_script() {
    if !Command::new("python3")
        .args(["-c", "import libnmap.parser"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(!required(), "python3 with libnmap is required");
        eprintln!("skipped: no python3 with libnmap");
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(manifest.join("scripts/libnmap_check.py"))
        .arg(manifest.join("src/output/golden/ports.xml"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = said
        .split("host ")
        .find(|h| h.starts_with("198.18.0.2 "))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        host.contains(
            "  hostscript answers-all: answers on every tcp port probed: 40 open shown of about 50 probed"
        ),
        "{host}"
    );
    // Its other ports were not silent: no "filtered" guess for them.
    assert!(!host.contains("extraports"), "{host}");
}
