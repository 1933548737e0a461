//! From options to a running raw scan: the link (planned from the kernel's tables, the next
//! hop resolved by ARP), the probe, and the backend — AF_PACKET, the dry-run printer, or the
//! offline generator benchmark.

use super::{RawOptions, RawOutcome, Walk};
use crate::engine::EngineContext;
use crate::error::{Error, Result};
use crate::link::null;
use crate::link::setup::{self, LinkPlan, Overrides};
use crate::packet::cookie::SourcePorts;
use crate::packet::probe::{Probe, ProbeSetup, ScanProbe};
use crate::packet::syn::EthernetAddrs;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Send for real (AF_PACKET on Linux).
    Live,
    /// Print each probe to stdout instead of sending it.
    DryRun,
    /// Craft into no device: the generator's benchmark.
    Offline,
}

#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub backend: Backend,
    pub seed: u64,
    pub source_ports: SourcePorts,
    pub ttl: u8,
    /// Sender threads (each with its own socket); the rate is split between them.
    pub senders: usize,
    /// Send and capture through libpcap instead of AF_PACKET.
    pub pcap: bool,
    pub raw: RawOptions,
}

/// Where probes leave, decided before the scan starts (so its notices print first).
#[derive(Debug, Clone)]
pub struct Route {
    pub plan: LinkPlan,
    pub notices: Vec<String>,
}

/// The link for a scan of IPv4 addresses `first`..`last`: every target must leave through
/// the same interface to the same next hop, since one frame template serves them all.
pub fn route(ranges: &[(Ipv4Addr, Ipv4Addr)], o: &Overrides, backend: Backend) -> Result<Route> {
    let plans = system_plans(ranges, o)?;
    let mut notices = Vec::new();
    let Some((first, plan)) = plans.first().cloned() else {
        return Err(Error::Link("no targets to route".into()));
    };
    for (dst, other) in &plans[1..] {
        let same_hop =
            other.next_hop == plan.next_hop || (other.next_hop == *dst && plan.next_hop == first);
        if other.iface != plan.iface || !same_hop {
            return Err(Error::Link(format!(
                "{first} and {dst} leave through different routes ({} via {}, {} via {}); scan them separately",
                plan.iface, plan.next_hop, other.iface, other.next_hop
            )));
        }
    }
    let on_link = plan.next_hop == first && plan.next_hop_mac != Some([0; 6]);
    if on_link && plans.len() > 1 && o.router_mac.is_none() {
        return Err(Error::Link(format!(
            "the targets are on the local link of {}, where each has its own MAC address; \
             raw scans of several on-link hosts are not supported yet: give --router-mac, or use -sT",
            plan.iface
        )));
    }
    let mut plan = plan;
    if plan.next_hop_mac.is_none()
        && let Some(src_mac) = plan.src_mac
    {
        plan.next_hop_mac = match backend {
            Backend::Live => Some(resolve(&plan, src_mac)?),
            _ => {
                notices.push(format!(
                    "next hop {} is not in the neighbour table; the dry run shows ff:ff:ff:ff:ff:ff",
                    plan.next_hop
                ));
                Some([0xff; 6])
            }
        };
    }
    Ok(Route { plan, notices })
}

#[cfg(target_os = "linux")]
fn system_plans(
    ranges: &[(Ipv4Addr, Ipv4Addr)],
    o: &Overrides,
) -> Result<Vec<(Ipv4Addr, LinkPlan)>> {
    setup::system_many(ranges, o).map_err(Error::Link)
}

#[cfg(not(target_os = "linux"))]
fn system_plans(
    _ranges: &[(Ipv4Addr, Ipv4Addr)],
    _o: &Overrides,
) -> Result<Vec<(Ipv4Addr, LinkPlan)>> {
    Err(Error::Link(
        "routes are read from Linux's tables; give -e, --source-ip and --router-mac".into(),
    ))
}

#[cfg(target_os = "linux")]
fn resolve(plan: &LinkPlan, src_mac: [u8; 6]) -> Result<[u8; 6]> {
    let asked = crate::link::arp::resolve(
        &plan.iface,
        src_mac,
        plan.src_ip,
        plan.next_hop,
        Duration::from_secs(2),
    )
    .map_err(|e| Error::Link(format!("ARP for {} on {}: {e}", plan.next_hop, plan.iface)))?;
    asked.ok_or_else(|| {
        Error::Link(format!(
            "no ARP answer from next hop {} on {}; give --router-mac",
            plan.next_hop, plan.iface
        ))
    })
}

#[cfg(not(target_os = "linux"))]
fn resolve(plan: &LinkPlan, _src_mac: [u8; 6]) -> Result<[u8; 6]> {
    Err(Error::Link(format!(
        "next hop {} is not in the neighbour table; give --router-mac",
        plan.next_hop
    )))
}

/// Runs the scan on the chosen backend. `route` is None only for the offline benchmark.
pub fn launch(
    opts: &LaunchOptions,
    route: Option<&LinkPlan>,
    walk: &Walk,
    ctx: &EngineContext,
) -> Result<RawOutcome> {
    let (src, eth) = match route {
        Some(p) => (
            p.src_ip,
            p.src_mac
                .zip(p.next_hop_mac)
                .map(|(src, dst)| EthernetAddrs { src, dst }),
        ),
        // Offline: nothing leaves, so any addresses do; these are documentation values.
        None => (
            Ipv4Addr::new(198, 19, 0, 1),
            Some(EthernetAddrs {
                src: [2, 0, 0, 0, 0, 1],
                dst: [2, 0, 0, 0, 0, 2],
            }),
        ),
    };
    let setup = ProbeSetup {
        seed: opts.seed,
        src,
        eth,
        ttl: opts.ttl,
        source_ports: opts.source_ports,
        proto: ctx.space.proto(),
    };
    with_backend(&ScanProbe::new(&setup), opts, route, walk, ctx)
}

