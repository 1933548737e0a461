//! From a command line to a finished (or saved) scan: configure once, plan, run, save.
//!
//! - `config` (crate::config) resolves the command line into a `ScanConfig`;
//! - `plan` turns a configuration into an engine, an index space and a link (pure);
//! - `run` drives the engine and the stages to the end or to a stop, and saves;
//! - `signals` turns Ctrl-C and SIGTERM into stop levels;
//! - `echo` prints a configuration for `--echo`.

pub mod echo;
mod engine;
pub mod plan;
pub mod run;
mod signals;

use crate::cli::Parsed;
use crate::config::{self, ScanConfig, from_cli::Inputs};
use crate::cursor::CursorState;
use crate::error::Result;
use crate::event::Event;
use crate::link::route::RoutePlanner;
use crate::privilege::Privilege;
use crate::resume::ResumePoint;
pub use plan::{Plan, RAW_ENGINE_BUILT, plan};
pub use run::{Finished, run};

/// A scan ready to run: its configuration, its plan, and where it starts.
pub struct Scan {
    pub config: ScanConfig,
    pub plan: Plan,
    /// The saved state of the run this one continues.
    pub resume: Option<CursorState>,
    /// Results that run reported.
    pub carried: Vec<Event>,
    /// The nmap that `--nmap` hands the open ports to, found on PATH before any probe.
    pub nmap: Option<std::path::PathBuf>,
}

/// A resume point, and the file it came from.
pub struct Saved {
    pub path: std::path::PathBuf,
    pub point: ResumePoint,
}

/// The configuration a command line asks for: fresh, or the saved one of `--resume` with
/// what may change changed. With the resume point's state and results.
pub fn configure(parsed: &Parsed, inputs: &Inputs) -> Result<(ScanConfig, Option<Saved>)> {
    match &parsed.cli.resume {
        Some(path) => {
            let saved = ResumePoint::load(path)?;
            let config =
                config::resume::resumed(saved.config.clone(), parsed, path, inputs.resolve)?;
            let path = path.clone();
            Ok((config, Some(Saved { path, point: saved })))
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
    let (resume, carried) = match saved {
        Some(Saved { path, point }) => {
            point.check_fits(&path, plan.space.size())?;
            (Some(point.state), point.results)
        }
        None => (None, Vec::new()),
    };
    Ok(Scan {
        config,
        plan,
        resume,
        carried,
        nmap,
    })
}

#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod tests;
