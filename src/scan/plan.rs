//! Planning: from a configuration and what the process may do to the engine, the index space
//! and the link. A pure function of its inputs (the route planner is one of them), the same
//! for a fresh scan and a resumed one.

use crate::config::ScanConfig;
use crate::error::{Error, Result};
use crate::event::Proto;
use crate::link::Backend;
use crate::link::route::RoutePlanner;
use crate::link::setup::{LinkPlan, Overrides};
use crate::ports::PortList;
use crate::privilege::{Engine, Privilege, TCP_PING_PORTS, choose_engine};
use crate::space::TargetSpace;
use crate::targets::range::RangeSet;
use crate::targets::special::special_ranges;
use std::net::IpAddr;

/// Is there a raw-packet engine in this build? (Linux AF_PACKET; other systems need the pcap
/// backend.)
pub const RAW_ENGINE_BUILT: bool = cfg!(any(target_os = "linux", feature = "pcap"));

#[derive(Debug, Clone)]
pub struct Plan {
    pub engine: Engine,
    pub space: TargetSpace,
    /// The raw engine's link (None for connect scans and the offline benchmark).
    pub route: Option<LinkPlan>,
    /// One line each for stderr, in order.
    pub notices: Vec<String>,
}

pub fn plan(config: &ScanConfig, privilege: Privilege, router: RoutePlanner) -> Result<Plan> {
    let mut notices = config.notes.clone();
    let engine = pick_engine(config, privilege, &mut notices)?;
    let engine = avoid_loopback(config, engine, &mut notices)?;
    if config.connect.host_timeout.is_some() && engine == Engine::Raw {
        notices.push(
            "--host-timeout applies to connect scans; a raw scan's hosts share one pass and its cooldown".into(),
        );
    }
    let space = build_space(config, engine, &mut notices)?;
    let route = plan_route(config, &space, engine, router, &mut notices)?;
    Ok(Plan {
        engine,
        space,
        route,
        notices,
    })
}

fn pick_engine(
    config: &ScanConfig,
    privilege: Privilege,
    notices: &mut Vec<String>,
) -> Result<Engine> {
    if config.engine.backend != Backend::Live {
        // Nothing is sent, so no privilege is needed.
        return Ok(Engine::Raw);
    }
    let c = choose_engine(
        config.probes.scan,
        privilege,
        RAW_ENGINE_BUILT,
        config.engine.privileged_only,
    )
    .map_err(Error::Refused)?;
    notices.extend(c.notice);
    Ok(c.engine)
}

/// Linux drops packets to 127.0.0.0/8 that arrive without a route attached (raw frames
/// injected on `lo` are "martians" unless `route_localnet` is set), so a raw scan of the
/// loopback block would see nothing: a connect scan answers the same question exactly.
fn avoid_loopback(
    config: &ScanConfig,
    engine: Engine,
    notices: &mut Vec<String>,
) -> Result<Engine> {
    let loopback = config
        .targets
        .ranges
        .ranges()
        .first()
        .is_some_and(|r| matches!(r.addr(0), IpAddr::V4(a) if a.is_loopback()));
    if engine != Engine::Raw || !loopback || config.engine.backend != Backend::Live {
        return Ok(engine);
    }
    let why = "raw packets cannot reach 127.0.0.0/8 (Linux drops them as martians)";
    if config.engine.privileged_only {
        return Err(Error::Refused(format!("{why}; use -sT for this machine")));
    }
    notices.push(if config.probes.is_sweep() {
        format!("{why}; host discovery by TCP connect instead")
    } else if config.probes.proto() == Proto::Udp {
        format!("{why}; using connected UDP sockets")
    } else {
        format!("{why}; using TCP connect scan")
    });
    Ok(Engine::Connect)
}

/// Addresses of the scan that must get no probe: what is excluded now (a resumed scan may
/// exclude more than it did), and special blocks not named on their own. A fresh scan has
/// none left (they were cut from its ranges); a resumed or edited one may, and its index
/// space cannot shrink under the saved position, so they are skipped instead.
pub fn skipped(config: &ScanConfig) -> RangeSet {
    let t = &config.targets;
    let special = RangeSet::from_ranges(special_ranges().map(|(r, _)| r).collect());
    let unmeant = special.subtract(&t.special_named);
    let never = RangeSet::from_ranges(
        t.excludes
            .ranges()
            .iter()
            .chain(unmeant.ranges())
            .copied()
            .collect(),
    );
    t.ranges.intersect(&never)
}

/// The index space: the ports, plus the echo slot where pings are sent; a sweep without raw
/// packets connects to `TCP_PING_PORTS` instead.
fn build_space(
    config: &ScanConfig,
    engine: Engine,
    notices: &mut Vec<String>,
) -> Result<TargetSpace> {
    let p = &config.probes;
    let set = config.targets.ranges.clone();
    let skip = skipped(config);
    if !skip.is_empty() {
        if skip.count() == set.count() {
            return Err(Error::Empty("every target is excluded or left out".into()));
        }
        notices.push(format!(
            "{} addresses of the saved scan are excluded or special now; they get no probes",
            skip.count()
        ));
    }
    let space = if p.is_sweep() && engine == Engine::Connect {
        TargetSpace::new(set, PortList::new(TCP_PING_PORTS.to_vec()))?
    } else {
        let echo = p.echo && (p.is_sweep() || engine == Engine::Raw);
        if p.echo && !echo {
            notices.push("--ping needs raw packets; scanning the ports without pinging".into());
        }
        TargetSpace::with_echo(set, p.ports.clone(), echo)?.with_proto(p.proto())
    };
    Ok(space.skipping(skip))
}

/// The link for a raw scan, planned before anything starts so that a missing route or an
/// unanswered ARP request is a clear error, not an empty scan.
fn plan_route(
    config: &ScanConfig,
    space: &TargetSpace,
    engine: Engine,
    router: RoutePlanner,
    notices: &mut Vec<String>,
) -> Result<Option<LinkPlan>> {
    if engine != Engine::Raw {
        return Ok(None);
    }
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(Error::Refused(format!(
            "the raw engine scans IPv4 only; scan IPv6 targets such as {ip} with -sT"
        ))),
    };
    let mut ranges = Vec::new();
    for r in space.set().ranges() {
        ranges.push((v4(r.addr(0))?, v4(r.addr(r.last - r.first))?));
    }
    if config.engine.backend == Backend::Offline {
        return Ok(None);
    }
    let l = &config.link;
    let overrides = Overrides {
        interface: l.interface.clone(),
        source_ip: l.source_ip,
        source_mac: l.source_mac,
        router_mac: l.router_mac,
    };
    let r = router(&ranges, &overrides, config.engine.backend)?;
    notices.extend(r.notices);
    Ok(Some(r.plan))
}

/// The scan type a document names.
pub fn scan_type_name(config: &ScanConfig, engine: Engine) -> &'static str {
    match engine {
        _ if config.probes.proto() == Proto::Udp => "udp",
        Engine::Raw | Engine::PingSocket if config.probes.is_sweep() => "ping",
        Engine::Raw => "syn",
        Engine::Connect | Engine::PingSocket => "connect",
    }
}
