//! A pipelined PTR client: one UDP socket to the system's first name server, up to `window`
//! queries in flight, each matched by its 16-bit id and its question. Asking the resolver
//! library one address at a time (a socket, a resolv.conf read and a round trip per lookup
//! on a worker thread) cost a /16 sweep a quarter of its time; this keeps pace with it.
//!
//! It answers the way the system resolver would with `hosts: files dns`: the hosts file
//! first, then DNS. Whatever it cannot settle (timeouts, server failures, and "no name" when
//! nsswitch lists other sources) goes back to the caller for the system resolver.

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Queries per address before the system resolver is asked instead.
const ATTEMPTS: u32 = 2;

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
        })
    }

    /// Answers every address from `jobs` on `done` until `jobs` closes and nothing is out.
    pub fn run(self, jobs: Receiver<IpAddr>, done: Sender<(IpAddr, Outcome)>) {
        let socket = UdpSocket::bind(match self.server {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        })
        .and_then(|s| s.connect(self.server).map(|()| s))
        .and_then(|s| {
            s.set_read_timeout(Some(Duration::from_millis(5)))
                .map(|()| s)
        });
        let Ok(socket) = socket else {
            for ip in jobs {
                let _ = done.send((ip, Outcome::Unsettled));
            }
            return;
        };
        // id → (address, the query, attempts so far)
        let mut out: HashMap<u16, (IpAddr, Vec<u8>, u32)> = HashMap::new();
        let mut expiry: VecDeque<(Instant, u16)> = VecDeque::new();
        let mut next_id: u16 = rand::random();
        let mut open = true;
        let mut buf = [0u8; 4096];
        loop {
            while open && out.len() < self.window {
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
                    let _ = done.send((ip, Outcome::Name(name.clone())));
                    continue;
                }
                while out.contains_key(&next_id) {
                    next_id = next_id.wrapping_add(1);
                }
                let id = next_id;
                next_id = next_id.wrapping_add(1);
                let q = query(id, ip);
                if socket.send(&q).is_err() {
                    let _ = done.send((ip, Outcome::Unsettled));
                    continue;
                }
                expiry.push_back((Instant::now() + self.timeout, id));
                out.insert(id, (ip, q, 1));
            }
            if !open && out.is_empty() {
                return;
            }
            match socket.recv(&mut buf) {
                Ok(n) => {
                    if let Some((id, asked, answer)) = parse(&buf[..n])
                        && out.get(&id).is_some_and(|(_, q, _)| question(q) == asked)
                        && let Some((ip, ..)) = out.remove(&id)
                    {
                        let outcome = match answer {
                            Answer::Name(n) => Outcome::Name(n),
                            Answer::NoName if self.nxdomain_is_final => Outcome::NoName,
                            _ => Outcome::Unsettled,
                        };
                        let _ = done.send((ip, outcome));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                // ECONNREFUSED (no server there) and the like: what is out will time out.
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
            let now = Instant::now();
            while let Some(&(at, id)) = expiry.front() {
                if at > now {
                    break;
                }
                expiry.pop_front();
                // A lost query or answer is asked once more (a busy server drops some).
                match out.get_mut(&id) {
                    Some((_, q, tries)) if *tries < ATTEMPTS && socket.send(q).is_ok() => {
                        *tries += 1;
                        expiry.push_back((now + self.timeout, id));
                    }
                    Some(_) => {
                        if let Some((ip, ..)) = out.remove(&id) {
                            let _ = done.send((ip, Outcome::Unsettled));
                        }
                    }
                    None => {}
                }
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

/// A recursive PTR query for `ip` (in-addr.arpa / ip6.arpa).
pub fn query(id: u16, ip: IpAddr) -> Vec<u8> {
    let mut q = Vec::with_capacity(80);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    let mut label = |s: &str| {
        q.push(s.len() as u8);
        q.extend_from_slice(s.as_bytes());
    };
    match ip {
        IpAddr::V4(a) => {
            for o in a.octets().iter().rev() {
                label(&o.to_string());
            }
            label("in-addr");
        }
        IpAddr::V6(a) => {
            for b in a.octets().iter().rev() {
                label(&format!("{:x}", b & 0xf));
                label(&format!("{:x}", b >> 4));
            }
            label("ip6");
        }
    }
    label("arpa");
    q.push(0);
    q.extend_from_slice(&[0, 12, 0, 1]); // PTR, IN
    q
}

/// The question section of a query we built (everything after the header).
fn question(q: &[u8]) -> &[u8] {
    &q[12..]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Name(String),
    /// NXDOMAIN, or an answer without a PTR record.
    NoName,
    /// SERVFAIL, REFUSED, truncation …: try elsewhere.
    Failed,
}

/// (id, question bytes, answer) of a response; None if it is not a DNS response.
pub fn parse(r: &[u8]) -> Option<(u16, Vec<u8>, Answer)> {
    let id = u16::from_be_bytes([*r.first()?, *r.get(1)?]);
    let flags = u16::from_be_bytes([*r.get(2)?, *r.get(3)?]);
    if flags & 0x8000 == 0 {
        return None; // a query, not a response
    }
    let qd = u16::from_be_bytes([*r.get(4)?, *r.get(5)?]);
    let an = u16::from_be_bytes([*r.get(6)?, *r.get(7)?]);
    if qd != 1 {
        return None;
    }
    let q_end = skip_name(r, 12)? + 4;
    let asked = r.get(12..q_end)?.to_vec();
    let rcode = flags & 0xf;
    let truncated = flags & 0x0200 != 0;
    if rcode == 3 {
        return Some((id, asked, Answer::NoName));
    }
    if rcode != 0 || truncated {
        return Some((id, asked, Answer::Failed));
    }
    let mut at = q_end;
    for _ in 0..an {
        at = skip_name(r, at)?;
        let rtype = u16::from_be_bytes([*r.get(at)?, *r.get(at + 1)?]);
        let len = usize::from(u16::from_be_bytes([*r.get(at + 8)?, *r.get(at + 9)?]));
        let data = at + 10;
        if rtype == 12 {
            let name = read_name(r, data)?;
            return Some((id, asked, Answer::Name(name)));
        }
        at = data + len;
    }
    Some((id, asked, Answer::NoName))
}

/// The offset just past the name at `at` (a compression pointer ends it).
fn skip_name(r: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *r.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

/// The dotted name at `at`, following compression pointers (at most 16, so no loops).
fn read_name(r: &[u8], mut at: usize) -> Option<String> {
    let mut labels: Vec<String> = Vec::new();
    for _ in 0..128 {
        let len = *r.get(at)?;
        if len == 0 {
            let name = labels.join(".");
            return (!name.is_empty()).then_some(name);
        }
        if len & 0xc0 == 0xc0 {
            if labels.len() > 127 {
                return None;
            }
            at = usize::from(u16::from_be_bytes([len, *r.get(at + 1)?]) & 0x3fff);
            continue;
        }
        let label = r.get(at + 1..at + 1 + usize::from(len))?;
        labels.push(crate::banners::text::printable(label, 63));
        at += 1 + usize::from(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A response as a server writes it: the question, then a PTR answer whose owner is a
    /// compression pointer to the question's name.
    fn response(q: &[u8], rcode: u8, ptr: Option<&str>) -> Vec<u8> {
        let mut r = q.to_vec();
        r[2] = 0x81;
        r[3] = 0x80 | rcode;
        if let Some(name) = ptr {
            r[7] = 1;
            let mut rdata = Vec::new();
            for l in name.split('.') {
                rdata.push(l.len() as u8);
                rdata.extend_from_slice(l.as_bytes());
            }
            rdata.push(0);
            r.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 1, 44]);
            r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            r.extend_from_slice(&rdata);
        }
        r
    }

    #[test]
    fn queries_name_the_reverse_zone() {
        let q = query(0xbeef, "198.18.0.7".parse().unwrap());
        assert_eq!(&q[..2], &[0xbe, 0xef]);
        assert_eq!(
            &q[12..],
            b"\x017\x010\x0218\x03198\x07in-addr\x04arpa\x00\x00\x0c\x00\x01"
        );
        let q6 = query(1, "2001:db8::1".parse().unwrap());
        assert!(q6.windows(10).any(|w| w == b"\x03ip6\x04arpa\x00"));
        assert_eq!(q6.len(), 12 + 64 + 4 + 5 + 1 + 4);
    }

    #[test]
    fn answers_parse_with_compression_and_failures_are_told_apart() {
        let q = query(7, "198.18.3.4".parse().unwrap());
        let (id, asked, a) = parse(&response(&q, 0, Some("h3-4.lab"))).unwrap();
        assert_eq!(
            (id, asked.as_slice(), a),
            (7, question(&q), Answer::Name("h3-4.lab".into()))
        );
        assert_eq!(parse(&response(&q, 3, None)).unwrap().2, Answer::NoName);
        assert_eq!(parse(&response(&q, 2, None)).unwrap().2, Answer::Failed);
        assert_eq!(parse(&response(&q, 0, None)).unwrap().2, Answer::NoName);
        assert_eq!(parse(&q), None, "our own query is no answer");
        // A pointer loop ends, without a name.
        let mut looped = response(&q, 0, Some("x"));
        let n = looped.len();
        looped[n - 3..].copy_from_slice(&[0xc0, (n - 3) as u8, 0]);
        assert!(!matches!(
            parse(&looped).map(|p| p.2),
            Some(Answer::Name(_))
        ));
    }

    #[test]
    fn system_files_are_read_as_glibc_reads_them() {
        let (s, t) = resolv_conf("# x\nsearch lab\nnameserver 198.19.0.2\nnameserver 9.9.9.9\noptions timeout:1 attempts:1\n").unwrap();
        assert_eq!(
            (s, t),
            ("198.19.0.2:53".parse().unwrap(), Duration::from_secs(1))
        );
        assert!(resolv_conf("search lab\n").is_none());
        let h = hosts_file("127.0.0.1 localhost\n198.18.0.7 web.lab www # c\n198.18.0.7 other\n");
        assert_eq!(
            h.get(&"198.18.0.7".parse().unwrap()).map(String::as_str),
            Some("web.lab")
        );
        assert!(only_files_and_dns("hosts: files dns\n"));
        assert!(only_files_and_dns("hosts:  files [NOTFOUND=return] dns"));
        assert!(!only_files_and_dns(
            "hosts: files mdns4_minimal [NOTFOUND=return] dns"
        ));
    }

    /// Against a server on loopback: names, a hosts-file name asked of nobody, NXDOMAIN, a
    /// server that never answers one address (settled elsewhere after the timeout).
    #[test]
    fn many_queries_in_flight_get_their_own_answers() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = server.recv_from(&mut b) {
                let q = &b[..n];
                // 1.0.18.198 = 198.18.0.1 … the last octet is the first label.
                let first = std::str::from_utf8(&q[13..13 + usize::from(q[12])])
                    .unwrap()
                    .to_string();
                let r = match first.as_str() {
                    "9" => response(q, 3, None),
                    "8" => continue, // never answered
                    d => response(q, 0, Some(&format!("h{d}.lab"))),
                };
                let _ = server.send_to(&r, from);
            }
        });
        let client = PtrClient {
            server: addr,
            hosts: [("198.18.0.7".parse().unwrap(), "web.lab".to_string())].into(),
            nxdomain_is_final: true,
            timeout: Duration::from_millis(300),
            window: 4,
        };
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        for d in 1..=9 {
            jobs_tx.send(IpAddr::from([198, 18, 0, d])).unwrap();
        }
        drop(jobs_tx);
        client.run(jobs_rx, done_tx);
        let got: HashMap<IpAddr, Outcome> = done_rx.try_iter().collect();
        assert_eq!(got.len(), 9);
        let at = |d: u8| got[&IpAddr::from([198, 18, 0, d])].clone();
        assert_eq!(at(1), Outcome::Name("h1.lab".into()));
        assert_eq!(at(6), Outcome::Name("h6.lab".into()));
        assert_eq!(at(7), Outcome::Name("web.lab".into()));
        assert_eq!(at(8), Outcome::Unsettled);
        assert_eq!(at(9), Outcome::NoName);
    }

    proptest! {
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
