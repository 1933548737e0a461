//! The client against scripted name servers on loopback: honest, hostile (wrong id, wrong
//! question, wrong owner, answers from the wrong port), refusing, and closed.

use super::*;
use crate::names::wire::tests::{many_hops_response, response, wire_name};
use std::net::UdpSocket;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ip(d: u8) -> IpAddr {
    IpAddr::from([198, 18, 0, d])
}

/// The first label of a query's question (198.18.0.d asks for d.0.18.198…).
fn first_label(q: &[u8]) -> String {
    let n = usize::from(q[12]);
    String::from_utf8_lossy(&q[13..13 + n]).to_string()
}

fn client(server: SocketAddr, timeout_ms: u64, window: usize) -> PtrClient {
    PtrClient {
        server,
        hosts: HashMap::new(),
        nxdomain_is_final: true,
        timeout: Duration::from_millis(timeout_ms),
        window,
        notify: |_| {},
    }
}

/// Runs `c` over 198.18.0.1 ..= 198.18.0.n; the outcomes and how long it took.
fn ask(c: PtrClient, n: u8) -> (HashMap<IpAddr, Outcome>, Duration) {
    let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded();
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    for d in 1..=n {
        jobs_tx.send(ip(d)).unwrap();
    }
    drop(jobs_tx);
    let t = Instant::now();
    c.run(jobs_rx, done_tx);
    (done_rx.try_iter().collect(), t.elapsed())
}

/// What a scripted server saw: (query id, source port) of each query.
type Seen = std::sync::Arc<Mutex<Vec<(u16, u16)>>>;

/// A server answering each query with what `script` makes of it (every datagram it returns).
fn serve(script: fn(&[u8]) -> Vec<Vec<u8>>) -> (SocketAddr, Seen) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut b = [0u8; 512];
        while let Ok((n, from)) = server.recv_from(&mut b) {
            let q = &b[..n];
            if let Ok(mut l) = log.lock() {
                l.push((u16::from_be_bytes([q[0], q[1]]), from.port()));
            }
            for r in script(q) {
                let _ = server.send_to(&r, from);
            }
        }
    });
    (addr, seen)
}

/// Names, a hosts-file name asked of nobody, NXDOMAIN, a server that never answers one
/// address (settled elsewhere after the timeout); random ids, several source ports.
#[test]
fn many_queries_in_flight_get_their_own_answers() {
    let (addr, seen) = serve(|q| match first_label(q).as_str() {
        "9" => vec![response(q, 3, None)],
        "8" => vec![], // never answered
        d => vec![response(q, 0, Some(&format!("h{d}.lab")))],
    });
    let mut c = client(addr, 300, 4);
    c.hosts = [(ip(7), "web.lab".to_string())].into();
    let (got, _) = ask(c, 40);
    assert_eq!(got.len(), 40);
    assert_eq!(got[&ip(1)], Outcome::Name("h1.lab".into()));
    assert_eq!(got[&ip(40)], Outcome::Name("h40.lab".into()));
    assert_eq!(got[&ip(7)], Outcome::Name("web.lab".into()));
    assert_eq!(got[&ip(8)], Outcome::Unsettled);
    assert_eq!(got[&ip(9)], Outcome::NoName);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 39 + 1, "38 answered at once, 8 asked twice");
    let sequential = seen
        .windows(2)
        .filter(|w| w[1].0 == w[0].0.wrapping_add(1))
        .count();
    assert!(sequential < 5, "ids are random, not sequential: {seen:?}");
    let mut ports: Vec<u16> = seen.iter().map(|s| s.1).collect();
    ports.sort_unstable();
    ports.dedup();
    assert!(
        ports.len() >= 3,
        "a fresh source port every {} queries: {ports:?}",
        super::super::sockets::PER_PORT
    );
}

