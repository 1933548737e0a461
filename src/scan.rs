//! From a command line to a finished (or saved) scan: plan, run, save.

use crate::banners::{BannerConfig, BannerStage};
use crate::cli::{Cli, ScanTypeArg};
use crate::cursor::{Cursor, CursorState, Shard};
use crate::engine::EngineContext;
use crate::engine::connect::{self, ConnectOptions};
use crate::engine::connector::KernelConnector;
use crate::engine::ping_socket::PingSocketConnector;
use crate::engine::raw::launch::{self, Backend, LaunchOptions};
use crate::engine::raw::{RawOptions, Walk};
use crate::engine::udp_connector::UdpConnector;
use crate::error::{Error, Result};
use crate::event::{Event, Proto, Stats, unix_now};
use crate::link::setup::{LinkPlan, Overrides};
use crate::names::cache::NameCache;
use crate::names::{self, Mode as NameMode, NameStage, StageConfig};
use crate::output::meta::{Figures, ScanMeta, Summary};
use crate::output::{Dest, OutputConfig, OutputThread};
use crate::ports::{PortList, parse_ports, presets};
use crate::privilege::{Engine, Privilege, TCP_PING_PORTS, choose_engine};
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
use std::time::Duration;
use std::time::Instant;

/// The connect engine's window: the descriptors the limit allows, less those the banner stage
/// may hold at once beside it (a grab short of descriptors would lose its banner).
fn default_window(cli: &Cli, nofile: u64) -> usize {
    let banners = if wants_banners(cli) {
        cli.banner_concurrency
    } else {
        0
    };
    crate::limits::default_inflight(nofile.saturating_sub(banners))
}

/// What a banner keeps of a service's bytes.
const BANNER_BYTES: usize = 1024;

/// Banners with `--banners`, and for AI services whenever the `ai` preset is scanned.
fn wants_banners(cli: &Cli) -> bool {
    cli.banners
        || cli
            .ports
            .as_deref()
            .is_some_and(|p| p.split(',').any(|i| i.trim() == "ai"))
}

/// Reverse-DNS workers: lookups block in the system resolver, so several run at once.
const NAME_WORKERS: usize = 16;
/// After the scan, the longest wait for names still being looked up.
const NAME_LINGER: Duration = Duration::from_secs(2);
/// `-R` looks up every target host up to this many (a /12); beyond, use the default.
const RESOLVE_ALL_LIMIT: u64 = 1 << 20;

fn name_mode(cli: &Cli) -> NameMode {
    if cli.no_resolve {
        NameMode::Never
    } else if cli.resolve_all {
        NameMode::All
    } else {
        NameMode::Answered
    }
}

/// Is there a raw-packet engine in this build? (Linux AF_PACKET; other systems need the pcap
/// backend.)
pub const RAW_ENGINE_BUILT: bool = cfg!(any(target_os = "linux", feature = "pcap"));

/// Raw scans without `--rate`: about 12 Mbit/s of SYNs, the order of ZMap's default; fast on a
/// LAN or in a lab, gentle on a home uplink. `--rate` goes as high as the path carries.
pub const DEFAULT_RAW_RATE: u64 = 20_000;

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
    /// The raw engine's link (None for connect scans and the offline benchmark).
    pub route: Option<LinkPlan>,
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
        _ if is_sweep(&cli) => {
            if cli.ports.is_some() || cli.top_ports.is_some() {
                return Err(Error::BadOption(
                    "-sn",
                    "a host sweep scans no ports; drop -p/--top-ports".into(),
                ));
            }
            PortList::new(Vec::new())
        }
        (_, Some(n)) => PortList::new(presets::top_ports(n, proto(&cli), nmap)?),
        (Some(p), None) => parse_ports(p, proto(&cli), nmap)?,
        (None, None) => parse_ports("top1000", proto(&cli), nmap)?,
    };
    if cli.resolve_all && t.set.count() > u128::from(RESOLVE_ALL_LIMIT) {
        return Err(Error::BadOption(
            "-R",
            format!(
                "looks up every target, at most {RESOLVE_ALL_LIMIT} hosts; names of hosts that answer are looked up without it"
            ),
        ));
    }
    let (engine, notice) = pick_engine(&cli, privilege)?;
    let mut notices = t.notices;
    notices.extend(notice);
    let engine = avoid_loopback(&cli, &t.set, engine, &mut notices)?;
    let space = build_space(&cli, t.set, ports, engine, &mut notices)?;
    let route = plan_route(&cli, &space, engine, &mut notices)?;
    Ok(Plan {
        route,
        seed: cli.seed.unwrap_or_else(rand::random),
        shard: cli.shard.unwrap_or(Shard::WHOLE),
        cli,
        argv,
        space,
        names: t.names,
        resume: None,
        carried: Vec::new(),
        notices,
        engine,
    })
}

