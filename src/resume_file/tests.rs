//! Trust, locking and the no-silent-overwrite rule, on real files.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-rf-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn point() -> ResumePoint {
    crate::resume_input_tests::point()
}

#[test]
fn a_resume_file_is_one_processs_at_a_time_through_every_save() {
    let d = dir("lock");
    let path = d.join("scan.resume");
    point().save(&path).unwrap();
    let who = Invoker::current();
    let first = load(&path, &who).unwrap();
    assert!(matches!(load(&path, &who), Err(Error::ResumeBusy(_))));
    // The running scan saves a new version: the name still points at a locked file.
    let mut file = ResumeFile::claim(&path, Some(first.lock)).unwrap();
    assert!(file.resumes_it());
    file.save(&point()).unwrap();
    assert!(matches!(load(&path, &who), Err(Error::ResumeBusy(_))));
    drop(file);
    assert!(load(&path, &who).is_ok(), "the lock goes with the process");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn another_unfinished_scans_file_is_never_overwritten() {
    let d = dir("taken");
    let path = d.join("scan.resume");
    point().save(&path).unwrap();
    assert!(matches!(
        ResumeFile::claim(&path, None),
        Err(Error::ResumeTaken(_))
    ));
    let e = ResumeFile::claim(&path, None).unwrap_err().to_string();
    assert!(e.contains("--resume-file"), "{e}");
    // A finished scan's file may be replaced; a file that is no resume point may not.
    let mut done = point();
    done.complete = true;
    done.save(&path).unwrap();
    assert!(ResumeFile::claim(&path, None).is_ok());
    std::fs::write(&path, "my notes").unwrap();
    assert!(ResumeFile::claim(&path, None).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my notes");
    // Nothing there: claimed, and removed at the end if the run saved there.
    let fresh = d.join("fresh.resume");
    let mut f = ResumeFile::claim(&fresh, None).unwrap();
    assert!(!f.resumes_it());
    f.save(&point()).unwrap();
    assert!(fresh.exists());
    f.remove().unwrap();
    assert!(!fresh.exists());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn as_root_a_resume_file_of_another_user_is_refused() {
    let d = dir("trust");
    let path = d.join("scan.resume");
    point().save(&path).unwrap();
    // Simulated sudo by uid 4242. Run as root, the file is given to 65534 (neither the
    // invoker nor root); otherwise it stays this user's, who is not 4242 either.
    let sudo = Invoker::from_parts(0, 0, Some(4242), Some(4242));
    if Invoker::current().euid == 0 {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    let e = load(&path, &sudo).unwrap_err();
    assert!(
        e.to_string()
            .contains("not by uid 4242 (who ran sudo) or root"),
        "{e}"
    );
    // Writable by others: refused as root even when the owner is right.
    let own = Invoker::from_parts(0, 0, Some(Invoker::current().uid), None);
    if Invoker::current().euid == 0 {
        std::os::unix::fs::chown(&path, Some(0), Some(0)).unwrap();
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = load(&path, &own).unwrap_err();
    assert!(e.to_string().contains("writable by other users"), "{e}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(load(&path, &own).is_ok());
    let _ = std::fs::remove_dir_all(d);
}
