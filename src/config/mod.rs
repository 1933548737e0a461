//! The scan's configuration: the command line resolved once (targets after excludes and
//! special blocks, ports per protocol, engines, rates, outputs, seed and shard). Planning, the
//! engines, the outputs and the resume file see this and nothing of clap.

pub mod from_cli;
pub mod resume;
mod text;
pub mod timing;

use crate::cursor::Shard;
use crate::event::Proto;
use crate::link::Backend;
use crate::names::Mode as NameMode;
pub use crate::output::{Dest, Format, OutputFile};
use crate::packet::cookie::SourcePorts;
use crate::ports::PortList;
use crate::privilege::ScanType;
use crate::targets::range::RangeSet;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanConfig {
    pub targets: Targets,
    pub probes: Probes,
    pub engine: EngineRequest,
    pub timing: Timing,
    pub connect: ConnectLimits,
    pub link: LinkOptions,
    pub banners: BannerOptions,
    /// The hand-off to nmap after the scan (`--nmap`); absent from older resume files.
    #[serde(default)]
    pub nmap: Option<NmapOptions>,
    pub names: NameMode,
    /// Hosts with this many open ports, at least half of those probed, answer everything
    /// (`--all-open-threshold`; 0: off). See `engine::answers_all`.
    #[serde(default = "default_all_open_threshold")]
    pub all_open_threshold: u32,
    pub output: Outputs,
    /// A string in the file: JSON readers (jq, JavaScript) round 64-bit numbers, and a rounded
    /// seed walks another order.
    #[serde(with = "text::seed")]
    pub seed: u64,
    pub shard: Shard,
    /// Where an interrupted scan saves its resume point.
    pub resume_file: PathBuf,
    /// `resume_file` is the default name, not one the user gave.
    #[serde(skip)]
    pub resume_file_default: bool,
    /// The command line as the user wrote it (without the program name), for documents.
    pub command_line: Vec<String>,
    /// One line each for the user, from resolving the command line (options accepted for
    /// habit's sake); not saved.
    #[serde(skip)]
    pub notes: Vec<String>,
}

fn default_all_open_threshold() -> u32 {
    crate::engine::answers_all::DEFAULT_THRESHOLD
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// What is scanned: the named targets less excludes and special blocks.
    #[serde(with = "text::ranges")]
    pub ranges: RangeSet,
    /// What the user excluded (resolved), kept so a resume applies it again.
    #[serde(with = "text::ranges")]
    pub excludes: RangeSet,
    /// Special blocks (multicast, 240/4 …) the user named on their own, and so meant.
    #[serde(with = "text::ranges")]
    pub special_named: RangeSet,
    /// Forward names of host-name targets.
    #[serde(with = "text::names")]
    pub names: HashMap<IpAddr, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    /// The scan type asked for; `None`: SYN when raw packets are allowed, else connect.
    pub scan: Option<ScanType>,
    /// The ports of `proto()` (none in a host sweep).
    #[serde(with = "text::ports")]
    pub ports: PortList,
    /// Every host also gets an ICMP echo request (`-PE`; always in a sweep).
    pub echo: bool,
}

impl Probes {
    /// `-sn`: hosts only.
    pub fn is_sweep(&self) -> bool {
        self.scan == Some(ScanType::Ping)
    }

    /// The transport the ports are probed over.
    pub fn proto(&self) -> Proto {
        if self.scan == Some(ScanType::Udp) {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineRequest {
    /// Fail rather than fall back to a connect scan without raw-packet privileges.
    pub privileged_only: bool,
    pub backend: Backend,
    /// Send and capture through libpcap.
    pub pcap: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Probes per second, retries included; `None`: the engine's default. Adaptive: the
    /// ceiling.
    pub rate: Option<u64>,
    /// `--min-rate`: it lifts the default rate (in `resolve`); adaptive, it is also the rate
    /// the controller never cuts below. Absent from older resume files.
    #[serde(default)]
    pub min_rate: Option<u64>,
    /// Whether the engines find the pace the path carries or keep exactly `rate`; older resume
    /// files get the default.
    #[serde(default)]
    pub mode: RateMode,
    /// `--max-host-rate`: probes per second to any one host, retries included.
    #[serde(default)]
    pub max_host_rate: Option<u64>,
    pub timeout: Duration,
    pub retries: u32,
    /// Raw scans: the wait after a target's last probe; `None`: `timeout`.
    pub wait: Option<Duration>,
}

/// `--rate-mode`: how the engines use `--rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateMode {
    /// `--rate` is the ceiling: the raw engine's rate and the connect engine's window follow
    /// what the path carries.
    #[default]
    Adaptive,
    /// Exactly `--rate` and the configured window, whatever the path does (rate benchmarks).
    Fixed,
}

impl RateMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RateMode::Adaptive => "adaptive",
            RateMode::Fixed => "fixed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLimits {
    /// Attempts in flight at once; `None`: from the open-file limit.
    pub max_inflight: Option<u64>,
    pub max_per_host: u32,
    /// Give up on a host this long after its first attempt (`--host-timeout`).
    #[serde(default)]
    pub host_timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkOptions {
    pub interface: Option<String>,
    pub source_ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub source_mac: Option<[u8; 6]>,
    pub router_mac: Option<[u8; 6]>,
    pub ttl: u8,
    pub source_ports: SourcePorts,
    /// `None`: one per core, at most four.
    pub sender_threads: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerOptions {
    pub enabled: bool,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub concurrency: u64,
}

/// `--nmap`: nmap's arguments (checked: they run unprivileged and keep the hand-off whole)
/// and how many hosts it examines at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NmapOptions {
    pub args: Vec<String>,
    pub parallel: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    pub files: Vec<OutputFile>,
    pub status_json: Option<PathBuf>,
    /// No progress line and no notices.
    pub quiet: bool,
    /// Closed and filtered ports are reported too.
    pub show_closed: bool,
    /// `-v`: open ports printed on stderr as found, terminal or not.
    #[serde(default)]
    pub verbose: u8,
}

impl Outputs {
    pub fn dest(&self, format: Format) -> Option<&Dest> {
        self.files
            .iter()
            .find(|f| f.format == format)
            .map(|f| &f.dest)
    }
}
