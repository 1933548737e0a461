//! What every document says about the scan itself.

use crate::event::Stats;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Debug, Clone, Serialize)]
pub struct ScanMeta {
    pub scanner: &'static str,
    pub version: &'static str,
    pub args: Vec<String>,
    /// Unix time, seconds.
    pub start: f64,
    /// "connect" or "syn".
    pub scan_type: &'static str,
    pub ports: String,
    pub port_count: usize,
    pub hosts: u64,
    /// A decimal string in JSON: jq and JavaScript round 64-bit numbers, and a rounded seed
    /// walks another order.
    #[serde(serialize_with = "seed_text")]
    pub seed: u64,
    pub shard: String,
    /// This run resumes another: the results carried over do not say what it left unlisted.
    #[serde(skip)]
    pub resumed: bool,
}

/// The figures at one moment (progress) or at the end (summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Figures {
    pub elapsed_s: f64,
    pub total: u64,
    pub sent: u64,
    pub done: u64,
    pub open: u64,
    pub closed: u64,
    pub filtered: u64,
    pub hosts_up: u64,
    pub errors: u64,
    /// Seconds the engine was held back by the stages after it (a slow output, banners, …).
    /// The figures below are written only when not zero, so documents of scans without them
    /// read as before.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub held_s: f64,
    /// Replies the kernel dropped because the capture ring was full (raw scans).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ring_drops: u64,
    /// Hosts recognised as answering every port.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub answers_all_hosts: u64,
    /// Their open ports found after that: counted, not listed (nor in `open`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub answers_all_open: u64,
    /// The adaptive rate (raw scans): probes/s the senders keep now, or kept at the end.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pace_pps: u64,
    /// The canaries' loss in the last measured window, in parts per million.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loss_ppm: u64,
    /// What the path carried when it was last seen dropping probes, probes/s.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub path_pps: u64,
    /// How many times the rate was cut for the path's loss.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rate_cuts: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

impl Figures {
    /// The figures of a scan run in parts (stopped and resumed): each count summed.
    pub fn plus(&self, o: &Figures) -> Figures {
        Figures {
            elapsed_s: ((self.elapsed_s + o.elapsed_s) * 1000.0).round() / 1000.0,
            // A resumed run's total is what was left of the first run's: not added.
            total: self.total.max(o.total),
            sent: self.sent + o.sent,
            done: self.done + o.done,
            open: self.open + o.open,
            closed: self.closed + o.closed,
            filtered: self.filtered + o.filtered,
            hosts_up: self.hosts_up + o.hosts_up,
            errors: self.errors + o.errors,
            held_s: ((self.held_s + o.held_s) * 1000.0).round() / 1000.0,
            ring_drops: self.ring_drops + o.ring_drops,
            answers_all_hosts: self.answers_all_hosts + o.answers_all_hosts,
            answers_all_open: self.answers_all_open + o.answers_all_open,
            // The path as the latest run found it.
            pace_pps: o.pace_pps,
            loss_ppm: o.loss_ppm,
            path_pps: if o.path_pps > 0 {
                o.path_pps
            } else {
                self.path_pps
            },
            rate_cuts: self.rate_cuts + o.rate_cuts,
        }
    }

    pub fn read(stats: &Stats, elapsed_s: f64) -> Figures {
        Figures {
            elapsed_s: (elapsed_s * 1000.0).round() / 1000.0,
            total: stats.total.load(Relaxed),
            sent: stats.sent.load(Relaxed),
            done: stats.done.load(Relaxed),
            open: stats.open.load(Relaxed),
            closed: stats.closed.load(Relaxed),
            filtered: stats.filtered.load(Relaxed),
            hosts_up: stats.hosts_up.load(Relaxed),
            errors: stats.errors.load(Relaxed),
            held_s: (stats.held_ns.load(Relaxed) as f64 / 1e6).round() / 1e3,
            ring_drops: stats.ring_drops.load(Relaxed),
            answers_all_hosts: stats.answers_all_hosts.load(Relaxed),
            answers_all_open: stats.answers_all_open.load(Relaxed),
            pace_pps: stats.rate_now.load(Relaxed),
            loss_ppm: stats.loss_ppm.load(Relaxed),
            path_pps: stats.path_carried.load(Relaxed),
            rate_cuts: stats.rate_cuts.load(Relaxed),
        }
    }
}

