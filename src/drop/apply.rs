//! Carrying out a `DropPlan` with the system calls, each one checked.
//!
//! Called while the process has one thread (before the tokio runtimes, the output thread and
//! the stages start): capabilities, the bounding set and no-new-privs are per thread on Linux
//! and are inherited by threads created later, so dropping first covers every thread. (glibc's
//! setuid/setgid/setgroups would reach other threads anyway — the nptl "setxid" broadcast —
//! but capset would not.) A drop with other threads running is refused.
//!
//! Capabilities are dropped with libc's raw syscalls rather than the `caps` crate: four calls
//! (prctl, capset, capget) on one fixed structure, no new dependency in a root-run binary.

use super::{Account, DropPlan, Identity};
use std::io;

/// What the process is after the drop (for the `-v` line and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DropError {
    #[error("cannot drop privileges: {0}: {1}")]
    Call(&'static str, io::Error),
    #[error("cannot drop privileges: {0}")]
    Check(String),
}

fn check(what: &'static str, rc: libc::c_int) -> Result<(), DropError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(DropError::Call(what, io::Error::last_os_error()))
    }
}

/// Drops to what `plan` says; afterwards verifies that root and capabilities are gone.
pub fn apply(plan: &DropPlan) -> Result<Dropped, DropError> {
    if let Some(n) = threads().filter(|&n| n > 1) {
        return Err(DropError::Check(format!(
            "{n} threads are running (the drop must come first)"
        )));
    }
    // The bounding set needs CAP_SETPCAP, which the switch below takes away: first.
    caps::clear_bounding_and_ambient();
    if let Identity::Switch(a) = plan.identity {
        switch(a)?;
    }
    caps::clear_all()?;
    // SAFETY: prctl with integer arguments touches no memory.
    check("prctl(PR_SET_NO_NEW_PRIVS)", unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    })?;
    if caps::effective_or_permitted()? {
        return Err(DropError::Check("capabilities remain after capset".into()));
    }
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    Ok(Dropped {
        uid: unsafe { libc::getuid() },
        gid: unsafe { libc::getgid() },
    })
}

/// The process as it is now: its effective uid, whether it may switch users, and the sudo
/// variables (which only count for root: `plan` decides).
pub fn start() -> super::Start {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    // SAFETY: geteuid cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    super::Start {
        euid,
        can_switch: euid == 0 || caps::can_setuid(),
        sudo_uid: var("SUDO_UID"),
        sudo_gid: var("SUDO_GID"),
    }
}

/// Groups first (setgroups needs the privilege setuid gives up), then the group, then the user.
fn switch(a: Account) -> Result<(), DropError> {
    // SAFETY: setgroups with 0 entries reads no memory; the others take integers.
    unsafe {
        check("setgroups(0)", libc::setgroups(0, std::ptr::null()))?;
        check("setgid", libc::setresgid(a.gid, a.gid, a.gid))?;
        check("setuid", libc::setresuid(a.uid, a.uid, a.uid))?;
    }
    // SAFETY: as above; setuid(0) must now fail, and if it does not we stop right here.
    let (uid, euid, gid, egid, back) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
            libc::setuid(0),
        )
    };
    if back == 0 {
        return Err(DropError::Check(
            "setuid(0) succeeded after the drop".into(),
        ));
    }
    if (uid, euid, gid, egid) != (a.uid, a.uid, a.gid, a.gid) {
        return Err(DropError::Check(format!(
            "running as uid {uid}/{euid} gid {gid}/{egid}, not {}:{}",
            a.uid, a.gid
        )));
    }
    // SAFETY: getgroups(0, NULL) only counts.
    let groups = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if groups > 1 || (groups == 1 && !only_group_is(a.gid)) {
        return Err(DropError::Check(format!(
            "{groups} supplementary groups remain"
        )));
    }
    Ok(())
}

fn only_group_is(gid: u32) -> bool {
    let mut g = [0 as libc::gid_t; 1];
    // SAFETY: g has room for the one entry asked for.
    let n = unsafe { libc::getgroups(1, g.as_mut_ptr()) };
    n == 1 && g[0] == gid
}

/// Threads of this process, from /proc (None where there is no /proc).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(target_os = "linux")]
mod caps {
    use super::{DropError, check};

    const VERSION_3: u32 = 0x2008_0522;

    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }

    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    /// Ambient set cleared; every capability dropped from the bounding set. Both only where
    /// allowed (the bounding set needs CAP_SETPCAP; an old kernel has no ambient set): a
    /// process without them has nothing there to give up that it could use.
    pub fn clear_bounding_and_ambient() {
        // SAFETY: prctl with integer arguments touches no memory.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            );
            for cap in 0..64 {
                if libc::prctl(libc::PR_CAPBSET_READ, cap, 0, 0, 0) < 0 {
                    break; // past the last capability this kernel knows
                }
                libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
            }
        }
    }

    /// Effective, permitted and inheritable sets emptied.
    pub fn clear_all() -> Result<(), DropError> {
        let mut h = Header {
            version: VERSION_3,
            pid: 0,
        };
        let d = [Data::default(); 2];
        // SAFETY: header and two data structs, as capset's version 3 expects.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) };
        check("capset", rc as libc::c_int)
    }

    fn get() -> Result<[Data; 2], DropError> {
        let mut h = Header {
            version: VERSION_3,
            pid: 0,
        };
        let mut d = [Data::default(); 2];
        // SAFETY: header and two data structs; capget fills them.
        let rc = unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) };
        check("capget", rc as libc::c_int)?;
        Ok(d)
    }

    /// Any capability left, effective or permitted.
    pub fn effective_or_permitted() -> Result<bool, DropError> {
        Ok(get()?.iter().any(|x| x.effective != 0 || x.permitted != 0))
    }

    /// CAP_SETUID and CAP_SETGID (6 and 7) are effective.
    pub fn can_setuid() -> bool {
        const BOTH: u32 = 1 << 6 | 1 << 7;
        get().is_ok_and(|d| d[0].effective & BOTH == BOTH)
    }
}

#[cfg(not(target_os = "linux"))]
mod caps {
    use super::DropError;
    pub fn clear_bounding_and_ambient() {}
    pub fn clear_all() -> Result<(), DropError> {
        Ok(())
    }
    pub fn effective_or_permitted() -> Result<bool, DropError> {
        Ok(false)
    }
    pub fn can_setuid() -> bool {
        false
    }
}
