//! synsweep: a fast SYN / ICMP / connect port scanner. See README.md and ../shared/DESIGN.md.

pub mod addr_set;
pub mod banners;
pub mod cli;
pub mod config;
pub mod cursor;
pub mod drop;
pub mod engine;
pub mod error;
pub mod event;
pub mod generate;
pub mod invoker;
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
pub mod resume_file;
pub mod safe_file;
pub mod scan;
pub mod space;
pub mod stop;
pub mod targets;
pub mod udp;

#[cfg(test)]
mod resume_input_tests;

pub use error::{Error, Result};

/// Property tests' case counts: `n`, or more with `PROPTEST_CASES=N` set (the soak: the same
/// generators as long as one likes; proptest's own variable only reaches tests on its
/// default count).
#[cfg(test)]
pub(crate) fn soak_cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(n, |soak: u32| soak.max(n))
}
