//! Banners (`--banners`) as a post stage between the engines and the output: events pass at
//! once, and every open TCP port is queued for a grab on the stage's own runtime, at most
//! `concurrency` at a time. A banner becomes its own event (`"type":"banner"`). The sender
//! never waits for any of it; the scan's end waits for the grabs still out, unless a second
//! signal aborts them. Every grab has an overall deadline (`grab_deadline`: the connect and
//! read timeouts and a margin), whatever the service does — a tarpit trickling a byte a
//! second, a fallback to HTTP, AI endpoints. After a graceful stop no new grab starts.
//!
//! The job queue is bounded (`JOBS`): when grabs fall behind, the forwarder waits on it, and
//! the wait travels back to the engine, which is held (`engine::pressure`). Banners go out
//! through a writer thread, so no grab ever blocks a runtime worker on a full channel. A host
//! recognised as answering every port (`Event::AnswersAll`) gets no grab from then on, and
//! its jobs still queued are dropped: only grabs already running finish.

pub mod ai;
pub mod grab;
pub mod http;
pub mod text;
pub mod tls;

use crate::event::BannerResult;
use crate::event::{Event, PortState, Proto};
use crate::stop::{StopLevel, StopSignal};
use crossbeam_channel::{Receiver, Sender};
use grab::GrabConfig;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub struct BannerConfig {
    pub enabled: bool,
    pub concurrency: usize,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub keep_bytes: usize,
    /// Forward names of host-name targets: the HTTP Host header and the TLS SNI.
    pub names: HashMap<IpAddr, String>,
}

/// Beyond the connect and read timeouts, what a grab may take (TLS set-up, scheduling).
const GRAB_MARGIN: Duration = Duration::from_millis(500);
/// Open ports waiting for a grab: at the default 256 grabs at once and 5.5 s a grab at
/// worst, a minute of work; about 32 bytes each, in blocks as they come.
const JOBS: usize = 16_384;

/// Hosts that answer every port: they get no grabs.
#[derive(Default)]
struct SkipHosts(Mutex<HashSet<IpAddr>>);

impl SkipHosts {
    fn insert(&self, ip: IpAddr) {
        match self.0.lock() {
            Ok(mut s) => s.insert(ip),
            Err(poisoned) => poisoned.into_inner().insert(ip),
        };
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match self.0.lock() {
            Ok(s) => s.contains(&ip),
            Err(poisoned) => poisoned.into_inner().contains(&ip),
        }
    }
}

/// The longest one grab takes, everything included.
pub fn grab_deadline(connect_timeout: Duration, read_timeout: Duration) -> Duration {
    connect_timeout + read_timeout + GRAB_MARGIN
}

pub struct BannerStage {
    handles: Vec<JoinHandle<()>>,
}

impl BannerStage {
    /// Forwards `input` to `output`, adding banner events.
    pub fn start(
        config: BannerConfig,
        input: Receiver<Event>,
        output: Sender<Event>,
        stop: StopSignal,
    ) -> BannerStage {
        if !config.enabled {
            let h = std::thread::spawn(move || {
                for e in input {
                    let _ = output.send(e);
                }
            });
            return BannerStage { handles: vec![h] };
        }
        let (jobs_tx, jobs_rx) = tokio::sync::mpsc::channel::<(IpAddr, u16)>(JOBS);
        let (found_tx, mut found_rx) =
            tokio::sync::mpsc::channel::<Box<BannerResult>>(config.concurrency.max(1));
        let skip = Arc::new(SkipHosts::default());
        let forward_out = output.clone();
        let skipped = skip.clone();
        // Events go on at once; open TCP ports also become jobs.
        let forwarder = std::thread::spawn(move || {
            for e in input {
                match &e {
                    Event::Port(p)
                        if p.state == PortState::Open
                            && p.proto == Proto::Tcp
                            && !skipped.contains(p.ip) =>
                    {
                        // Waits while the queue is full: that is how slow grabs hold the scan.
                        let _ = jobs_tx.blocking_send((p.ip, p.port));
                    }
                    Event::AnswersAll(a) => skipped.insert(a.ip),
                    _ => {}
                }
                let _ = forward_out.send(e);
            }
        });
        let writer = std::thread::spawn(move || {
            while let Some(b) = found_rx.blocking_recv() {
                let _ = output.send(Event::Banner(b));
            }
        });
        let grabber =
            std::thread::spawn(move || run_grabs(config, jobs_rx, found_tx, stop, skip.as_ref()));
        BannerStage {
            handles: vec![forwarder, grabber, writer],
        }
    }

    /// Waits for the stage: the input has ended; grabs still out finish first.
    pub fn finish(self) {
        for h in self.handles {
            let _ = h.join();
        }
    }
}

fn run_grabs(
    config: BannerConfig,
    mut jobs: tokio::sync::mpsc::Receiver<(IpAddr, u16)>,
    found: tokio::sync::mpsc::Sender<Box<BannerResult>>,
    stop: StopSignal,
    skip: &SkipHosts,
) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return; // no runtime, no banners: the scan's results still pass through
    };
    let cfg = Arc::new(GrabConfig {
        connect_timeout: config.connect_timeout,
        read_timeout: config.read_timeout,
        keep_bytes: config.keep_bytes,
        tls: tls::connector(),
    });
    let names = Arc::new(config.names);
    let deadline = grab_deadline(config.connect_timeout, config.read_timeout);
    rt.block_on(async move {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        while let Some((ip, port)) = jobs.recv().await {
            match stop.level() {
                StopLevel::Abort => break,
                // Stopping: the ports still queued get no grab (the queue drains).
                StopLevel::Graceful => continue,
                StopLevel::Running => {}
            }
            // Waiting for a free slot (all of them may be held by slow services) ends on a
            // stop: this port then gets no grab.
            let slot = tokio::select! {
                s = slots.clone().acquire_owned() => match s {
                    Ok(s) => s,
                    Err(_) => break,
                },
                () = stop.changed_from(StopLevel::Running) => continue,
            };
            // Checked with the slot in hand: the host may have been recognised meanwhile.
            if skip.contains(ip) {
                continue;
            }
            let (cfg, names, out) = (cfg.clone(), names.clone(), found.clone());
            tasks.spawn(async move {
                let host = names.get(&ip).map(String::as_str);
                let grab = tokio::time::timeout(deadline, grab::grab(ip, port, host, &cfg));
                if let Ok(Some(b)) = grab.await {
                    // Waits (without blocking a worker) while the writer is behind.
                    let _ = out.send(Box::new(b)).await;
                }
                drop(slot);
            });
            while tasks.try_join_next().is_some() {}
        }
        // No more jobs are taken: a forwarder waiting on a full queue goes on.
        drop(jobs);
        // What is in flight finishes within its deadline; an abort ends it at once.
        loop {
            if stop.level() == StopLevel::Abort {
                tasks.abort_all();
                break;
            }
            let level = stop.level();
            tokio::select! {
                done = tasks.join_next() => if done.is_none() { break },
                () = stop.changed_from(level) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests;
