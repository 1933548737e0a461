//! Planted links and special files at every name a write touches.

use super::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-safe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn me() -> Invoker {
    Invoker::current()
}

/// Someone else: the link's owner is not trusted. As root the link is given to uid 65534;
/// as another user, the invoker is pretended to be someone else instead.
fn plant_foreign_link(target: &Path, link: &Path) -> Invoker {
    std::os::unix::fs::symlink(target, link).unwrap();
    let who = me();
    if who.euid == 0 {
        let c = std::ffi::CString::new(link.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; lchown changes the link itself, not its target.
        assert_eq!(unsafe { libc::lchown(c.as_ptr(), 65534, 65534) }, 0);
        who
    } else {
        Invoker::from_parts(who.euid, who.gid, None, None).pretend(who.uid + 1)
    }
}

impl Invoker {
    fn pretend(mut self, uid: u32) -> Invoker {
        self.uid = uid;
        self
    }
}

fn write(p: Pending, text: &str) -> File {
    let mut f = p.file().try_clone().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    p.commit().unwrap()
}

#[test]
fn a_link_at_the_old_temporary_name_is_never_opened() {
    let d = dir("part");
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let dest = d.join("out.json");
    // The names an older synsweep used: out.json.part.
    std::os::unix::fs::symlink(&victim, d.join("out.json.part")).unwrap();
    write(create(&dest, Mode::Shared).unwrap(), "{}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "{}");
    // No temporary file is left behind: the planted link and the two files only.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3);
    // A pending file dropped without commit leaves nothing either.
    drop(create(&d.join("other.json"), Mode::Shared).unwrap());
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 3);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_foreign_link_at_the_destination_is_refused_and_its_target_untouched() {
    let d = dir("foreign");
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let dest = d.join("out.json");
    let who = plant_foreign_link(&victim, &dest);
    let e = create_as(&dest, Mode::Shared, &who).unwrap_err();
    assert!(matches!(e, Error::Unsafe(..)), "{e}");
    assert!(e.to_string().contains("symbolic link owned by uid"), "{e}");
    let e = stream_as(&dest, Mode::Shared, true, &who).unwrap_err();
    assert!(matches!(e, Error::Unsafe(..)), "{e}");
    assert!(stream_as(&dest, Mode::Shared, false, &who).is_err());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_link_of_the_invokers_own_is_followed_and_stays_a_link() {
    let d = dir("own");
    let real = d.join("real.json");
    std::fs::write(&real, "old").unwrap();
    let dest = d.join("out.json");
    std::os::unix::fs::symlink("real.json", &dest).unwrap();
    write(create_as(&dest, Mode::Shared, &me()).unwrap(), "new");
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    assert!(
        std::fs::symlink_metadata(&dest)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn private_files_are_0600_and_shared_ones_honor_the_umask() {
    let d = dir("mode");
    let p = d.join("x.resume");
    write(create(&p, Mode::Private).unwrap(), "x");
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let s = d.join("x.json");
    write(create(&s, Mode::Shared).unwrap(), "x");
    let mode = std::fs::metadata(&s).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o644, 0, "{mode:o}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn devices_and_fifos_are_written_in_place_never_replaced() {
    let null = Path::new("/dev/null");
    write(create(null, Mode::Shared).unwrap(), "into the void");
    assert!(
        std::fs::metadata(null)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    let d = dir("fifo");
    let fifo = d.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            File::open(fifo).unwrap().read_to_string(&mut s).unwrap();
            s
        })
    };
    drop(write(create(&fifo, Mode::Shared).unwrap(), "through"));
    assert_eq!(reader.join().unwrap(), "through");
    assert!(is_special(&fifo), "the FIFO was replaced");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_stream_appends_to_the_file_it_resumes_and_a_fresh_one_replaces() {
    let d = dir("stream");
    let p = d.join("out.ndjson");
    std::fs::write(&p, "one\n").unwrap();
    stream(&p, Mode::Shared, true)
        .unwrap()
        .write_all(b"two\n")
        .unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\ntwo\n");
    stream(&p, Mode::Shared, false)
        .unwrap()
        .write_all(b"new\n")
        .unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
    assert!(matches!(
        create(&d, Mode::Shared).unwrap_err(),
        Error::Unsafe(..)
    ));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_sticky_directory_keeps_others_from_replacing_a_file() {
    // /tmp (1777, root's): another user's file cannot be renamed over, one's own can.
    assert!(sticky_blocks(0o41777, 0, 1000, 65534));
    assert!(!sticky_blocks(0o41777, 0, 65534, 65534));
    // The directory's owner may; without the sticky bit anyone who may write may.
    assert!(!sticky_blocks(0o41777, 65534, 1000, 65534));
    assert!(!sticky_blocks(0o40777, 0, 1000, 65534));
    // Root without capabilities (after the drop) is bound like anyone.
    assert!(sticky_blocks(0o41777, 1000, 1000, 0));
}
