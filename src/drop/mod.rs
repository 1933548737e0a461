//! Least privilege: once the packet sockets are open (and before any thread starts), the
//! process gives up what it no longer needs. The decision is a pure function of who runs
//! synsweep and what was asked (`plan`, table-tested); `apply` carries it out with the
//! system calls, and `account` finds the user `--user NAME` names.
//!
//! - Under sudo (effective uid 0, `SUDO_UID`/`SUDO_GID`), or with `--user NAME`: become that
//!   user — supplementary groups cleared, then the group, then the user — and check that
//!   root cannot be had back.
//! - Otherwise: keep the uid, drop every capability (effective, permitted, inheritable,
//!   ambient, and the bounding set where allowed).
//! - Always: `PR_SET_NO_NEW_PRIVS`, so nothing synsweep runs afterwards (nmap) gains any.

pub mod account;
pub mod apply;

use crate::privilege::Engine;

/// The process as it starts: what decides the drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub euid: u32,
    /// Root, or CAP_SETUID and CAP_SETGID: may become another user.
    pub can_switch: bool,
    pub sudo_uid: Option<u32>,
    pub sudo_gid: Option<u32>,
}

/// An account to become: `--user NAME` looked up, or the sudo user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Stay who we are, without capabilities.
    Keep,
    /// Become this user and group, with no supplementary groups.
    Switch(Account),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropPlan {
    pub identity: Identity,
    /// The raw engine's packet sockets must be open before the drop (they are the only
    /// thing the capability is for); the connect engines need nothing first.
    pub open_link_first: bool,
}

impl DropPlan {
    /// The uid the scan runs as after the drop.
    pub fn uid(&self, start: &Start) -> u32 {
        match self.identity {
            Identity::Switch(a) => a.uid,
            Identity::Keep => start.euid,
        }
    }
}

/// The drop for a process that starts as `start`, asked to become `user` (`--user`), running
/// `engine`. Refused (one line) when `--user` cannot be honoured.
pub fn plan(start: &Start, user: Option<Account>, engine: Engine) -> Result<DropPlan, String> {
    let open_link_first = engine == Engine::Raw;
    let identity = match user {
        Some(_) if !start.can_switch => {
            return Err(
                "--user: switching users needs root (or CAP_SETUID and CAP_SETGID); run without --user"
                    .into(),
            );
        }
        // Root asked to stay root: what is left to drop are the capabilities.
        Some(a) if a.uid == 0 => Identity::Keep,
        Some(a) => Identity::Switch(a),
        None => match (start.euid, start.sudo_uid, start.sudo_gid) {
            (0, Some(uid), Some(gid)) if uid != 0 => Identity::Switch(Account { uid, gid }),
            (0, Some(uid), None) if uid != 0 => {
                return Err(format!(
                    "SUDO_UID={uid} is set but SUDO_GID is not: cannot tell which group to run as; give --user NAME"
                ));
            }
            // SUDO_UID only counts for root: a user who sets it himself stays himself.
            _ => Identity::Keep,
        },
    };
    Ok(DropPlan {
        identity,
        open_link_first,
    })
}

#[cfg(test)]
mod tests;