/// The transport the scan's ports are probed over.
fn proto(cli: &Cli) -> Proto {
    if cli.scan_type == Some(ScanTypeArg::Udp) {
        Proto::Udp
    } else {
        Proto::Tcp
    }
}

/// `-sn`: a space of no ports and an echo slot: just the hosts.
fn is_sweep(cli: &Cli) -> bool {
    cli.scan_type == Some(ScanTypeArg::Ping)
}

/// The index space: the ports, plus the echo slot where pings are sent; a sweep without raw
/// packets connects to `TCP_PING_PORTS` instead.
fn build_space(
    cli: &Cli,
    set: RangeSet,
    ports: PortList,
    engine: Engine,
    notices: &mut Vec<String>,
) -> Result<TargetSpace> {
    if is_sweep(cli) && engine == Engine::Connect {
        return TargetSpace::new(set, PortList::new(TCP_PING_PORTS.to_vec()));
    }
    let echo = echo_slot(cli, engine, notices);
    Ok(TargetSpace::with_echo(set, ports, echo)?.with_proto(proto(cli)))
}

/// Whether every host also gets an echo request: always in a sweep; with `--ping` (-PE) when
/// the raw engine runs (the connect engine has no pings: it says so and scans the ports).
fn echo_slot(cli: &Cli, engine: Engine, notices: &mut Vec<String>) -> bool {
    if is_sweep(cli) {
        return true;
    }
    if cli.ping && engine != Engine::Raw {
        notices.push("--ping needs raw packets; scanning the ports without pinging".into());
        return false;
    }
    cli.ping
}

fn backend(cli: &Cli) -> Backend {
    if cli.offline {
        Backend::Offline
    } else if cli.dry_run {
        Backend::DryRun
    } else {
        Backend::Live
    }
}

/// Linux drops packets to 127.0.0.0/8 that arrive without a route attached (raw frames
/// injected on `lo` are "martians" unless `route_localnet` is set), so a raw scan of the
/// loopback block would see nothing: a connect scan answers the same question exactly.
fn avoid_loopback(
    cli: &Cli,
    set: &RangeSet,
    engine: Engine,
    notices: &mut Vec<String>,
) -> Result<Engine> {
    let loopback = set
        .ranges()
        .first()
        .is_some_and(|r| matches!(r.addr(0), IpAddr::V4(a) if a.is_loopback()));
    if engine != Engine::Raw || !loopback || cli.offline || cli.dry_run {
        return Ok(engine);
    }
    let why = "raw packets cannot reach 127.0.0.0/8 (Linux drops them as martians)";
    if cli.privileged_only {
        return Err(Error::Refused(format!("{why}; use -sT for this machine")));
    }
    notices.push(if is_sweep(cli) {
        format!("{why}; host discovery by TCP connect instead")
    } else if proto(cli) == Proto::Udp {
        format!("{why}; using connected UDP sockets")
    } else {
        format!("{why}; using TCP connect scan")
    });
    Ok(Engine::Connect)
}

/// The link for a raw scan, planned before anything starts so that a missing route or an
/// unanswered ARP request is a clear error, not an empty scan.
fn plan_route(
    cli: &Cli,
    space: &TargetSpace,
    engine: Engine,
    notices: &mut Vec<String>,
) -> Result<Option<LinkPlan>> {
    if engine != Engine::Raw {
        return Ok(None);
    }
    if cli.pcap && !cfg!(feature = "pcap") {
        return Err(Error::BadOption(
            "--pcap",
            "this build has no libpcap backend; build with --features pcap".into(),
        ));
    }
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(Error::Refused(format!(
            "the raw engine scans IPv4 only; scan IPv6 targets such as {ip} with -sT"
        ))),
    };
    let mut ranges = Vec::new();
    for r in space.set().ranges() {
        let (a, b) = (v4(r.addr(0))?, v4(r.addr(r.last - r.first))?);
        ranges.push((a, b));
    }
    if cli.offline {
        return Ok(None);
    }
    let overrides = Overrides {
        interface: cli.interface.clone(),
        source_ip: cli.source_ip,
        router_mac: cli.router_mac,
    };
    let r = launch::route(&ranges, &overrides, backend(cli))?;
    notices.extend(r.notices);
    Ok(Some(r.plan))
}

