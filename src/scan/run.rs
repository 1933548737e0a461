//! Running a planned scan: the output thread, the post stages (banners, names), the engine,
//! and at the end the documents and, when something is left, the resume point.

use super::Scan;
use super::engine::run_engine;
use super::plan::scan_type_name;
use crate::banners::{BannerConfig, BannerStage};
use crate::config::{Format, ScanConfig};
use crate::cursor::{Cursor, CursorState, Shard};
use crate::engine::EngineContext;
use crate::engine::report::Reporter;
use crate::error::{Error, Result};
use crate::event::{Event, Listing, Stats, unix_now};
use crate::names::cache::NameCache;
use crate::names::{self, Mode as NameMode, NameStage, StageConfig};
use crate::nmap::{NmapConfig, NmapStage, Report as NmapReport};
use crate::output::meta::{Figures, ScanMeta, Summary};
use crate::output::stdout::StdoutGuard;
use crate::output::{Dest, OutputConfig, OutputThread, Results, SavePoint, Saver};
use crate::resume::{FORMAT, NdjsonMark, ResumePoint};
use crate::resume_file::ResumeFile;
use crate::stop::StopSignal;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// What a banner keeps of a service's bytes.
const BANNER_BYTES: usize = 1024;
/// Reverse-DNS workers: lookups block in the system resolver, so several run at once.
const NAME_WORKERS: usize = 16;
/// After the scan, the longest wait for names still being looked up.
const NAME_LINGER: Duration = Duration::from_secs(2);
/// How often the running scan saves its resume point: what a kill -9 can lose.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
/// Events between the engine and the banner stage. The engine is held back at half of it
/// (`engine::pressure`): 8,192 events, 40 ms of the fastest stream seen (200k answers/s), so
/// a stage that keeps up is never in the way; the other half is room for the answers of the
/// probes already out when the hold begins. 112 bytes a slot, allocated at once: 1.8 MB.
const ENGINE_EVENTS: usize = 16_384;
/// Events between two later stages: the output thread drains every 5 ms, 1,000 events at
/// 200k/s, so this is slack of 40 ms; 0.9 MB each.
const STAGE_EVENTS: usize = 8_192;

pub struct Finished {
    pub complete: bool,
    pub figures: Figures,
    pub resume_saved: Option<std::path::PathBuf>,
    /// What ended the scan early, if something failed while it ran (the results so far and
    /// the resume point are saved all the same).
    pub failure: Option<String>,
    /// Standard output's reader went away (EPIPE), which stopped the scan as Ctrl-C would.
    pub stdout_closed: bool,
    /// How the hand-off to nmap went (`--nmap`).
    pub nmap: Option<NmapReport>,
}

