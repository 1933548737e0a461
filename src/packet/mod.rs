//! Packets for the raw engine: probe templates, cookies, and reply classification.

pub mod checksum;
pub mod cookie;
pub mod echo;
pub mod probe;
pub mod reply;
pub mod syn;
pub mod udp;
