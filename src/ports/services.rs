//! Service names: nmap's own (`/usr/share/nmap/nmap-services`) when nmap is installed, so
//! nmap's tools see the names nmap gives; else the IANA registry's well-known entries, embedded
//! at build time (`data/services.tsv`, made by `scripts/gen-data.sh`); then names for AI/ML
//! ports that neither lists.

use super::presets::{AI_PORTS, NMAP_SERVICES};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
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

type NameTable = HashMap<(u16, Proto), &'static str>;

/// nmap's names, read once on first use; empty when the file is absent or unreadable.
fn nmap_table() -> &'static NameTable {
    static TABLE: OnceLock<NameTable> = OnceLock::new();
    TABLE.get_or_init(|| match read_capped(Path::new(NMAP_SERVICES)) {
        // Leaked once: the names borrow from the file's text for the life of the process,
        // one allocation instead of one per name.
        Some(text) => parse_nmap_services(Box::leak(text.into_boxed_str())),
        None => HashMap::new(),
    })
}

/// nmap's file is about 1 MB; anything past 16 MiB is not an nmap-services file.
const NMAP_SERVICES_MAX: u64 = 16 << 20;

fn read_capped(path: &Path) -> Option<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(NMAP_SERVICES_MAX)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `name<TAB>port/proto<TAB>frequency [# comment]` per line (nmap-services(5)); comments,
/// other protocols (sctp) and lines that do not parse are skipped. The first name for a port
/// wins, as in nmap.
fn parse_nmap_services(text: &str) -> HashMap<(u16, Proto), &str> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut f = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (f.next(), f.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => continue,
        };
        let printable = name.bytes().all(|b| b.is_ascii_graphic());
        if let (Ok(port), true) = (port.parse::<u16>(), printable) {
            m.entry((port, proto)).or_insert(name);
        }
    }
    m
}

/// The service name of a port: nmap's when nmap is installed, else IANA's, then (UDP) the
/// protocol we probe it with, then the AI/ML table, else "unknown".
pub fn service_name(port: u16, proto: Proto) -> &'static str {
    lookup(nmap_table(), port, proto)
}

/// Whether names come from nmap's own table (installed and readable) rather than ours.
pub fn nmap_names_in_use() -> bool {
    !nmap_table().is_empty()
}

/// The name nmap itself prints for a port it did not probe: its table's when nmap is
/// installed (none for a port it does not list — an AI port, say), else ours. nmap-XML uses
/// it, so ndiff sees the names nmap would have written.
pub fn nmap_style_name(port: u16, proto: Proto) -> Option<&'static str> {
    let nmap = nmap_table();
    if !nmap_names_in_use() {
        return Some(service_name(port, proto)).filter(|n| *n != "unknown");
    }
    nmap.get(&(port, proto)).copied()
}

fn lookup(nmap: &NameTable, port: u16, proto: Proto) -> &'static str {
    if let Some(name) = nmap
        .get(&(port, proto))
        .or_else(|| table().get(&(port, proto)))
    {
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
        let none = NameTable::new();
        assert_eq!(lookup(&none, 22, Proto::Tcp), "ssh");
        assert_eq!(lookup(&none, 443, Proto::Tcp), "https");
        assert_eq!(lookup(&none, 53, Proto::Udp), "domain");
        assert_eq!(lookup(&none, 8088, Proto::Tcp), "omniorb");
        assert_eq!(lookup(&none, 11434, Proto::Tcp), "ollama");
        assert_eq!(lookup(&none, 47999, Proto::Tcp), "unknown");
        assert_eq!(lookup(&none, 1900, Proto::Udp), "ssdp");
        assert!(
            table().len() > 250,
            "embedded table is {} entries",
            table().len()
        );
    }

    /// nmap's names win over IANA's; ports nmap lacks fall back to the embedded chain; bad
    /// lines (no slash, port out of range, other protocol, binary junk) are skipped.
    #[test]
    fn nmap_services_names_win_and_bad_lines_are_skipped() {
        let text = "# header\n\
            radan-http\t8088/tcp\t0.000608\t# Radan HTTP\n\
            ssh\t22/tcp\t0.18\n\
            second\t22/tcp\t0.1\n\
            broken-line\n\
            noslash\t8089\t0.1\n\
            big\t70000/tcp\t0.1\n\
            sctpname\t8090/sctp\t0.1\n\
            \u{1}\u{2}junk\t8091/tcp\n\
            \t\t\n\
            domain\t53/udp\n";
        let t = parse_nmap_services(text);
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(lookup(&t, 8088, Proto::Tcp), "radan-http");
        assert_eq!(lookup(&t, 22, Proto::Tcp), "ssh");
        assert_eq!(lookup(&t, 53, Proto::Udp), "domain");
        assert_eq!(lookup(&t, 443, Proto::Tcp), "https");
        assert_eq!(lookup(&t, 8091, Proto::Tcp), "unknown");
    }

    #[test]
    fn unreadable_or_binary_files_give_no_names_and_no_panic() {
        assert!(read_capped(Path::new("/nonexistent/nmap-services")).is_none());
        let f = std::env::temp_dir().join(format!("synsweep-svc-{}", std::process::id()));
        std::fs::write(
            &f,
            [0xffu8, 0xfe, b'\n', b'x', b'\t', b'1', b'/', b't', 0x80],
        )
        .unwrap();
        let text = read_capped(&f);
        std::fs::remove_file(&f).ok();
        let t = parse_nmap_services(text.as_deref().unwrap_or(""));
        assert!(t.is_empty(), "{t:?}");
    }

    /// Where nmap is installed its table is what the scanner uses.
    #[test]
    fn the_installed_nmap_table_is_used() {
        if !Path::new(NMAP_SERVICES).exists() {
            return;
        }
        assert_eq!(service_name(8088, Proto::Tcp), "radan-http");
        assert!(nmap_table().len() > 10_000, "{}", nmap_table().len());
    }
}
