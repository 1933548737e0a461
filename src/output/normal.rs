//! `-oN`: nmap's normal output, the report a person reads: per host a "scan report" heading,
//! whether it is up, the ports not shown, and a PORT STATE SERVICE table.

use super::banner_lines::lines;
use super::clean::text;
use super::meta::time_string;
use super::store::HostGroup;
use super::{Doc, Sink};
use std::io::{self, Write};

pub struct NormalSink<W: Write> {
    out: W,
}

impl<W: Write> NormalSink<W> {
    pub fn new(out: W) -> Self {
        NormalSink { out }
    }
}

impl<W: Write + Send> Sink for NormalSink<W> {
    fn document(&self) -> bool {
        true
    }

    fn begin(&mut self, doc: &Doc<'_>) -> io::Result<()> {
        let meta = doc.meta;
        writeln!(
            self.out,
            "# synsweep {} scan initiated {} as: {}",
            meta.version,
            time_string(meta.start),
            super::clean::args(&meta.args)
        )
    }

    fn host(&mut self, doc: &Doc<'_>, h: &HostGroup) -> io::Result<()> {
        let (o, ip, host) = (&mut self.out, h.ip, &h.entry);
        let ports_scan = doc.meta.port_count > 0;
        if ports_scan && host.ports.is_empty() {
            return Ok(());
        }
        let name = host
            .name()
            .map(|n| format!(" ({})", text(n)))
            .unwrap_or_default();
        writeln!(o, "synsweep scan report for {ip}{name}")?;
        match host.up.as_ref().and_then(|u| u.rtt_ms) {
            Some(ms) => writeln!(o, "Host is up ({:.5}s latency).", ms / 1000.0)?,
            None => writeln!(o, "Host is up.")?,
        }
        if let Some(a) = &host.answers_all {
            writeln!(o, "{}", super::answers_all::line(a))?;
        }
        if !ports_scan {
            return Ok(());
        }
        for (state, reason, n) in h.unlisted.iter() {
            let plural = super::xml::plural(reason);
            writeln!(o, "Not shown: {n} {} ports ({plural})", state.as_str())?;
        }
        writeln!(o, "{:<10}{:<14}SERVICE", "PORT", "STATE")?;
        for p in host.ports.values() {
            let port = format!("{}/{}", p.port, p.proto.as_str());
            writeln!(o, "{port:<10}{:<14}{}", p.state.as_str(), text(&p.service))?;
            for line in host.banner(p.proto, p.port).map(lines).unwrap_or_default() {
                writeln!(o, "| {line}")?;
            }
        }
        writeln!(o)
    }

    fn end(&mut self, doc: &Doc<'_>, _hosts_up: u64) -> io::Result<()> {
        let (meta, s) = (doc.meta, doc.summary);
        let f = &s.figures;
        writeln!(
            self.out,
            "# synsweep done at {} -- {} IP addresses ({} hosts up) scanned in {:.2} seconds{}",
            time_string(meta.start + f.elapsed_s),
            meta.hosts,
            f.hosts_up,
            f.elapsed_s,
            if s.complete {
                ""
            } else {
                " (stopped; a resume point was saved)"
            }
        )?;
        self.out.flush()
    }
}
