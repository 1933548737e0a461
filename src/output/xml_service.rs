//! A port's `<service>` in nmap's XML: the table name, and, where a banner says it, what
//! answered (the protocol, the product and its version), as nmap's version detection would.

use crate::event::{BannerResult, PortResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub product: Option<String>,
    pub version: Option<String>,
    pub extrainfo: Option<String>,
    /// "ssl" when the service spoke TLS.
    pub tunnel: Option<&'static str>,
    /// From what the port said (nmap: method="probed" conf="10") rather than from the table
    /// (method="table" conf="3").
    pub probed: bool,
}

impl Service {
    pub fn method(&self) -> &'static str {
        if self.probed { "probed" } else { "table" }
    }
    pub fn conf(&self) -> u8 {
        if self.probed { 10 } else { 3 }
    }
}

/// None when there is nothing to say: nmap writes no `<service>` for a port its table does
/// not name, and neither do we (ndiff would report "unknown" as a difference).
pub fn service(p: &PortResult, banner: Option<&BannerResult>) -> Option<Service> {
    let mut s = Service {
        // What nmap's own table says, as nmap would write it (ndiff compares names).
        name: crate::ports::services::nmap_style_name(p.port, p.proto)
            .unwrap_or_default()
            .to_string(),
        product: None,
        version: None,
        extrainfo: None,
        tunnel: None,
        probed: false,
    };
    if let Some(b) = banner {
        match b.service.as_str() {
            "ssh" | "ftp" | "smtp" | "pop3" | "imap" | "mysql" | "redis" | "http" => {
                s.name = b.service.clone();
                s.probed = true;
            }
            "https" => {
                s.name = "http".into();
                s.tunnel = Some("ssl");
                s.probed = true;
            }
            "tls" => s.tunnel = Some("ssl"),
            _ => {}
        }
        if b.tls.is_some() {
            s.tunnel = Some("ssl");
        }
        let found = match (&b.ai, &b.http) {
            (Some(ai), _) => Some((ai.product.clone(), ai.version.clone(), None)),
            (None, Some(h)) => h.server.as_deref().and_then(product_slash_version),
            (None, None) if b.service == "ssh" => ssh_software(&b.text),
            _ => None,
        };
        if let Some((product, version, extra)) = found {
            s.product = Some(product);
            s.version = version;
            s.extrainfo = extra;
            s.probed = true;
        }
    }
    let nothing = s.name == "unknown" && s.product.is_none() && s.tunnel.is_none();
    (!s.name.is_empty() && !nothing).then_some(s)
}

type Found = (String, Option<String>, Option<String>);

/// An HTTP Server header: `nginx/1.22.1`, `Apache/2.4.57 (Debian)`, `gunicorn`.
fn product_slash_version(server: &str) -> Option<Found> {
    let server = server.trim();
    let (first, rest) = server.split_once(' ').unwrap_or((server, ""));
    let (product, version) = match first.split_once('/') {
        Some((p, v)) => (p, Some(v.to_string()).filter(|v| !v.is_empty())),
        None => (first, None),
    };
    if product.is_empty() {
        return None;
    }
    let extra = rest
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    Some((
        product.to_string(),
        version,
        Some(extra.to_string()).filter(|e| !e.is_empty()),
    ))
}

