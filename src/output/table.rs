//! The human table: by host, ports sorted, with service, state and RTT; a host sweep (hosts
//! up, no ports) is one line per host.

use super::banner_lines::lines;
use super::clean::text;
use super::service_lines;
use super::store::HostGroup;
use super::{Doc, Sink};
use std::io::{self, Write};

pub struct TableSink<W: Write> {
    out: W,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W) -> Self {
        TableSink { out }
    }
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn document(&self) -> bool {
        true
    }

    fn host(&mut self, doc: &Doc<'_>, h: &HostGroup) -> io::Result<()> {
        let (o, ip, host) = (&mut self.out, h.ip, &h.entry);
        if doc.meta.port_count == 0 {
            let Some(up) = host.up.as_ref() else {
                return Ok(());
            };
            let name = up
                .hostname
                .as_deref()
                .map(|n| format!(" ({})", text(n)))
                .unwrap_or_default();
            let rtt = up.rtt_ms.map(|r| format!(" {r:.2} ms")).unwrap_or_default();
            return writeln!(o, "{ip}{name}  up  {}{rtt}", up.reason.as_str());
        }
        if host.ports.is_empty() {
            return Ok(());
        }
        let name = host
            .name()
            .map(|n| format!(" ({})", text(n)))
            .unwrap_or_default();
        writeln!(o, "{ip}{name}")?;
        if let Some(a) = &host.answers_all {
            writeln!(o, "  {}", super::answers_all::line(a))?;
        }
        writeln!(
            o,
            "  {:<12} {:<13} {:<18} {:>9}",
            "PORT", "STATE", "SERVICE", "RTT"
        )?;
        for p in host.ports.values() {
            let port = format!("{}/{}", p.port, p.proto.as_str());
            let rtt = p
                .rtt_ms
                .map(|r| format!("{r:.2} ms"))
                .unwrap_or_else(|| "-".into());
            let found = host.service(p.proto, p.port);
            let service = found.map_or_else(|| text(&p.service).into_owned(), service_lines::name);
            writeln!(
                o,
                "  {port:<12} {:<13} {:<18} {rtt:>9}",
                p.state.as_str(),
                service
            )?;
            for line in found.map(service_lines::lines).unwrap_or_default() {
                writeln!(o, "    | {line}")?;
            }
            for line in host.banner(p.proto, p.port).map(lines).unwrap_or_default() {
                writeln!(o, "    | {line}")?;
            }
        }
        writeln!(o)
    }

    fn end(&mut self, _doc: &Doc<'_>, _hosts_up: u64) -> io::Result<()> {
        self.out.flush()
    }
}
