//! Resuming: format 3 round-trips, formats 1 and 2 are refused, and only what may change
//! changes.

use super::tests::{ROOT, args, config, inputs, ip, lab_link};
use super::{Saved, configure, prepare};
use crate::cli::parse;
use crate::config::ScanConfig;
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::resume::ResumePoint;
use std::path::{Path, PathBuf};

/// A saved scan of 198.18.0.0/24 × 22,80, stopped at position 100.
fn saved(dir: &str) -> (PathBuf, ResumePoint) {
    let d = std::env::temp_dir().join(format!("synsweep-plan-{dir}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join("scan.resume");
    let config = config(&[
        "198.18.0.0/24",
        "-p",
        "22,80",
        "--rate",
        "3000",
        "--seed",
        "13826318170144517735",
        "--exclude",
        "198.18.0.9",
    ])
    .unwrap();
    let point = ResumePoint::stopped_at(
        config,
        CursorState {
            next_position: 100,
            pending: vec![7, 9],
        },
    );
    point.save(&path).unwrap();
    (path, point)
}

fn resume(path: &Path, more: &[&str]) -> Result<(ScanConfig, Option<Saved>)> {
    let mut a = vec!["--resume", path.to_str().unwrap()];
    a.extend_from_slice(more);
    configure(&parse(args(&a)).unwrap(), &inputs())
}

#[test]
fn resume_format_3_round_trips_and_formats_1_and_2_are_refused_in_one_line() {
    let (path, mut point) = saved("roundtrip");
    // An interrupted /16 × 5 ports scan: 100,000 positions pending near where it stopped,
    // and its results log.
    point.state = CursorState {
        next_position: 250_000,
        pending: (100_000..250_000u64).filter(|p| p % 3 != 0).collect(),
    };
    point.spill = Some(crate::output::spill::SpillMark {
        path: "/tmp/scan.resume.spill".into(),
        len: 12_345_678,
        id: "00000000deadbeef".into(),
    });
    point.save(&path).unwrap();
    let back = ResumePoint::load(&path).unwrap();
    // What is not saved: whether the name was the default (a saved one is the user's now).
    let mut want = point.config.clone();
    want.resume_file_default = false;
    assert_eq!(back.config, want);
    assert_eq!(back.state, point.state);
    assert_eq!(back.spill, point.spill);
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("a resume file with 100,000 pending positions: {size} bytes");
    assert!(size < 200_000, "{size} bytes");
    // The seed is a string: no JSON reader rounds it.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#""seed":"13826318170144517735""#), "{text}");
    assert!(text.contains(r#""synsweep_resume":3"#));
    for (format, says) in [
        (
            r#"{"synsweep_resume":1,"argv":["-p","80","198.18.0.1"]}"#,
            "format 1",
        ),
        (
            r#"{"synsweep_resume":2,"config":{},"results":[]}"#,
            "format 2",
        ),
    ] {
        std::fs::write(&path, format).unwrap();
        let e = ResumePoint::load(&path).unwrap_err().to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{e}");
        assert!(e.contains("run the scan again"), "{e}");
    }
    std::fs::write(&path, r#"{"synsweep_resume":3,"config":{}}"#).unwrap();
    assert!(
        ResumePoint::load(&path)
            .unwrap_err()
            .to_string()
            .starts_with("bad resume file")
    );
}

#[test]
fn on_resume_rates_timing_excludes_and_outputs_change_and_nothing_else() {
    let (path, point) = saved("rules");
    let (c, s) = resume(
        &path,
        &["--rate", "20000", "--timeout", "2s", "-oJ", "out.json"],
    )
    .unwrap();
    assert_eq!(c.timing.rate, Some(20000), "--rate given on resume is used");
    assert_eq!(c.timing.timeout, std::time::Duration::from_secs(2));
    assert_eq!(c.targets.ranges, point.config.targets.ranges);
    assert_eq!(c.seed, point.config.seed);
    assert_eq!(c.output.files.len(), 1);
    assert_eq!(
        c.resume_file, path,
        "a scan stopped again saves where it came from"
    );
    assert_eq!(s.unwrap().point.state, point.state);
    for (flag, name) in [
        (&["-p", "443"][..], "ports"),
        (&["--seed", "1"], "seed"),
        (&["198.18.1.0/24"], "targets"),
        (&["--show-closed"], "show-closed"),
    ] {
        let e = resume(&path, flag).err().expect(name).to_string();
        assert!(
            e.contains(&format!("--{name}")) && e.contains("--resume"),
            "{e}"
        );
    }
}

/// The rate options of adaptive pacing may change on resume; a saved floor stays until given
/// again, and one that no longer fits under a new ceiling is one line naming it.
#[test]
fn on_resume_the_rate_mode_floor_and_host_rate_may_change() {
    use crate::config::RateMode;
    let (path, point) = saved("rate-mode");
    assert_eq!(point.config.timing.mode, RateMode::Adaptive);
    let (c, _) = resume(
        &path,
        &[
            "--rate-mode",
            "fixed",
            "--max-host-rate",
            "40",
            "--min-rate",
            "1000",
        ],
    )
    .unwrap();
    assert_eq!(c.timing.mode, RateMode::Fixed);
    assert_eq!(c.timing.max_host_rate, Some(40));
    assert_eq!((c.timing.rate, c.timing.min_rate), (Some(3000), Some(1000)));
    // Saved with a floor, resumed with another option of the timing: the floor stays.
    let (mut floored, _) = resume(&path, &["--min-rate", "1000"]).unwrap();
    floored.timing.max_host_rate = Some(40);
    ResumePoint::stopped_at(floored, point.state.clone())
        .save(&path)
        .unwrap();
    let (c, _) = resume(&path, &["--timeout", "2s"]).unwrap();
    assert_eq!(c.timing.min_rate, Some(1000));
    assert_eq!(c.timing.max_host_rate, Some(40), "kept when not given");
    let e = resume(&path, &["--rate", "500"]).err().unwrap().to_string();
    assert!(
        e.contains("--min-rate 1000") && e.contains("saved") && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn excludes_apply_again_on_resume_without_moving_the_positions() {
    let (path, point) = saved("excludes");
    let (c, s) = resume(&path, &["--exclude", "198.18.0.77"]).unwrap();
    let scan = prepare(c, s, ROOT, &lab_link).unwrap();
    let space = &scan.plan.space;
    assert_eq!(space.size(), 255 * 2, "the numbering is the saved one");
    assert!(
        space.skips(ip("198.18.0.77")),
        "excluded on the resume command"
    );
    assert!(!space.skips(ip("198.18.0.78")));
    assert!(
        scan.plan.notices.iter().any(|n| n.contains("excluded")),
        "{:?}",
        scan.plan.notices
    );
    // An edited file that puts the first run's exclude back into the targets still skips it.
    let mut edited = point.clone();
    edited.config.targets.ranges = crate::targets::range::RangeSet::from_ranges(vec![
        crate::targets::range::IpRange::from_net("198.18.0.0/24".parse().unwrap()),
    ]);
    edited.save(&path).unwrap();
    let (c, s) = resume(&path, &[]).unwrap();
    let scan = prepare(c, s, ROOT, &lab_link).unwrap();
    assert!(scan.plan.space.skips(ip("198.18.0.9")));
    // Saved positions beyond the space are refused.
    let mut bad = point;
    bad.state.pending = vec![10_000];
    bad.save(&path).unwrap();
    let (c, s) = resume(&path, &[]).unwrap();
    assert!(matches!(
        prepare(c, s, ROOT, &lab_link),
        Err(Error::BadResume(..))
    ));
}

#[test]
fn on_resume_the_nmap_hand_off_may_be_added_or_changed_and_is_checked_again() {
    let (path, point) = saved("nmap");
    assert_eq!(point.config.nmap, None);
    let (c, _) = resume(&path, &["--nmap", "-sV -sC", "--nmap-parallel", "2"]).unwrap();
    let n = c.nmap.unwrap();
    assert_eq!((n.args, n.parallel), (vec!["-sV".into(), "-sC".into()], 2));
    assert!(matches!(
        resume(&path, &["--nmap", "-sS"]),
        Err(Error::BadOption("--nmap", _))
    ));
    // Nothing to tune when the saved scan hands nothing off.
    assert!(matches!(
        resume(&path, &["--nmap-parallel", "8"]),
        Err(Error::BadOption("--nmap-parallel", _))
    ));
    // A resume file without the field (written before --nmap existed) still loads.
    let text = std::fs::read_to_string(&path).unwrap();
    let old = text.replace(r#""nmap":null,"#, "");
    assert_ne!(old, text);
    std::fs::write(&path, old).unwrap();
    assert_eq!(ResumePoint::load(&path).unwrap().config.nmap, None);
}
