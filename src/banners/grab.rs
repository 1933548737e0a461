//! One banner: connect (its own timeout), then by port either listen first (SSH, SMTP, FTP,
//! POP3, IMAP, MySQL speak first), say hello in the port's protocol (HTTP GET with a Host
//! header, a TLS handshake, Redis INFO), or listen and then try HTTP. Reads end at the byte
//! limit, at end of stream, or at the read timeout, whichever comes first.

use super::ai::{self, Fetch};
use super::http::{self, Response};
use super::text::{first_line, greeting_service, mysql_version, printable};
use super::tls;
use crate::event::{BannerResult, HttpInfo, Proto, unix_now};
use base64::Engine as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

#[derive(Clone)]
pub struct GrabConfig {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Bytes kept of what a service said (`data_b64`).
    pub keep_bytes: usize,
    pub tls: Option<tokio_rustls::TlsConnector>,
}

/// The most read from one answer (HTTP bodies of AI endpoints list models).
const READ_LIMIT: usize = 64 * 1024;

const TLS_PORTS: &[u16] = &[
    443, 465, 636, 853, 993, 995, 2376, 3269, 4443, 5986, 6443, 8443, 9443, 10250,
];
/// TLS ports that carry HTTP.
const HTTPS_PORTS: &[u16] = &[443, 4443, 6443, 8443, 9443, 10250];
const HTTP_PORTS: &[u16] = &[
    80, 81, 591, 1234, 1337, 2242, 3000, 3001, 4000, 5000, 5001, 6006, 6333, 7860, 7861, 7997,
    8000, 8001, 8002, 8008, 8080, 8081, 8088, 8188, 8265, 8501, 8787, 8888, 9000, 9090, 9997,
    11434, 30000,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approach {
    Tls,
    Http,
    Redis,
    ListenFirst,
}

fn approach(port: u16) -> Approach {
    if TLS_PORTS.contains(&port) {
        Approach::Tls
    } else if HTTP_PORTS.contains(&port) {
        Approach::Http
    } else if port == 6379 {
        Approach::Redis
    } else {
        Approach::ListenFirst
    }
}

/// What `ip:port` says; None if it could not be reached or said nothing to anything.
pub async fn grab(
    ip: IpAddr,
    port: u16,
    host: Option<&str>,
    cfg: &GrabConfig,
) -> Option<BannerResult> {
    let target = Target {
        addr: SocketAddr::new(ip, port),
        host: host.map_or_else(|| host_header(ip), str::to_string),
        sni: host.map(str::to_string),
        cfg,
    };
    let mut b = match approach(port) {
        Approach::Tls => target.tls().await?,
        Approach::Http => target.http(false).await?,
        Approach::Redis => target.redis().await?,
        Approach::ListenFirst => match target.listen().await {
            Some(b) => b,
            None => target.http(false).await?,
        },
    };
    b.ts = unix_now();
    Some(b)
}

fn host_header(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

struct Target<'a> {
    addr: SocketAddr,
    host: String,
    sni: Option<String>,
    cfg: &'a GrabConfig,
}

impl Target<'_> {
    fn banner(&self, service: &str, bytes: &[u8]) -> BannerResult {
        let kept = &bytes[..bytes.len().min(self.cfg.keep_bytes)];
        BannerResult {
            ip: self.addr.ip(),
            port: self.addr.port(),
            proto: Proto::Tcp,
            service: service.into(),
            text: first_line(bytes, 200),
            data_b64: (!kept.is_empty())
                .then(|| base64::engine::general_purpose::STANDARD.encode(kept)),
            http: None,
            tls: None,
            ai: None,
            ts: 0.0,
        }
    }

    async fn connect(&self) -> Option<TcpStream> {
        let c = tokio::time::timeout(self.cfg.connect_timeout, TcpStream::connect(self.addr));
        c.await.ok()?.ok()
    }

    /// Writes `request` (if any), then reads what comes back.
    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        s: &mut S,
        request: &[u8],
    ) -> Vec<u8> {
        let deadline = Instant::now() + self.cfg.read_timeout;
        if !request.is_empty() && timeout_at(deadline, s.write_all(request)).await.is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < READ_LIMIT {
            match timeout_at(deadline, s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
                _ => break,
            }
            // A greeting is one line: the first one ends the wait.
            if request.is_empty() && out.contains(&b'\n') {
                break;
            }
        }
        out.truncate(READ_LIMIT);
        out
    }

    /// Services that speak first.
    async fn listen(&self) -> Option<BannerResult> {
        let mut s = self.connect().await?;
        let said = self.exchange(&mut s, &[]).await;
        if said.is_empty() {
            return None;
        }
        let service = greeting_service(&said);
        let mut b = self.banner(service, &said);
        if let Some(v) = mysql_version(&said) {
            b.text = format!("MySQL {v}");
        }
        Some(b)
    }

    async fn redis(&self) -> Option<BannerResult> {
        let mut s = self.connect().await?;
        let said = self.exchange(&mut s, b"INFO server\r\n").await;
        if said.is_empty() {
            return None;
        }
        let mut b = self.banner("redis", &said);
        // An open Redis tells its version; a locked one says -NOAUTH on the first line.
        if let Some(line) = said
            .split(|&c| c == b'\n')
            .find(|l| l.starts_with(b"redis_version:"))
        {
            b.text = printable(line.strip_suffix(b"\r").unwrap_or(line), 200);
        }
        Some(b)
    }

    async fn get(&self, path: &str, over_tls: bool) -> Option<Vec<u8>> {
        let tcp = self.connect().await?;
        let request = http::get(&self.host, path);
        if over_tls {
            let connector = self.cfg.tls.as_ref()?;
            let name = tls::server_name(self.sni.as_deref(), self.addr.ip());
            let handshake =
                tokio::time::timeout(self.cfg.read_timeout, connector.connect(name, tcp));
            let mut s = handshake.await.ok()?.ok()?;
            Some(self.exchange(&mut s, &request).await)
        } else {
            let mut s = tcp;
            Some(self.exchange(&mut s, &request).await)
        }
    }

    async fn http(&self, over_tls: bool) -> Option<BannerResult> {
        let said = self.get("/", over_tls).await?;
        let Some(r) = http::parse(&said) else {
            // Not HTTP after all: whatever it said is the banner.
            return (!said.is_empty()).then(|| self.banner(greeting_service(&said), &said));
        };
        let mut b = self.banner(if over_tls { "https" } else { "http" }, &said);
        b.http = Some(HttpInfo {
            status: r.status,
            server: r.header("server").map(str::to_string),
            title: http::title(&r.body),
        });
        if ai::worth_asking(self.addr.port(), &r) {
            b.ai = ai::detect(
                &Fetcher {
                    target: self,
                    over_tls,
                },
                self.addr.port(),
                &r,
            )
            .await;
        }
        Some(b)
    }

    async fn tls(&self) -> Option<BannerResult> {
        let connector = self.cfg.tls.as_ref()?;
        let tcp = self.connect().await?;
        let name = tls::server_name(self.sni.as_deref(), self.addr.ip());
        let handshake = tokio::time::timeout(self.cfg.read_timeout, connector.connect(name, tcp));
        let s = handshake.await.ok()?.ok()?;
        let conn = s.get_ref().1;
        let version = tls::version_name(conn.protocol_version());
        let info = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|der| tls::describe(version.clone(), der));
        drop(s);
        let mut b = if HTTPS_PORTS.contains(&self.addr.port()) {
            self.http(true)
                .await
                .unwrap_or_else(|| self.banner("https", b""))
        } else {
            self.banner("tls", b"")
        };
        if b.text.is_empty() {
            b.text = info
                .as_ref()
                .map_or_else(|| version.clone(), |i| format!("{version} {}", i.subject));
        }
        b.tls = info;
        Some(b)
    }
}

/// AI endpoints of the same service, a connection per request.
struct Fetcher<'a> {
    target: &'a Target<'a>,
    over_tls: bool,
}

impl Fetch for Fetcher<'_> {
    async fn get(&self, path: &str) -> Option<Response> {
        http::parse(&self.target.get(path, self.over_tls).await?)
    }
}
