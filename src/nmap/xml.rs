//! nmap's XML (`-oX`), read for what a hand-off merges: each `<host>`'s address, and each
//! `<port>`'s `<service>` (name, product, version, extrainfo, tunnel, method, conf, CPEs) and
//! `<script>` elements (id, output). Everything else is skipped. Total: any bytes give
//! results or an error, never a panic; strings are kept as nmap wrote them (the sinks clean).

use crate::event::{Proto, ScriptResult, ServiceResult};
use quick_xml::events::{BytesStart, Event as X};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("nmap's XML is malformed: {0}")]
    Malformed(String),
    #[error("nmap's XML has no <nmaprun>: nmap wrote no scan")]
    NotNmap,
    #[error("nmap's XML ends early: nmap stopped before the end of its scan")]
    Truncated,
}

/// The attributes of `e` as (name, value), values unescaped (character references resolved).
fn attrs(e: &BytesStart) -> Result<Vec<(String, String)>, XmlError> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|e| XmlError::Malformed(e.to_string()))?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|e| XmlError::Malformed(e.to_string()))?;
            Ok((a.key.0.to_string(), v.into_owned()))
        })
        .collect()
}

fn get(a: &[(String, String)], key: &str) -> Option<String> {
    a.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Where the reader is in the document, as far as a hand-off cares.
#[derive(Default)]
struct Cursor {
    ip: Option<IpAddr>,
    /// Inside `<port>` (of a host's `<ports>`): the result being built.
    port: Option<ServiceResult>,
    has_service: bool,
    in_cpe: bool,
    /// Depth inside a `<script>` of a port (its `<elem>`/`<table>` children are skipped).
    in_script: usize,
}

fn blank(ip: IpAddr, port: u16, proto: Proto, ts: f64) -> ServiceResult {
    ServiceResult {
        ip,
        port,
        proto,
        name: String::new(),
        product: None,
        version: None,
        extrainfo: None,
        tunnel: None,
        method: String::new(),
        conf: 0,
        cpe: Vec::new(),
        scripts: Vec::new(),
        ts,
    }
}

/// Every port of `xml` that nmap said something about (a service or a script), stamped `ts`.
pub fn parse(xml: &[u8], ts: f64) -> Result<Vec<ServiceResult>, XmlError> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut c = Cursor::default();
    let mut out = Vec::new();
    let (mut nmaprun, mut ended) = (false, false);
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match ev {
            X::Eof => break,
            // A script's structured output (<elem>, <table>) repeats its output attribute.
            X::Start(_) if c.in_script > 0 => c.in_script += 1,
            X::End(_) if c.in_script > 0 => c.in_script -= 1,
            _ if c.in_script > 0 => {}
            X::Start(e) => {
                nmaprun |= e.name().0 == "nmaprun";
                open(&e, &mut c, ts, true)?;
            }
            X::Empty(e) => {
                nmaprun |= e.name().0 == "nmaprun";
                open(&e, &mut c, ts, false)?;
                close(e.name().0, &mut c, &mut out);
            }
            X::Text(t) if c.in_cpe => {
                let text: &str = t.as_ref();
                if let Some(p) = c.port.as_mut()
                    && !text.trim().is_empty()
                {
                    p.cpe.push(text.trim().to_string());
                }
            }
            X::End(e) => {
                ended |= e.name().0 == "nmaprun";
                close(e.name().0, &mut c, &mut out);
            }
            _ => {}
        }
        buf.clear();
    }
    if !nmaprun {
        return Err(XmlError::NotNmap);
    }
    if !ended {
        return Err(XmlError::Truncated);
    }
    Ok(out)
}

fn open(e: &BytesStart, c: &mut Cursor, ts: f64, has_children: bool) -> Result<(), XmlError> {
    match e.name().0 {
        "host" => *c = Cursor::default(),
        "address" => {
            let a = attrs(e)?;
            if matches!(get(&a, "addrtype").as_deref(), Some("ipv4" | "ipv6")) {
                c.ip = get(&a, "addr").and_then(|v| v.parse().ok());
            }
        }
        "port" => {
            let a = attrs(e)?;
            let proto = match get(&a, "protocol").as_deref() {
                Some("tcp") => Proto::Tcp,
                Some("udp") => Proto::Udp,
                _ => return Ok(()), // sctp, ip: nothing synsweep scans
            };
            let port = get(&a, "portid").and_then(|p| p.parse().ok());
            if let (Some(ip), Some(port)) = (c.ip, port) {
                c.port = Some(blank(ip, port, proto, ts));
                c.has_service = false;
            }
        }
        "service" => {
            if let Some(p) = c.port.as_mut() {
                let a = attrs(e)?;
                p.name = get(&a, "name").unwrap_or_default();
                p.product = get(&a, "product");
                p.version = get(&a, "version");
                p.extrainfo = get(&a, "extrainfo");
                p.tunnel = get(&a, "tunnel");
                p.method = get(&a, "method").unwrap_or_default();
                p.conf = get(&a, "conf").and_then(|v| v.parse().ok()).unwrap_or(0);
                c.has_service = true;
            }
        }
        "cpe" => c.in_cpe = c.port.is_some() && has_children,
        "script" => {
            if let Some(p) = c.port.as_mut() {
                let a = attrs(e)?;
                p.scripts.push(ScriptResult {
                    id: get(&a, "id").unwrap_or_default(),
                    output: get(&a, "output").unwrap_or_default(),
                });
                if has_children {
                    c.in_script = 1;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn close(name: &str, c: &mut Cursor, out: &mut Vec<ServiceResult>) {
    match name {
        "cpe" => c.in_cpe = false,
        "port" => {
            if let Some(p) = c.port.take()
                && (c.has_service || !p.scripts.is_empty())
            {
                out.push(p);
            }
        }
        "host" => *c = Cursor::default(),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