fn with_backend<P: Probe>(
    probe: &P,
    opts: &LaunchOptions,
    route: Option<&LinkPlan>,
    walk: &Walk,
    ctx: &EngineContext,
) -> Result<RawOutcome> {
    match (opts.backend, route) {
        // One thread: the benchmark measures the generator on one core.
        (Backend::Offline, _) | (_, None) => Ok(super::run(
            probe,
            vec![null::NullTx::default()],
            null::NullRx,
            walk,
            ctx,
            &opts.raw,
        )),
        (Backend::DryRun, Some(_)) => Ok(super::run(
            probe,
            vec![null::PrintTx::new(
                std::io::BufWriter::new(std::io::stdout()),
                describe,
            )],
            null::NullRx,
            walk,
            ctx,
            &opts.raw,
        )),
        (Backend::Live, Some(plan)) if opts.pcap || !cfg!(target_os = "linux") => {
            live_pcap(probe, plan, opts, walk, ctx)
        }
        (Backend::Live, Some(plan)) => live(probe, plan, opts, walk, ctx),
    }
}

#[cfg(target_os = "linux")]
fn live<P: Probe>(
    probe: &P,
    plan: &LinkPlan,
    opts: &LaunchOptions,
    walk: &Walk,
    ctx: &EngineContext,
) -> Result<RawOutcome> {
    use crate::link::afpacket::AfPacket;
    use crate::link::bpf;
    use crate::link::ring::RingRequest;
    let ip_at = if plan.src_mac.is_some() { 14 } else { 0 };
    let (lo, hi) = opts.source_ports.bounds();
    let failed = |what: &'static str| {
        move |e: std::io::Error| Error::Link(format!("{what} socket on {}: {e}", plan.iface))
    };
    let filter = bpf::reply_filter(ip_at, plan.src_ip, lo, hi);
    // 8 blocks of 1 MiB: room for ~60k replies (0.3 s at 200k/s) while the capture thread is
    // descheduled;
    // a block is handed over when full or after 5 ms, which bounds the added latency.
    let ring = RingRequest::new(1 << 20, 8, 5);
    let rx = AfPacket::open_ring(&plan.iface, &filter, 0x0800, &ring).map_err(failed("capture"))?;
    let txs = (0..opts.senders.max(1))
        .map(|_| AfPacket::open(&plan.iface, &bpf::drop_all(), 0x0800).map_err(failed("send")))
        .collect::<Result<Vec<_>>>()?;
    Ok(super::run(probe, txs, rx, walk, ctx, &opts.raw))
}

#[cfg(not(target_os = "linux"))]
fn live<P: Probe>(
    _probe: &P,
    _plan: &LinkPlan,
    _opts: &LaunchOptions,
    _walk: &Walk,
    _ctx: &EngineContext,
) -> Result<RawOutcome> {
    Err(Error::Link(
        "this platform needs the libpcap backend (build with --features pcap)".into(),
    ))
}

#[cfg(feature = "pcap")]
fn live_pcap<P: Probe>(
    probe: &P,
    plan: &LinkPlan,
    opts: &LaunchOptions,
    walk: &Walk,
    ctx: &EngineContext,
) -> Result<RawOutcome> {
    use crate::link::pcap;
    let (lo, hi) = opts.source_ports.bounds();
    let filter = pcap::filter_expression(plan.src_ip, lo, hi);
    let link_err = |e: std::io::Error| Error::Link(e.to_string());
    let rx = pcap::open_rx(&plan.iface, &filter, plan.src_mac.is_some()).map_err(link_err)?;
    let txs = (0..opts.senders.max(1))
        .map(|_| pcap::open_tx(&plan.iface).map_err(link_err))
        .collect::<Result<Vec<_>>>()?;
    Ok(super::run(probe, txs, rx, walk, ctx, &opts.raw))
}

#[cfg(not(feature = "pcap"))]
fn live_pcap<P: Probe>(
    _probe: &P,
    _plan: &LinkPlan,
    _opts: &LaunchOptions,
    _walk: &Walk,
    _ctx: &EngineContext,
) -> Result<RawOutcome> {
    Err(Error::Link(
        "this build has no libpcap backend (build with --features pcap)".into(),
    ))
}

/// One line per dry-run probe: what it is, before its bytes.
fn describe(frame: &[u8]) -> String {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let parsed = SlicedPacket::from_ethernet(frame)
        .ok()
        .filter(|p| p.net.is_some())
        .or_else(|| SlicedPacket::from_ip(frame).ok());
    let Some(p) = parsed else {
        return "?".into();
    };
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        return "?".into();
    };
    let (src, dst) = (
        IpAddr::V4(ip.header().source_addr()),
        IpAddr::V4(ip.header().destination_addr()),
    );
    match &p.transport {
        Some(TransportSlice::Tcp(t)) => format!(
            "syn {src}:{} > {dst}:{} seq {:#010x}",
            t.source_port(),
            t.destination_port(),
            t.sequence_number()
        ),
        Some(TransportSlice::Icmpv4(_)) => format!("echo {src} > {dst}"),
        _ => "?".into(),
    }
}
