//! The command line. nmap's multi-letter short options (`-iL`, `-oJ`, `-sT`, `-p-`) are
//! rewritten to long ones before clap sees them, so users keep their habits.

use crate::cursor::Shard;
use crate::privilege::ScanType;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanTypeArg {
    /// TCP SYN (raw packets; needs CAP_NET_RAW)
    #[value(alias = "S")]
    Syn,
    /// TCP connect (no privileges needed)
    #[value(alias = "T")]
    Connect,
}

impl From<ScanTypeArg> for ScanType {
    fn from(a: ScanTypeArg) -> ScanType {
        match a {
            ScanTypeArg::Syn => ScanType::Syn,
            ScanTypeArg::Connect => ScanType::Connect,
        }
    }
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "synsweep",
    version,
    about = "Fast SYN / connect port scanner",
    after_help = "nmap-style short forms: -iL FILE, -sS, -sT, -p-, -oJ/-oD/-oG/-oX FILE ('-' = stdout)."
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
    /// The N ports most often found open
    #[arg(long, value_name = "N", conflicts_with = "ports")]
    pub top_ports: Option<usize>,
    /// syn (-sS, default with privileges) or connect (-sT)
    #[arg(long = "scan-type", value_enum, value_name = "TYPE")]
    pub scan_type: Option<ScanTypeArg>,
    /// Fail instead of falling back to a connect scan without raw-socket privileges
    #[arg(long)]
    pub privileged_only: bool,
    /// Probes per second [default: unlimited for connect scans]
    #[arg(long, value_name = "PPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// Connect scan: attempts in flight at once [default: from the open-file limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_inflight: Option<u64>,
    /// Probes in flight to any one host at once
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_per_host: u32,
    /// How long to wait for an answer: 500ms, 2s, 1m
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Extra probes for targets that stayed silent (answers are never re-probed)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: u32,
    /// Seed of the scan order (shards of one scan must share it) [default: random]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Scan only shard I of N (1-based): shards with the same seed split the work exactly
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Report closed and filtered ports too (default: open only)
    #[arg(long)]
    pub show_closed: bool,
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
    /// Write progress figures as NDJSON to FILE
    #[arg(long, value_name = "FILE")]
    pub status_json: Option<PathBuf>,
    /// No progress line and no notices on stderr
    #[arg(short, long)]
    pub quiet: bool,
    /// Continue the scan saved in FILE (options come from it; outputs named here replace its)
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Where an interrupted scan saves its resume point
    #[arg(long, value_name = "FILE", default_value = "synsweep.resume")]
    pub resume_file: PathBuf,
}

impl Cli {
    pub fn has_outputs(&self) -> bool {
        self.output_json.is_some()
            || self.output_ndjson.is_some()
            || self.output_grepable.is_some()
            || self.output_xml.is_some()
    }
}

/// Rewrites nmap-style options to the long forms clap knows.
pub fn normalize_args<I: IntoIterator<Item = String>>(args: I) -> Vec<String> {
    args.into_iter()
        .map(|a| match a.as_str() {
            "-iL" => "--input-list".into(),
            "-oJ" => "--output-json".into(),
            "-oD" => "--output-ndjson".into(),
            "-oG" => "--output-grepable".into(),
            "-oX" => "--output-xml".into(),
            "-p-" => "--ports=-".into(),
            s if s.len() == 3 && s.starts_with("-s") => format!("--scan-type={}", &s[2..]),
            _ => a,
        })
        .collect()
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return Err(format!("'{s}' needs a unit: 500ms, 2s or 1m"));
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration"))?;
    let secs = v * scale;
    if !(0.001..=3600.0).contains(&secs) {
        return Err(format!("'{s}' is outside 1ms-1h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("'{s}' is not I/N with 1 <= I <= N");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Parses a command line saved in a resume file (without the program name).
pub fn parse_saved(argv: &[String]) -> Result<Cli, String> {
    let args = std::iter::once("synsweep".to_string()).chain(argv.iter().cloned());
    Cli::try_parse_from(normalize_args(args)).map_err(|e| first_line(&e.to_string()))
}

/// clap's messages run over several lines; the first names what was wrong.
pub fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
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
        assert_eq!(c.scan_type, Some(ScanTypeArg::Connect));
        assert_eq!(c.ports.as_deref(), Some("-"));
        assert_eq!(c.input_list, Some(PathBuf::from("t.txt")));
        assert_eq!(c.output_xml.as_deref(), Some("-"));
        assert_eq!(
            parse(&["-sS", "x"]).unwrap().scan_type,
            Some(ScanTypeArg::Syn)
        );
    }

    #[test]
    fn durations_and_shards() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("500").unwrap_err().contains("unit"));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_shard("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
