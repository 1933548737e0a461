//! A pipelined PTR client: up to `window` queries in flight to the system's first name
//! server, each matched by its id, its question and the socket it went out on. Asking the
//! resolver library one address at a time (a socket, a resolv.conf read and a round trip per
//! lookup on a worker thread) cost a /16 sweep a quarter of its time; this keeps pace with it.
//!
//! Hard to spoof (RFC 5452): query ids are random, every 16 queries go out from a fresh
//! source port (a connected socket, so the kernel drops datagrams from anyone but the
//! server), and an answer counts only when id, question and the record's owner all match.
//! A server that refuses (ICMP port unreachable, or rcode REFUSED) is given up on at once,
//! with one notice: everything still out or still to come goes straight back.
//!
//! It answers the way the system resolver would with `hosts: files dns`: the hosts file
//! first, then DNS. Whatever it cannot settle (timeouts, server failures, and "no name" when
//! nsswitch lists other sources) goes back to the caller for the system resolver.

use super::sockets::Ports;
use super::wire::{self, Answer};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Queries per address before the system resolver is asked instead.
const ATTEMPTS: u32 = 2;
/// The most queries out at once, whatever `window` says: ids are drawn at random among
/// those not in flight, which needs most of the 65536 free.
const MAX_WINDOW: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Name(String),
    /// DNS says the address has no name, and nothing else would be asked.
    NoName,
    /// Not settled here: ask the system resolver.
    Unsettled,
}

#[derive(Debug, Clone)]
pub struct PtrClient {
    pub server: SocketAddr,
    /// The hosts file's names, by address (its first name for each).
    pub hosts: HashMap<IpAddr, String>,
    /// Does "no such name" from DNS settle it? (nsswitch asks only files and dns)
    pub nxdomain_is_final: bool,
    pub timeout: Duration,
    pub window: usize,
    /// Tells the user, once, that the server was given up on.
    pub notify: fn(&str),
}

fn to_stderr(notice: &str) {
    eprintln!("synsweep: {notice}");
}

/// A query out: for which address, its bytes, how often sent, and from which port.
struct Flight {
    ip: IpAddr,
    query: Vec<u8>,
    tries: u32,
    port: u64,
}

fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ConnectionRefused
}

impl PtrClient {
    /// From the system's files; None without a name server to ask.
    pub fn from_system() -> Option<PtrClient> {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let (server, timeout) = resolv_conf(&read("/etc/resolv.conf"))?;
        Some(PtrClient {
            server,
            hosts: hosts_file(&read("/etc/hosts")),
            nxdomain_is_final: only_files_and_dns(&read("/etc/nsswitch.conf")),
            timeout,
            // Enough to keep pace with a sweep; more only overflows a small server's socket
            // buffer (the lab's lost queries at 1024).
            window: 256,
            notify: to_stderr,
        })
    }

    /// A random id no query in flight has.
    fn fresh_id(out: &HashMap<u16, Flight>) -> u16 {
        loop {
            let id: u16 = rand::random();
            if !out.contains_key(&id) {
                return id;
            }
        }
    }

    /// The flight `bytes` (received on `port`) answers, with the answer; None for anything
    /// else: another id, another question, another port, not DNS.
    fn matching(
        out: &mut HashMap<u16, Flight>,
        port: u64,
        bytes: &[u8],
    ) -> Option<(Flight, Answer)> {
        let (id, asked, answer) = wire::parse(bytes)?;
        let f = out.get(&id)?;
        if f.port != port || !asked.eq_ignore_ascii_case(wire::question(&f.query)) {
            return None;
        }
        out.remove(&id).map(|f| (f, answer))
    }

