//! Reverse DNS as a post stage between the engines and the output thread. Events pass through
//! at once; each host that answered (or, with `-R`, every target host) is looked up by a small
//! pool of worker threads, and a name found becomes its own event (`"type":"name"`). A slow or
//! dead resolver therefore never slows the scan: at the end the stage waits at most `linger`
//! for lookups still out, then lets the output finish without them.

use crate::event::{Event, NameResult, unix_now};
use crossbeam_channel::{Receiver, Sender, select};
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-n`: no lookups.
    Never,
    /// The default: hosts that answered.
    Answered,
    /// `-R`: every target host, answered or not.
    All,
}

/// Resolves one address to a name, or None (blocking; run on the workers).
pub type Lookup = Arc<dyn Fn(IpAddr) -> Option<String> + Send + Sync>;

/// The system resolver (getnameinfo with NI_NAMEREQD: no numeric fallbacks). Not
/// `dns_lookup::lookup_addr`: on every failure it calls `res_init()`, which is not thread-safe;
/// sixteen workers failing at once (out of descriptors) crashed the process.
pub fn system_lookup() -> Lookup {
    Arc::new(|ip| {
        let flags = libc::NI_NAMEREQD | libc::NI_NUMERICSERV;
        dns_lookup::getnameinfo(&std::net::SocketAddr::new(ip, 0), flags)
            .ok()
            .map(|(host, _)| host)
    })
}

pub struct NameStage {
    handle: JoinHandle<()>,
}

impl NameStage {
    /// Forwards `input` to `output`, adding name events. `all_hosts` is what `-R` looks up.
    pub fn start(
        mode: Mode,
        workers: usize,
        lookup: Lookup,
        all_hosts: Vec<IpAddr>,
        input: Receiver<Event>,
        output: Sender<Event>,
        linger: Duration,
    ) -> NameStage {
        let handle = std::thread::spawn(move || {
            if mode == Mode::Never {
                for e in input {
                    let _ = output.send(e);
                }
                return;
            }
            let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded::<IpAddr>();
            let (names_tx, names_rx) = crossbeam_channel::unbounded::<Option<NameResult>>();
            for _ in 0..workers.max(1) {
                let (jobs, names, lookup) = (jobs_rx.clone(), names_tx.clone(), lookup.clone());
                // Detached: a worker stuck in the resolver past `linger` is left behind and
                // ends with the process; its late answer goes nowhere.
                std::thread::spawn(move || {
                    for ip in jobs {
                        let found = lookup(ip).map(|ptr| NameResult {
                            ip,
                            ptr,
                            ts: unix_now(),
                        });
                        if names.send(found).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(names_tx);
            let mut asked: HashSet<IpAddr> = HashSet::new();
            let mut ask = |ip: IpAddr| {
                if asked.insert(ip) {
                    let _ = jobs_tx.send(ip);
                }
            };
            if mode == Mode::All {
                all_hosts.into_iter().for_each(&mut ask);
            }
            let mut answered = 0usize;
            let deliver = |n: Option<NameResult>, answered: &mut usize| {
                *answered += 1;
                if let Some(n) = n {
                    let _ = output.send(Event::Name(n));
                }
            };
            loop {
                select! {
                    recv(input) -> e => match e {
                        Ok(e) => {
                            if let Event::Host(h) = &e {
                                ask(h.ip);
                            }
                            let _ = output.send(e);
                        }
                        Err(_) => break,
                    },
                    recv(names_rx) -> n => if let Ok(n) = n { deliver(n, &mut answered) },
                }
            }
            drop(jobs_tx);
            let total = asked.len();
            let deadline = Instant::now() + linger;
            while answered < total {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                match names_rx.recv_timeout(left) {
                    Ok(n) => deliver(n, &mut answered),
                    Err(_) => break,
                }
            }
        });
        NameStage { handle }
    }

    /// Waits for the stage: the engines have ended (the input is closed), and it stops by
    /// itself at most `linger` later.
    pub fn finish(self) {
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HostResult, Reason};

    fn host(ip: &str) -> Event {
        Event::Host(HostResult {
            ip: ip.parse().unwrap(),
            state: "up".into(),
            reason: Reason::SynAck,
            rtt_ms: None,
            ts: 0.0,
            hostname: None,
        })
    }

    /// Runs the stage over `events`; returns what came out and how long the end took.
    fn run(
        mode: Mode,
        lookup: Lookup,
        events: Vec<Event>,
        all: Vec<IpAddr>,
    ) -> (Vec<Event>, Duration) {
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let stage = NameStage::start(
            mode,
            4,
            lookup,
            all,
            in_rx,
            out_tx,
            Duration::from_millis(300),
        );
        for e in events {
            in_tx.send(e).unwrap();
        }
        drop(in_tx);
        let t = Instant::now();
        stage.finish();
        (out_rx.try_iter().collect(), t.elapsed())
    }

    fn names(out: &[Event]) -> Vec<(String, String)> {
        let mut v: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Event::Name(n) => Some((n.ip.to_string(), n.ptr.clone())),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    fn table() -> Lookup {
        Arc::new(|ip: IpAddr| match ip.to_string().as_str() {
            "198.18.0.1" => Some("one.lab".into()),
            "198.18.0.2" => Some("two.lab".into()),
            _ => None,
        })
    }

    #[test]
    fn hosts_that_answered_get_their_names_once_and_events_pass_through() {
        let events = vec![host("198.18.0.1"), host("198.18.0.3"), host("198.18.0.1")];
        let (out, _) = run(Mode::Answered, table(), events, vec![]);
        assert_eq!(
            out.iter().filter(|e| matches!(e, Event::Host(_))).count(),
            3
        );
        assert_eq!(names(&out), vec![("198.18.0.1".into(), "one.lab".into())]);
        let (out, _) = run(Mode::Never, table(), vec![host("198.18.0.1")], vec![]);
        assert_eq!(out.len(), 1, "-n: no lookups");
    }

    #[test]
    fn all_mode_looks_up_every_target() {
        let all = vec!["198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap()];
        let (out, _) = run(Mode::All, table(), vec![], all);
        assert_eq!(names(&out).len(), 2);
    }

    #[test]
    fn a_resolver_that_never_answers_costs_at_most_the_linger() {
        let stuck: Lookup = Arc::new(|_| {
            std::thread::sleep(Duration::from_secs(3600));
            None
        });
        let (out, took) = run(Mode::Answered, stuck, vec![host("198.18.0.1")], vec![]);
        assert_eq!(out.len(), 1, "the host event went through at once");
        // Not a timing test: a stage that waited for the resolver would take an hour.
        assert!(took < Duration::from_secs(60), "waited {took:?}");
    }
}
