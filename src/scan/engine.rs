//! Running the planned engine: connect (kernel sockets, ping sockets, connected UDP) or raw
//! (sender and capture threads), with the options the configuration gives it.

use super::Plan;
use crate::config::{RateMode, ScanConfig};
use crate::cursor::{Cursor, CursorState};
use crate::engine::EngineContext;
use crate::engine::connect::{self, ConnectOptions};
use crate::engine::connector::KernelConnector;
use crate::engine::ping_socket::PingSocketConnector;
use crate::engine::raw::launch::{self, LaunchOptions, OpenLink};
use crate::engine::raw::{RawOptions, Walk};
use crate::engine::udp_connector::UdpConnector;
use crate::error::{Error, Result};
use crate::event::Proto;
use crate::link::Backend;
use crate::privilege::Engine;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Raw scans without `--rate`: about 12 Mbit/s of SYNs, the order of ZMap's default; fast on a
/// LAN or in a lab, gentle on a home uplink. `--rate` goes as high as the path carries.
pub const DEFAULT_RAW_RATE: u64 = 20_000;

/// Runs the chosen engine; returns where it stood and, if it failed part-way, why.
pub fn run_engine(
    config: &ScanConfig,
    plan: &Plan,
    link: OpenLink,
    resume: Option<CursorState>,
    ctx: &EngineContext,
) -> Result<(CursorState, Option<String>)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Os("cannot start the async runtime", e))?;
    let size = plan.space.size();
    match plan.engine {
        Engine::Connect | Engine::PingSocket => {
            let cursor = Cursor::new(size, config.seed, config.shard, resume);
            let opts = connect_options(config);
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
            // The raw engine splits the shard between its sender threads itself.
            let walk = Walk {
                size,
                seed: config.seed,
                shard: config.shard,
                resume,
            };
            let opts = raw_options(config);
            let outcome = launch::launch(&opts, plan.route.as_ref(), link, &walk, ctx)?;
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

/// The raw engine's packet sockets, while the process may still open them (see
/// `privileges`); nothing for the connect engines.
pub fn open_link(config: &ScanConfig, plan: &Plan) -> Result<OpenLink> {
    match plan.engine {
        Engine::Raw => launch::open_link(&raw_options(config), plan.route.as_ref()),
        Engine::Connect | Engine::PingSocket => Ok(OpenLink::Nothing),
    }
}

fn connect_options(config: &ScanConfig) -> ConnectOptions {
    // Raised whether or not the window was given: every attempt holds a descriptor.
    let nofile = crate::limits::raise_nofile_limit();
    // The descriptors the limit allows, less those the banner stage may hold at once beside
    // it (a grab short of descriptors would lose its banner).
    let banners = if config.banners.enabled {
        config.banners.concurrency
    } else {
        0
    };
    let window = config.connect.max_inflight.map_or_else(
        || crate::limits::default_inflight(nofile.saturating_sub(banners)),
        |n| n as usize,
    );
    ConnectOptions {
        timeout: config.timing.timeout,
        retries: config.timing.retries,
        max_inflight: window,
        per_host: config.connect.max_per_host,
        rate: config.timing.rate,
        host_timeout: config.connect.host_timeout,
        adaptive: config.timing.mode == RateMode::Adaptive,
        max_host_rate: config.timing.max_host_rate,
    }
}

/// One sender per core, up to four: on links whose receive work runs in the sender's softirq
/// (veth, NICs without offload) a second sender took the lab's /16 × 5 from ~110k to ~170k
/// probes/s.
fn default_senders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

fn raw_options(config: &ScanConfig) -> LaunchOptions {
    let backend = config.engine.backend;
    let live = backend == Backend::Live;
    let t = &config.timing;
    LaunchOptions {
        backend,
        seed: config.seed,
        source_ports: config.link.source_ports,
        ttl: config.link.ttl,
        // Each sender keeps its share of `--max-host-rate`: no more senders than probes a
        // second to a host, or the shares (at least one each) would add up to more.
        senders: config
            .link
            .sender_threads
            .map_or_else(default_senders, |n| n as usize)
            .min(t.max_host_rate.map_or(usize::MAX, |r| r.max(1) as usize)),
        pcap: config.engine.pcap,
        raw: RawOptions {
            rate: if live {
                Some(
                    t.rate
                        .unwrap_or(DEFAULT_RAW_RATE.max(t.min_rate.unwrap_or(0))),
                )
            } else {
                t.rate
            },
            // Nothing answers a dry run or the benchmark: one pass, no waiting.
            retries: if live { t.retries } else { 0 },
            timeout: t.timeout,
            wait: if live {
                t.wait.unwrap_or(t.timeout)
            } else {
                Duration::ZERO
            },
            batch: 64,
            listening: live,
            // The launcher sets the real count.
            senders: 1,
            thread: 0,
            // The dry run and the benchmark hear nothing: nothing to adapt to.
            adaptive: live && t.mode == RateMode::Adaptive,
            min_rate: t.min_rate,
            max_host_rate: t.max_host_rate,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::raw_options;
    use crate::scan::tests::config;

    /// The engines get the rate options as resolved; the dry run and the benchmark, where
    /// nothing answers, stay at a fixed rate.
    #[test]
    fn rate_options_reach_the_raw_engine_and_only_live_scans_adapt() {
        let raw = |a: &[&str]| raw_options(&config(a).expect("configures")).raw;
        let live = raw(&["198.18.0.0/24", "--min-rate", "300", "--max-host-rate", "9"]);
        assert!(live.adaptive);
        assert_eq!((live.min_rate, live.max_host_rate), (Some(300), Some(9)));
        assert!(!raw(&["198.18.0.0/24", "--rate-mode", "fixed"]).adaptive);
        assert!(!raw(&["198.18.0.0/24", "--dry-run"]).adaptive);
        assert!(!raw(&["198.18.0.0/24", "--offline"]).adaptive);
    }
}
