//! The hand-off to nmap (`--nmap "ARGS"`) as a post stage, like banners: events pass at once,
//! and the open TCP ports are collected by host. When the engine has finished, nmap runs on
//! each host with exactly its open ports (`args::command`), at most `parallel` hosts at once;
//! what its XML says of each port becomes a `"type":"service"` event in the stream before
//! the output thread finishes. A stop (Ctrl-C, SIGTERM, a closed standard output) kills the
//! nmap processes still running and starts no more; a scan stopped before its end hands off
//! nothing (its resume, once complete, hands off everything it found).

pub mod args;
pub mod process;
pub mod xml;

use crate::event::{Event, PortState, Proto, unix_now};
use crate::output::clean;
use crate::stop::{StopLevel, StopSignal};
use crossbeam_channel::{Receiver, Sender};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;

/// A planned hand-off: the nmap found on PATH and the checked arguments.
#[derive(Debug, Clone)]
pub struct NmapConfig {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub parallel: usize,
    /// Open TCP ports the engines will not report again: those in a resumed scan's log that
    /// nmap has not examined (`output::spill::SpillLog::resume`).
    pub seeds: Vec<(IpAddr, u16)>,
}

/// How the hand-off went, for the lines on stderr and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Hosts with open TCP ports.
    pub hosts: usize,
    /// Hosts nmap finished on.
    pub done: usize,
    /// One line per host nmap failed on.
    pub failures: Vec<String>,
    /// The scan was stopped: hosts were left, or nmap was never run.
    pub stopped: bool,
}

impl Report {
    /// One line for stderr when something is worth saying.
    pub fn notice(&self) -> Option<String> {
        if self.stopped {
            return Some(format!(
                "nmap hand-off stopped: {} of {} hosts examined",
                self.done, self.hosts
            ));
        }
        None
    }
}

pub struct NmapStage {
    handle: JoinHandle<Option<Report>>,
}

impl NmapStage {
    /// Forwards `input` to `output`; with a configuration, hands the open TCP ports to nmap
    /// once `input` ends.
    pub fn start(
        config: Option<NmapConfig>,
        input: Receiver<Event>,
        output: Sender<Event>,
        stop: StopSignal,
    ) -> NmapStage {
        let handle = std::thread::spawn(move || {
            let mut open: BTreeMap<IpAddr, BTreeSet<u16>> = BTreeMap::new();
            if let Some(c) = &config {
                for &(ip, port) in &c.seeds {
                    open.entry(ip).or_default().insert(port);
                }
            }
            for e in input {
                if config.is_some() {
                    match &e {
                        Event::Port(p) if p.state == PortState::Open && p.proto == Proto::Tcp => {
                            open.entry(p.ip).or_default().insert(p.port);
                        }
                        // Its ports are a sample of a SYN proxy or a tarpit: nothing to examine.
                        Event::AnswersAll(a) => {
                            open.remove(&a.ip);
                        }
                        _ => {}
                    }
                }
                let _ = output.send(e);
            }
            let config = config?;
            Some(hand_off(&config, open, &output, &stop))
        });
        NmapStage { handle }
    }

    /// Waits for the stage (the input has ended): nmap runs still out finish or are killed.
    pub fn finish(self) -> Option<Report> {
        self.handle.join().ok().flatten()
    }
}

fn hand_off(
    config: &NmapConfig,
    open: BTreeMap<IpAddr, BTreeSet<u16>>,
    output: &Sender<Event>,
    stop: &StopSignal,
) -> Report {
    let mut report = Report {
        hosts: open.len(),
        ..Report::default()
    };
    if stop.level() != StopLevel::Running {
        report.stopped = report.hosts > 0;
        return report;
    }
    let hosts = report.hosts;
    // The hosts are taken from the map itself and the outcomes added to the report as they
    // come: no queue of its own beside what the map holds.
    let jobs = std::sync::Mutex::new(open.into_iter());
    let tally = std::sync::Mutex::new(&mut report);
    std::thread::scope(|s| {
        for _ in 0..config.parallel.clamp(1, hosts.max(1)) {
            s.spawn(|| {
                loop {
                    let next = jobs.lock().ok().and_then(|mut j| j.next());
                    let Some((ip, ports)) = next else { break };
                    if stop.level() != StopLevel::Running {
                        break;
                    }
                    let outcome = one_host(config, ip, &ports, output, stop);
                    if let Ok(mut r) = tally.lock() {
                        match outcome {
                            Ok(()) => r.done += 1,
                            Err(None) => {}
                            Err(Some(why)) => r.failures.push(why),
                        }
                    }
                }
            });
        }
    });
    report.stopped = stop.level() != StopLevel::Running && report.done < report.hosts;
    report
}

/// nmap on one host; its findings sent on. `Err(None)`: stopped; `Err(Some(line))`: failed.
fn one_host(
    config: &NmapConfig,
    ip: IpAddr,
    ports: &BTreeSet<u16>,
    output: &Sender<Event>,
    stop: &StopSignal,
) -> Result<(), Option<String>> {
    let argv = args::command(&config.args, ip, ports);
    let failed = |why: String| Some(clean::text(&format!("nmap on {ip}: {why}")).into_owned());
    let xml = match process::run(&config.program, &argv, stop) {
        Ok(x) => x,
        Err(process::RunError::Stopped) => return Err(None),
        Err(e) => return Err(failed(e.to_string())),
    };
    let found = xml::parse(&xml, unix_now()).map_err(|e| failed(e.to_string()))?;
    for s in found
        .into_iter()
        .filter(|s| s.ip == ip && s.proto == Proto::Tcp && ports.contains(&s.port))
    {
        let _ = output.send(Event::Service(Box::new(s)));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
