//! From a parsed command line to a `ScanConfig`: files read, names resolved, ports expanded,
//! every cross-option rule checked, once.

use super::timing::Asked;
use super::{
    BannerOptions, ConnectLimits, EngineRequest, Format, LinkOptions, NmapOptions, OutputFile,
    Outputs, Probes, RateMode, ScanConfig, Targets, Timing,
};
use crate::cli::{Cli, RateModeArg, ScanTypeArg, SourcePortRange};
use crate::cursor::Shard;
use crate::error::{Error, Result};
use crate::link::Backend;
use crate::names::Mode as NameMode;
use crate::output::Dest;
use crate::packet::cookie::SourcePorts;
use crate::ports::{PortList, parse_ports, presets};
use crate::privilege::ScanType;
use crate::targets::{self, Listed, Resolver};
use std::path::Path;

/// `-R` looks up every target host up to this many (a /12); beyond, use the default.
pub const RESOLVE_ALL_LIMIT: u64 = 1 << 20;

/// What building a configuration reads from the world: names and nmap's port ranking.
pub struct Inputs<'a> {
    pub resolve: Resolver<'a>,
    pub nmap_services: &'a Path,
}

impl Inputs<'static> {
    pub fn system() -> Inputs<'static> {
        Inputs {
            resolve: &targets::system_resolver,
            nmap_services: Path::new(presets::NMAP_SERVICES),
        }
    }
}

impl From<ScanTypeArg> for ScanType {
    fn from(a: ScanTypeArg) -> ScanType {
        match a {
            ScanTypeArg::Syn => ScanType::Syn,
            ScanTypeArg::Connect => ScanType::Connect,
            ScanTypeArg::Ping => ScanType::Ping,
            ScanTypeArg::Udp => ScanType::Udp,
        }
    }
}

pub fn build(cli: &Cli, command_line: Vec<String>, inputs: &Inputs) -> Result<ScanConfig> {
    let probes = probes(cli, inputs)?;
    let targets = targets(cli, inputs)?;
    if cli.resolve_all && targets.ranges.count() > u128::from(RESOLVE_ALL_LIMIT) {
        return Err(Error::BadOption(
            "-R",
            format!(
                "looks up every target, at most {RESOLVE_ALL_LIMIT} hosts; names of hosts that answer are looked up without it"
            ),
        ));
    }
    Ok(ScanConfig {
        targets,
        engine: engine(cli)?,
        timing: timing(cli)?,
        connect: ConnectLimits {
            max_inflight: cli.max_inflight,
            max_per_host: cli.max_per_host,
            host_timeout: cli.host_timeout,
        },
        link: LinkOptions {
            interface: cli.interface.clone(),
            source_ip: cli.source_ip,
            source_mac: cli.source_mac,
            router_mac: cli.router_mac,
            ttl: cli.ttl,
            source_ports: source_ports(cli.source_port),
            sender_threads: cli.sender_threads,
        },
        banners: BannerOptions {
            enabled: wants_banners(cli),
            connect_timeout: cli.banner_connect_timeout,
            read_timeout: cli.banner_read_timeout,
            concurrency: cli.banner_concurrency,
        },
        nmap: nmap_options(cli, &probes)?,
        names: name_mode(cli),
        all_open_threshold: cli.all_open_threshold,
        output: outputs(cli)?,
        seed: cli.seed.unwrap_or_else(rand::random),
        shard: cli.shard.unwrap_or(Shard::WHOLE),
        resume_file: cli
            .resume_file
            .clone()
            .unwrap_or_else(crate::resume_file::default_name),
        resume_file_default: cli.resume_file.is_none(),
        probes,
        command_line,
        notes: habit_notes(cli),
    })
}

fn targets(cli: &Cli, inputs: &Inputs) -> Result<Targets> {
    let mut includes =
        Listed::from_tokens(cli.targets.iter().flat_map(|t| targets::split_tokens(t)));
    if let Some(f) = &cli.input_list {
        includes.add(targets::read_list_file(f)?);
    }
    if includes.is_empty() {
        return Err(Error::Empty(
            "no targets: name some, or read them with -iL FILE".into(),
        ));
    }
    let excludes = exclude_list(cli)?;
    let t = targets::build_listed(includes, excludes, inputs.resolve)?;
    Ok(Targets {
        ranges: t.set,
        excludes: t.excluded,
        special_named: t.special_named,
        names: t.names,
    })
}