/// Runs the scan to the end or to a stop; saves a resume point when stopped.
pub fn run(scan: Scan, stop: StopSignal) -> Result<Finished> {
    let Scan {
        config,
        plan,
        resume,
        spill,
        carried_figures,
        ndjson,
        resume_lock,
        checkpoints,
        link,
        nmap,
    } = scan;
    // SIGINT, SIGTERM, SIGHUP, SIGQUIT, from the first probe to the last post stage.
    let signals = super::signals::watch(stop.clone(), config.output.quiet, config.timing.timeout)
        .map_err(|e| Error::Os("cannot start the signal watcher", e))?;
    // Before any output is opened: a file of another, unfinished scan is never overwritten.
    let resume_file = ResumeFile::claim(&config.resume_file, resume_lock)?;
    let space = &plan.space;
    let stats = Arc::new(Stats::default());
    let todo = match &resume {
        Some(s) => remaining(space.size(), config.shard, s),
        None => Cursor::shard_len(space.size(), config.shard),
    };
    stats.total.store(todo, Relaxed);
    let sweep = config.probes.is_sweep();
    let meta = ScanMeta {
        scanner: "synsweep",
        version: env!("CARGO_PKG_VERSION"),
        args: std::iter::once("synsweep".to_string())
            .chain(config.command_line.iter().cloned())
            .collect(),
        start: unix_now(),
        scan_type: scan_type_name(&config, plan.engine),
        ports: if sweep {
            String::new()
        } else {
            space.ports().describe()
        },
        port_count: if sweep { 0 } else { space.ports().len() },
        hosts: space.hosts(),
        seed: config.seed,
        shard: format!("{}/{}", config.shard.index, config.shard.count),
        resumed: resume.is_some(),
    };
    let out = &config.output;
    let listing = Listing {
        show_closed: out.show_closed,
        // -oX counts the ports it does not list (<extraports>), so it needs them too.
        count_unlisted: out.dest(Format::Xml).is_some(),
        hosts_only: sweep,
    };
    let terminal = !out.quiet && std::io::stderr().is_terminal();
    let out_cfg = OutputConfig {
        listing,
        files: out.files.clone(),
        status_json: out.status_json.clone(),
        progress_on_terminal: terminal,
        live_results: terminal || (!out.quiet && out.verbose > 0),
        notices: !out.quiet,
        append_streams: resume.is_some(),
        // Cut back only the file the checkpoint measured.
        truncate_ndjson: ndjson
            .filter(|m| matches!(out.dest(Format::Ndjson), Some(Dest::File(p)) if *p == m.path))
            .map(|m| m.len),
        stdout: StdoutGuard::new(stop.clone()),
    };
    let stdout = out_cfg.stdout.clone();
    let names = Arc::new(config.targets.names.clone());
    // Every queue is bounded: a slow stage blocks the one before it, back to the engine,
    // which is then held (it never blocks where it receives answers).
    let (tx, engine_rx) = crossbeam_channel::bounded(ENGINE_EVENTS);
    let (banners_tx, banners_rx) = crossbeam_channel::bounded(STAGE_EVENTS);
    let (names_tx, rx) = crossbeam_channel::bounded(STAGE_EVENTS);
    let (nmap_tx, nmap_rx) = crossbeam_channel::bounded(STAGE_EVENTS);
    let (log, carried) = super::results::open(
        &config,
        spill.as_ref(),
        checkpoints,
        out_cfg.wants_documents(),
    )?;
    let nmap = nmap
        .zip(config.nmap.as_ref())
        .map(|(program, o)| NmapConfig {
            program,
            args: o.args.clone(),
            parallel: o.parallel as usize,
            seeds: carried.nmap_seeds,
        });
    let saver = checkpoints.then(|| resume_saver(&config, resume_file, carried_figures.clone()));
    let report = Reporter::new(names.clone(), stats.clone(), tx.clone(), listing)
        .with_all_open_threshold(config.all_open_threshold);
    // Hosts the first run found answering everything stay so: none of their ports is listed.
    for ip in carried.seen.answers_all() {
        if let Some(h) = space.host_index(ip) {
            report.answers_all().insert(h);
        }
    }
    let output = OutputThread::start(
        &out_cfg,
        meta,
        rx,
        stats.clone(),
        Results {
            log,
            seen: carried.seen,
        },
        stop.clone(),
        saver,
    )?;
    // The first checkpoint, at once: from now on a kill -9 leaves a resume file.
    let start = resume.clone().unwrap_or(CursorState {
        next_position: config.shard.index - 1,
        pending: Vec::new(),
    });
    let _ = tx.send(Event::Checkpoint(Box::new(start)));
    // From here only the reporter sends: the stages end when the engine drops it.
    drop(tx);
    let b = &config.banners;
    let banners = BannerStage::start(
        BannerConfig {
            enabled: b.enabled,
            concurrency: b.concurrency as usize,
            connect_timeout: b.connect_timeout,
            read_timeout: b.read_timeout,
            keep_bytes: BANNER_BYTES,
            names: config.targets.names.clone(),
        },
        engine_rx,
        banners_tx,
        stop.clone(),
    );
    let nmap_stage = NmapStage::start(nmap, banners_rx, nmap_tx, stop.clone());
    let names_stage = start_names(&config, space, nmap_rx, names_tx, stop.clone());
    let ctx = EngineContext {
        space: space.clone(),
        report,
        stats: stats.clone(),
        stop: stop.clone(),
        checkpoint_every: Some(CHECKPOINT_EVERY),
    };
    let started = Instant::now();
    let (state, failure) = run_engine(&config, &plan, link, resume, &ctx)?;
    drop(ctx);
    banners.finish();
    let nmap = nmap_stage.finish();
    names_stage.finish();
    // Complete means nothing is left to do and no signal cut the run short: a stop during
    // the banners, names or nmap stages leaves them unfinished, so it is saved (and exits
    // 130) like a stop while scanning; resuming it finds every probe done and completes.
    let complete =
        state.pending.is_empty() && state.next_position >= space.size() && !signals.signalled.any();
    let figures = Figures::read(&stats, started.elapsed().as_secs_f64());
    // Documents count the whole scan, earlier runs included; the line on stderr this run.
    let whole = carried_figures.plus(&figures);
    // The output thread saves the resume point before it finishes the documents.
    let end = output.finish(
        Summary {
            figures: whole,
            complete,
        },
        Some(state),
    )?;
    let failure = match (failure, end.write_error) {
        (Some(f), _) => Some(f),
        (None, Some(e)) => Some(e.to_string()),
        (None, None) => None,
    };
    if let Some(e) = end.save_error {
        return Err(e);
    }
    let resume_saved = (!complete && checkpoints).then(|| config.resume_file.clone());
    Ok(Finished {
        complete,
        figures,
        resume_saved,
        failure,
        stdout_closed: stdout.is_closed(),
        nmap,
    })
}

