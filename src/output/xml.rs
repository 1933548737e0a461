//! `-oX`: nmap's XML (nmaprun, xmloutputversion 1.05, `/usr/share/nmap/nmap.dtd`), so the
//! tools that read nmap's XML (ndiff, nmap.xsl, python-libnmap) read ours: hosts with status,
//! times, address and hostnames; listed ports with state, reason, TTL and service; the ports
//! not listed as `<extraports>` counts; run statistics.
//!
//! One deviation from the DTD, on purpose: `scanner="synsweep"`, where the DTD admits only
//! "nmap". `version` is synsweep's own. Lying there would make every reader believe nmap wrote
//! the file (ndiff prints "synsweep 0.1.0 scan initiated ..." from these two).

use super::clean;
use super::meta::{ScanMeta, time_string};
use super::store::{HostEntry, HostGroup, Unlisted};
use super::xml_service::service;
use super::{Doc, Sink};
use crate::event::{PortState, Reason, ServiceResult};
use std::io::{self, Write};
use std::net::IpAddr;

pub struct XmlSink<W: Write> {
    out: W,
}

impl<W: Write> XmlSink<W> {
    pub fn new(out: W) -> Self {
        XmlSink { out }
    }
}

/// Text for an attribute value: markup escaped, line breaks and tabs as character references
/// (a parser would turn them into spaces), and the characters XML 1.0 cannot hold at all
/// (other control characters, U+FFFE/U+FFFF) as `\xNN`/`\u{..}` text.
pub fn attr(s: &str) -> String {
    clean::xml(s)
}

/// nmap's plural reason words, which `<extrareasons>` uses (nmap's reason.cc).
pub fn plural(r: Reason) -> &'static str {
    match r {
        Reason::SynAck => "syn-acks",
        Reason::ConnRefused => "conn-refused",
        Reason::Reset => "resets",
        Reason::NoResponse => "no-responses",
        Reason::HostUnreach => "host-unreaches",
        Reason::NetUnreach => "net-unreaches",
        Reason::ProtoUnreach => "proto-unreaches",
        Reason::PortUnreach => "port-unreaches",
        Reason::NetProhibited => "net-prohibiteds",
        Reason::HostProhibited => "host-prohibiteds",
        Reason::AdminProhibited => "admin-prohibiteds",
        Reason::EchoReply => "echo-replies",
        Reason::UdpResponse => "udp-responses",
    }
}

/// The `<extraports>` of one host: what was counted unlisted, plus — when this run probed
/// every port of the list on every host (unsharded, not stopped, not resumed) — the ports that
/// produced no result at all, which are silent ones (filtered for TCP, open|filtered for UDP,
/// as nmap has it).
fn extraports(
    host_listed: usize,
    counted: Option<&Unlisted>,
    meta: &ScanMeta,
    whole: bool,
) -> Vec<(PortState, Vec<(Reason, u64)>)> {
    let mut by_state: Vec<(PortState, Vec<(Reason, u64)>)> = Vec::new();
    let mut add = |state: PortState, reason: Reason, n: u64| {
        if n == 0 {
            return;
        }
        let i = match by_state.iter().position(|(s, _)| *s == state) {
            Some(i) => i,
            None => {
                by_state.push((state, Vec::new()));
                by_state.len() - 1
            }
        };
        let reasons = &mut by_state[i].1;
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => reasons.push((reason, n)),
        }
    };
    let mut seen = host_listed as u64;
    for (state, reason, n) in counted.into_iter().flat_map(Unlisted::iter) {
        add(state, reason, n);
        seen += n;
    }
    if whole {
        let silent = if meta.scan_type == "udp" {
            PortState::OpenFiltered
        } else {
            PortState::Filtered
        };
        add(
            silent,
            Reason::NoResponse,
            (meta.port_count as u64).saturating_sub(seen),
        );
    }
    by_state.sort_by_key(|(state, _)| *state);
    by_state
}

