//! The library's error type. Every message names the offending value, so `main` can print it
//! as one line and exit non-zero. What the user (or a file, or the network) wrote is echoed
//! through `output::clean`, so an error line cannot carry a terminal escape or a bidi
//! override either.

use crate::output::clean::text as c;
use std::path::{Path, PathBuf};

fn p(path: &Path) -> String {
    c(&path.display().to_string()).into_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad target '{}': {}", c(.0), c(.1))]
    BadTarget(String, String),
    #[error("cannot resolve host name '{}': {}", c(.0), c(.1))]
    Resolve(String, String),
    #[error("bad port list '{}': {}", c(.0), c(.1))]
    BadPorts(String, String),
    #[error("bad option {}: {}", .0, c(.1))]
    BadOption(&'static str, String),
    #[error("cannot read {}: {}", p(.0), .1)]
    ReadFile(PathBuf, std::io::Error),
    /// A list file that cannot be read as one: which file, which line, why.
    #[error("{}: {}", p(.0), c(.1))]
    BadFile(PathBuf, String),
    #[error("cannot write {}: {}", p(.0), .1)]
    WriteFile(PathBuf, std::io::Error),
    #[error("bad resume file {}: {}", p(.0), c(.1))]
    BadResume(PathBuf, String),
    /// A destination (or a link to one) that another user could have planted.
    #[error("refusing to write {}: {}", p(.0), c(.1))]
    Unsafe(PathBuf, String),
    /// Another synsweep holds this resume file (it is running from it, or saving to it).
    #[error(
        "resume file {} is in use by another synsweep (one scan per resume file; wait for it or stop it)",
        p(.0)
    )]
    ResumeBusy(PathBuf),
    /// Would overwrite the resume point of another scan that is not finished.
    #[error(
        "{} holds the resume point of another, unfinished scan: continue it with --resume {}, or give this scan another --resume-file",
        p(.0), p(.0)
    )]
    ResumeTaken(PathBuf),
    #[error("the scan saved in {} is complete: nothing to resume", p(.0))]
    AlreadyComplete(PathBuf),
    #[error(
        "--{} cannot be given with --resume: the saved scan keeps its own (rates, timing, excludes, outputs and --nmap may change)",
        c(.0)
    )]
    NotOnResume(String),
    #[error("nothing to scan: {}", c(.0))]
    Empty(String),
    #[error("scan too large: {}", c(.0))]
    TooLarge(String),
    #[error("{}", c(.0))]
    Refused(String),
    #[error("cannot send raw packets: {}", c(.0))]
    Link(String),
    #[error("{0}: {1}")]
    Os(&'static str, std::io::Error),
    #[error(transparent)]
    Drop(#[from] crate::drop::apply::DropError),
}

impl Error {
    /// The process's exit code for this error: 2 for what the user asked (fix the input and
    /// run again), 1 for what went wrong while running.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::WriteFile(..) | Error::Os(..) | Error::Link(..) | Error::Drop(..) => 1,
            _ => 2,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_input_is_clean() {
        let e = Error::BadTarget("x\x1b]0;owned\x07\u{202e}".into(), "why".into());
        assert_eq!(
            e.to_string(),
            "bad target 'x\\x1b]0;owned\\x07\\u{202e}': why"
        );
        let e = Error::ReadFile(PathBuf::from("list\ttab"), std::io::Error::other("gone"));
        assert_eq!(e.to_string(), "cannot read list\\x09tab: gone");
    }
}
