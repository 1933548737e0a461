//! From a command line to a finished (or saved) scan: plan, run, save.

use crate::cli::Cli;
use crate::cursor::{Cursor, CursorState, Shard};
use crate::engine::EngineContext;
use crate::engine::connect::{self, ConnectOptions};
use crate::engine::connector::KernelConnector;
use crate::error::{Error, Result};
use crate::event::{Event, Stats, unix_now};
use crate::output::meta::{Figures, ScanMeta, Summary};
use crate::output::{Dest, OutputConfig, OutputThread};
use crate::ports::{PortList, parse_ports, presets};
use crate::privilege::{Engine, Privilege, choose_engine};
use crate::resume::{FORMAT, ResumePoint};
use crate::space::TargetSpace;
use crate::stop::{StopLevel, StopSignal};
use crate::targets::{self, parse::TargetSpec, parse::parse_token, range::RangeSet};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Is there a raw-packet engine in this build? (It arrives with the raw engine's issue.)
pub const RAW_ENGINE_BUILT: bool = false;

pub struct Plan {
    pub cli: Cli,
    /// The command line as the user wrote it (for documents and the resume file).
    pub argv: Vec<String>,
    pub space: TargetSpace,
    pub names: HashMap<IpAddr, String>,
    pub seed: u64,
    pub shard: Shard,
    pub resume: Option<CursorState>,
    pub carried: Vec<Event>,
    pub notices: Vec<String>,
    pub engine: Engine,
}

/// Builds the plan from a fresh command line.
pub fn plan(cli: Cli, argv: Vec<String>, privilege: Privilege) -> Result<Plan> {
    let mut includes = cli.targets.clone();
    if let Some(f) = &cli.input_list {
        includes.extend(targets::read_list_file(f)?);
    }
    let includes: Vec<String> = includes
        .iter()
        .flat_map(|t| targets::split_tokens(t))
        .map(String::from)
        .collect();
    if includes.is_empty() {
        return Err(Error::Empty(
            "no targets: name some, or read them with -iL FILE".into(),
        ));
    }
    let mut excludes: Vec<String> = cli
        .exclude
        .iter()
        .flat_map(|t| targets::split_tokens(t))
        .map(String::from)
        .collect();
    for f in &cli.excludefile {
        excludes.extend(targets::read_list_file(f)?);
    }
    let t = targets::build(&includes, &excludes, &targets::system_resolver)?;
    let nmap = Path::new(presets::NMAP_SERVICES);
    let ports = match (&cli.ports, cli.top_ports) {
        (_, Some(n)) => PortList::new(presets::top_tcp_ports(n, nmap)?),
        (Some(p), None) => parse_ports(p, nmap)?,
        (None, None) => parse_ports("top1000", nmap)?,
    };
    let space = TargetSpace::new(t.set, ports)?;
    let engine = pick_engine(&cli, privilege)?;
    let mut notices = t.notices;
    notices.extend(engine.1);
    Ok(Plan {
        seed: cli.seed.unwrap_or_else(rand::random),
        shard: cli.shard.unwrap_or(Shard::WHOLE),
        cli,
        argv,
        space,
        names: t.names,
        resume: None,
        carried: Vec::new(),
        notices,
        engine: engine.0,
    })
}

fn pick_engine(cli: &Cli, privilege: Privilege) -> Result<(Engine, Option<String>)> {
    let c = choose_engine(
        cli.scan_type.map(Into::into),
        privilege,
        RAW_ENGINE_BUILT,
        cli.privileged_only,
    )
    .map_err(Error::Refused)?;
    Ok((c.engine, c.notice))
}

/// Rebuilds the plan of a saved scan. `now` is the resume command line: the outputs, progress
/// options and resume-file path it names replace the saved ones.
pub fn plan_resumed(
    saved: ResumePoint,
    path: &Path,
    now: &Cli,
    privilege: Privilege,
) -> Result<Plan> {
    let bad = |why: String| Error::BadResume(path.into(), why);
    let mut cli = crate::cli::parse_saved(&saved.argv).map_err(bad)?;
    if now.has_outputs() {
        cli.output_json = now.output_json.clone();
        cli.output_ndjson = now.output_ndjson.clone();
        cli.output_grepable = now.output_grepable.clone();
        cli.output_xml = now.output_xml.clone();
    }
    cli.quiet |= now.quiet;
    if now.status_json.is_some() {
        cli.status_json = now.status_json.clone();
    }
    cli.resume_file = now.resume_file.clone();
    let mut ranges = Vec::new();
    for r in &saved.ranges {
        match parse_token(r)? {
            TargetSpec::Range(r) => ranges.push(r),
            TargetSpec::Name(n) => return Err(bad(format!("'{n}' is not an address range"))),
        }
    }
    let ports = parse_ports(&saved.ports, Path::new("/nonexistent"))?;
    let space = TargetSpace::new(RangeSet::from_ranges(ranges), ports)?;
    saved.check_fits(path, space.size())?;
    let engine = pick_engine(&cli, privilege)?;
    Ok(Plan {
        argv: saved.argv,
        space,
        names: saved.names.into_iter().collect(),
        seed: saved.seed,
        shard: saved.shard,
        resume: Some(saved.state),
        carried: saved.results,
        notices: engine.1.into_iter().collect(),
        engine: engine.0,
        cli,
    })
}

pub struct Finished {
    pub complete: bool,
    pub figures: Figures,
    pub resume_saved: Option<std::path::PathBuf>,
}

/// Runs the plan to the end or to a stop; saves a resume point when stopped.
pub fn run(plan: Plan, stop: StopSignal) -> Result<Finished> {
    let cli = &plan.cli;
    let resumed = plan.resume.is_some();
    let cursor = Cursor::new(
        plan.space.size(),
        plan.seed,
        plan.shard,
        plan.resume.clone(),
    );
    let stats = Arc::new(Stats::default());
    let todo = match &plan.resume {
        Some(s) => remaining(plan.space.size(), plan.shard, s),
        None => Cursor::shard_len(plan.space.size(), plan.shard),
    };
    stats.total.store(todo, Relaxed);
    let meta = ScanMeta {
        scanner: "synsweep",
        version: env!("CARGO_PKG_VERSION"),
        args: std::iter::once("synsweep".to_string())
            .chain(plan.argv.iter().cloned())
            .collect(),
        start: unix_now(),
        scan_type: match plan.engine {
            Engine::Raw => "syn",
            Engine::Connect => "connect",
        },
        ports: plan.space.ports().describe(),
        port_count: plan.space.ports().len(),
        hosts: plan.space.hosts(),
        seed: plan.seed,
        shard: format!("{}/{}", plan.shard.index, plan.shard.count),
    };
    let out_cfg = OutputConfig {
        show_closed: cli.show_closed,
        json: cli.output_json.as_deref().map(Dest::parse),
        ndjson: cli.output_ndjson.as_deref().map(Dest::parse),
        grepable: cli.output_grepable.as_deref().map(Dest::parse),
        xml: cli.output_xml.as_deref().map(Dest::parse),
        status_json: cli.status_json.clone(),
        progress_on_terminal: !cli.quiet && std::io::stderr().is_terminal(),
        append_ndjson: resumed,
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    let output = OutputThread::start(&out_cfg, meta, rx, stats.clone(), plan.carried.clone())?;
    let ctx = EngineContext {
        space: plan.space.clone(),
        names: plan.names.clone(),
        stats: stats.clone(),
        events: tx,
        stop: stop.clone(),
    };
    let started = Instant::now();
    let state = run_engine(&plan, cursor, &ctx)?;
    drop(ctx);
    // Complete means nothing is left to do, however the run ended: a stop that lands after
    // the last target finished leaves no resume point to save.
    let complete = state.pending.is_empty() && state.next_position >= plan.space.size();
    let figures = Figures::read(&stats, started.elapsed().as_secs_f64());
    let store = output.finish(Summary {
        figures: figures.clone(),
        complete,
    })?;
    let mut resume_saved = None;
    if !complete {
        let point = ResumePoint {
            synsweep_resume: FORMAT,
            argv: plan.argv.clone(),
            seed: plan.seed,
            shard: plan.shard,
            ranges: plan
                .space
                .set()
                .ranges()
                .iter()
                .map(|r| r.to_string())
                .collect(),
            ports: plan.space.ports().describe(),
            names: plan.names.clone().into_iter().collect(),
            state,
            results: store.events().collect(),
        };
        point.save(&cli.resume_file)?;
        resume_saved = Some(cli.resume_file.clone());
    }
    Ok(Finished {
        complete,
        figures,
        resume_saved,
    })
}

fn remaining(size: u64, shard: Shard, s: &CursorState) -> u64 {
    let fresh = if s.next_position >= size {
        0
    } else {
        (size - s.next_position).div_ceil(shard.count)
    };
    fresh + s.pending.len() as u64
}

fn run_engine(plan: &Plan, cursor: Cursor, ctx: &EngineContext) -> Result<CursorState> {
    let cli = &plan.cli;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Os("cannot start the async runtime", e))?;
    let stop = ctx.stop.clone();
    let quiet = cli.quiet;
    let timeout = cli.timeout;
    rt.spawn(async move { watch_signals(stop, quiet, timeout).await });
    match plan.engine {
        Engine::Connect => {
            // Raised whether or not the window was given: every attempt holds a descriptor.
            let nofile = crate::limits::raise_nofile_limit();
            let opts = ConnectOptions {
                timeout: cli.timeout,
                retries: cli.retries,
                max_inflight: cli
                    .max_inflight
                    .map_or_else(|| crate::limits::default_inflight(nofile), |n| n as usize),
                per_host: cli.max_per_host,
                rate: cli.rate,
            };
            Ok(rt.block_on(connect::run(Arc::new(KernelConnector), cursor, ctx, &opts)))
        }
        // choose_engine only picks Raw when RAW_ENGINE_BUILT; never run a different scan than
        // the one chosen.
        Engine::Raw => Err(Error::Refused(
            "the raw-packet engine is not built into this binary".into(),
        )),
    }
}

/// First Ctrl-C / SIGTERM: graceful stop. Second: abort.
async fn watch_signals(stop: StopSignal, quiet: bool, timeout: std::time::Duration) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        #[cfg(unix)]
        let terminated = async {
            match term.as_mut() {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_err() { return },
            _ = terminated => {},
        }
        let level = stop.escalate();
        if !quiet {
            // The one message not routed through the output thread: it must show at once.
            match level {
                StopLevel::Graceful => eprintln!(
                    "\r\x1b[2Ksynsweep: stopping: no new probes; waiting up to {:.1}s for those in flight (Ctrl-C again to stop now)",
                    timeout.as_secs_f64()
                ),
                _ => eprintln!("\r\x1b[2Ksynsweep: stopping now"),
            }
        }
    }
}