    /// Answers every address from `jobs` on `done` until `jobs` closes and nothing is out.
    pub fn run(self, jobs: Receiver<IpAddr>, done: Sender<(IpAddr, Outcome)>) {
        let window = self.window.clamp(1, MAX_WINDOW);
        let mut ports = Ports::new(self.server);
        let mut out: HashMap<u16, Flight> = HashMap::new();
        let mut expiry: VecDeque<(Instant, u16)> = VecDeque::new();
        let mut open = true;
        let mut gave_up: Option<String> = None;
        let answer = |ip: IpAddr, o: Outcome| {
            let _ = done.send((ip, o));
        };
        while gave_up.is_none() {
            while open && out.len() < window {
                let ip = if out.is_empty() {
                    match jobs.recv() {
                        Ok(ip) => ip,
                        Err(_) => {
                            open = false;
                            break;
                        }
                    }
                } else {
                    match jobs.try_recv() {
                        Ok(ip) => ip,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                };
                if let Some(name) = self.hosts.get(&ip) {
                    answer(ip, Outcome::Name(name.clone()));
                    continue;
                }
                let id = Self::fresh_id(&out);
                let query = wire::query(id, ip);
                match ports.send(&query) {
                    Ok(port) => {
                        expiry.push_back((Instant::now() + self.timeout, id));
                        out.insert(
                            id,
                            Flight {
                                ip,
                                query,
                                tries: 1,
                                port,
                            },
                        );
                    }
                    Err(e) => {
                        answer(ip, Outcome::Unsettled);
                        if refused(&e) {
                            gave_up = Some(format!("refused ({e})"));
                            break;
                        }
                    }
                }
            }
            if gave_up.is_some() || (!open && out.is_empty()) {
                break;
            }
            for (port, got) in ports.receive(Duration::from_millis(5)) {
                match got {
                    Ok(bytes) => {
                        let Some((f, a)) = Self::matching(&mut out, port, &bytes) else {
                            continue;
                        };
                        ports.answered(port);
                        let outcome = match a {
                            Answer::Name(n) => Outcome::Name(n),
                            Answer::NoName if self.nxdomain_is_final => Outcome::NoName,
                            Answer::Refused => {
                                gave_up.get_or_insert_with(|| "answered REFUSED".into());
                                Outcome::Unsettled
                            }
                            _ => Outcome::Unsettled,
                        };
                        answer(f.ip, outcome);
                    }
                    Err(e) if refused(&e) => {
                        gave_up.get_or_insert_with(|| format!("refused ({e})"));
                    }
                    Err(_) => {}
                }
            }
            let now = Instant::now();
            while gave_up.is_none()
                && let Some(&(at, id)) = expiry.front()
                && at <= now
            {
                expiry.pop_front();
                let Some(f) = out.get_mut(&id) else {
                    continue;
                };
                // A lost query or answer is asked once more (a busy server drops some), from
                // the port queries now go out on.
                ports.answered(f.port);
                let resent = (f.tries < ATTEMPTS).then(|| ports.send(&f.query));
                match resent {
                    Some(Ok(port)) => {
                        f.tries += 1;
                        f.port = port;
                        expiry.push_back((now + self.timeout, id));
                    }
                    Some(Err(e)) if refused(&e) => {
                        gave_up.get_or_insert_with(|| format!("refused ({e})"));
                    }
                    _ => {
                        if let Some(f) = out.remove(&id) {
                            answer(f.ip, Outcome::Unsettled);
                        }
                    }
                }
            }
        }
        let Some(why) = gave_up else {
            return;
        };
        (self.notify)(&format!(
            "name server {} {why}: reverse names are left to the system resolver",
            self.server
        ));
        drop(ports);
        for (_, f) in out.drain() {
            answer(f.ip, Outcome::Unsettled);
        }
        for ip in jobs {
            match self.hosts.get(&ip) {
                Some(name) => answer(ip, Outcome::Name(name.clone())),
                None => answer(ip, Outcome::Unsettled),
            }
        }
    }
}

/// The first name server and the per-query timeout (`options timeout:N`, at most 2 s).
pub fn resolv_conf(text: &str) -> Option<(SocketAddr, Duration)> {
    let mut server = None;
    let mut timeout = Duration::from_secs(2);
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") if server.is_none() => {
                server = words
                    .next()
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .map(|ip| SocketAddr::new(ip, 53));
            }
            Some("options") => {
                for w in words {
                    if let Some(n) = w.strip_prefix("timeout:").and_then(|n| n.parse().ok()) {
                        timeout = Duration::from_secs(n)
                            .min(timeout)
                            .max(Duration::from_millis(200));
                    }
                }
            }
            _ => {}
        }
    }
    Some((server?, timeout))
}

/// Address → first name of each hosts-file line (the first line for an address wins).
pub fn hosts_file(text: &str) -> HashMap<IpAddr, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if let (Some(addr), Some(name)) = (words.next(), words.next())
            && let Ok(ip) = addr.parse::<IpAddr>()
        {
            m.entry(ip).or_insert_with(|| name.to_string());
        }
    }
    m
}

/// Does nsswitch ask only the hosts file and DNS for host names?
pub fn only_files_and_dns(nsswitch: &str) -> bool {
    let Some(line) = nsswitch
        .lines()
        .find(|l| l.trim_start().starts_with("hosts:"))
    else {
        return true; // glibc's default: dns, files
    };
    line.trim_start()["hosts:".len()..]
        .split_whitespace()
        .filter(|w| !w.starts_with('['))
        .all(|w| w == "files" || w == "dns")
}

#[cfg(test)]
mod tests;