fn pick_engine(cli: &Cli, privilege: Privilege) -> Result<(Engine, Option<String>)> {
    if cli.offline || cli.dry_run {
        let flag = if cli.offline {
            "--offline"
        } else {
            "--dry-run"
        };
        if cli.scan_type == Some(ScanTypeArg::Connect) {
            return Err(Error::BadOption(
                flag,
                "crafts raw probes; a connect scan (-sT) has none".into(),
            ));
        }
        // Nothing is sent, so no privilege is needed.
        return Ok((Engine::Raw, None));
    }
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
    let ports = if is_sweep(&cli) {
        PortList::new(Vec::new())
    } else {
        parse_ports(&saved.ports, proto(&cli), Path::new("/nonexistent"))?
    };
    let set = RangeSet::from_ranges(ranges);
    let (engine, notice) = pick_engine(&cli, privilege)?;
    let mut notices: Vec<String> = notice.into_iter().collect();
    let engine = avoid_loopback(&cli, &set, engine, &mut notices)?;
    let space = build_space(&cli, set, ports, engine, &mut notices)?;
    saved.check_fits(path, space.size())?;
    let route = plan_route(&cli, &space, engine, &mut notices)?;
    Ok(Plan {
        route,
        argv: saved.argv,
        space,
        names: saved.names.into_iter().collect(),
        seed: saved.seed,
        shard: saved.shard,
        resume: Some(saved.state),
        carried: saved.results,
        notices,
        engine,
        cli,
    })
}

pub struct Finished {
    pub complete: bool,
    pub figures: Figures,
    pub resume_saved: Option<std::path::PathBuf>,
    /// What ended the scan early, if something failed while it ran (the results so far and
    /// the resume point are saved all the same).
    pub failure: Option<String>,
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
            _ if proto(cli) == Proto::Udp => "udp",
            Engine::Raw | Engine::PingSocket if is_sweep(cli) => "ping",
            Engine::Raw => "syn",
            Engine::Connect | Engine::PingSocket => "connect",
        },
        ports: if is_sweep(cli) {
            String::new()
        } else {
            plan.space.ports().describe()
        },
        port_count: if is_sweep(cli) {
            0
        } else {
            plan.space.ports().len()
        },
        hosts: plan.space.hosts(),
        seed: plan.seed,
        shard: format!("{}/{}", plan.shard.index, plan.shard.count),
        resumed,
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
    let (tx, engine_rx) = crossbeam_channel::unbounded();
    let (banners_tx, banners_rx) = crossbeam_channel::unbounded();
    let (names_tx, rx) = crossbeam_channel::unbounded();
    let output = OutputThread::start(&out_cfg, meta, rx, stats.clone(), plan.carried.clone())?;
    let banners = BannerStage::start(
        BannerConfig {
            enabled: wants_banners(cli),
            concurrency: cli.banner_concurrency as usize,
            connect_timeout: cli.banner_connect_timeout,
            read_timeout: cli.banner_read_timeout,
            keep_bytes: BANNER_BYTES,
            names: plan.names.clone(),
        },
        engine_rx,
        banners_tx,
        stop.clone(),
    );
    let mode = name_mode(cli);
    let names = NameStage::start(
        StageConfig {
            mode,
            workers: NAME_WORKERS,
            lookup: names::system_lookup(),
            all_hosts: if mode == NameMode::All {
                (0..plan.space.hosts())
                    .map(|h| plan.space.host(h))
                    .collect()
            } else {
                Vec::new()
            },
            linger: NAME_LINGER,
            cache: NameCache::load(
                names::cache::default_path().filter(|_| mode != NameMode::Never),
                unix_now() as u64,
            ),
            fast: (mode != NameMode::Never)
                .then(names::ptr::PtrClient::from_system)
                .flatten(),
        },
        banners_rx,
        names_tx,
    );
    let ctx = EngineContext {
        space: plan.space.clone(),
        names: plan.names.clone(),
        stats: stats.clone(),
        events: tx,
        stop: stop.clone(),
    };
    let started = Instant::now();
    let (state, failure) = run_engine(&plan, cursor, &ctx)?;
    drop(ctx);
    banners.finish();
    names.finish();
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
        failure,
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

