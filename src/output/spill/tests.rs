//! The log as the output thread uses it: results in, hosts out as the in-memory store held
//! them; checkpoints, cut-back and resume; unlisted sums under a tiny budget; files that are
//! not the log refused; files removed when no resume point needs them.

use super::*;
use crate::output::golden_tests::{events, unlisted};
use crate::output::store::ResultStore;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-spill-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The store the output thread used to build from the same results.
fn store_of(events: &[Event], unlisted: &[PortResult]) -> ResultStore {
    let mut store = ResultStore::default();
    for e in events {
        if store.is_new(e) {
            store.add(e.clone());
        }
    }
    for p in unlisted {
        store.count_unlisted(p);
    }
    store
}

/// (address, events, unlisted sums) of every listed host, and the unlisted-only hosts' sums.
type Flat = (Vec<(IpAddr, Vec<Event>, Unlisted)>, Vec<(IpAddr, Unlisted)>);

fn flat_store(s: &ResultStore) -> Flat {
    let listed = s
        .hosts
        .iter()
        .map(|(ip, h)| {
            let u = s.unlisted.get(ip).cloned().unwrap_or_default();
            (*ip, h.events().collect(), u)
        })
        .collect();
    let only = s
        .unlisted
        .iter()
        .filter(|(ip, _)| !s.hosts.contains_key(ip))
        .map(|(ip, u)| (*ip, u.clone()))
        .collect();
    (listed, only)
}

fn flat_log(log: &SpillLog, budget: Budget) -> Flat {
    let mut listed = Vec::new();
    let mut only = Vec::new();
    for g in log.hosts(budget).unwrap() {
        let g = g.unwrap();
        if g.listed {
            listed.push((g.ip, g.entry.events().collect(), g.unlisted));
        } else {
            only.push((g.ip, g.unlisted));
        }
    }
    (listed, only)
}

fn fill(log: &mut SpillLog, events: &[Event], unlisted: &[PortResult]) {
    let mut seen = Seen::default();
    for e in events {
        if seen.first(e) {
            log.append(e).unwrap();
        }
    }
    for p in unlisted {
        log.count_unlisted(p).unwrap();
    }
    log.flush().unwrap();
}

#[test]
fn hosts_come_back_as_the_store_held_them_whatever_the_budgets() {
    let want = flat_store(&store_of(&events(), &unlisted()));
    for (unlisted_hosts, budget) in [
        (UNLISTED_HOSTS, Budget::default()),
        (
            1,
            Budget {
                chunk_bytes: 100,
                fan_in: 2,
                read_buf: 7,
            },
        ),
    ] {
        let mut log = SpillLog::create(None).unwrap();
        log.set_unlisted_budget(unlisted_hosts);
        fill(&mut log, &events(), &unlisted());
        assert_eq!(flat_log(&log, budget), want);
    }
}

