//! Line-a-result formats for pipelines, written as found: masscan's list format (`-oL`:
//! `open tcp 80 198.51.100.7 1700000000`) and plain `ADDR:PORT` lines (`-oP`, what RustScan
//! and naabu users pipe into the next tool). A host sweep lists hosts: `open icmp 0 ADDR TIME`
//! and a bare `ADDR`.

use super::meta::ScanMeta;
use super::{Doc, Sink};
use crate::event::{Event, PortState};
use std::io::{self, Write};
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Masscan,
    Plain,
}

pub struct ListSink<W: Write> {
    out: W,
    style: Style,
    /// A host sweep: hosts are the results.
    sweep: bool,
}

impl<W: Write> ListSink<W> {
    pub fn new(out: W, style: Style, meta: &ScanMeta) -> io::Result<Self> {
        let mut s = ListSink {
            out,
            style,
            sweep: meta.port_count == 0,
        };
        if style == Style::Masscan {
            writeln!(s.out, "#masscan")?;
        }
        Ok(s)
    }
}

impl<W: Write + Send> Sink for ListSink<W> {
    fn event(&mut self, e: &Event) -> io::Result<()> {
        let o = &mut self.out;
        match (e, self.style) {
            (Event::Port(p), Style::Masscan) if !self.sweep => writeln!(
                o,
                "{} {} {} {} {}",
                masscan_state(p.state),
                p.proto.as_str(),
                p.port,
                p.ip,
                p.ts as u64
            ),
            (Event::Port(p), Style::Plain) if !self.sweep && p.state == PortState::Open => {
                writeln!(o, "{}", SocketAddr::new(p.ip, p.port))
            }
            (Event::Host(h), Style::Masscan) if self.sweep => {
                writeln!(o, "open icmp 0 {} {}", h.ip, h.ts as u64)
            }
            (Event::Host(h), Style::Plain) if self.sweep => writeln!(o, "{}", h.ip),
            _ => Ok(()),
        }
    }
    fn tick(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn end(&mut self, _: &Doc<'_>, _: u64) -> io::Result<()> {
        if self.style == Style::Masscan {
            writeln!(self.out, "# end")?;
        }
        self.out.flush()
    }
}

/// masscan writes "open" and "closed"; a silent port it never lists.
fn masscan_state(s: PortState) -> &'static str {
    match s {
        PortState::Open => "open",
        PortState::Closed => "closed",
        PortState::Filtered => "filtered",
        PortState::OpenFiltered => "open|filtered",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HostResult, PortResult, Proto, Reason};

    fn meta(port_count: usize) -> ScanMeta {
        ScanMeta {
            scanner: "synsweep",
            version: "0",
            args: vec![],
            start: 0.0,
            scan_type: "syn",
            ports: String::new(),
            port_count,
            hosts: 1,
            seed: 1,
            shard: "1/1".into(),
            resumed: false,
        }
    }

    fn port(ip: &str, port: u16, state: PortState) -> Event {
        Event::Port(PortResult {
            ip: ip.parse().unwrap(),
            port,
            proto: Proto::Tcp,
            state,
            reason: Reason::SynAck,
            service: "x".into(),
            rtt_ms: None,
            ts: 1700000000.5,
            hostname: None,
            ttl: None,
        })
    }

    fn render(style: Style, m: &ScanMeta, events: &[Event]) -> String {
        let mut out = Vec::new();
        let mut s = ListSink::new(&mut out, style, m).unwrap();
        for e in events {
            s.event(e).unwrap();
        }
        let summary = crate::output::meta::Summary {
            figures: Default::default(),
            complete: true,
        };
        s.end(
            &Doc {
                meta: m,
                summary: &summary,
            },
            0,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masscan_lines_and_plain_addresses() {
        let events = [
            port("198.18.0.7", 80, PortState::Open),
            port("2001:db8::1", 443, PortState::Open),
            port("198.18.0.8", 22, PortState::Closed),
        ];
        assert_eq!(
            render(Style::Masscan, &meta(3), &events),
            "#masscan\nopen tcp 80 198.18.0.7 1700000000\nopen tcp 443 2001:db8::1 1700000000\nclosed tcp 22 198.18.0.8 1700000000\n# end\n"
        );
        assert_eq!(
            render(Style::Plain, &meta(3), &events),
            "198.18.0.7:80\n[2001:db8::1]:443\n"
        );
        let host = Event::Host(HostResult {
            ip: "198.18.0.9".parse().unwrap(),
            state: "up".into(),
            reason: Reason::EchoReply,
            rtt_ms: None,
            ts: 5.0,
            hostname: None,
            ttl: None,
        });
        assert_eq!(
            render(Style::Plain, &meta(0), std::slice::from_ref(&host)),
            "198.18.0.9\n"
        );
        assert_eq!(
            render(Style::Masscan, &meta(0), &[host]),
            "#masscan\nopen icmp 0 198.18.0.9 5\n# end\n"
        );
    }
}