/// Before each true answer the server sends a wrong id, a wrong question and a record owned
/// by another address; for 198.18.0.3 it sends only those. None of them is believed.
#[test]
fn answers_with_the_wrong_id_question_or_owner_are_ignored() {
    let (addr, _) = serve(|q| {
        let d = first_label(q);
        let mut wrong_id = response(q, 0, Some("spoof-id.lab"));
        wrong_id[0] ^= 0x55;
        let mut wrong_question = response(q, 0, Some("spoof-q.lab"));
        let at = 13 + usize::from(q[12]) + 1; // the second label's first byte: "0" → "1"
        wrong_question[at] = b'1';
        let mut wrong_owner = q.to_vec();
        wrong_owner[2] = 0x81;
        wrong_owner[3] = 0x80;
        wrong_owner[7] = 1;
        let owner = wire_name("99.0.18.198.in-addr.arpa");
        let rdata = wire_name("spoof-owner.lab");
        wrong_owner.extend_from_slice(&owner);
        wrong_owner.extend_from_slice(&[0, 12, 0, 1, 0, 0, 1, 44]);
        wrong_owner.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        wrong_owner.extend_from_slice(&rdata);
        let mut v = vec![wrong_id, wrong_question];
        if d == "3" {
            return v;
        }
        v.push(wrong_owner);
        v.push(response(q, 0, Some(&format!("h{d}.lab"))));
        v
    });
    let (got, _) = ask(client(addr, 300, 8), 6);
    assert_eq!(got[&ip(1)], Outcome::Name("h1.lab".into()));
    assert_eq!(got[&ip(6)], Outcome::Name("h6.lab".into()));
    // The wrong owner came before the true answer and was not taken for "no name".
    assert_eq!(
        got[&ip(3)],
        Outcome::Unsettled,
        "only spoofs: never settled by one"
    );
    assert!(
        got.values()
            .all(|o| !matches!(o, Outcome::Name(n) if n.starts_with("spoof"))),
        "{got:?}"
    );
}

/// A server whose PTR name is the 8 KB chain of pointers: never a name, and the
/// next address (answered honestly) is unharmed.
#[test]
fn regression_an_8_kb_name_is_not_a_name() {
    let (addr, _) = serve(|q| match first_label(q).as_str() {
        "1" => vec![many_hops_response(q).0],
        d => vec![response(q, 0, Some(&format!("h{d}.lab")))],
    });
    let (got, _) = ask(client(addr, 300, 4), 2);
    assert_eq!(
        got[&ip(1)],
        Outcome::Unsettled,
        "left to the system resolver"
    );
    assert_eq!(got[&ip(2)], Outcome::Name("h2.lab".into()));
}

static REFUSED_NOTICES: AtomicUsize = AtomicUsize::new(0);
static CLOSED_NOTICES: AtomicUsize = AtomicUsize::new(0);

/// rcode REFUSED: given up on at the first answer, one notice, nothing waits a timeout.
#[test]
fn a_refusing_server_is_given_up_on_at_once() {
    let (addr, seen) = serve(|q| vec![response(q, 5, None)]);
    let mut c = client(addr, 10_000, 4);
    c.hosts = [(ip(50), "web.lab".to_string())].into();
    c.notify = |_| {
        REFUSED_NOTICES.fetch_add(1, Ordering::SeqCst);
    };
    let (got, took) = ask(c, 60);
    assert_eq!(got.len(), 60);
    assert_eq!(
        got[&ip(50)],
        Outcome::Name("web.lab".into()),
        "the hosts file still answers"
    );
    assert_eq!(
        got.values().filter(|o| **o == Outcome::Unsettled).count(),
        59
    );
    assert_eq!(REFUSED_NOTICES.load(Ordering::SeqCst), 1);
    assert!(
        seen.lock().unwrap().len() <= 4,
        "no more than the first window was asked"
    );
    // Behaviour, not speed: a client that waited for its 10 s timeout would take that long.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// Nothing listening: ICMP port unreachable arrives as ECONNREFUSED on the connected socket.
#[test]
fn a_closed_port_is_given_up_on_at_once() {
    let addr = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let mut c = client(addr, 10_000, 8);
    c.notify = |_| {
        CLOSED_NOTICES.fetch_add(1, Ordering::SeqCst);
    };
    let (got, took) = ask(c, 100);
    assert_eq!(got.len(), 100);
    assert!(got.values().all(|o| *o == Outcome::Unsettled));
    assert_eq!(CLOSED_NOTICES.load(Ordering::SeqCst), 1);
    assert!(took < Duration::from_secs(5), "{took:?}");
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
