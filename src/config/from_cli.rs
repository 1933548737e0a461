//! From a parsed command line to a `ScanConfig`: files read, names resolved, ports expanded,
//! every cross-option rule checked, once.

use super::{
    BannerOptions, ConnectLimits, EngineRequest, Format, LinkOptions, NmapOptions, OutputFile,
    Outputs, Probes, ScanConfig, Targets, Timing,
};
use crate::cli::{Cli, ScanTypeArg, SourcePortRange};
use crate::cursor::Shard;
use crate::error::{Error, Result};
use crate::link::Backend;
use crate::names::Mode as NameMode;
use crate::output::Dest;
use crate::packet::cookie::SourcePorts;
use crate::ports::{PortList, parse_ports, presets};
use crate::privilege::ScanType;
use crate::targets::{self, Resolver};
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
        timing: timing(cli),
        connect: ConnectLimits {
            max_inflight: cli.max_inflight,
            max_per_host: cli.max_per_host,
        },
        link: LinkOptions {
            interface: cli.interface.clone(),
            source_ip: cli.source_ip,
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
        output: outputs(cli),
        seed: cli.seed.unwrap_or_else(rand::random),
        shard: cli.shard.unwrap_or(Shard::WHOLE),
        resume_file: cli.resume_file.clone(),
        probes,
        command_line,
    })
}

fn targets(cli: &Cli, inputs: &Inputs) -> Result<Targets> {
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
    let excludes = exclude_tokens(cli)?;
    let t = targets::build(&includes, &excludes, inputs.resolve)?;
    Ok(Targets {
        ranges: t.set,
        excludes: t.excluded,
        special_named: t.special_named,
        names: t.names,
    })
}

/// `--exclude` and `--excludefile`, as tokens.
pub fn exclude_tokens(cli: &Cli) -> Result<Vec<String>> {
    let mut excludes: Vec<String> = cli
        .exclude
        .iter()
        .flat_map(|t| targets::split_tokens(t))
        .map(String::from)
        .collect();
    for f in &cli.excludefile {
        excludes.extend(targets::read_list_file(f)?);
    }
    Ok(excludes)
}

fn probes(cli: &Cli, inputs: &Inputs) -> Result<Probes> {
    let scan: Option<ScanType> = cli.scan_type.map(Into::into);
    let proto = Probes {
        scan,
        ports: PortList::new(Vec::new()),
        echo: false,
    }
    .proto();
    let sweep = scan == Some(ScanType::Ping);
    let ports = match (&cli.ports, cli.top_ports) {
        _ if sweep => {
            if cli.ports.is_some() || cli.top_ports.is_some() {
                return Err(Error::BadOption(
                    "-sn",
                    "a host sweep scans no ports; drop -p/--top-ports".into(),
                ));
            }
            PortList::new(Vec::new())
        }
        (_, Some(n)) => PortList::new(presets::top_ports(n, proto, inputs.nmap_services)?),
        (Some(p), None) => parse_ports(p, proto, inputs.nmap_services)?,
        (None, None) => parse_ports("top1000", proto, inputs.nmap_services)?,
    };
    Ok(Probes {
        scan,
        ports,
        echo: sweep || cli.ping,
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
    if backend != Backend::Live && cli.scan_type == Some(ScanTypeArg::Connect) {
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

pub fn timing(cli: &Cli) -> Timing {
    Timing {
        rate: cli.rate,
        timeout: cli.timeout,
        retries: cli.retries,
        wait: cli.wait,
    }
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

pub fn outputs(cli: &Cli) -> Outputs {
    let named = [
        (Format::Json, &cli.output_json),
        (Format::Grepable, &cli.output_grepable),
        (Format::Xml, &cli.output_xml),
        (Format::Ndjson, &cli.output_ndjson),
    ];
    Outputs {
        files: named
            .into_iter()
            .filter_map(|(format, d)| {
                d.as_deref().map(|d| OutputFile {
                    format,
                    dest: Dest::parse(d),
                })
            })
            .collect(),
        status_json: cli.status_json.clone(),
        quiet: cli.quiet,
        show_closed: cli.show_closed,
    }
}

fn source_ports(r: SourcePortRange) -> SourcePorts {
    SourcePorts {
        base: r.lo,
        // At most 65535 ports fit in the u16 count: 1-65535 is all of them.
        count: (u32::from(r.hi) - u32::from(r.lo) + 1).min(u32::from(u16::MAX)) as u16,
    }
}
