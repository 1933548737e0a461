//! The command line. nmap's multi-letter short options (`-iL`, `-oJ`, `-sT`, `-p-`) are
//! rewritten to long ones before clap sees them, so users keep their habits.

mod forms;
mod values;

pub use forms::{habit_error, normalize_args};
pub use values::{parse_duration, parse_mac, parse_shard, parse_source_ports};

use crate::cursor::Shard;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// `synsweep --version`: the version, the commit it was built from and its raw-packet
/// backends (from build.rs), e.g. `0.1.0 (commit 1a2b3c4; raw packets: AF_PACKET)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SYNSWEEP_BUILD_INFO"),
    ")"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanTypeArg {
    /// TCP SYN (raw packets; needs CAP_NET_RAW)
    #[value(alias = "S")]
    Syn,
    /// TCP connect (no privileges needed)
    #[value(alias = "T")]
    Connect,
    /// Host discovery only: ICMP echo (-sn; raw packets)
    #[value(alias = "n")]
    Ping,
    /// UDP with protocol payloads (-sU; raw packets, else connected sockets)
    #[value(alias = "U")]
    Udp,
}

/// `--rate-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateModeArg {
    /// --rate is the ceiling; the scan finds the pace the path carries
    Adaptive,
    /// exactly --rate, whatever the path drops (rate benchmarks)
    Fixed,
}

