//! The stage against real sockets on loopback: greeting, HTTP with a title, and an AI
//! endpoint, grabbed while events pass through untouched.

use super::*;
use crate::event::{PortResult, Reason};
use std::io::{Read, Write};
use std::net::TcpListener;

fn open(port: u16) -> Event {
    Event::Port(PortResult {
        ip: "127.0.0.1".parse().unwrap(),
        port,
        proto: Proto::Tcp,
        state: PortState::Open,
        reason: Reason::SynAck,
        service: String::new(),
        rtt_ms: None,
        ts: 0.0,
        hostname: None,
        ttl: None,
    })
}

/// A loopback server answering each connection with `reply(request)`.
fn serve(reply: fn(&str) -> Vec<u8>, greet_first: bool) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().take(16) {
            let Ok(mut c) = c else { continue };
            if greet_first {
                let _ = c.write_all(&reply(""));
                continue;
            }
            let mut buf = [0u8; 2048];
            let n = c.read(&mut buf).unwrap_or(0);
            if n == 0 {
                continue; // a client that only listened, then hung up
            }
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let _ = c.write_all(&reply(&req));
        }
    });
    port
}

fn http_reply(body: &str, status: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nServer: lab/1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn open_ports_get_banners_and_events_pass_through() {
    let ssh = serve(|_| b"SSH-2.0-OpenSSH_9.6 lab\r\n".to_vec(), true);
    let web = serve(
        |req| {
            assert!(req.contains("\r\nHost: 127.0.0.1\r\n"), "{req}");
            http_reply("<title>Lab page</title>", "200 OK")
        },
        false,
    );
    let silent = serve(|_| Vec::new(), true);
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let config = BannerConfig {
        enabled: true,
        concurrency: 4,
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(500),
        keep_bytes: 1024,
        names: HashMap::new(),
    };
    let stage = BannerStage::start(config, in_rx, out_tx, StopSignal::default());
    for p in [ssh, web, silent] {
        in_tx.send(open(p)).unwrap();
    }
    drop(in_tx);
    stage.finish();
    let events: Vec<Event> = out_rx.try_iter().collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Port(_)))
            .count(),
        3
    );
    let banner = |port| {
        events.iter().find_map(|e| match e {
            Event::Banner(b) if b.port == port => Some(b.clone()),
            _ => None,
        })
    };
    let s = banner(ssh).expect("ssh banner");
    assert_eq!(
        (s.service.as_str(), s.text.as_str()),
        ("ssh", "SSH-2.0-OpenSSH_9.6 lab")
    );
    assert_eq!(
        s.data_b64.as_deref(),
        Some("U1NILTIuMC1PcGVuU1NIXzkuNiBsYWINCg==")
    );
    // An unknown port that says nothing is asked over HTTP, and this one answers.
    let w = banner(web).expect("http banner");
    let h = w.http.unwrap();
    assert_eq!((w.service.as_str(), h.status), ("http", 200));
    assert_eq!(
        (h.server.as_deref(), h.title.as_deref()),
        (Some("lab/1"), Some("Lab page"))
    );
    assert!(banner(silent).is_none(), "nothing said, nothing reported");
}

mod hostile;

/// A service that accepts and then holds the connection: one byte every `every`, no newline,
/// for as long as the client stays (a tarpit). Each connection on its own thread.
fn tarpit(every: Duration) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().take(16) {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                for _ in 0..600 {
                    std::thread::sleep(every);
                    if c.write_all(b"x").is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn stage_on(port: u16, connect: Duration, read: Duration, stop: StopSignal) -> BannerStage {
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, _out_rx) = crossbeam_channel::unbounded();
    let config = BannerConfig {
        enabled: true,
        concurrency: 4,
        connect_timeout: connect,
        read_timeout: read,
        keep_bytes: 1024,
        names: HashMap::new(),
    };
    let stage = BannerStage::start(config, in_rx, out_tx, stop);
    in_tx.send(open(port)).unwrap();
    stage
}

#[test]
fn a_tarpit_holds_a_grab_no_longer_than_its_deadline() {
    let (c, r) = (Duration::from_millis(200), Duration::from_millis(400));
    let t = std::time::Instant::now();
    stage_on(
        tarpit(Duration::from_millis(100)),
        c,
        r,
        StopSignal::default(),
    )
    .finish();
    let took = t.elapsed();
    assert!(took <= grab_deadline(c, r), "{took:?}");
}

#[test]
fn an_abort_ends_grabs_in_flight_at_once() {
    let long = Duration::from_secs(20);
    let stop = StopSignal::default();
    let stage = stage_on(tarpit(Duration::from_millis(100)), long, long, stop.clone());
    std::thread::sleep(Duration::from_millis(300));
    stop.escalate();
    stop.escalate();
    let t = std::time::Instant::now();
    stage.finish();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// A loopback listener that counts the connections it accepts and says nothing.
fn counting() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = n.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming().take(64) {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(c); // kept open and silent: a grab waits out its read timeout
        }
    });
    (port, n)
}

/// One grab at a time, the first held by a silent service: the host's other ports wait in
/// the queue when the `AnswersAll` record passes, and are then dropped, not grabbed; ports
/// after the record are not queued at all. Events all pass through.
#[test]
fn queued_grabs_of_a_host_that_answers_everything_are_dropped() {
    let (first, _) = counting();
    let (others, accepted) = counting();
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let config = BannerConfig {
        enabled: true,
        concurrency: 1,
        connect_timeout: Duration::from_secs(1),
        // Long beside the microseconds the forwarder takes to reach the record.
        read_timeout: Duration::from_secs(1),
        keep_bytes: 64,
        names: HashMap::new(),
    };
    let stage = BannerStage::start(config, in_rx, out_tx, StopSignal::default());
    in_tx.send(open(first)).unwrap();
    for _ in 0..5 {
        in_tx.send(open(others)).unwrap();
    }
    in_tx
        .send(Event::AnswersAll(crate::event::AnswersAllResult {
            ip: "127.0.0.1".parse().unwrap(),
            proto: Proto::Tcp,
            listed: 6,
            probed: 6,
            ts: 0.0,
        }))
        .unwrap();
    in_tx.send(open(others)).unwrap();
    drop(in_tx);
    stage.finish();
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a queued grab of the host ran"
    );
    let events: Vec<Event> = out_rx.try_iter().collect();
    assert_eq!(events.len(), 8, "every event passed through: {events:?}");
}