/// `--exclude` and `--excludefile`.
pub fn exclude_list(cli: &Cli) -> Result<Listed> {
    let mut excludes =
        Listed::from_tokens(cli.exclude.iter().flat_map(|t| targets::split_tokens(t)));
    for f in &cli.excludefile {
        excludes.add(targets::read_list_file(f)?);
    }
    Ok(excludes)
}

fn scan_type(cli: &Cli) -> Result<Option<ScanType>> {
    let mut kinds: Vec<ScanType> = cli.scan_type.iter().map(|&k| k.into()).collect();
    kinds.dedup();
    match kinds[..] {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ if kinds.contains(&ScanType::Udp) => Err(Error::BadOption(
            "-sU",
            "TCP and UDP in one scan are not supported yet; run the TCP and the UDP scan one after the other".into(),
        )),
        _ => Err(Error::BadOption(
            "-s",
            "one scan type at a time (-sS, -sT, -sU or -sn)".into(),
        )),
    }
}

fn probes(cli: &Cli, inputs: &Inputs) -> Result<Probes> {
    let scan = scan_type(cli)?;
    let proto = Probes {
        scan,
        ports: PortList::new(Vec::new()),
        echo: false,
    }
    .proto();
    let sweep = scan == Some(ScanType::Ping);
    let asked = cli.ports.is_some() || cli.top_ports.is_some() || cli.fast;
    if sweep {
        if asked {
            return Err(Error::BadOption(
                "-sn",
                "a host sweep scans no ports; drop -p/--top-ports/-F".into(),
            ));
        }
        return Ok(Probes {
            scan,
            ports: PortList::new(Vec::new()),
            echo: true,
        });
    }
    let nmap = inputs.nmap_services;
    let list = |spec: &str| {
        if spec
            .split(',')
            .any(|i| i.trim().starts_with(['U', 'T', 'S']) && i.contains(':'))
        {
            return Err(Error::BadPorts(
                spec.to_string(),
                "T:/U: prefixes (TCP and UDP in one scan) are not supported yet; scan -p PORTS and -sU -p PORTS one after the other".into(),
            ));
        }
        parse_ports(spec, proto, nmap)
    };
    // -p, --top-ports and -F together scan the union, as nmap does.
    let mut ports: Vec<u16> = Vec::new();
    if let Some(p) = &cli.ports {
        ports.extend(list(p)?.as_slice());
    }
    if let Some(n) = cli.top_ports {
        ports.extend(presets::top_ports(n, proto, nmap)?);
    }
    if cli.fast {
        ports.extend(presets::top_ports(100, proto, nmap)?);
    }
    if !asked {
        ports.extend(list("top1000")?.as_slice());
    }
    if let Some(ex) = &cli.exclude_ports {
        let ex = list(ex)?;
        ports.retain(|p| ex.as_slice().binary_search(p).is_err());
        if ports.is_empty() {
            return Err(Error::Empty("--exclude-ports left no port".into()));
        }
    }
    Ok(Probes {
        scan,
        ports: PortList::new(ports),
        echo: cli.ping,
    })
}

fn engine(cli: &Cli) -> Result<EngineRequest> {
    let backend = if cli.offline {
        Backend::Offline
    } else if cli.dry_run {
        Backend::DryRun
    } else {
        Backend::Live
    };
    if backend != Backend::Live && cli.scan_type.contains(&ScanTypeArg::Connect) {
        let flag = if cli.offline {
            "--offline"
        } else {
            "--dry-run"
        };
        return Err(Error::BadOption(
            flag,
            "crafts raw probes; a connect scan (-sT) has none".into(),
        ));
    }
    if cli.pcap && !cfg!(feature = "pcap") {
        return Err(Error::BadOption(
            "--pcap",
            "this build has no libpcap backend; build with --features pcap".into(),
        ));
    }
    Ok(EngineRequest {
        privileged_only: cli.privileged_only,
        backend,
        pcap: cli.pcap,
    })
}

pub fn timing(cli: &Cli) -> Result<Timing> {
    super::timing::resolve(asked_timing(cli)).map_err(|why| Error::BadOption("--min-rate", why))
}

