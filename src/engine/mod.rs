//! Engines turn the cursor's targets into events. Both engines (connect, raw packets) take the
//! same context and return the same resume point.

pub mod connect;
pub mod connector;
pub mod host_gate;
pub mod ping_socket;
pub mod raw;
pub mod rtt;
#[cfg(test)]
mod tests;
pub mod udp_connector;

use crate::event::{Event, Stats};
use crate::space::TargetSpace;
use crate::stop::StopSignal;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What every engine reads and writes besides its own options.
pub struct EngineContext {
    pub space: TargetSpace,
    /// Forward names of host-name targets.
    pub names: HashMap<IpAddr, String>,
    pub stats: Arc<Stats>,
    pub events: crossbeam_channel::Sender<Event>,
    pub stop: StopSignal,
}

impl EngineContext {
    /// Hands an event to the output thread. If it has gone (the process is ending), the event
    /// has nowhere to go, and dropping it is all that is left to do.
    pub fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }
}
