//! `--max-host-rate` end to end on loopback: listeners this test opens record when each
//! connection arrives, and no second holds more than the limit (plus the bucket's first
//! token and scheduling jitter). Loopback only; nothing leaves the machine.

mod common;

use common::{BIN, tmp};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LISTENERS: usize = 30;
const RATE: usize = 10;

#[test]
fn no_second_holds_more_connects_than_the_host_rate() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mut ports = Vec::new();
    for _ in 0..LISTENERS {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        ports.push(listener.local_addr().expect("bound").port());
        let arrivals = arrivals.clone();
        std::thread::spawn(move || {
            // The scan closes each connection with RST as soon as it is up: the kernel may
            // hand it over reset, which still marks an arrival.
            for _ in listener.incoming() {
                arrivals.lock().expect("not poisoned").push(Instant::now());
            }
        });
    }
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args([
            "-sT",
            "127.0.0.1",
            "-n",
            "-q",
            "--max-host-rate",
            &RATE.to_string(),
        ])
        .args(["-p", &list.join(","), "-oP", "-"])
        .arg("--resume-file")
        .arg(tmp("host-rate.resume"))
        .output()
        .expect("run synsweep");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(found, LISTENERS, "every listener found");
    // Every connection was accepted by now (the scan waited for each handshake).
    std::thread::sleep(Duration::from_millis(200));
    let mut times = arrivals.lock().expect("not poisoned").clone();
    times.sort();
    assert_eq!(times.len(), LISTENERS);
    let most = (0..times.len())
        .map(|i| {
            let end = times[i] + Duration::from_secs(1);
            times[i..].iter().take_while(|&&t| t < end).count()
        })
        .max()
        .unwrap_or(0);
    // The limit, the bucket's first token, and one for the accepting threads' scheduling
    // (their clocks read when the thread runs, not when the SYN came).
    assert!(most <= RATE + 2, "{most} connects in one second");
    // 30 connects at 10 a second: the last 2.9 s after the first.
    assert!(took >= Duration::from_millis(2900), "{took:?}");
}