/// What nmap itself found (`--nmap`): its `<service>` as it wrote it, CPEs included, and
/// its scripts' `<script>` elements.
fn nmap_service(o: &mut impl Write, s: &ServiceResult) -> io::Result<()> {
    write!(o, r#"<service name="{}""#, attr(&s.name))?;
    for (k, v) in [
        ("product", &s.product),
        ("version", &s.version),
        ("extrainfo", &s.extrainfo),
        ("tunnel", &s.tunnel),
    ] {
        if let Some(v) = v {
            write!(o, r#" {k}="{}""#, attr(v))?;
        }
    }
    write!(o, r#" method="{}" conf="{}""#, attr(&s.method), s.conf)?;
    if s.cpe.is_empty() {
        write!(o, "/>")?;
    } else {
        write!(o, ">")?;
        for c in &s.cpe {
            write!(o, "<cpe>{}</cpe>", attr(c))?;
        }
        write!(o, "</service>")?;
    }
    for script in &s.scripts {
        write!(
            o,
            r#"<script id="{}" output="{}"/>"#,
            attr(&script.id),
            attr(&script.output)
        )?;
    }
    Ok(())
}

fn host_xml(
    o: &mut impl Write,
    ip: &IpAddr,
    host: &HostEntry,
    counted: Option<&Unlisted>,
    meta: &ScanMeta,
    times: (u64, u64),
    whole: bool,
) -> io::Result<()> {
    let status = host.up.as_ref();
    let (state, reason, ttl) = status.map_or(("unknown", "no-response", 0), |h| {
        ("up", h.reason.as_str(), h.ttl.unwrap_or(0))
    });
    writeln!(
        o,
        r#"<host starttime="{}" endtime="{}"><status state="{state}" reason="{reason}" reason_ttl="{ttl}"/>"#,
        times.0, times.1
    )?;
    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    writeln!(o, r#"<address addr="{ip}" addrtype="{family}"/>"#)?;
    let user = status
        .and_then(|h| h.hostname.as_deref())
        .or_else(|| host.ports.values().find_map(|p| p.hostname.as_deref()));
    write!(o, "<hostnames>")?;
    if let Some(n) = user {
        write!(o, r#"<hostname name="{}" type="user"/>"#, attr(n))?;
    }
    if let Some(n) = &host.ptr {
        write!(o, r#"<hostname name="{}" type="PTR"/>"#, attr(&n.ptr))?;
    }
    writeln!(o, "</hostnames>")?;
    if meta.port_count > 0 {
        writeln!(o, "<ports>")?;
        // A host that answers everything was not silent on its ports not listed.
        let whole = whole && host.answers_all.is_none();
        for (state, reasons) in extraports(host.ports.len(), counted, meta, whole) {
            let total: u64 = reasons.iter().map(|(_, n)| n).sum();
            write!(
                o,
                r#"<extraports state="{}" count="{total}">"#,
                state.as_str()
            )?;
            for (r, n) in reasons {
                write!(o, r#"<extrareasons reason="{}" count="{n}"/>"#, plural(r))?;
            }
            writeln!(o, "</extraports>")?;
        }
        for p in host.ports.values() {
            write!(
                o,
                r#"<port protocol="{}" portid="{}"><state state="{}" reason="{}" reason_ttl="{}"/>"#,
                p.proto.as_str(),
                p.port,
                p.state.as_str(),
                p.reason.as_str(),
                p.ttl.unwrap_or(0)
            )?;
            let banner = host.banner(p.proto, p.port);
            if let Some(found) = host.service(p.proto, p.port) {
                nmap_service(o, found)?;
            } else if let Some(s) = service(p, banner) {
                write!(o, r#"<service name="{}""#, attr(&s.name))?;
                for (k, v) in [
                    ("product", &s.product),
                    ("version", &s.version),
                    ("extrainfo", &s.extrainfo),
                ] {
                    if let Some(v) = v {
                        write!(o, r#" {k}="{}""#, attr(v))?;
                    }
                }
                if let Some(t) = s.tunnel {
                    write!(o, r#" tunnel="{t}""#)?;
                }
                write!(o, r#" method="{}" conf="{}"/>"#, s.method(), s.conf())?;
            }
            // A banner is also nmap's "banner" script output, which nmap-XML readers show.
            if let Some(b) = banner {
                write!(
                    o,
                    r#"<script id="banner" output="{}"/>"#,
                    attr(&super::banner_lines::lines(b).join("\n"))
                )?;
            }
            writeln!(o, "</port>")?;
        }
        writeln!(o, "</ports>")?;
    }
    // nmap's readers show a host script as they show nmap's own (python-libnmap: its
    // `scripts_results`; nmap.xsl: "Host Script Output").
    if let Some(a) = &host.answers_all {
        writeln!(
            o,
            r#"<hostscript><script id="{}" output="{}"/></hostscript>"#,
            super::answers_all::SCRIPT_ID,
            attr(&super::answers_all::line(a))
        )?;
    }
    if let Some(rtt) = status.and_then(|h| h.rtt_ms) {
        let us = (rtt * 1000.0) as u64;
        writeln!(
            o,
            r#"<times srtt="{us}" rttvar="{us}" to="{}"/>"#,
            (us * 4).max(100_000)
        )?;
    }
    writeln!(o, "</host>")
}

/// The times every host is given (the permutation interleaves them: each is probed from the
/// start to the end), and whether the silent ports may be counted (see `extraports`).
fn span(doc: &Doc<'_>) -> ((u64, u64), bool) {
    let (meta, s) = (doc.meta, doc.summary);
    let times = (meta.start as u64, (meta.start + s.figures.elapsed_s) as u64);
    (times, s.complete && meta.shard == "0/1" && !meta.resumed)
}

impl<W: Write + Send> Sink for XmlSink<W> {
    fn document(&self) -> bool {
        true
    }

    fn begin(&mut self, doc: &Doc<'_>) -> io::Result<()> {
        let o = &mut self.out;
        let meta = doc.meta;
        let start = meta.start as u64;
        writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(o, "<!DOCTYPE nmaprun>")?;
        writeln!(
            o,
            r#"<nmaprun scanner="{}" args="{}" start="{start}" startstr="{}" version="{}" xmloutputversion="1.05">"#,
            meta.scanner,
            attr(&clean::args(&meta.args)),
            time_string(meta.start),
            meta.version
        )?;
        // nmap writes no scaninfo for a ping sweep (-sn); "ping" is no scan type of its DTD.
        if meta.scan_type != "ping" {
            writeln!(
                o,
                r#"<scaninfo type="{}" protocol="{}" numservices="{}" services="{}"/>"#,
                meta.scan_type,
                if meta.scan_type == "udp" {
                    "udp"
                } else {
                    "tcp"
                },
                meta.port_count,
                meta.ports
            )?;
        }
        writeln!(o, r#"<verbose level="0"/>"#)?;
        writeln!(o, r#"<debugging level="0"/>"#)
    }

    fn host(&mut self, doc: &Doc<'_>, h: &HostGroup) -> io::Result<()> {
        let (times, whole) = span(doc);
        host_xml(
            &mut self.out,
            &h.ip,
            &h.entry,
            Some(&h.unlisted),
            doc.meta,
            times,
            whole,
        )
    }

    fn end(&mut self, doc: &Doc<'_>, up: u64) -> io::Result<()> {
        let o = &mut self.out;
        let (meta, s) = (doc.meta, doc.summary);
        let f = &s.figures;
        let end_f = meta.start + f.elapsed_s;
        let end = end_f as u64;
        let exit = if s.complete { "success" } else { "error" };
        let addresses = if meta.hosts == 1 {
            "1 IP address".to_string()
        } else {
            format!("{} IP addresses", meta.hosts)
        };
        let hosts_up = if up == 1 {
            "1 host up".to_string()
        } else {
            format!("{up} hosts up")
        };
        writeln!(
            o,
            r#"<runstats><finished time="{end}" timestr="{}" elapsed="{:.2}" summary="{} done at {}; {addresses} ({hosts_up}) scanned in {:.2} seconds" exit="{exit}"/><hosts up="{up}" down="{}" total="{}"/></runstats>"#,
            time_string(end_f),
            f.elapsed_s,
            meta.scanner,
            time_string(end_f),
            f.elapsed_s,
            meta.hosts.saturating_sub(up),
            meta.hosts
        )?;
        writeln!(o, "</nmaprun>")?;
        o.flush()
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