/// `--source-port`: one port or a range `LO-HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePortRange {
    pub lo: u16,
    pub hi: u16,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "synsweep",
    version = VERSION,
    long_version = VERSION,
    about = "Fast SYN / connect port scanner",
    after_help = "nmap-style short forms: -iL FILE, -sS, -sT, -sU, -sn, -p-, -PE, -Pn, -T0..-T5, \
                  -oJ/-oD/-oG/-oX/-oN/-oL/-oP FILE ('-' = stdout), -oA BASE."
)]
pub struct Cli {
    /// Targets: addresses, CIDR prefixes, first-last ranges, host names (comma or space separated)
    pub targets: Vec<String>,
    /// Read targets from FILE ('-' = stdin; '#' starts a comment) [-iL]
    #[arg(long = "input-list", value_name = "FILE")]
    pub input_list: Option<PathBuf>,
    /// Never scan these (same syntax as targets); excludes always win
    #[arg(long, value_name = "LIST")]
    pub exclude: Vec<String>,
    /// Never scan the targets listed in FILE
    #[arg(long, value_name = "FILE")]
    pub excludefile: Vec<PathBuf>,
    /// Ports: 22,80,8000-8100, '-' for all, presets top100, top1000, all, ai [default: top1000]
    #[arg(short = 'p', long, value_name = "PORTS")]
    pub ports: Option<String>,
    /// The N ports most often found open (with -p: both)
    #[arg(long, value_name = "N")]
    pub top_ports: Option<usize>,
    /// The 100 ports most often found open (nmap's -F)
    #[arg(short = 'F', long)]
    pub fast: bool,
    /// Never scan these ports (same syntax as -p)
    #[arg(long, value_name = "PORTS")]
    pub exclude_ports: Option<String>,
    /// syn (-sS, default with privileges), connect (-sT), udp (-sU) or ping (-sn: ICMP echo
    /// host sweep)
    #[arg(long = "scan-type", value_enum, value_name = "TYPE", action = clap::ArgAction::Append)]
    pub scan_type: Vec<ScanTypeArg>,
    /// Never look up host names (reverse DNS)
    #[arg(short = 'n', long = "no-resolve", conflicts_with = "resolve_all")]
    pub no_resolve: bool,
    /// Look up the name of every target host, not only those that answered
    #[arg(short = 'R', long = "resolve-all")]
    pub resolve_all: bool,
    /// Raw scans: also send every host an ICMP echo request, in the same pass as the ports
    /// (hosts that answer are reported up even when every port is silent) [-PE]
    #[arg(long)]
    pub ping: bool,
    /// Fail instead of falling back to a connect scan without raw-socket privileges
    #[arg(long)]
    pub privileged_only: bool,
    /// Run as this user once the packet sockets are open (tcpdump's -Z), instead of the sudo
    /// user or root without capabilities; needs root
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Probes per second, retries included [default: 20000 for raw scans, unlimited for connect]
    #[arg(long, visible_alias = "max-rate", value_name = "PPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// At least this many probes per second (nmap's --min-rate): raises the default rate to
    /// it; adaptive, the rate is never cut below it
    #[arg(long, value_name = "PPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub min_rate: Option<u64>,
    /// adaptive: --rate is the ceiling and the scan slows to what the path carries (raw rate,
    /// connect window); fixed: exactly --rate, for rate benchmarks
    #[arg(long, value_enum, value_name = "MODE", default_value = "adaptive")]
    pub rate_mode: RateModeArg,
    /// No single host gets more than PPS probes a second, retries included
    #[arg(long, value_name = "PPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_host_rate: Option<u64>,
    /// Timing template 0-5, nmap's -T0..-T5: rate, timeout and retries together (README,
    /// "Timing templates"); --rate, --timeout and --retries given beside it win
    #[arg(long, value_name = "0-5", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub timing: Option<u8>,
    /// Ask every open TCP port what it is: greetings (SSH, SMTP, FTP, ...), HTTP status, server
    /// and title, TLS version and certificate, AI/ML services (also on with -p ai)
    #[arg(long)]
    pub banners: bool,
    /// Banners: the longest wait for a connection
    #[arg(long, value_name = "TIME", default_value = "2s", value_parser = parse_duration)]
    pub banner_connect_timeout: Duration,
    /// Banners: the longest wait for what a service says
    #[arg(long, value_name = "TIME", default_value = "3s", value_parser = parse_duration)]
    pub banner_read_timeout: Duration,
    /// Banners: grabs at once
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub banner_concurrency: u64,
    /// Connect scan: attempts in flight at once [default: from the open-file limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_inflight: Option<u64>,
    /// Probes in flight to any one host at once
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_per_host: u32,
    /// How long to wait for an answer: 500ms, 2s, 1m; a bare number is seconds [default: 1s]
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Extra probes for targets that stayed silent (answers are never re-probed) [default: 1]
    #[arg(long, visible_alias = "max-retries", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: Option<u32>,
    /// Connect scans: give up on a host this long after its first probe (nmap's
    /// --host-timeout); its unfinished ports are not reported
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub host_timeout: Option<Duration>,
    /// A host with N open ports, at least half of those probed on it, answers every port (a
    /// SYN proxy, a tarpit): reported once as such with N ports as a sample, its other open
    /// ports counted, not listed, and given no banner grab; 0 = list every port
    #[arg(long, value_name = "N", default_value_t = crate::engine::answers_all::DEFAULT_THRESHOLD, value_parser = clap::value_parser!(u32).range(0..=65_535))]
    pub all_open_threshold: u32,
    /// Raw scans: how long to wait after a target's last probe for its answer [default: --timeout]
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// Raw scans: our source ports (a cookie picks one per target) [-g]
    #[arg(short = 'g', long, value_name = "PORT|LO-HI", default_value = "61000-61999", value_parser = parse_source_ports)]
    pub source_port: SourcePortRange,
    /// Raw scans: send from this interface [default: from the routing table]
    #[arg(short = 'e', long, visible_alias = "adapter", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Raw scans: send from this IPv4 address [default: the interface's]
    #[arg(long, visible_alias = "adapter-ip", value_name = "ADDR")]
    pub source_ip: Option<Ipv4Addr>,
    /// Raw scans: our MAC address in the frames we send [default: the interface's]
    #[arg(long, visible_alias = "adapter-mac", value_name = "MAC", value_parser = parse_mac)]
    pub source_mac: Option<[u8; 6]>,
    /// Raw scans: the next hop's MAC address, aa:bb:cc:dd:ee:ff [default: neighbour table, then ARP]
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    pub router_mac: Option<[u8; 6]>,
    /// Raw scans: IP time-to-live of our probes
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u8).range(1..))]
    pub ttl: u8,
    /// Raw scans: sender threads, each with its own socket [default: one per core, at most 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub sender_threads: Option<u64>,
    /// Raw scans: send and capture through libpcap (builds with --features pcap; the default
    /// where AF_PACKET does not exist)
    #[arg(long)]
    pub pcap: bool,
    /// Raw scans: print each probe (summary and bytes) instead of sending it
    #[arg(long, conflicts_with = "offline")]
    pub dry_run: bool,
    /// Craft the probes at full speed into no device and print the rate: the generator's
    /// benchmark (`synsweep bench` is the same)
    #[arg(long)]
    pub offline: bool,
    /// Seed of the scan order (shards of one scan must share it) [default: random]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Scan only shard I of N (1-based): shards with the same seed split the work exactly
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Report closed and filtered ports too (default: open only)
    #[arg(long, conflicts_with = "open")]
    pub show_closed: bool,
    /// Only open ports: synsweep's default (nmap's --open), accepted with a notice
    #[arg(long)]
    pub open: bool,
    /// Every target is scanned without a ping first: synsweep's way (nmap's -Pn), accepted
    /// with a notice
    #[arg(long)]
    pub skip_host_discovery: bool,
    /// Reasons are always shown (nmap's --reason), accepted with a notice
    #[arg(long)]
    pub reason: bool,
    /// Print open ports as they are found on stderr even when it is no terminal [-v, -vv]
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// List the interfaces and the routes raw scans would use, and exit (masscan's --iflist)
    #[arg(long)]
    pub iflist: bool,
    /// Write a JSON document to FILE [-oJ]
    #[arg(long = "output-json", value_name = "FILE")]
    pub output_json: Option<String>,
    /// Write NDJSON to FILE, one result per line as found [-oD]
    #[arg(long = "output-ndjson", value_name = "FILE")]
    pub output_ndjson: Option<String>,
    /// Write nmap grepable output to FILE [-oG]
    #[arg(long = "output-grepable", value_name = "FILE")]
    pub output_grepable: Option<String>,
    /// Write nmap-compatible XML to FILE [-oX]
    #[arg(long = "output-xml", value_name = "FILE")]
    pub output_xml: Option<String>,
    /// Write nmap's normal (human) output to FILE [-oN]
    #[arg(long = "output-normal", value_name = "FILE")]
    pub output_normal: Option<String>,
    /// Write masscan's list format ("open tcp 80 ADDR TIME" a line) to FILE, as found [-oL]
    #[arg(long = "output-list", value_name = "FILE")]
    pub output_list: Option<String>,
    /// Write ADDR:PORT of every open port, one a line as found, to FILE: for pipelines [-oP]
    #[arg(long = "output-plain", value_name = "FILE")]
    pub output_plain: Option<String>,
    /// Write BASE.nmap, BASE.xml and BASE.gnmap (nmap's -oA) [-oA]
    #[arg(long = "output-all", value_name = "BASE")]
    pub output_all: Option<String>,
    /// Write progress figures as NDJSON to FILE
    #[arg(long, value_name = "FILE")]
    pub status_json: Option<PathBuf>,
    /// No progress line and no notices on stderr
    #[arg(short, long)]
    pub quiet: bool,
    /// Continue the scan saved in FILE. What to scan comes from it; rates, timing, excludes
    /// (added to its own) and outputs (replacing its) may be given again
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Print the resolved configuration (targets, ports, engine, rates, outputs …) and exit
    #[arg(long)]
    pub echo: bool,
    /// Where the scan saves its resume point (every few seconds, and when stopped); by
    /// default synsweep-TIME-PID.resume in the current directory, one per scan
    #[arg(long, value_name = "FILE")]
    pub resume_file: Option<PathBuf>,
    /// After the scan, run the installed nmap on each host's open TCP ports with these
    /// arguments, e.g. "-sV -sC"; its services and script outputs join synsweep's outputs.
    /// synsweep adds --unprivileged -Pn -n -oX - -p PORTS HOST; options that need raw packets
    /// (-sS, -O, -sU …) or name targets, ports or outputs are refused
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub nmap: Option<String>,
    /// --nmap: hosts nmap examines at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub nmap_parallel: u32,
    /// Print the man page (man) or a shell's completion script and exit
    #[arg(long, value_enum, value_name = "WHAT")]
    pub generate: Option<crate::generate::Generate>,
}

