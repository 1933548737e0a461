//! Engines turn the cursor's targets into events. Both engines (connect, raw packets) take the
//! same context and return the same resume point.

pub mod answers_all;
pub mod congestion;
pub mod connect;
pub mod connector;
pub mod host_gate;
pub mod host_rate;
pub mod hosts_up;
pub mod ping_socket;
pub mod pressure;
pub mod raw;
pub mod report;
pub mod rtt;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pressure;
pub mod udp_connector;

use crate::event::Stats;
use crate::space::TargetSpace;
use crate::stop::StopSignal;
use report::Reporter;
use std::sync::Arc;
use std::time::Duration;

/// What every engine reads and writes besides its own options.
pub struct EngineContext {
    pub space: TargetSpace,
    /// Where answers become events.
    pub report: Reporter,
    pub stats: Arc<Stats>,
    pub stop: StopSignal,
    /// How often the engine sends its resume point down the event stream (a checkpoint);
    /// None: never.
    pub checkpoint_every: Option<Duration>,
}
