//! From options to a running raw scan on a planned link (`link::route`): the probe and the
//! backend — AF_PACKET, libpcap, the dry-run printer, or the offline generator benchmark.

use super::{RawOptions, RawOutcome, Walk};
use crate::engine::EngineContext;
use crate::error::{Error, Result};
use crate::link::setup::LinkPlan;
use crate::link::{Backend, null};
use crate::packet::cookie::SourcePorts;
use crate::packet::probe::{Probe, ProbeSetup, ScanProbe};
use crate::packet::syn::EthernetAddrs;
use std::net::{IpAddr, Ipv4Addr};

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

/// The packet sockets of a live scan, opened while the process still has the privilege to
/// (`open_link`), then handed to `launch` after the privilege is dropped. The capture ring's
/// mapping and the sockets stay valid: the kernel checks CAP_NET_RAW when a packet socket is
/// created, not when it sends or receives.
pub enum OpenLink {
    /// Offline, dry run: nothing to open.
    Nothing,
    #[cfg(target_os = "linux")]
    AfPacket {
        rx: crate::link::afpacket::AfPacket,
        txs: Vec<crate::link::afpacket::AfPacket>,
    },
    #[cfg(feature = "pcap")]
    Pcap {
        rx: crate::link::pcap::PcapRx,
        txs: Vec<crate::link::pcap::PcapTx>,
    },
}

/// Opens what the backend needs on the planned link: a capture socket (with its kernel
/// filter and ring) and one send socket per sender thread, or the libpcap handles.
pub fn open_link(opts: &LaunchOptions, route: Option<&LinkPlan>) -> Result<OpenLink> {
    match (opts.backend, route) {
        (Backend::Live, Some(plan)) if opts.pcap || !cfg!(target_os = "linux") => {
            open_pcap(plan, opts)
        }
        (Backend::Live, Some(plan)) => open_afpacket(plan, opts),
        _ => Ok(OpenLink::Nothing),
    }
}

/// Runs the scan on the chosen backend, on the sockets `open_link` opened. `route` is None
/// only for the offline benchmark.
pub fn launch(
    opts: &LaunchOptions,
    route: Option<&LinkPlan>,
    link: OpenLink,
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
    with_backend(&ScanProbe::new(&setup), opts, route, link, walk, ctx)
}

fn with_backend<P: Probe>(
    probe: &P,
    opts: &LaunchOptions,
    route: Option<&LinkPlan>,
    link: OpenLink,
    walk: &Walk,
    ctx: &EngineContext,
) -> Result<RawOutcome> {
    match (link, opts.backend, route) {
        #[cfg(target_os = "linux")]
        (OpenLink::AfPacket { rx, txs }, ..) => {
            Ok(super::run(probe, txs, rx, walk, ctx, &opts.raw))
        }
        #[cfg(feature = "pcap")]
        (OpenLink::Pcap { rx, txs }, ..) => Ok(super::run(probe, txs, rx, walk, ctx, &opts.raw)),
        (OpenLink::Nothing, Backend::DryRun, Some(_)) => Ok(super::run(
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
        (OpenLink::Nothing, Backend::Live, Some(_)) => Err(Error::Link(
            "the packet sockets were not opened before the scan".into(),
        )),
        // One thread: the benchmark measures the generator on one core.
        (OpenLink::Nothing, ..) => Ok(super::run(
            probe,
            vec![null::NullTx::default()],
            null::NullRx,
            walk,
            ctx,
            &opts.raw,
        )),
    }
}

#[cfg(target_os = "linux")]
fn open_afpacket(plan: &LinkPlan, opts: &LaunchOptions) -> Result<OpenLink> {
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
    Ok(OpenLink::AfPacket { rx, txs })
}

#[cfg(not(target_os = "linux"))]
fn open_afpacket(_plan: &LinkPlan, _opts: &LaunchOptions) -> Result<OpenLink> {
    Err(Error::Link(
        "this platform needs the libpcap backend (build with --features pcap)".into(),
    ))
}

#[cfg(feature = "pcap")]
fn open_pcap(plan: &LinkPlan, opts: &LaunchOptions) -> Result<OpenLink> {
    use crate::link::pcap;
    let (lo, hi) = opts.source_ports.bounds();
    let filter = pcap::filter_expression(plan.src_ip, lo, hi);
    let link_err = |e: std::io::Error| Error::Link(e.to_string());
    let rx = pcap::open_rx(&plan.iface, &filter, plan.src_mac.is_some()).map_err(link_err)?;
    let txs = (0..opts.senders.max(1))
        .map(|_| pcap::open_tx(&plan.iface).map_err(link_err))
        .collect::<Result<Vec<_>>>()?;
    Ok(OpenLink::Pcap { rx, txs })
}

#[cfg(not(feature = "pcap"))]
fn open_pcap(_plan: &LinkPlan, _opts: &LaunchOptions) -> Result<OpenLink> {
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
