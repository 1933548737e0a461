//! Reverse DNS as a post stage between the engines and the output thread. Events pass through
//! at once; each host that answered (or, with `-R`, every target host) is looked up by a small
//! pool of worker threads, and a name found becomes its own event (`"type":"name"`). A slow or
//! dead resolver therefore never slows the scan: at most `asking::OUTSTANDING` lookups are
//! out at once, the hosts beyond wait in a compact backlog (and `-R` walks the targets as room
//! frees up), and at the end the stage waits at most `linger` for lookups still out or
//! waiting, then lets the output finish without them.

mod asking;
pub mod cache;
pub mod ptr;
mod sockets;
pub mod wire;

pub use ptr::Outcome;

use crate::event::{Event, NameResult, unix_now};
pub use asking::Walk;
use asking::{Asking, Next, OUTSTANDING};
use cache::NameCache;
use crossbeam_channel::{Receiver, Sender, select};
use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `-n`: no lookups.
    Never,
    /// The default: hosts that answered.
    Answered,
    /// `-R`: every target host, answered or not.
    All,
}

/// Resolves one address (blocking; run on the workers): a name, no name, or `Unsettled` when
/// the resolver could not tell (a timeout, a failure), which is neither reported nor cached.
pub type Lookup = Arc<dyn Fn(IpAddr) -> Outcome + Send + Sync>;

/// The system resolver (getnameinfo with NI_NAMEREQD: no numeric fallbacks). Not
/// `dns_lookup::lookup_addr`: on every failure it calls `res_init()`, which is not thread-safe;
/// sixteen workers failing at once (out of descriptors) crashed the process.
pub fn system_lookup() -> Lookup {
    Arc::new(|ip| {
        let flags = libc::NI_NAMEREQD | libc::NI_NUMERICSERV;
        match dns_lookup::getnameinfo(&std::net::SocketAddr::new(ip, 0), flags) {
            Ok((host, _)) => Outcome::Name(host),
            Err(e) if matches!(e.kind(), dns_lookup::LookupErrorKind::NoName) => Outcome::NoName,
            // EAI_AGAIN and the like: a busy or unreachable resolver is not "no name".
            Err(_) => Outcome::Unsettled,
        }
    })
}

pub struct NameStage {
    handle: JoinHandle<()>,
}

/// How the stage looks names up.
pub struct StageConfig {
    pub mode: Mode,
    pub workers: usize,
    pub lookup: Lookup,
    /// What `-R` looks up: every target host, walked as lookups finish.
    pub all_hosts: Walk,
    /// After the input ends, the longest wait for lookups still out.
    pub linger: Duration,
    pub cache: NameCache,
    /// The pipelined client that asks first (None: the lookup workers ask everything).
    pub fast: Option<ptr::PtrClient>,
    /// An abort ends the linger at once (a graceful stop lets it run: it is bounded).
    pub stop: crate::stop::StopSignal,
}

/// How soon the linger notices an abort.
const ABORT_POLL: Duration = Duration::from_millis(50);