/// The timing options as given on the command line.
pub fn asked_timing(cli: &Cli) -> Asked {
    Asked {
        template: cli.timing,
        rate: cli.rate,
        min_rate: cli.min_rate,
        timeout: cli.timeout,
        retries: cli.retries,
        wait: cli.wait,
        mode: cli.rate_mode.into(),
        max_host_rate: cli.max_host_rate,
    }
}

impl From<RateModeArg> for RateMode {
    fn from(a: RateModeArg) -> RateMode {
        match a {
            RateModeArg::Adaptive => RateMode::Adaptive,
            RateModeArg::Fixed => RateMode::Fixed,
        }
    }
}

/// One line each for options accepted for habit's sake, where synsweep already does what
/// they ask.
fn habit_notes(cli: &Cli) -> Vec<String> {
    let mut notes = Vec::new();
    if cli.skip_host_discovery {
        notes.push("-Pn: synsweep scans every target without a ping first; nothing to skip".into());
    }
    if cli.open {
        notes.push("--open: only open ports are reported unless --show-closed".into());
    }
    if cli.reason {
        notes.push("--reason: every result carries its reason already".into());
    }
    notes
}

/// Banners with `--banners`, and for AI services whenever the `ai` preset is scanned.
fn wants_banners(cli: &Cli) -> bool {
    cli.banners
        || cli
            .ports
            .as_deref()
            .is_some_and(|p| p.split(',').any(|i| i.trim() == "ai"))
}

/// `--nmap`: the arguments checked now, before any probe, so a refused one costs no scan.
pub fn nmap_options(cli: &Cli, probes: &Probes) -> Result<Option<NmapOptions>> {
    let Some(text) = &cli.nmap else {
        return Ok(None);
    };
    if probes.is_sweep() || probes.proto() != crate::event::Proto::Tcp {
        return Err(Error::BadOption(
            "--nmap",
            "hands nmap the open TCP ports; a host sweep (-sn) or UDP scan (-sU) finds none".into(),
        ));
    }
    let args = crate::nmap::args::parse(text).map_err(|e| Error::BadOption("--nmap", e))?;
    Ok(Some(NmapOptions {
        args,
        parallel: cli.nmap_parallel,
    }))
}

fn name_mode(cli: &Cli) -> NameMode {
    if cli.no_resolve {
        NameMode::Never
    } else if cli.resolve_all {
        NameMode::All
    } else {
        NameMode::Answered
    }
}

pub fn outputs(cli: &Cli) -> Result<Outputs> {
    let mut named: Vec<(Format, String)> = [
        (Format::Json, &cli.output_json),
        (Format::Grepable, &cli.output_grepable),
        (Format::Xml, &cli.output_xml),
        (Format::Normal, &cli.output_normal),
        (Format::List, &cli.output_list),
        (Format::Plain, &cli.output_plain),
        (Format::Ndjson, &cli.output_ndjson),
    ]
    .into_iter()
    .filter_map(|(f, d)| Some((f, d.clone()?)))
    .collect();
    // -oA BASE: nmap's three, under its names.
    if let Some(base) = &cli.output_all {
        for (f, ext) in [
            (Format::Normal, "nmap"),
            (Format::Xml, "xml"),
            (Format::Grepable, "gnmap"),
        ] {
            named.push((f, format!("{base}.{ext}")));
        }
    }
    let mut files: Vec<OutputFile> = Vec::new();
    for (format, d) in named {
        if files.iter().any(|f| f.format == format) {
            return Err(Error::BadOption(
                "-o",
                format!("two {format:?} outputs (with -oA BASE, drop the other one)"),
            ));
        }
        files.push(OutputFile {
            format,
            dest: Dest::parse(&d),
        });
    }
    if files.iter().filter(|f| f.dest == Dest::Stdout).count() > 1 {
        return Err(Error::BadOption(
            "-o",
            "at most one output can go to stdout ('-')".into(),
        ));
    }
    Ok(Outputs {
        files,
        status_json: cli.status_json.clone(),
        quiet: cli.quiet,
        show_closed: cli.show_closed,
        verbose: cli.verbose,
    })
}

fn source_ports(r: SourcePortRange) -> SourcePorts {
    SourcePorts {
        base: r.lo,
        // At most 65535 ports fit in the u16 count: 1-65535 is all of them.
        count: (u32::from(r.hi) - u32::from(r.lo) + 1).min(u32::from(u16::MAX)) as u16,
    }
}
