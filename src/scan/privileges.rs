//! The one moment privileges change: after planning, before any thread or probe. What needs
//! root (or CAP_NET_RAW) is opened first — the raw engine's packet sockets; the resume file
//! being continued was opened and locked while configuring — then the process drops to the
//! user it will run as (`crate::drop`), and only then is everything that user must be able to
//! write tried: the resume point here, the outputs, the names cache and the resume file's
//! claim when the scan starts (`run`). So a file the dropped user could not write, or a
//! directory it could not rename a finished document into, fails before anything is sent,
//! and every file synsweep creates belongs to that user.

use super::Scan;
use crate::drop::{self, Account, apply};
use crate::error::{Error, Result};

/// Opens the packet sockets, drops privileges as the plan for `user` (`--user`) says, and
/// tries the resume point as the user the scan now runs as.
pub fn open_and_drop(scan: &mut Scan, user: Option<Account>) -> Result<apply::Dropped> {
    let start = apply::start();
    let plan = drop::plan(&start, user, scan.plan.engine).map_err(Error::Refused)?;
    if plan.open_link_first {
        scan.link = super::engine::open_link(&scan.config, &scan.plan)?;
    }
    let dropped = apply::apply(&plan)?;
    scan.checkpoints = super::resume_point_writable(&scan.config, &mut scan.plan.notices)?;
    Ok(dropped)
}
