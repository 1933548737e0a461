//! The output thread with its results log: a log that cannot be written (a full disk) is a
//! write error like any other — the scan is stopped at once, the resume point still saved
//! (with the log's length where whole records end), the documents not put in place.

use super::*;
use crate::event::{HostResult, Reason};
use crate::output::meta::Figures;
use crate::output::spill::HEADER;
use crate::output::{Dest, Format, OutputFile};
use std::sync::Mutex;

fn host(i: u32) -> Event {
    Event::Host(HostResult {
        ip: std::net::IpAddr::from((0xc612_0000u32 + i).to_be_bytes()),
        state: "up".into(),
        reason: Reason::SynAck,
        rtt_ms: Some(0.5),
        ts: 1.0,
        hostname: None,
        ttl: Some(64),
    })
}

#[test]
fn a_full_disk_under_the_log_stops_the_scan_and_the_resume_point_is_saved() {
    let Ok(full) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/full")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("synsweep-thread-full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stop = StopSignal::default();
    let cfg = OutputConfig {
        files: vec![
            OutputFile {
                format: Format::Json,
                dest: Dest::File(dir.join("out.json")),
            },
            // Something on standard output, so no table goes there: open ports only.
            OutputFile {
                format: Format::Plain,
                dest: Dest::Stdout,
            },
        ],
        stdout: crate::output::stdout::StdoutGuard::new(stop.clone()),
        ..OutputConfig::default()
    };
    let meta = crate::output::golden_tests::meta(5);
    let mut log = SpillLog::create(Some(&dir.join("s.resume.spill"))).unwrap();
    log.write_to(full);
    // (the log's length, the end) of every resume point saved.
    type Saved = Vec<(Option<u64>, Option<bool>)>;
    let saved: Arc<Mutex<Saved>> = Arc::default();
    let into = saved.clone();
    let saver: Saver = Box::new(move |at: SavePoint<'_>| {
        let len = at.spill.map(|m| m.len);
        into.lock().unwrap().push((len, at.end));
        Ok(())
    });
    let (tx, rx) = crossbeam_channel::unbounded();
    let results = Results {
        log: Some(log),
        seen: Seen::default(),
    };
    let out = OutputThread::start(
        &cfg,
        meta,
        rx,
        Arc::new(Stats::default()),
        results,
        stop.clone(),
        Some(saver),
    )
    .unwrap();
    // A checkpoint, as a scan starts with: saved while the log is whole.
    tx.send(Event::Checkpoint(Box::default())).unwrap();
    // More than the log's 256 KiB buffer: it is written, and fails.
    for i in 0..20_000 {
        tx.send(host(i)).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(10);
    while stop.level() == StopLevel::Running {
        assert!(Instant::now() < until, "the scan was not stopped");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(tx);
    let summary = Summary {
        figures: Figures::default(),
        complete: false,
    };
    let end = out.finish(summary, Some(CursorState::default())).unwrap();
    let e = end.write_error.expect("a write error").to_string();
    assert!(
        e.contains("No space left") || e.contains("could not be written"),
        "{e}"
    );
    assert!(end.save_error.is_none());
    // No resume point after the failure: one would count as done the hosts whose records
    // were lost. The one kept is the last saved before it (the first checkpoint's: the log
    // empty, nothing done).
    assert_eq!(*saved.lock().unwrap(), vec![(Some(HEADER), None)]);
    assert!(
        !dir.join("out.json").exists(),
        "a document put in place after the error"
    );
    let _ = std::fs::remove_dir_all(dir);
}
