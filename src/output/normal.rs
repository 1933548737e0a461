//! `-oN`: nmap's normal output, the report a person reads: per host a "scan report" heading,
//! whether it is up, the ports not shown, and a PORT STATE SERVICE table.

use super::Sink;
use super::banner_lines::lines;
use super::clean::text;
use super::meta::{ScanMeta, Summary, time_string};
use super::store::ResultStore;
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
    fn finish(&mut self, store: &ResultStore, meta: &ScanMeta, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        writeln!(
            o,
            "# synsweep {} scan initiated {} as: {}",
            meta.version,
            time_string(meta.start),
            super::clean::args(&meta.args)
        )?;
        let ports_scan = meta.port_count > 0;
        for (ip, host) in &store.hosts {
            if ports_scan && host.ports.is_empty() {
                continue;
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
            if !ports_scan {
                continue;
            }
            if let Some(u) = store.unlisted.get(ip) {
                for (state, reason, n) in u.iter() {
                    let plural = super::xml::plural(reason);
                    writeln!(o, "Not shown: {n} {} ports ({plural})", state.as_str())?;
                }
            }
            writeln!(o, "{:<10}{:<14}SERVICE", "PORT", "STATE")?;
            for p in host.ports.values() {
                let port = format!("{}/{}", p.port, p.proto.as_str());
                writeln!(o, "{port:<10}{:<14}{}", p.state.as_str(), text(&p.service))?;
                for line in host.banner(p.proto, p.port).map(lines).unwrap_or_default() {
                    writeln!(o, "| {line}")?;
                }
            }
            writeln!(o)?;
        }
        let f = &s.figures;
        writeln!(
            o,
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
        o.flush()
    }
}
