//! The one event stream every engine emits and every sink reads. Its JSON form is the
//! documented output schema (README, "Output schema").

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// The transport a port is probed over.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    Open,
    Closed,
    Filtered,
    /// UDP: silent after every attempt. A UDP service need not answer a probe it does not
    /// understand, so silence cannot tell an open port from a filtered one.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
}

impl PortState {
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::OpenFiltered => "open|filtered",
        }
    }
}

/// Why a state was given, in nmap's words so nmap-XML readers understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    SynAck,
    ConnRefused,
    Reset,
    NoResponse,
    HostUnreach,
    NetUnreach,
    ProtoUnreach,
    PortUnreach,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
    EchoReply,
    /// A UDP datagram answered ours.
    UdpResponse,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SynAck => "syn-ack",
            Reason::ConnRefused => "conn-refused",
            Reason::Reset => "reset",
            Reason::NoResponse => "no-response",
            Reason::HostUnreach => "host-unreach",
            Reason::NetUnreach => "net-unreach",
            Reason::ProtoUnreach => "proto-unreach",
            Reason::PortUnreach => "port-unreach",
            Reason::NetProhibited => "net-prohibited",
            Reason::HostProhibited => "host-prohibited",
            Reason::AdminProhibited => "admin-prohibited",
            Reason::EchoReply => "echo-reply",
            Reason::UdpResponse => "udp-response",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortResult {
    pub ip: IpAddr,
    pub port: u16,
    pub proto: Proto,
    pub state: PortState,
    pub reason: Reason,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtt_ms: Option<f64>,
    /// Unix time, seconds.
    pub ts: f64,
    /// The forward name the user gave for this address, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hostname: Option<String>,
    /// The IP TTL of the answer that decided the state (raw engine only; nmap's reason_ttl).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttl: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostResult {
    pub ip: IpAddr,
    /// Always "up": a host is reported when something from it answered.
    pub state: String,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtt_ms: Option<f64>,
    pub ts: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hostname: Option<String>,
    /// The IP TTL of the answer that showed the host up (raw engine only; nmap's reason_ttl).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttl: Option<u8>,
}

/// A host's name from reverse DNS (PTR), found after the host answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameResult {
    pub ip: IpAddr,
    pub ptr: String,
    pub ts: f64,
}

/// What an open TCP port said when asked (`--banners`): its first bytes, and what they were
/// understood to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BannerResult {
    pub ip: IpAddr,
    pub port: u16,
    pub proto: Proto,
    /// What answered, by what it said: ssh, smtp, ftp, pop3, imap, mysql, redis, http, https,
    /// tls, or unknown.
    pub service: String,
    /// The first line it said, printable (control and non-ASCII bytes escaped as \xNN).
    pub text: String,
    /// The bytes it sent (at most the banner limit), base64: any bytes, safely in JSON.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data_b64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http: Option<HttpInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tls: Option<TlsInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ai: Option<AiInfo>,
    pub ts: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpInfo {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// The negotiated protocol version, e.g. "TLSv1.3".
    pub version: String,
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names: DNS names and addresses.
    pub sans: Vec<String>,
    /// The certificate's expiry, RFC 3339.
    pub not_after: String,
}

/// An AI/ML service and what it exposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiInfo {
    /// ollama, vllm, llama.cpp, lm-studio, localai, tgi, openai-compatible, jupyter, gradio,
    /// streamlit, tensorboard, mlflow, ray, comfyui, triton.
    pub product: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    /// Models it serves or has installed, as it names them.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub models: Vec<String>,
    /// Did it answer without credentials? (false: it asked for a token or password)
    pub open_access: bool,
}

/// What nmap's version detection and scripts said of an open TCP port (`--nmap`), from its
/// XML: the `<service>` element and the port's `<script>` elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceResult {
    pub ip: IpAddr,
    pub port: u16,
    pub proto: Proto,
    /// nmap's service name: ssh, http, …
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extrainfo: Option<String>,
    /// "ssl" when the service spoke TLS.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tunnel: Option<String>,
    /// nmap's method: "probed" (version detection) or "table" (its port table).
    pub method: String,
    /// nmap's confidence, 0-10.
    pub conf: u8,
    /// CPE names nmap gave the service.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cpe: Vec<String>,
    /// NSE scripts' outputs (`-sC`, `--script`), in nmap's order; multi-line text.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scripts: Vec<ScriptResult>,
    pub ts: f64,
}

