//! The library's error type. Every message names the offending value, so `main` can print it
//! as one line and exit non-zero.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad target '{0}': {1}")]
    BadTarget(String, String),
    #[error("cannot resolve host name '{0}': {1}")]
    Resolve(String, String),
    #[error("bad port list '{0}': {1}")]
    BadPorts(String, String),
    #[error("bad option {0}: {1}")]
    BadOption(&'static str, String),
    #[error("cannot read {path}: {1}", path = .0.display())]
    ReadFile(PathBuf, std::io::Error),
    #[error("cannot write {path}: {1}", path = .0.display())]
    WriteFile(PathBuf, std::io::Error),
    #[error("bad resume file {path}: {1}", path = .0.display())]
    BadResume(PathBuf, String),
    #[error(
        "--{0} cannot be given with --resume: the saved scan keeps its own (rates, timing, excludes and outputs may change)"
    )]
    NotOnResume(String),
    #[error("nothing to scan: {0}")]
    Empty(String),
    #[error("scan too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Refused(String),
    #[error("cannot send raw packets: {0}")]
    Link(String),
    #[error("{0}: {1}")]
    Os(&'static str, std::io::Error),
}

impl Error {
    /// The process's exit code for this error: 2 for what the user asked (fix the input and
    /// run again), 1 for what went wrong while running.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::WriteFile(..) | Error::Os(..) | Error::Link(..) => 1,
            _ => 2,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
