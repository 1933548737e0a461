use super::*;
use Engine::*;

const NOBODY: Account = Account {
    uid: 65534,
    gid: 65534,
};

fn start(euid: u32, can_switch: bool, sudo: Option<(u32, u32)>) -> Start {
    Start {
        euid,
        can_switch,
        sudo_uid: sudo.map(|s| s.0),
        sudo_gid: sudo.map(|s| s.1),
    }
}

#[test]
fn drop_table() {
    let user = |uid, gid| Identity::Switch(Account { uid, gid });
    let root = start(0, true, None);
    let sudo = start(0, true, Some((1000, 1001)));
    let plain = start(1000, false, None);
    let setcap = start(1000, false, None);
    let faked = start(1000, false, Some((0, 0)));
    let sudo_root = start(0, true, Some((0, 0)));
    // (start, --user, engine) -> identity
    let table = [
        (sudo, None, Raw, user(1000, 1001)),
        (sudo, None, Connect, user(1000, 1001)),
        (sudo, Some(NOBODY), Raw, user(65534, 65534)),
        (root, None, Raw, Identity::Keep),
        (root, None, Connect, Identity::Keep),
        (root, Some(NOBODY), Connect, user(65534, 65534)),
        (root, Some(Account { uid: 0, gid: 0 }), Raw, Identity::Keep),
        (plain, None, Connect, Identity::Keep),
        (setcap, None, Raw, Identity::Keep),
        (faked, None, Raw, Identity::Keep),
        (sudo_root, None, Raw, Identity::Keep),
    ];
    for (s, u, engine, want) in table {
        let got = plan(&s, u, engine).unwrap();
        assert_eq!(got.identity, want, "{s:?} {u:?} {engine:?}");
        assert_eq!(got.open_link_first, engine == Raw);
    }
}

#[test]
fn user_without_the_capability_is_refused() {
    let e = plan(&start(1000, false, None), Some(NOBODY), Connect).unwrap_err();
    assert!(e.starts_with("--user") && !e.contains('\n'), "{e}");
    // CAP_SETUID without root is enough.
    let capable = start(1000, true, None);
    assert_eq!(
        plan(&capable, Some(NOBODY), Raw).unwrap().identity,
        Identity::Switch(NOBODY)
    );
}

#[test]
fn sudo_uid_without_gid_is_refused_not_guessed() {
    let s = Start {
        euid: 0,
        can_switch: true,
        sudo_uid: Some(1000),
        sudo_gid: None,
    };
    assert!(plan(&s, None, Raw).unwrap_err().contains("SUDO_GID"));
    // --user settles it.
    assert_eq!(
        plan(&s, Some(NOBODY), Raw).unwrap().identity,
        Identity::Switch(NOBODY)
    );
}

#[test]
fn the_uid_after_the_drop() {
    let sudo = start(0, true, Some((1000, 1000)));
    assert_eq!(plan(&sudo, None, Raw).unwrap().uid(&sudo), 1000);
    let root = start(0, true, None);
    assert_eq!(plan(&root, None, Raw).unwrap().uid(&root), 0);
}
