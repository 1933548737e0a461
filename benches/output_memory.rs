//! Peak memory and time of the output path for many results: the output thread takes N
//! synthetic open ports (N/8 hosts of 198.18.0.0/15 up, eight open ports and one closed
//! each), keeps them in its spill log with a checkpoint every 100,000 events, and
//! writes the documents asked for at the end. Not a criterion benchmark: one run, figures
//! printed (and readable by `/usr/bin/time -v` too).
//!
//! `cargo bench --bench output_memory -- [N] [FORMATS] > /dev/null` — FORMATS of `j` (-oJ),
//! `x` (-oX), `g` (-oG), `d` (-oD), default `jxg`; without `d` the table goes to standard
//! output as well (hence the redirection).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use synsweep::cursor::CursorState;
use synsweep::event::{Event, HostResult, Listing, PortResult, PortState, Proto, Reason, Stats};
use synsweep::output::meta::{Figures, ScanMeta, Summary};
use synsweep::output::spill::{Seen, SpillLog};
use synsweep::output::stdout::StdoutGuard;
use synsweep::output::{
    Dest, Format, OutputConfig, OutputFile, OutputThread, Results, SavePoint, Saver,
};
use synsweep::stop::StopSignal;

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn port(ip: IpAddr, port: u16, state: PortState, ts: f64) -> Event {
    Event::Port(PortResult {
        ip,
        port,
        proto: Proto::Tcp,
        state,
        reason: if state == PortState::Open {
            Reason::SynAck
        } else {
            Reason::Reset
        },
        service: "http".into(),
        rtt_ms: Some(0.42),
        ts,
        hostname: None,
        ttl: Some(64),
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let formats = args.get(1).map_or("jxg", String::as_str);
    let dir = std::env::temp_dir().join(format!("synsweep-output-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let mut files = Vec::new();
    for (c, format, name) in [
        ('j', Format::Json, "out.json"),
        ('x', Format::Xml, "out.xml"),
        ('g', Format::Grepable, "out.gnmap"),
        ('d', Format::Ndjson, "out.ndjson"),
    ] {
        if formats.contains(c) {
            files.push(OutputFile {
                format,
                dest: Dest::File(dir.join(name)),
            });
        }
    }
    let stop = StopSignal::default();
    let cfg = OutputConfig {
        listing: Listing {
            show_closed: false,
            count_unlisted: formats.contains('x'),
            hosts_only: false,
        },
        files,
        status_json: None,
        progress_on_terminal: false,
        live_results: false,
        notices: false,
        append_streams: false,
        truncate_ndjson: None,
        stdout: StdoutGuard::new(stop.clone()),
    };
    let hosts = (n / 8).min(1 << 17);
    let meta = ScanMeta {
        scanner: "synsweep",
        version: "bench",
        args: vec!["synsweep".into()],
        start: 1.7e9,
        scan_type: "syn",
        ports: "1-9".into(),
        port_count: 9,
        hosts,
        seed: 1,
        shard: "1/1".into(),
        resumed: false,
    };
    // Resume points go nowhere, but the log is named and marked as in a real scan.
    let log = SpillLog::create(Some(&dir.join("s.resume.spill"))).expect("the log");
    let saver: Saver = Box::new(|_: SavePoint<'_>| Ok(()));
    let (tx, rx) = crossbeam_channel::unbounded();
    let stats = Arc::new(Stats::default());
    let output = OutputThread::start(
        &cfg,
        meta,
        rx,
        stats,
        Results {
            log: Some(log),
            seen: Seen::default(),
        },
        stop,
        Some(saver),
    )
    .expect("outputs");
    let started = Instant::now();
    let mut sent = 0u64;
    for h in 0..hosts {
        // 7919 is odd: a walk over the /15 that visits every address once, out of order.
        let ip = IpAddr::V4(Ipv4Addr::from(0xc612_0000 + (h as u32 * 7919) % (1 << 17)));
        let ts = 1.7e9 + h as f64 / 1000.0;
        let mut batch = vec![Event::Host(HostResult {
            ip,
            state: "up".into(),
            reason: Reason::SynAck,
            rtt_ms: Some(0.4),
            ts,
            hostname: None,
            ttl: Some(64),
        })];
        for p in 1..=8 {
            batch.push(port(ip, p, PortState::Open, ts));
        }
        batch.push(port(ip, 9, PortState::Closed, ts));
        for e in batch {
            let _ = tx.send(e);
        }
        sent += 8;
        if sent % 100_000 < 8 {
            let _ = tx.send(Event::Checkpoint(Box::default()));
        }
        // The engine's pace, roughly: never more than 5,000 events waiting.
        while tx.len() > 5_000 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    drop(tx);
    let fed = started.elapsed();
    let end = output
        .finish(
            Summary {
                figures: Figures::default(),
                complete: true,
            },
            Some(CursorState::default()),
        )
        .expect("the output thread");
    if let Some(e) = end.write_error.or(end.save_error) {
        eprintln!("output_memory: error: {e}");
    }
    let total = started.elapsed();
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len() / 1_000_000);
    eprintln!(
        "output_memory: {n} open ports on {hosts} hosts, formats {formats}: fed in {:.2} s, documents in {:.2} s; peak RSS {} MB; json {} MB, xml {} MB, gnmap {} MB",
        fed.as_secs_f64(),
        (total - fed).as_secs_f64(),
        peak_rss_kb() / 1024,
        size("out.json"),
        size("out.xml"),
        size("out.gnmap"),
    );
    let _ = std::fs::remove_dir_all(PathBuf::from(&dir));
}
