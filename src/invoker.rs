//! Who ran synsweep: the user a file may belong to. Under sudo (effective uid 0 and a
//! `SUDO_UID` that parses) it is the user who typed `sudo`, not root; otherwise the effective
//! user. Files that synsweep reads as input or follows as a link must belong to this user or
//! to root: a file another user planted is refused.

/// The invoking user, read once from the process (the environment only counts under euid 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invoker {
    /// The process's effective uid.
    pub euid: u32,
    pub uid: u32,
    pub gid: u32,
    /// Running as root on behalf of `uid` (sudo).
    pub sudo: bool,
}

impl Invoker {
    pub fn current() -> Invoker {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
        Invoker::from_parts(euid, egid, var("SUDO_UID"), var("SUDO_GID"))
    }

    /// The decision, apart from the process (table-tested).
    pub fn from_parts(euid: u32, egid: u32, sudo_uid: Option<u32>, sudo_gid: Option<u32>) -> Self {
        match sudo_uid {
            Some(uid) if euid == 0 => Invoker {
                euid,
                uid,
                gid: sudo_gid.unwrap_or(egid),
                sudo: uid != 0,
            },
            _ => Invoker {
                euid,
                uid: euid,
                gid: egid,
                sudo: false,
            },
        }
    }

    /// May a file (or a link) owned by `owner` be trusted: is it the invoker's or root's?
    pub fn trusts(&self, owner: u32) -> bool {
        owner == 0 || owner == self.uid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_counts_only_for_root() {
        let sudo = Invoker::from_parts(0, 0, Some(1000), Some(1001));
        assert_eq!((sudo.uid, sudo.gid, sudo.sudo), (1000, 1001, true));
        assert!(sudo.trusts(0) && sudo.trusts(1000) && !sudo.trusts(65534));
        // A user who sets SUDO_UID himself gains nothing: he is still himself.
        let faked = Invoker::from_parts(1000, 1000, Some(0), None);
        assert_eq!((faked.uid, faked.sudo), (1000, false));
        assert!(!faked.trusts(1001));
        let root = Invoker::from_parts(0, 0, None, None);
        assert!(root.trusts(0) && !root.trusts(1000) && !root.sudo);
        assert!(!Invoker::from_parts(0, 0, Some(0), None).sudo);
    }
}
