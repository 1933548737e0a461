//! `-oX`: nmap-compatible XML (nmaprun, xmloutputversion 1.05), so tools that read nmap's XML
//! read ours: hosts with status, address, hostnames, ports with state, reason and service.

use super::Sink;
use super::clean::{self, xml as escape};
use super::meta::{ScanMeta, Summary, time_string};
use super::store::ResultStore;
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

impl<W: Write + Send> Sink for XmlSink<W> {
    fn finish(&mut self, store: &ResultStore, meta: &ScanMeta, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        let start = meta.start as u64;
        writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(o, "<!DOCTYPE nmaprun>")?;
        writeln!(
            o,
            r#"<nmaprun scanner="synsweep" args="{}" start="{start}" startstr="{}" version="{}" xmloutputversion="1.05">"#,
            escape(&clean::args(&meta.args)),
            time_string(meta.start),
            meta.version
        )?;
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
            escape(&meta.ports)
        )?;
        for (ip, host) in &store.hosts {
            let status = host.up.as_ref();
            let (state, reason) =
                status.map_or(("unknown", "no-response"), |h| ("up", h.reason.as_str()));
            writeln!(
                o,
                r#"<host><status state="{state}" reason="{reason}" reason_ttl="0"/>"#
            )?;
            let family = if matches!(ip, IpAddr::V4(_)) {
                "ipv4"
            } else {
                "ipv6"
            };
            writeln!(o, r#"<address addr="{ip}" addrtype="{family}"/>"#)?;
            let user = status
                .and_then(|h| h.hostname.as_deref())
                .or_else(|| host.ports.values().find_map(|p| p.hostname.as_deref()));
            let names: Vec<String> = user
                .map(|n| format!(r#"<hostname name="{}" type="user"/>"#, escape(n)))
                .into_iter()
                .chain(
                    host.ptr
                        .as_ref()
                        .map(|n| format!(r#"<hostname name="{}" type="PTR"/>"#, escape(&n.ptr))),
                )
                .collect();
            if names.is_empty() {
                writeln!(o, "<hostnames/>")?;
            } else {
                writeln!(o, "<hostnames>{}</hostnames>", names.concat())?;
            }
            writeln!(o, "<ports>")?;
            for p in host.ports.values() {
                // A banner is nmap's "banner" script output, which nmap-XML readers show.
                let script = host
                    .banner(p.proto, p.port)
                    .map(|b| {
                        format!(
                            r#"<script id="banner" output="{}"/>"#,
                            escape(&super::banner_lines::lines(b).join("\n"))
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    o,
                    r#"<port protocol="{}" portid="{}"><state state="{}" reason="{}" reason_ttl="0"/><service name="{}" method="table" conf="3"/>{script}</port>"#,
                    p.proto.as_str(),
                    p.port,
                    p.state.as_str(),
                    p.reason.as_str(),
                    escape(&p.service)
                )?;
            }
            writeln!(o, "</ports>")?;
            if let Some(rtt) = status.and_then(|h| h.rtt_ms) {
                let us = (rtt * 1000.0) as u64;
                writeln!(
                    o,
                    r#"<times srtt="{us}" rttvar="{us}" to="{}"/>"#,
                    (us * 4).max(100_000)
                )?;
            }
            writeln!(o, "</host>")?;
        }
        let f = &s.figures;
        let end = meta.start + f.elapsed_s;
        let up = store.hosts_up();
        let exit = if s.complete { "success" } else { "error" };
        writeln!(
            o,
            r#"<runstats><finished time="{}" timestr="{}" elapsed="{:.2}" summary="{} IP addresses ({up} hosts up) scanned in {:.2} seconds" exit="{exit}"/><hosts up="{up}" down="{}" total="{}"/></runstats>"#,
            end as u64,
            time_string(end),
            f.elapsed_s,
            meta.hosts,
            f.elapsed_s,
            meta.hosts.saturating_sub(up as u64),
            meta.hosts
        )?;
        writeln!(o, "</nmaprun>")?;
        o.flush()
    }
}