#[test]
fn a_resume_cuts_the_log_back_to_its_mark_and_continues_it() {
    let d = dir("resume");
    let path = d.join("s.resume.spill");
    let all = events();
    let (first, second) = all.split_at(all.len() / 2);
    let mut log = SpillLog::create(Some(&path)).unwrap();
    fill(&mut log, first, &unlisted());
    let mark = log.mark().unwrap();
    assert_eq!(mark.len, log.len());
    // Found after the checkpoint, then killed: these are cut and found again.
    fill(&mut log, second, &[]);
    log.keep();
    drop(log);
    assert!(path.exists(), "a log a resume point refers to stays");
    let (mut log, carried) = SpillLog::resume(&mark, true).unwrap();
    assert_eq!(log.len(), mark.len);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), mark.len);
    // The hosts the first part reported up are remembered: not reported again.
    let mut seen = carried.seen;
    for e in first.iter().filter(|e| matches!(e, Event::Host(_))) {
        assert!(!seen.first(e), "{e:?} would be reported twice");
    }
    // nmap's seeds: the first part's open TCP ports, in the order found.
    let ports: Vec<(IpAddr, u16)> = first
        .iter()
        .filter_map(|e| match e {
            Event::Port(p) if p.state == PortState::Open => Some((p.ip, p.port)),
            _ => None,
        })
        .collect();
    assert_eq!(carried.nmap_seeds.len(), ports.len());
    assert!(!carried.nmap_seeds.is_empty());
    // The second part, found again, completes the documents: the same as one run.
    for e in second {
        if seen.first(e) {
            log.append(e).unwrap();
        }
    }
    log.flush().unwrap();
    assert_eq!(
        flat_log(&log, Budget::default()),
        flat_store(&store_of(&all, &unlisted()))
    );
    log.remove().unwrap();
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn nmaps_seeds_leave_out_the_ports_it_examined() {
    let all = events();
    let mut log = SpillLog::create(Some(&dir("seeds").join("x.spill"))).unwrap();
    fill(&mut log, &all, &[]);
    let mark = log.mark().unwrap();
    log.keep();
    drop(log);
    let (log, carried) = SpillLog::resume(&mark, true).unwrap();
    let examined: Vec<(IpAddr, u16)> = all
        .iter()
        .filter_map(|e| match e {
            Event::Service(s) => Some((s.ip, s.port)),
            _ => None,
        })
        .collect();
    assert_eq!(examined.len(), 1);
    assert!(!carried.nmap_seeds.contains(&examined[0]));
    // Every other open TCP port, but those of hosts that answer every port (the first run
    // kept them from nmap too).
    let everything: Vec<IpAddr> = all
        .iter()
        .filter_map(|e| match e {
            Event::AnswersAll(a) => Some(a.ip),
            _ => None,
        })
        .collect();
    let want = all
        .iter()
        .filter(|e| match e {
            Event::Port(p) => {
                p.state == PortState::Open
                    && p.proto == crate::event::Proto::Tcp
                    && !everything.contains(&p.ip)
                    && (p.ip, p.port) != examined[0]
            }
            _ => false,
        })
        .count();
    assert!(
        want > 0 && !everything.is_empty(),
        "the fixture has both kinds"
    );
    assert_eq!(carried.nmap_seeds.len(), want);
    let (_, without) = SpillLog::resume(&mark, false).unwrap();
    assert!(without.nmap_seeds.is_empty());
    log.remove().unwrap();
}

#[test]
fn a_log_that_is_not_the_marked_one_is_refused_in_one_line() {
    let d = dir("refuse");
    let path = d.join("a.spill");
    let mut log = SpillLog::create(Some(&path)).unwrap();
    fill(&mut log, &events(), &[]);
    let mark = log.mark().unwrap();
    log.keep();
    drop(log);
    let other = SpillMark {
        id: "0123456789abcdef".into(),
        ..mark.clone()
    };
    let e = SpillLog::resume(&other, false).err().unwrap().to_string();
    assert!(e.contains("not the log") && !e.contains('\n'), "{e}");
    let longer = SpillMark {
        len: mark.len + 1,
        ..mark.clone()
    };
    let e = SpillLog::resume(&longer, false).err().unwrap().to_string();
    assert!(e.contains("shorter"), "{e}");
    // A damaged record: refused, not a panic.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[0xff], HEADER + 5).unwrap();
    assert!(SpillLog::resume(&mark, false).is_err());
    std::fs::remove_file(&path).unwrap();
    let e = SpillLog::resume(&mark, false).err().unwrap().to_string();
    assert!(e.contains("a.spill"), "{e}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_log_no_resume_point_refers_to_goes_with_its_drop() {
    let d = dir("drop");
    let path = d.join("b.spill");
    let log = SpillLog::create(Some(&path)).unwrap();
    assert!(path.exists());
    drop(log);
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(d);
}

/// A writer that fails as a full disk does: the log stops at its last whole record.
#[test]
fn a_full_disk_is_an_error_and_the_mark_stays_at_whole_records() {
    let Ok(full) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/full")
    else {
        return;
    };
    let mut log = SpillLog::create(None).unwrap();
    log.file = Arc::new(full);
    log.path = Some("/dev/full".into());
    log.keep();
    fill_until_error(&mut log);
    assert_eq!(log.mark().unwrap().len, HEADER);
    log.path = None;
}

fn fill_until_error(log: &mut SpillLog) {
    for e in events() {
        log.append(&e).unwrap();
    }
    let e = log.flush().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    // After it, appends are dropped quietly and the flush still says it failed.
    log.append(&events()[0]).unwrap();
    assert!(log.flush().is_err());
}
