//! From a command line to a finished (or saved) scan: configure once, plan, run, save.
//!
//! - `config` (crate::config) resolves the command line into a `ScanConfig`;
//! - `plan` turns a configuration into an engine, an index space and a link (pure);
//! - `privileges` opens the packet sockets, drops privileges, and tries the files as the user
//!   the scan then runs as (before any thread or probe);
//! - `run` drives the engine and the stages to the end or to a stop, and saves;
//! - `results` opens the log the results are kept in (a resumed run's: continued);
//! - `signals` turns SIGINT, SIGTERM, SIGHUP and SIGQUIT into stop levels;
//! - `echo` prints a configuration for `--echo`.

pub mod echo;
mod engine;
pub mod plan;
pub mod privileges;
mod results;
pub mod run;
mod signals;

use crate::cli::Parsed;
use crate::config::{self, ScanConfig, from_cli::Inputs};
use crate::cursor::CursorState;
use crate::error::{Error, Result};
use crate::invoker::Invoker;
use crate::link::route::RoutePlanner;
use crate::output::meta::Figures;
use crate::output::spill::SpillMark;
use crate::privilege::Privilege;
use crate::resume::{NdjsonMark, ResumePoint};
use crate::resume_file::{self, Loaded};
pub use plan::{Plan, RAW_ENGINE_BUILT, plan};
pub use privileges::open_and_drop;
pub use run::{Finished, run};

/// A scan ready to run: its configuration, its plan, and where it starts.
pub struct Scan {
    pub config: ScanConfig,
    pub plan: Plan,
    /// The saved state of the run this one continues.
    pub resume: Option<CursorState>,
    /// Where that run's results log stood when it saved (the log holds its results).
    pub spill: Option<SpillMark>,
    /// Its figures (and those of the runs before it).
    pub carried_figures: Figures,
    /// Where that run's NDJSON stream stood when they were saved.
    pub ndjson: Option<NdjsonMark>,
    /// The lock on the resume file this scan continues.
    pub resume_lock: Option<std::fs::File>,
    /// Resume points are saved (checkpoints and the last one): tried as the user the scan
    /// runs as, after the drop (`open_and_drop`); false until then.
    pub checkpoints: bool,
    /// The raw engine's packet sockets, opened before the drop (`open_and_drop`).
    pub link: crate::engine::raw::launch::OpenLink,
    /// The nmap that `--nmap` hands the open ports to, found on PATH before any probe.
    pub nmap: Option<std::path::PathBuf>,
}

/// A resume point, the file it came from, and the lock held on that file.
pub struct Saved {
    pub path: std::path::PathBuf,
    pub point: ResumePoint,
    pub lock: std::fs::File,
}

/// The configuration a command line asks for: fresh, or the saved one of `--resume` with
/// what may change changed. With the resume point's state and results.
pub fn configure(parsed: &Parsed, inputs: &Inputs) -> Result<(ScanConfig, Option<Saved>)> {
    match &parsed.cli.resume {
        Some(path) => {
            let Loaded { point, lock } = resume_file::load(path, &Invoker::current())?;
            if point.complete {
                return Err(Error::AlreadyComplete(path.clone()));
            }
            let config =
                config::resume::resumed(point.config.clone(), parsed, path, inputs.resolve)?;
            let path = path.clone();
            Ok((config, Some(Saved { path, point, lock })))
        }
        None => {
            let command_line = parsed.args.clone();
            Ok((
                config::from_cli::build(&parsed.cli, command_line, inputs)?,
                None,
            ))
        }
    }
}

/// Plans a configured scan; a resumed one is checked against its saved positions.
pub fn prepare(
    config: ScanConfig,
    saved: Option<Saved>,
    privilege: Privilege,
    router: RoutePlanner,
) -> Result<Scan> {
    let plan = plan(&config, privilege, router)?;
    let nmap = match &config.nmap {
        Some(_) => Some(crate::nmap::process::locate().ok_or_else(|| {
            crate::Error::Refused(
                "--nmap: nmap is not installed (no nmap on PATH); install it (apt-get install nmap) or drop --nmap".into(),
            )
        })?),
        None => None,
    };
    let (resume, spill, carried_figures, ndjson, resume_lock) = match saved {
        Some(Saved { path, point, lock }) => {
            point.check_fits(&path, plan.space.size())?;
            let state = Some(point.state);
            let spill = point.spill.map(|m| results::moved_with(m, &path));
            (state, spill, point.figures, point.ndjson, Some(lock))
        }
        None => (None, None, Figures::default(), None, None),
    };
    Ok(Scan {
        config,
        plan,
        resume,
        spill,
        carried_figures,
        ndjson,
        resume_lock,
        checkpoints: false,
        link: crate::engine::raw::launch::OpenLink::Nothing,
        nmap,
    })
}

/// Whether the resume point can be saved where the configuration says, tried before any
/// probe. A file the user named must be writable (a scan that cannot save its resume point
/// fails before it starts, not at the end); the default one in the current directory may not
/// be (a read-only directory, another user's): the scan then runs without checkpoints, and
/// says so in one line.
pub(crate) fn resume_point_writable(
    config: &ScanConfig,
    notices: &mut Vec<String>,
) -> Result<bool> {
    use crate::safe_file::{self, Mode};
    // A temporary file made and dropped (its drop removes it): the same way a save writes.
    match safe_file::create(&config.resume_file, Mode::Private) {
        Ok(_probe) => Ok(true),
        Err(e) if config.resume_file_default => {
            notices.push(format!(
                "no resume point can be saved here ({e}); give --resume-file FILE for one"
            ));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod tests;