/// A command line, and which options it named (rather than left at their defaults).
pub struct Parsed {
    pub cli: Cli,
    /// The arguments as the user wrote them, without the program name.
    pub args: Vec<String>,
    /// The long names (without `--`) of the options given, positional targets as "targets".
    pub given: Vec<String>,
}

/// Parses the arguments after the program name (nmap forms are rewritten first).
pub fn parse(args: Vec<String>) -> Result<Parsed, clap::Error> {
    if let Some(why) = habit_error(&args) {
        return Err(clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            why,
        ));
    }
    let mut cmd = Cli::command();
    let normalized = normalize_args(std::iter::once("synsweep".to_string()).chain(args.clone()));
    let matches = cmd.try_get_matches_from_mut(normalized)?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    let given = cmd
        .get_arguments()
        .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| {
            a.get_long()
                .map_or_else(|| a.get_id().to_string(), str::to_string)
        })
        .collect();
    Ok(Parsed { cli, args, given })
}

/// clap's messages run over several lines; the first names what was wrong.
/// (clap's "tip: a similar argument exists" is kept on the same line: `--retry` points to
/// `--retries`.)
pub fn first_line(s: &str) -> String {
    let mut lines = s.lines();
    let first = lines.next().unwrap_or("").trim_start_matches("error: ");
    match lines.map(str::trim).find(|l| l.starts_with("tip: ")) {
        Some(tip) => format!("{first} ({})", tip.trim_start_matches("tip: ")),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let argv = normalize_args(
            std::iter::once("synsweep")
                .chain(args.iter().copied())
                .map(String::from),
        );
        Cli::try_parse_from(argv)
    }

    #[test]
    fn nmap_forms_are_understood() {
        let c = parse(&[
            "-sT",
            "-p-",
            "-iL",
            "t.txt",
            "-oJ",
            "o.json",
            "-oX",
            "-",
            "198.18.0.1",
        ])
        .unwrap();
        assert_eq!(c.scan_type, [ScanTypeArg::Connect]);
        assert_eq!(c.ports.as_deref(), Some("-"));
        assert_eq!(c.input_list, Some(PathBuf::from("t.txt")));
        assert_eq!(c.output_xml.as_deref(), Some("-"));
        assert_eq!(parse(&["-sS", "x"]).unwrap().scan_type, [ScanTypeArg::Syn]);
    }

    #[test]
    fn the_value_of_nmap_is_nmaps_own() {
        let c = parse(&["--nmap", "-sV", "-sT", "198.18.0.1"]).unwrap();
        assert_eq!(c.nmap.as_deref(), Some("-sV"));
        assert_eq!(c.scan_type, [ScanTypeArg::Connect]);
        assert_eq!(c.nmap_parallel, 4);
    }

    #[test]
    fn durations_and_shards() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        // Bare numbers are seconds, as nmap and masscan read them.
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("5000").unwrap_err().contains("outside"));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_shard("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_ports_macs_and_bench() {
        assert_eq!(
            parse_source_ports("61000-61999"),
            Ok(SourcePortRange {
                lo: 61000,
                hi: 61999
            })
        );
        assert_eq!(
            parse_source_ports("5000"),
            Ok(SourcePortRange { lo: 5000, hi: 5000 })
        );
        for bad in ["0", "9-3", "x", "1-70000", ""] {
            assert!(parse_source_ports(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_mac("02:00:5e:00:53:0A"),
            Ok([2, 0, 0x5e, 0, 0x53, 10])
        );
        for bad in ["02:00:5e:00:53", "02:00:5e:00:53:0g", "020:0:5e:00:53:01"] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
        let c = parse(&["bench", "198.18.0.0/24"]).unwrap();
        assert!(c.offline);
        assert_eq!(parse(&["-sn", "x"]).unwrap().scan_type, [ScanTypeArg::Ping]);
        assert_eq!(parse(&["-sU", "x"]).unwrap().scan_type, [ScanTypeArg::Udp]);
        // Only the first word is the subcommand: a target named bench stays a target.
        assert!(!parse(&["-sT", "bench"]).unwrap().offline);
    }
}