impl NameStage {
    /// Forwards `input` to `output`, adding name events.
    pub fn start(config: StageConfig, input: Receiver<Event>, output: Sender<Event>) -> NameStage {
        let StageConfig {
            mode,
            workers,
            lookup,
            all_hosts,
            linger,
            mut cache,
            fast,
            stop,
        } = config;
        let handle = std::thread::spawn(move || {
            if mode == Mode::Never {
                for e in input {
                    let _ = output.send(e);
                }
                return;
            }
            // Each queue to and from the lookups holds at most the lookups out, which
            // `Asking` keeps to OUTSTANDING: no send to them ever waits.
            let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<IpAddr>(OUTSTANDING);
            let (names_tx, names_rx) = crossbeam_channel::bounded::<(IpAddr, Outcome)>(OUTSTANDING);
            for _ in 0..workers.max(1) {
                let (jobs, names, lookup) = (jobs_rx.clone(), names_tx.clone(), lookup.clone());
                // Detached: a worker stuck in the resolver past `linger` is left behind and
                // ends with the process; its late answer goes nowhere.
                std::thread::spawn(move || {
                    for ip in jobs {
                        if names.send((ip, lookup(ip))).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(names_tx);
            // The fast path: what it settles is delivered, the rest goes to the workers.
            let (fast_tx, fast_done) = match fast {
                Some(client) => {
                    let (tx, rx) = crossbeam_channel::bounded::<IpAddr>(OUTSTANDING);
                    let (done_tx, done_rx) = crossbeam_channel::bounded(OUTSTANDING);
                    std::thread::spawn(move || client.run(rx, done_tx));
                    (Some(tx), done_rx)
                }
                None => (None, crossbeam_channel::never()),
            };
            let now = || unix_now() as u64;
            let send_name = |ip: IpAddr, ptr: String| {
                let _ = output.send(Event::Name(NameResult {
                    ip,
                    ptr,
                    ts: unix_now(),
                }));
            };
            let mut asking = Asking::new((mode == Mode::All).then_some(all_hosts));
            // What may go now goes: known names at once, the rest to a lookup. A bounded
            // number a call, so that events keep flowing through a long `-R` walk.
            let feed = |asking: &mut Asking, cache: &NameCache| {
                for _ in 0..OUTSTANDING {
                    match asking.next(cache) {
                        None => break,
                        Some(Next::Known(ip, name)) => {
                            if let Some(n) = name {
                                send_name(ip, n);
                            }
                        }
                        Some(Next::Ask(ip)) => {
                            let _ = match &fast_tx {
                                Some(f) => f.send(ip),
                                None => jobs_tx.send(ip),
                            };
                        }
                    }
                }
            };
            // The workers' answers: final whatever they are.
            let deliver =
                |(ip, outcome): (IpAddr, Outcome), cache: &mut NameCache, asking: &mut Asking| {
                    asking.answered();
                    match outcome {
                        Outcome::Name(n) => {
                            cache.put(ip, Some(n.clone()), now());
                            send_name(ip, n);
                        }
                        Outcome::NoName => cache.put(ip, None, now()),
                        Outcome::Unsettled => {}
                    }
                };
            // The fast path's: what it could not settle goes on to the workers (still out,
            // so still counted).
            let settle = |(ip, outcome): (IpAddr, Outcome),
                          cache: &mut NameCache,
                          asking: &mut Asking| match outcome {
                Outcome::Unsettled => {
                    let _ = jobs_tx.send(ip);
                }
                settled => deliver((ip, settled), cache, asking),
            };
            loop {
                feed(&mut asking, &cache);
                select! {
                    recv(input) -> e => match e {
                        Ok(e) => {
                            if let Event::Host(h) = &e {
                                asking.host_up(h.ip);
                            }
                            let _ = output.send(e);
                        }
                        Err(_) => break,
                    },
                    recv(names_rx) -> n => if let Ok(n) = n { deliver(n, &mut cache, &mut asking) },
                    recv(fast_done) -> n => if let Ok(n) = n { settle(n, &mut cache, &mut asking) },
                }
            }
            // Nothing more comes in: what is out, and what still waits, for at most `linger`.
            let deadline = Instant::now() + linger;
            let mut fast_open = true;
            while !asking.idle()
                && stop.level() != crate::stop::StopLevel::Abort
                && let Some(left) = deadline.checked_duration_since(Instant::now())
            {
                feed(&mut asking, &cache);
                // In slices, so that an abort is seen within one.
                let timeout = crossbeam_channel::after(left.min(ABORT_POLL));
                select! {
                    recv(names_rx) -> n => match n {
                        Ok(n) => deliver(n, &mut cache, &mut asking),
                        Err(_) => break,
                    },
                    recv(if fast_open { fast_done.clone() } else { crossbeam_channel::never() }) -> n => match n {
                        Ok(n) => settle(n, &mut cache, &mut asking),
                        Err(_) => fast_open = false,
                    },
                    recv(timeout) -> _ => {}
                }
            }
            drop(fast_tx);
            drop(jobs_tx);
            // Best effort: a cache that cannot be written costs the next scan some lookups.
            let _ = cache.save();
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
            ttl: None,
        })
    }

    /// Runs the stage over `events`; returns what came out and how long the end took.
    fn run(
        mode: Mode,
        lookup: Lookup,
        events: Vec<Event>,
        all: Vec<IpAddr>,
        cache_path: Option<std::path::PathBuf>,
    ) -> (Vec<Event>, Duration) {
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let cache = NameCache::load(cache_path, unix_now() as u64);
        let config = StageConfig {
            mode,
            workers: 4,
            lookup,
            all_hosts: Box::new(all.into_iter()),
            linger: Duration::from_millis(300),
            cache,
            fast: None,
            stop: crate::stop::StopSignal::default(),
        };
        let stage = NameStage::start(config, in_rx, out_tx);
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
            "198.18.0.1" => Outcome::Name("one.lab".into()),
            "198.18.0.2" => Outcome::Name("two.lab".into()),
            _ => Outcome::NoName,
        })
    }

    #[test]
    fn hosts_that_answered_get_their_names_once_and_events_pass_through() {
        let events = vec![host("198.18.0.1"), host("198.18.0.3"), host("198.18.0.1")];
        let (out, _) = run(Mode::Answered, table(), events, vec![], None);
        assert_eq!(
            out.iter().filter(|e| matches!(e, Event::Host(_))).count(),
            3
        );
        assert_eq!(names(&out), vec![("198.18.0.1".into(), "one.lab".into())]);
        let (out, _) = run(Mode::Never, table(), vec![host("198.18.0.1")], vec![], None);
        assert_eq!(out.len(), 1, "-n: no lookups");
    }

    #[test]
    fn all_mode_looks_up_every_target() {
        let all = vec!["198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap()];
        let (out, _) = run(Mode::All, table(), vec![], all, None);
        assert_eq!(names(&out).len(), 2);
    }

    #[test]
    fn a_second_scan_asks_the_resolver_nothing_the_first_learned() {
        let dir = std::env::temp_dir().join(format!("synsweep-stage-{}", std::process::id()));
        let path = dir.join("names.tsv");
        let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counting = |asked: Arc<std::sync::atomic::AtomicUsize>| -> Lookup {
            Arc::new(move |ip| {
                asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                table()(ip)
            })
        };
        let events = || vec![host("198.18.0.1"), host("198.18.0.3")];
        let (first, _) = run(
            Mode::Answered,
            counting(asked.clone()),
            events(),
            vec![],
            Some(path.clone()),
        );
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
        let (second, _) = run(
            Mode::Answered,
            counting(asked.clone()),
            events(),
            vec![],
            Some(path),
        );
        assert_eq!(
            asked.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "all from the cache"
        );
        assert_eq!(names(&first), names(&second));
        assert_eq!(
            names(&second),
            vec![("198.18.0.1".into(), "one.lab".into())]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The fast path asking a server that never answers (its timeout far past the linger):
    /// the stage still ends after the linger, with every event through.
    #[test]
    fn a_name_server_that_never_answers_costs_at_most_the_linger() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = ptr::PtrClient {
            server: silent.local_addr().unwrap(),
            hosts: Default::default(),
            nxdomain_is_final: true,
            timeout: Duration::from_secs(30),
            window: 16,
            notify: |_| {},
        };
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let config = StageConfig {
            mode: Mode::Answered,
            workers: 2,
            lookup: table(),
            all_hosts: Box::new(std::iter::empty()),
            linger: Duration::from_millis(300),
            cache: NameCache::load(None, 0),
            fast: Some(client),
            stop: crate::stop::StopSignal::default(),
        };
        let stage = NameStage::start(config, in_rx, out_tx);
        in_tx.send(host("198.18.0.1")).unwrap();
        drop(in_tx);
        let t = Instant::now();
        stage.finish();
        let took = t.elapsed();
        assert_eq!(out_rx.try_iter().count(), 1, "the host, and no name");
        // Not a timing test: a stage that waited for the client would take 60 s.
        assert!(took < Duration::from_secs(20), "waited {took:?}");
        drop(silent);
    }

    #[test]
    fn a_resolver_that_never_answers_costs_at_most_the_linger() {
        let stuck: Lookup = Arc::new(|_| {
            std::thread::sleep(Duration::from_secs(3600));
            Outcome::NoName
        });
        let (out, took) = run(
            Mode::Answered,
            stuck,
            vec![host("198.18.0.1")],
            vec![],
            None,
        );
        assert_eq!(out.len(), 1, "the host event went through at once");
        // Not a timing test: a stage that waited for the resolver would take an hour.
        assert!(took < Duration::from_secs(60), "waited {took:?}");
    }

    #[test]
    fn an_abort_ends_the_linger_at_once() {
        let stuck: Lookup = Arc::new(|_| {
            std::thread::sleep(Duration::from_secs(3600));
            Outcome::NoName
        });
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, _out_rx) = crossbeam_channel::unbounded();
        let stop = crate::stop::StopSignal::default();
        let config = StageConfig {
            mode: Mode::Answered,
            workers: 1,
            lookup: stuck,
            all_hosts: Box::new(std::iter::empty()),
            linger: Duration::from_secs(30),
            cache: NameCache::load(None, 0),
            fast: None,
            stop: stop.clone(),
        };
        let stage = NameStage::start(config, in_rx, out_tx);
        in_tx.send(host("198.18.0.1")).unwrap();
        drop(in_tx);
        std::thread::sleep(Duration::from_millis(100));
        stop.escalate();
        stop.escalate();
        let t = Instant::now();
        stage.finish();
        // The linger is 30 s: only the abort ends it this soon.
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    /// Thousands of hosts up and a resolver that never answers: every event still passes
    /// (through a small bounded output read as it comes), at most `OUTSTANDING` lookups are
    /// ever handed out, and the stage ends after the linger.
    #[test]
    fn a_stuck_resolver_never_holds_events_back_however_many_hosts_answer() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let stuck: Lookup = Arc::new(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(3600));
            Outcome::NoName
        });
        let (in_tx, in_rx) = crossbeam_channel::bounded(8);
        let (out_tx, out_rx) = crossbeam_channel::bounded(8);
        let config = StageConfig {
            mode: Mode::Answered,
            workers: 4,
            lookup: stuck,
            all_hosts: Box::new(std::iter::empty()),
            linger: Duration::from_millis(200),
            cache: NameCache::load(None, 0),
            fast: None,
            stop: crate::stop::StopSignal::default(),
        };
        let stage = NameStage::start(config, in_rx, out_tx);
        let reader = std::thread::spawn(move || out_rx.iter().count());
        let t = Instant::now();
        for i in 0..5000u32 {
            let ip = std::net::Ipv4Addr::from_bits(0xc612_0000 + i);
            in_tx.send(host(&ip.to_string())).unwrap();
        }
        drop(in_tx);
        stage.finish();
        assert_eq!(reader.join().unwrap(), 5000);
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            4,
            "one per worker"
        );
    }
}
