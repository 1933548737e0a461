//! Hostile HTTP services on loopback, grabbed in one stage beside honest ones: a chunk size
//! of 2^64 − 1, endless headers, an endless chunked body, 8 KB header names, values and
//! titles. No panic, bounded results, and the honest banners come through intact.

use super::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How much a hostile server wrote, and whether the client cut it off.
#[derive(Default)]
struct Tally {
    written: AtomicUsize,
    cut_off: AtomicBool,
}

/// A server that answers each request with `head`, then `unit` over and over until the
/// client stops reading (or `max` bytes, so a broken client cannot make it run forever).
fn endless(head: &'static [u8], unit: &'static [u8]) -> (u16, Arc<Tally>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    std::thread::spawn(move || {
        for c in l.incoming().take(4) {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 2048];
            if c.read(&mut buf).unwrap_or(0) == 0 {
                continue;
            }
            let _ = c.write_all(head);
            let max = 256 << 20;
            while t.written.load(Ordering::SeqCst) < max {
                if c.write_all(unit).is_err() {
                    t.cut_off.store(true, Ordering::SeqCst);
                    break;
                }
                t.written.fetch_add(unit.len(), Ordering::SeqCst);
            }
        }
    });
    (port, tally)
}

fn grab_all(ports: &[u16]) -> Vec<BannerResult> {
    let (in_tx, in_rx) = crossbeam_channel::unbounded();
    let (out_tx, out_rx) = crossbeam_channel::unbounded();
    let config = BannerConfig {
        enabled: true,
        concurrency: 8,
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(500),
        keep_bytes: 1024,
        names: HashMap::new(),
    };
    let stage = BannerStage::start(config, in_rx, out_tx, StopSignal::default());
    for &p in ports {
        in_tx.send(open(p)).unwrap();
    }
    drop(in_tx);
    stage.finish();
    out_rx
        .try_iter()
        .filter_map(|e| match e {
            Event::Banner(b) => Some(*b),
            _ => None,
        })
        .collect()
}

use crate::event::BannerResult;
use std::sync::Arc;

#[test]
fn hostile_http_services_cost_bounded_memory_and_spare_the_rest() {
    let ssh = serve(|_| b"SSH-2.0-OpenSSH_9.6 lab\r\n".to_vec(), true);
    let web = serve(|_| http_reply("<title>Lab page</title>", "200 OK"), false);
    let huge_chunk = serve(
        |_| {
            b"HTTP/1.1 200 OK\r\nServer: lab/1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n<title>cut</title>"
                .to_vec()
        },
        false,
    );
    let long = serve(
        |_| {
            // Head: an 8 KB header name and a 6 KB value, inside the 16 KiB head cap.
            let big = "n".repeat(8192);
            let value = "v".repeat(6144);
            format!(
                "HTTP/1.1 200 OK\r\nX-{big}: v\r\nServer: {value}\r\nContent-Length: 8207\r\n\r\n<title>{big}</title>"
            )
            .into_bytes()
        },
        false,
    );
    let (headers, headers_tally) = endless(b"HTTP/1.1 200 OK\r\n", b"X-Again: and again\r\n");
    let (chunks, chunks_tally) = endless(
        b"HTTP/1.1 200 OK\r\nServer: lab/2\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"10\r\naaaaaaaaaaaaaaaa\r\n",
    );
    let got = grab_all(&[ssh, web, huge_chunk, long, headers, chunks]);
    let banner = |port: u16| {
        got.iter()
            .find(|b| b.port == port)
            .unwrap_or_else(|| panic!("no banner for {port}: {got:?}"))
    };
    // The honest ones, intact.
    assert_eq!(banner(ssh).text, "SSH-2.0-OpenSSH_9.6 lab");
    let h = banner(web).http.clone().unwrap();
    assert_eq!((h.status, h.title.as_deref()), (200, Some("Lab page")));
    // 2^64 − 1: what came is the body, the size is not believed.
    let h = banner(huge_chunk).http.clone().unwrap();
    assert_eq!(
        (h.status, h.server.as_deref(), h.title.as_deref()),
        (200, Some("lab/1"), Some("cut"))
    );
    // 8 KB names and values: capped.
    let b = banner(long);
    let h = b.http.clone().unwrap_or_else(|| panic!("{b:?}"));
    assert_eq!(h.server.as_ref().map(String::len), Some(256));
    assert_eq!(h.title.as_ref().map(String::len), Some(128));
    assert!(b.text.len() <= 200);
    // Endless headers: not HTTP we can parse; the first line is the banner, and the client
    // stopped reading (the server's writes failed) instead of buffering forever.
    let b = banner(headers);
    assert_eq!(
        (b.service.as_str(), b.text.as_str()),
        ("http", "HTTP/1.1 200 OK")
    );
    assert!(b.http.is_none());
    // An endless chunked body: parsed, capped, cut off.
    let h = banner(chunks)
        .http
        .clone()
        .unwrap_or_else(|| panic!("{:?}", banner(chunks)));
    assert_eq!((h.status, h.server.as_deref()), (200, Some("lab/2")));
    for (name, t) in [("headers", &headers_tally), ("chunks", &chunks_tally)] {
        let b = got
            .iter()
            .find(|b| b.port == if name == "headers" { headers } else { chunks });
        let kept = b.and_then(|b| b.data_b64.as_deref()).map_or(0, str::len);
        assert!(
            kept <= 1024 * 4 / 3 + 4,
            "{name}: kept {kept} bytes of base64"
        );
        // The server stops when the client hangs up; give it a moment to notice.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !t.cut_off.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            t.cut_off.load(Ordering::SeqCst),
            "{name}: the client kept reading"
        );
        let written = t.written.load(Ordering::SeqCst);
        assert!(
            written < 256 << 20,
            "{name}: {written} bytes written before the cut"
        );
    }
}