/// An SSH identification string (RFC 4253 §4.2): `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`.
fn ssh_software(text: &str) -> Option<Found> {
    let rest = text.strip_prefix("SSH-")?;
    let (proto, rest) = rest.split_once('-')?;
    let (software, comments) = rest.split_once(' ').unwrap_or((rest, ""));
    let (product, version) = match software.split_once('_') {
        Some((p, v)) => (p, Some(v.to_string()).filter(|v| !v.is_empty())),
        None => (software, None),
    };
    if product.is_empty() {
        return None;
    }
    let protocol = format!("protocol {proto}");
    let extra = if comments.trim().is_empty() {
        protocol
    } else {
        format!("{}; {protocol}", comments.trim())
    };
    Some((product.to_string(), version, Some(extra)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AiInfo, HttpInfo, PortState, Proto, Reason};

    fn port(n: u16, table: &str) -> PortResult {
        PortResult {
            ip: "127.0.0.1".parse().unwrap(),
            port: n,
            proto: Proto::Tcp,
            state: PortState::Open,
            reason: Reason::SynAck,
            service: table.into(),
            rtt_ms: None,
            ts: 0.0,
            hostname: None,
            ttl: None,
        }
    }

    fn banner(n: u16, service: &str, text: &str) -> BannerResult {
        BannerResult {
            ip: "127.0.0.1".parse().unwrap(),
            port: n,
            proto: Proto::Tcp,
            service: service.into(),
            text: text.into(),
            data_b64: None,
            http: None,
            tls: None,
            ai: None,
            ts: 0.0,
        }
    }

    #[test]
    fn the_table_name_alone_without_a_banner() {
        // nmap's name when nmap is installed ("radan-http"), else IANA's ("omniorb").
        let table = crate::ports::services::nmap_style_name(8088, Proto::Tcp).unwrap();
        let s = service(&port(8088, "radan-http"), None).unwrap();
        assert_eq!((s.name.as_str(), s.method(), s.conf()), (table, "table", 3));
        assert_eq!(s.product, None);
        assert_eq!(service(&port(47999, "unknown"), None), None);
    }

    #[test]
    fn ssh_banner_names_product_and_version() {
        let b = banner(2222, "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
        let s = service(&port(2222, "EtherNet/IP-1"), Some(&b)).unwrap();
        assert_eq!(s.name, "ssh");
        assert_eq!(s.product.as_deref(), Some("OpenSSH"));
        assert_eq!(s.version.as_deref(), Some("9.2p1"));
        assert_eq!(
            s.extrainfo.as_deref(),
            Some("Debian-2+deb12u3; protocol 2.0")
        );
        assert_eq!((s.method(), s.conf()), ("probed", 10));
        let bare = banner(22, "ssh", "SSH-2.0-dropbear");
        let s = service(&port(22, "ssh"), Some(&bare)).unwrap();
        assert_eq!(
            (s.product.as_deref(), s.version.as_deref()),
            (Some("dropbear"), None)
        );
        // Not an identification string: nothing is made up.
        let junk = banner(22, "ssh", "SSH-");
        assert_eq!(
            service(&port(22, "ssh"), Some(&junk)).unwrap().product,
            None
        );
    }

    #[test]
    fn http_server_header_names_product_version_and_extra() {
        let mut b = banner(8088, "http", "HTTP/1.1 200 OK");
        b.http = Some(HttpInfo {
            status: 200,
            server: Some("Apache/2.4.57 (Debian)".into()),
            title: None,
        });
        let s = service(&port(8088, "radan-http"), Some(&b)).unwrap();
        assert_eq!(s.name, "http");
        assert_eq!(s.product.as_deref(), Some("Apache"));
        assert_eq!(s.version.as_deref(), Some("2.4.57"));
        assert_eq!(s.extrainfo.as_deref(), Some("Debian"));
        b.http = Some(HttpInfo {
            status: 404,
            server: None,
            title: None,
        });
        let s = service(&port(8088, "radan-http"), Some(&b)).unwrap();
        assert_eq!((s.name.as_str(), s.product), ("http", None));
    }

    #[test]
    fn ai_product_and_tls_tunnel() {
        let mut b = banner(11434, "http", "HTTP/1.1 200 OK");
        b.ai = Some(AiInfo {
            product: "ollama".into(),
            version: Some("0.5.7".into()),
            models: vec![],
            open_access: true,
        });
        let s = service(&port(11434, "ollama"), Some(&b)).unwrap();
        assert_eq!(
            (s.product.as_deref(), s.version.as_deref()),
            (Some("ollama"), Some("0.5.7"))
        );
        let s = service(&port(443, "https"), Some(&banner(443, "https", ""))).unwrap();
        assert_eq!((s.name.as_str(), s.tunnel), ("http", Some("ssl")));
        // A TLS handshake says the tunnel, not the service: the name stays the table's
        // (nmap's where it is installed: 9443 is tungsten-https there).
        let s = service(&port(9443, "unknown"), Some(&banner(9443, "tls", "")));
        match crate::ports::services::nmap_style_name(9443, crate::event::Proto::Tcp) {
            Some(table) => {
                let s = s.expect("a named port keeps its service");
                assert_eq!((s.name.as_str(), s.tunnel), (table, Some("ssl")));
            }
            // No name to give: nmap writes no <service> for such a port, and neither do we.
            None => assert!(s.is_none(), "{s:?}"),
        }
    }
}
