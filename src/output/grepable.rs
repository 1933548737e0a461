//! `-oG`: nmap's grepable format — one `Status` and one `Ports` line per host.

use super::clean;
use super::meta::time_string;
use super::service_lines;
use super::store::HostGroup;
use super::{Doc, Sink};
use std::io::{self, Write};

pub struct GrepableSink<W: Write> {
    out: W,
}

impl<W: Write> GrepableSink<W> {
    pub fn new(out: W) -> Self {
        GrepableSink { out }
    }
}

impl<W: Write + Send> Sink for GrepableSink<W> {
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
            clean::args(&meta.args)
        )
    }

    fn host(&mut self, _doc: &Doc<'_>, h: &HostGroup) -> io::Result<()> {
        let (o, ip, host) = (&mut self.out, h.ip, &h.entry);
        let name = clean::text(host.name().unwrap_or(""));
        if host.up.is_some() {
            writeln!(o, "Host: {ip} ({name})\tStatus: Up")?;
        }
        if !host.ports.is_empty() {
            let ports: Vec<String> = host
                .ports
                .values()
                .map(|p| {
                    // nmap's fields: port/state/protocol/owner/service/rpc/version/
                    // nmap's findings, where it was asked (--nmap), else the banner.
                    let found = host.service(p.proto, p.port);
                    let version = match found {
                        Some(s) => clean::field(&service_lines::version(s)),
                        None => host
                            .banner(p.proto, p.port)
                            .map(super::banner_lines::one_line)
                            .unwrap_or_default(),
                    };
                    // nmap writes a TLS service as "ssl|http" here ('/' separates fields).
                    let service = found.map_or_else(
                        || p.service.clone(),
                        |s| service_lines::name(s).replace('/', "|"),
                    );
                    format!(
                        "{}/{}/{}//{}//{version}/",
                        p.port,
                        p.state.as_str(),
                        p.proto.as_str(),
                        clean::field(&service)
                    )
                })
                .collect();
            write!(o, "Host: {ip} ({name})\tPorts: {}", ports.join(", "))?;
            if let Some(a) = &host.answers_all {
                write!(o, "\t{}", super::answers_all::ignored_state(a))?;
            }
            writeln!(o)?;
        } else if let Some(a) = &host.answers_all {
            let field = super::answers_all::ignored_state(a);
            writeln!(o, "Host: {ip} ({name})\t{field}")?;
        }
        Ok(())
    }

    fn end(&mut self, doc: &Doc<'_>, hosts_up: u64) -> io::Result<()> {
        let (meta, s) = (doc.meta, doc.summary);
        let end = if s.complete { "done" } else { "interrupted" };
        writeln!(
            self.out,
            "# synsweep {end} at {} -- {} IP addresses ({hosts_up} hosts up) scanned in {:.2} seconds",
            time_string(meta.start + s.figures.elapsed_s),
            meta.hosts,
            s.figures.elapsed_s
        )?;
        self.out.flush()
    }
}
