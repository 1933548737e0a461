//! Links: where raw probes leave and replies arrive. (The raw engine that drives them is not
//! built yet; the AF_PACKET link and its filter are proven in the lab by tests/lab.rs.)

#[cfg(target_os = "linux")]
pub mod afpacket;
#[cfg(target_os = "linux")]
pub mod arp;
pub mod bpf;
pub mod setup;