/// Runs the chosen engine; returns where it stood and, if it failed part-way, why.
fn run_engine(
    plan: &Plan,
    cursor: Cursor,
    ctx: &EngineContext,
) -> Result<(CursorState, Option<String>)> {
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
        Engine::Connect | Engine::PingSocket => {
            // Raised whether or not the window was given: every attempt holds a descriptor.
            let nofile = crate::limits::raise_nofile_limit();
            let opts = ConnectOptions {
                timeout: cli.timeout,
                retries: cli.retries,
                max_inflight: cli
                    .max_inflight
                    .map_or_else(|| default_window(cli, nofile), |n| n as usize),
                per_host: cli.max_per_host,
                rate: cli.rate,
                hosts_only: is_sweep(cli),
            };
            let state = if plan.engine == Engine::PingSocket {
                rt.block_on(connect::run(
                    Arc::new(PingSocketConnector),
                    cursor,
                    ctx,
                    &opts,
                ))
            } else if plan.space.proto() == Proto::Udp {
                rt.block_on(connect::run(Arc::new(UdpConnector), cursor, ctx, &opts))
            } else {
                rt.block_on(connect::run(Arc::new(KernelConnector), cursor, ctx, &opts))
            };
            Ok((state, None))
        }
        Engine::Raw => {
            let opts = raw_options(cli, plan.seed);
            // The signal watcher keeps running on the runtime while the raw threads work.
            // The raw engine splits the shard between its sender threads itself.
            drop(cursor);
            let walk = Walk {
                size: plan.space.size(),
                seed: plan.seed,
                shard: plan.shard,
                resume: plan.resume.clone(),
            };
            let outcome = launch::launch(&opts, plan.route.as_ref(), &walk, ctx)?;
            let c = &outcome.counters;
            ctx.stats.forged.store(c.forged, Relaxed);
            ctx.stats.duplicates.store(c.duplicates, Relaxed);
            let failure = outcome
                .failure
                .map(|e| format!("the raw engine stopped: {e}"));
            Ok((outcome.state, failure))
        }
    }
}

/// One sender per core, up to four: on links whose receive work runs in the sender's softirq
/// (veth, NICs without offload) a second sender took the lab's /16 × 5 from ~110k to ~170k
/// probes/s.
fn default_senders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn raw_options(cli: &Cli, seed: u64) -> LaunchOptions {
    let backend = backend(cli);
    let live = backend == Backend::Live;
    LaunchOptions {
        backend,
        seed,
        source_ports: cli.source_port,
        ttl: cli.ttl,
        senders: cli
            .sender_threads
            .map_or_else(default_senders, |n| n as usize),
        pcap: cli.pcap,
        raw: RawOptions {
            rate: if live {
                Some(cli.rate.unwrap_or(DEFAULT_RAW_RATE))
            } else {
                cli.rate
            },
            // Nothing answers a dry run or the benchmark: one pass, no waiting.
            retries: if live { cli.retries } else { 0 },
            timeout: cli.timeout,
            wait: if live {
                cli.wait.unwrap_or(cli.timeout)
            } else {
                std::time::Duration::ZERO
            },
            batch: 64,
            // -oX counts the ports it does not list (<extraports>), so it needs them too.
            report_silent: (cli.show_closed || cli.output_xml.is_some()) && live,
            listening: live,
            // The launcher sets the real count.
            senders: 1,
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::range::IpRange;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(crate::cli::normalize_args(
            std::iter::once("synsweep")
                .chain(args.iter().copied())
                .map(String::from),
        ))
        .unwrap()
    }

    fn space(net: &str) -> RangeSet {
        RangeSet::from_ranges(vec![IpRange::from_net(net.parse().unwrap())])
    }

    #[test]
    fn loopback_targets_never_get_a_raw_scan_that_cannot_see_them() {
        let mut notes = Vec::new();
        let lo = space("127.0.0.1/32");
        let got = avoid_loopback(&cli(&["-sS", "x"]), &lo, Engine::Raw, &mut notes);
        assert_eq!(got.unwrap(), Engine::Connect);
        assert!(notes[0].contains("127.0.0.0/8"), "{notes:?}");
        let sweep = avoid_loopback(&cli(&["-sn", "x"]), &lo, Engine::Raw, &mut notes);
        assert_eq!(sweep.unwrap(), Engine::Connect);
        let only = cli(&["-sS", "--privileged-only", "x"]);
        assert!(avoid_loopback(&only, &lo, Engine::Raw, &mut notes).is_err());
        // A dry run sends nothing, so it may show loopback probes; other targets are untouched.
        let dry = avoid_loopback(&cli(&["--dry-run", "x"]), &lo, Engine::Raw, &mut notes);
        assert_eq!(dry.unwrap(), Engine::Raw);
        let lab = space("198.18.0.0/24");
        let raw = avoid_loopback(&cli(&["-sS", "x"]), &lab, Engine::Raw, &mut notes);
        assert_eq!(raw.unwrap(), Engine::Raw);
    }
}