/// A host that answers on (nearly) every port it is asked: a SYN proxy, a scrubbing service,
/// a tarpit. Reported once, when it is recognised; the open ports reported before that are
/// its sample, and its later ones are counted, not listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswersAllResult {
    pub ip: IpAddr,
    pub proto: Proto,
    /// Open ports reported for it before it was recognised (its sample).
    pub listed: u32,
    /// About how many of its ports had been probed and could have answered by then.
    pub probed: u64,
    pub ts: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptResult {
    pub id: String,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Port(PortResult),
    Host(HostResult),
    Name(NameResult),
    /// Boxed: a banner is several times the size of the other events.
    Banner(Box<BannerResult>),
    /// Not a result: an engine's resume point at this place in the stream. Every result the
    /// state counts as done came before it (through every stage, which keep the order), so
    /// the output thread can save it with the results it holds. No sink sees it; it is
    /// never written.
    #[serde(skip)]
    Checkpoint(Box<crate::cursor::CursorState>),
    /// Boxed for the same reason.
    Service(Box<ServiceResult>),
    /// A host recognised as answering every port (see `AnswersAllResult`).
    #[serde(rename = "answers_all")]
    AnswersAll(AnswersAllResult),
}

impl Event {
    /// The address a result is about (None for a checkpoint).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Event::Port(p) => Some(p.ip),
            Event::Host(h) => Some(h.ip),
            Event::Name(n) => Some(n.ip),
            Event::Banner(b) => Some(b.ip),
            Event::Checkpoint(_) => None,
            Event::Service(s) => Some(s.ip),
            Event::AnswersAll(a) => Some(a.ip),
        }
    }
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

/// Which answers become port results in the outputs: decided once, read by the engines'
/// reporter and by the output thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Listing {
    /// Closed and filtered ports are listed too (`--show-closed`).
    pub show_closed: bool,
    /// Ports that are not listed still reach the output thread, to be counted per host and
    /// state (nmap XML's `<extraports>`).
    pub count_unlisted: bool,
    /// A host sweep: hosts that answered, not the ports that were asked (the connect
    /// engine's TCP sweep asks ports only to learn whether the host is there).
    pub hosts_only: bool,
}

impl Listing {
    pub fn lists(&self, state: PortState) -> bool {
        !self.hosts_only && (state == PortState::Open || self.show_closed)
    }

    /// Whether a port result in `state` is sent to the output thread at all.
    pub fn sends(&self, state: PortState) -> bool {
        !self.hosts_only && (self.count_unlisted || self.lists(state))
    }
}

/// Counters the engines bump and the progress line reads. Only relaxed atomics: they are
/// figures for humans, not synchronisation.
#[derive(Debug, Default)]
pub struct Stats {
    /// Probes to do in this run (set once at the start).
    pub total: AtomicU64,
    /// Probes sent (retries included).
    pub sent: AtomicU64,
    /// Targets finished (answered or given up on).
    pub done: AtomicU64,
    pub open: AtomicU64,
    pub closed: AtomicU64,
    pub filtered: AtomicU64,
    pub hosts_up: AtomicU64,
    /// Local resource errors (EMFILE, EADDRNOTAVAIL, ENOBUFS ...) that were retried.
    pub errors: AtomicU64,
    /// Raw scans: replies that failed the cookie check (forged or stale), dropped.
    pub forged: AtomicU64,
    /// Raw scans: repeated answers (SYN-ACK retransmissions, duplicates), dropped.
    pub duplicates: AtomicU64,
    /// Nanoseconds the engine was held back by the stages after it (a full event channel),
    /// as a share of its sending loops: held_ns / elapsed is the fraction of time held.
    pub held_ns: AtomicU64,
    /// Positions of the walk handed out in this run (first probes; retries not counted).
    pub walked: AtomicU64,
    /// Hosts recognised as answering every port (`answers_all`).
    pub answers_all_hosts: AtomicU64,
    /// Open ports of those hosts after they were recognised: counted, not reported.
    pub answers_all_open: AtomicU64,
    /// Raw scans: replies the kernel dropped because the capture ring was full
    /// (PACKET_STATISTICS `tp_drops`; libpcap's `ps_drop`).
    pub ring_drops: AtomicU64,
    /// Adaptive rate (raw scans): the rate the senders keep now, probes/s (0: fixed rate).
    pub rate_now: AtomicU64,
    /// The loss the last measured window showed, parts per million.
    pub loss_ppm: AtomicU64,
    /// What the path carried when it was last seen dropping probes, probes/s (0: never).
    pub path_carried: AtomicU64,
    /// How many times the rate was cut.
    pub rate_cuts: AtomicU64,
}

impl Stats {
    pub fn count_state(&self, s: PortState) {
        match s {
            PortState::Open => &self.open,
            PortState::Closed => &self.closed,
            // Counted with the filtered: both are "no answer" in the summary's figures.
            PortState::Filtered | PortState::OpenFiltered => &self.filtered,
        }
        .fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_event_json_has_the_documented_fields() {
        let e = Event::Port(PortResult {
            ip: "198.18.0.1".parse().unwrap(),
            port: 443,
            proto: Proto::Tcp,
            state: PortState::Open,
            reason: Reason::SynAck,
            service: "https".into(),
            rtt_ms: Some(0.5),
            ts: 1.5,
            hostname: None,
            ttl: None,
        });
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"port","ip":"198.18.0.1","port":443,"proto":"tcp",
                "state":"open","reason":"syn-ack","service":"https","rtt_ms":0.5,"ts":1.5})
        );
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