/// The one notice of an adaptive scan whose path drops probes (once, when the rate is first
/// cut), or None.
pub fn pace_notice(f: &Figures) -> Option<String> {
    (f.rate_cuts > 0 && f.path_pps > 0).then(|| {
        format!(
            "the path drops probes above about {}/s; scanning at {}/s",
            round_rate(f.path_pps),
            round_rate(f.pace_pps)
        )
    })
}

/// A rate as a person reads it: three significant digits.
fn round_rate(r: u64) -> u64 {
    let digits = r.checked_ilog10().unwrap_or(0);
    let unit = 10u64.pow(digits.saturating_sub(2));
    (r + unit / 2) / unit * unit
}

/// The final summary's lines beyond the counts, for what happened only in some scans: hosts
/// that answer every port, time held back by slow stages, replies lost in the capture ring.
pub fn more_figures(f: &Figures) -> Vec<String> {
    let mut lines = Vec::new();
    if f.answers_all_hosts > 0 {
        lines.push(format!(
            "{} hosts answer every port (SYN proxies or tarpits): a sample of their open ports is listed, {} more were counted, not listed",
            f.answers_all_hosts, f.answers_all_open
        ));
    }
    if f.held_s >= 0.001 && f.elapsed_s > 0.0 {
        lines.push(format!(
            "sending was held back by slower output stages for {:.2}s ({:.0}% of the scan)",
            f.held_s,
            100.0 * f.held_s / f.elapsed_s
        ));
    }
    if f.ring_drops > 0 {
        lines.push(format!(
            "the kernel dropped {} replies because the capture ring was full: results may be incomplete",
            f.ring_drops
        ));
    }
    if f.rate_cuts > 0 && f.path_pps > 0 {
        lines.push(format!(
            "the path carried about {} probes/s (the rate was cut {} times; --rate is the ceiling)",
            round_rate(f.path_pps),
            f.rate_cuts
        ));
    }
    lines
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub figures: Figures,
    /// False when the scan was stopped before the end (a resume file was saved).
    pub complete: bool,
}

fn seed_text<S: serde::Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&seed.to_string())
}

pub fn time_string(unix: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_rate_is_said_once_in_round_figures_and_in_the_summary() {
        let mut f = Figures {
            pace_pps: 47_512,
            loss_ppm: 2_000,
            ..Figures::default()
        };
        assert_eq!(pace_notice(&f), None, "never cut: nothing to say");
        assert!(more_figures(&f).is_empty());
        f.rate_cuts = 3;
        f.path_pps = 50_049;
        assert_eq!(
            pace_notice(&f).as_deref(),
            Some("the path drops probes above about 50000/s; scanning at 47500/s")
        );
        assert!(more_figures(&f)[0].starts_with("the path carried about 50000 probes/s"));
        assert_eq!(
            (round_rate(0), round_rate(7), round_rate(1_234_567)),
            (0, 7, 1_230_000)
        );
    }

    #[test]
    fn the_seed_is_a_string_no_json_reader_rounds() {
        let meta = ScanMeta {
            scanner: "synsweep",
            version: "0",
            args: vec![],
            start: 0.0,
            scan_type: "syn",
            ports: "80".into(),
            port_count: 1,
            hosts: 1,
            seed: 13826318170144517735,
            shard: "1/1".into(),
            resumed: false,
        };
        let v = serde_json::to_value(&meta).unwrap();
        // As a number, f64 readers would make it 13826318170144518000.
        assert_eq!(v["seed"], "13826318170144517735");
        let back: u64 = v["seed"].as_str().unwrap().parse().unwrap();
        assert_eq!(back, meta.seed);
    }
}
