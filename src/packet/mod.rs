//! Packets for the raw engine: probe templates, cookies, and reply classification.
//! (The raw engine itself — sender and capture threads — is not built yet; these are its
//! tested parts.)

pub mod checksum;
pub mod cookie;
pub mod reply;
pub mod syn;