/// Saves resume points to the claimed file: each checkpoint, and at the end the last one —
/// or, for a complete scan, the mark that it is complete (when the file is the one this run
/// continued, and so known to whoever runs it) or nothing at all (its checkpoints removed).
fn resume_saver(config: &ScanConfig, mut file: ResumeFile, before: Figures) -> Saver {
    let config = config.clone();
    Box::new(move |at: SavePoint<'_>| {
        let complete = at.end == Some(true);
        if complete && !file.resumes_it() {
            return file.remove();
        }
        let ndjson = match (config.output.dest(Format::Ndjson), at.ndjson_len) {
            (Some(Dest::File(path)), Some(len)) => Some(NdjsonMark {
                path: path.clone(),
                len,
            }),
            _ => None,
        };
        let point = ResumePoint {
            synsweep_resume: FORMAT,
            config: config.clone(),
            state: at.state.clone(),
            complete,
            ndjson,
            spill: at.spill,
            figures: before.plus(&at.figures),
        };
        file.save(&point)
    })
}

fn start_names(
    config: &ScanConfig,
    space: &crate::space::TargetSpace,
    input: crossbeam_channel::Receiver<crate::event::Event>,
    output: crossbeam_channel::Sender<crate::event::Event>,
    stop: StopSignal,
) -> NameStage {
    let mode = config.names;
    NameStage::start(
        StageConfig {
            mode,
            workers: NAME_WORKERS,
            lookup: names::system_lookup(),
            all_hosts: if mode == NameMode::All {
                every_host(space.clone())
            } else {
                Box::new(std::iter::empty())
            },
            linger: NAME_LINGER,
            cache: NameCache::load(
                names::cache::default_path().filter(|_| mode != NameMode::Never),
                unix_now() as u64,
            ),
            fast: (mode != NameMode::Never)
                .then(names::ptr::PtrClient::from_system)
                .flatten(),
            stop,
        },
        input,
        output,
    )
}

/// `-R`: every target host the scan probes, walked on demand (no list of them is kept).
fn every_host(space: crate::space::TargetSpace) -> names::Walk {
    Box::new((0..space.hosts()).filter_map(move |h| {
        let ip = space.host(h);
        (!space.skips(ip)).then_some(ip)
    }))
}

fn remaining(size: u64, shard: Shard, s: &CursorState) -> u64 {
    let fresh = if s.next_position >= size {
        0
    } else {
        (size - s.next_position).div_ceil(shard.count)
    };
    fresh + s.pending.len() as u64
}
