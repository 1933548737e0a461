//! The resume file is input too: a damaged or hostile one is an error of one line, never a
//! panic, and an endless one is not read into memory.

use crate::cursor::CursorState;
use crate::resume::ResumePoint;
use proptest::prelude::*;
use std::path::PathBuf;

pub(crate) fn point() -> ResumePoint {
    let parsed = crate::cli::parse(
        [
            "-p",
            "80",
            "198.18.0.0/24",
            "--shard",
            "1/2",
            "--seed",
            "42",
        ]
        .map(String::from)
        .to_vec(),
    )
    .unwrap();
    let inputs = crate::config::from_cli::Inputs {
        resolve: &|n| Err(crate::Error::Resolve(n.into(), "no names here".into())),
        nmap_services: std::path::Path::new("/nonexistent/nmap-services"),
    };
    let config = crate::config::from_cli::build(&parsed.cli, parsed.args, &inputs).unwrap();
    ResumePoint::stopped_at(
        config,
        CursorState {
            next_position: 100,
            pending: vec![7, 9],
        },
    )
}

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("synsweep-resume-{tag}-{}", std::process::id()))
}

/// `--resume /dev/zero` read until memory ran out (the file was read whole).
#[test]
fn regression_an_endless_resume_file_fails_at_once() {
    let zero = std::path::Path::new("/dev/zero");
    if !zero.exists() {
        return;
    }
    let t = std::time::Instant::now();
    let e = ResumePoint::load(zero).unwrap_err().to_string();
    assert!(e.starts_with("bad resume file /dev/zero: "), "{e}");
    assert!(!e.contains('\n'));
    eprintln!("--resume /dev/zero failed in {:?}", t.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(256)))]
    /// A saved point with bytes changed or cut: loads, or one line of error.
    #[test]
    fn damaged_resume_files_are_one_error(
        hits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut text = serde_json::to_vec(&point()).unwrap();
        for (at, b) in hits {
            let i = at.index(text.len());
            text[i] = b;
        }
        text.truncate(cut.index(text.len() + 1));
        let path = temp("fuzz");
        std::fs::write(&path, &text).unwrap();
        let got = ResumePoint::load(&path);
        std::fs::remove_file(&path).ok();
        if let Err(e) = got {
            let e = e.to_string();
            prop_assert!(!e.contains('\n') && e.starts_with("bad resume file"), "{e}");
        }
    }
}
