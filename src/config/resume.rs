//! What may change when a saved scan is continued: how fast and how patiently it runs, what it
//! must not touch, and where it writes. What it scans, and how it reports, may not: the saved
//! position only means something over the same space, and documents of one scan need one
//! meaning. Anything else given with `--resume` is an error naming it.

use super::ScanConfig;
use super::from_cli::{asked_timing, exclude_list, nmap_options, outputs};
use crate::cli::Parsed;
use crate::error::{Error, Result};
use crate::targets::Resolver;
use std::path::Path;

/// Long option names that `--resume` accepts.
pub const RESUMABLE: &[&str] = &[
    "resume",
    "rate",
    "min-rate",
    "rate-mode",
    "max-host-rate",
    "timing",
    "timeout",
    "retries",
    "wait",
    "host-timeout",
    "verbose",
    "max-inflight",
    "max-per-host",
    "sender-threads",
    "banner-connect-timeout",
    "banner-read-timeout",
    "banner-concurrency",
    "exclude",
    "excludefile",
    "output-json",
    "output-ndjson",
    "output-grepable",
    "output-xml",
    "output-normal",
    "output-list",
    "output-plain",
    "output-all",
    "status-json",
    "quiet",
    "resume-file",
    // The hand-off runs after the scan and adds to its results: it may be added or changed.
    "nmap",
    "nmap-parallel",
];

/// The saved configuration with what the resume command line changes. `path` is the resume
/// file: a scan stopped again saves there unless `--resume-file` says otherwise.
pub fn resumed(
    mut saved: ScanConfig,
    now: &Parsed,
    path: &Path,
    resolve: Resolver,
) -> Result<ScanConfig> {
    if let Some(other) = now.given.iter().find(|g| !RESUMABLE.contains(&g.as_str())) {
        return Err(Error::NotOnResume(other.clone()));
    }
    let given = |name: &str| now.given.iter().any(|g| g == name);
    let cli = &now.cli;
    // A template given again sets what it sets, under the options given beside it.
    if ["timing", "rate", "min-rate", "timeout", "retries", "wait"]
        .iter()
        .any(|o| given(o))
    {
        let t = saved.timing;
        let mut asked = asked_timing(cli);
        asked.mode = t.mode;
        asked.max_host_rate = t.max_host_rate;
        if !given("timing") {
            asked.rate = if given("rate") { cli.rate } else { t.rate };
            asked.min_rate = if given("min-rate") {
                cli.min_rate
            } else {
                t.min_rate
            };
            asked.timeout = cli.timeout.or(Some(t.timeout));
            asked.retries = cli.retries.or(Some(t.retries));
            asked.wait = if given("wait") { cli.wait } else { t.wait };
        }
        let kept_floor = asked.min_rate.is_some() && !given("min-rate");
        saved.timing = super::timing::resolve(asked).map_err(|why| {
            let why = if kept_floor {
                format!("{why}; the floor was saved with the scan: give --min-rate again")
            } else {
                why
            };
            Error::BadOption("--min-rate", why)
        })?;
    }
    if given("rate-mode") {
        saved.timing.mode = cli.rate_mode.into();
    }
    if given("max-host-rate") {
        saved.timing.max_host_rate = cli.max_host_rate;
    }
    if given("max-inflight") {
        saved.connect.max_inflight = cli.max_inflight;
    }
    if given("host-timeout") {
        saved.connect.host_timeout = cli.host_timeout;
    }
    if given("max-per-host") {
        saved.connect.max_per_host = cli.max_per_host;
    }
    if given("sender-threads") {
        saved.link.sender_threads = cli.sender_threads;
    }
    let b = &mut saved.banners;
    if given("banner-connect-timeout") {
        b.connect_timeout = cli.banner_connect_timeout;
    }
    if given("banner-read-timeout") {
        b.read_timeout = cli.banner_read_timeout;
    }
    if given("banner-concurrency") {
        b.concurrency = cli.banner_concurrency;
    }
    if given("nmap") {
        saved.nmap = nmap_options(cli, &saved.probes)?;
    } else if given("nmap-parallel") {
        match &mut saved.nmap {
            Some(n) => n.parallel = cli.nmap_parallel,
            None => {
                return Err(Error::BadOption(
                    "--nmap-parallel",
                    "the saved scan hands nothing to nmap; give --nmap ARGS".into(),
                ));
            }
        }
    }
    // Excludes add up: what the first run excluded stays excluded.
    let more = exclude_list(cli)?.into_set(resolve)?;
    let t = &mut saved.targets;
    t.excludes = std::mem::take(&mut t.excludes).union(more.ranges().to_vec());
    let now_out = outputs(cli)?;
    if !now_out.files.is_empty() {
        saved.output.files = now_out.files;
    }
    if now_out.status_json.is_some() {
        saved.output.status_json = now_out.status_json;
    }
    saved.output.quiet |= now_out.quiet;
    saved.output.verbose = saved.output.verbose.max(now_out.verbose);
    saved.resume_file = match &cli.resume_file {
        Some(other) if given("resume-file") => other.clone(),
        _ => path.to_path_buf(),
    };
    Ok(saved)
}
