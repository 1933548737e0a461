//! Service names: the IANA registry's well-known entries, embedded at build time
//! (`data/services.tsv`, made by `scripts/gen-data.sh`), then names for AI/ML ports that IANA
//! does not list.

use super::presets::AI_PORTS;
use std::collections::HashMap;
use std::sync::OnceLock;

const SERVICES_TSV: &str = include_str!("../../data/services.tsv");

pub use crate::event::Proto;

fn table() -> &'static HashMap<(u16, Proto), &'static str> {
    static TABLE: OnceLock<HashMap<(u16, Proto), &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for line in SERVICES_TSV.lines() {
            let mut f = line.split('\t');
            let (Some(port), Some(proto), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let proto = match proto {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                _ => continue,
            };
            if let Ok(port) = port.parse::<u16>() {
                m.entry((port, proto)).or_insert(name);
            }
        }
        m
    })
}

/// The service name of a port: IANA first, then (UDP) the protocol we probe it with, then the
/// AI/ML table, else "unknown".
pub fn service_name(port: u16, proto: Proto) -> &'static str {
    if let Some(name) = table().get(&(port, proto)) {
        return name;
    }
    if proto == Proto::Udp
        && let Some(name) = crate::udp::protocol_name(port)
    {
        return name;
    }
    AI_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, n)| *n)
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_names() {
        assert_eq!(service_name(22, Proto::Tcp), "ssh");
        assert_eq!(service_name(443, Proto::Tcp), "https");
        assert_eq!(service_name(53, Proto::Udp), "domain");
        assert_eq!(service_name(11434, Proto::Tcp), "ollama");
        assert_eq!(service_name(47999, Proto::Tcp), "unknown");
        assert_eq!(service_name(1900, Proto::Udp), "ssdp");
        assert!(
            table().len() > 250,
            "embedded table is {} entries",
            table().len()
        );
    }
}
