//! synsweep: a fast SYN / ICMP / connect port scanner. See README.md and ../shared/DESIGN.md.

pub mod banners;
pub mod cli;
pub mod config;
pub mod cursor;
pub mod engine;
pub mod error;
pub mod event;
pub mod generate;
pub mod limits;
pub mod lines;
pub mod link;
pub mod names;
pub mod nmap;
pub mod output;
pub mod packet;
pub mod permutation;
pub mod ports;
pub mod privilege;
pub mod rate;
pub mod resume;
pub mod scan;
pub mod space;
pub mod stop;
pub mod targets;
pub mod udp;

#[cfg(test)]
mod resume_input_tests;

pub use error::{Error, Result};
