//! `--echo`: the resolved configuration, one `name = value` line each (masscan's `--echo`),
//! and the engine it would run on. Nothing is sent.

use super::plan::RAW_ENGINE_BUILT;
use crate::config::{Format, ScanConfig};
use crate::link::Backend;
use crate::privilege::{Engine, Privilege, choose_engine};
use std::fmt::Write;

/// Ranges `--echo` lists before it only counts them.
const ECHO_RANGES: usize = 32;

pub fn render(c: &ScanConfig, privilege: Privilege) -> String {
    let mut o = String::new();
    let secs = |d: std::time::Duration| format!("{}s", d.as_secs_f64());
    // A long list is cut short: a million excludes are no line to read.
    let ranges = |s: &crate::targets::range::RangeSet| {
        let all = s.ranges();
        let shown: Vec<String> = all
            .iter()
            .take(ECHO_RANGES)
            .map(|r| r.to_string())
            .collect();
        match all.len() {
            n if n > ECHO_RANGES => format!("{},… ({n} ranges)", shown.join(",")),
            _ => shown.join(","),
        }
    };
    let mut line = |k: &str, v: String| {
        let _ = writeln!(o, "{k} = {v}");
    };
    let t = &c.targets;
    line("targets", ranges(&t.ranges));
    line("hosts", t.ranges.count().to_string());
    line("exclude", ranges(&t.excludes));
    let p = &c.probes;
    let scan = match p.scan {
        None => "default (syn with raw packets, else connect)".to_string(),
        Some(s) => format!("{s:?}").to_lowercase(),
    };
    line("scan", scan);
    line("proto", p.proto().as_str().to_string());
    line("ports", p.ports.describe());
    line("ping", p.echo.to_string());
    let engine = match c.engine.backend {
        Backend::Live => choose_engine(
            p.scan,
            privilege,
            RAW_ENGINE_BUILT,
            c.engine.privileged_only,
        )
        .map_or_else(|e| format!("none: {e}"), |ch| engine_name(ch.engine).into()),
        Backend::DryRun => "raw (dry run: nothing sent)".into(),
        Backend::Offline => "raw (offline benchmark: nothing sent)".into(),
    };
    line("engine", engine);
    let tm = &c.timing;
    line("rate", tm.rate.map_or("default".into(), |r| r.to_string()));
    line("rate-mode", tm.mode.as_str().into());
    line(
        "min-rate",
        tm.min_rate.map_or("none".into(), |r| r.to_string()),
    );
    line(
        "max-host-rate",
        tm.max_host_rate.map_or("none".into(), |r| r.to_string()),
    );
    line("timeout", secs(tm.timeout));
    line("retries", tm.retries.to_string());
    line("wait", tm.wait.map_or("= timeout".into(), secs));
    line(
        "max-inflight",
        c.connect
            .max_inflight
            .map_or("from the open-file limit".into(), |n| n.to_string()),
    );
    line("max-per-host", c.connect.max_per_host.to_string());
    line(
        "host-timeout",
        c.connect.host_timeout.map_or("none".into(), secs),
    );
    let l = &c.link;
    line(
        "interface",
        l.interface
            .clone()
            .unwrap_or_else(|| "from the routes".into()),
    );
    line("ttl", l.ttl.to_string());
    let (lo, hi) = l.source_ports.bounds();
    line("source-port", format!("{lo}-{hi}"));
    line("banners", c.banners.enabled.to_string());
    line(
        "nmap",
        c.nmap.as_ref().map_or_else(
            || "no".to_string(),
            |n| format!("{} ({} hosts at once)", n.args.join(" "), n.parallel),
        ),
    );
    line("names", format!("{:?}", c.names).to_lowercase());
    line("all-open-threshold", c.all_open_threshold.to_string());
    for f in &c.output.files {
        let name = match f.format {
            Format::Json => "output-json",
            Format::Ndjson => "output-ndjson",
            Format::Grepable => "output-grepable",
            Format::Xml => "output-xml",
            Format::Normal => "output-normal",
            Format::List => "output-list",
            Format::Plain => "output-plain",
        };
        let dest = match &f.dest {
            crate::output::Dest::Stdout => "-".to_string(),
            crate::output::Dest::File(p) => p.display().to_string(),
        };
        line(name, dest);
    }
    line("show-closed", c.output.show_closed.to_string());
    line("verbose", c.output.verbose.to_string());
    line("seed", c.seed.to_string());
    line("shard", format!("{}/{}", c.shard.index, c.shard.count));
    line("resume-file", c.resume_file.display().to_string());
    o
}

fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Raw => "raw",
        Engine::Connect => "connect",
        Engine::PingSocket => "ping-socket",
    }
}
