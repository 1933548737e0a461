//! Links: where raw probes leave and replies arrive. The raw engine is generic over the two
//! halves, so the same sender and capture loops run on AF_PACKET, libpcap, the dry-run and
//! benchmark sinks, and the in-memory `SimNet` of the tests.

#[cfg(target_os = "linux")]
pub mod afpacket;
#[cfg(target_os = "linux")]
pub mod arp;
pub mod batch;
pub mod bpf;
pub mod iflist;
pub mod null;
#[cfg(feature = "pcap")]
pub mod pcap;
#[cfg(target_os = "linux")]
pub mod ring;
pub mod route;
pub mod setup;
#[cfg(test)]
pub mod sim;

use std::io;
use std::time::Duration;

pub use batch::FrameBatch;

/// Where crafted probes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Send for real (AF_PACKET on Linux, or libpcap).
    Live,
    /// Print each probe to stdout instead of sending it.
    DryRun,
    /// Craft into no device: the generator's benchmark.
    Offline,
}

/// The sending half: whole frames out (link header included when the link has one).
pub trait PacketTx {
    /// Sends the frames of `batch` from the first; returns how many left. Fewer than all
    /// (including 0) means the device queue is full: the caller keeps the rest and retries.
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize>;
}

/// The receiving half: frames the kernel filter passed.
pub trait PacketRx {
    /// Waits up to `timeout` for frames and hands each to `handle`; returns how many came.
    fn recv(&mut self, timeout: Duration, handle: &mut dyn FnMut(&[u8])) -> io::Result<usize>;

    /// Frames the kernel dropped because our receive buffer was full, so far: answers lost
    /// on this machine, not on the path (0 where the backend cannot tell).
    fn drops(&mut self) -> u64 {
        0
    }
}
