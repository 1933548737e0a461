//! Port lists: `22,80,8000-8100`, `-` (all), `-1024`, `8000-`, presets (`top100`, `top1000`,
//! `all`, `ai`), mixed freely: `ai,22,9000-9010`.

pub mod presets;
pub mod services;

use crate::error::{Error, Result};
use crate::event::Proto;
use std::path::Path;

/// A sorted, duplicate-free list of ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(Vec<u16>);

impl PortList {
    pub fn new(mut ports: Vec<u16>) -> PortList {
        ports.sort_unstable();
        ports.dedup();
        PortList(ports)
    }
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Compact form for headers: `22,80,8000-8100`.
    pub fn describe(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.0.len() {
            let mut j = i;
            while j + 1 < self.0.len() && self.0[j + 1] == self.0[j] + 1 {
                j += 1;
            }
            out.push(if i == j {
                self.0[i].to_string()
            } else {
                format!("{}-{}", self.0[i], self.0[j])
            });
            i = j + 1;
        }
        out.join(",")
    }
}

/// Parses a port list; presets rank the ports of `proto`.
pub fn parse_ports(spec: &str, proto: Proto, nmap_services: &Path) -> Result<PortList> {
    let bad = |why: String| Error::BadPorts(spec.to_string(), why);
    let mut ports = Vec::new();
    for item in spec.split(',').map(str::trim) {
        match item {
            "" => return Err(bad("empty item".into())),
            "-" | "all" => ports.extend(1..=65535u16),
            "ai" => ports.extend(presets::AI_PORTS.iter().map(|(p, _)| *p)),
            "top100" | "top1000" => {
                let n = if item == "top100" { 100 } else { 1000 };
                ports.extend(presets::top_ports(n, proto, nmap_services)?);
            }
            _ => {
                let (lo, hi) = match item.split_once('-') {
                    Some((a, b)) => (
                        if a.is_empty() {
                            1
                        } else {
                            num(a).map_err(&bad)?
                        },
                        if b.is_empty() {
                            65535
                        } else {
                            num(b).map_err(&bad)?
                        },
                    ),
                    None => {
                        let p = num(item).map_err(&bad)?;
                        (p, p)
                    }
                };
                if lo > hi {
                    return Err(bad(format!("range '{item}' ends before it starts")));
                }
                ports.extend(lo..=hi);
            }
        }
    }
    Ok(PortList::new(ports))
}

fn num(s: &str) -> std::result::Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| format!("'{s}' is not a port number (0-65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<PortList> {
        parse_ports(s, Proto::Tcp, Path::new("/nonexistent"))
    }

    #[test]
    fn lists_ranges_and_presets() {
        assert_eq!(
            p("80,22,80,8000-8002").unwrap().as_slice(),
            &[22, 80, 8000, 8001, 8002]
        );
        assert_eq!(p("-").unwrap().len(), 65535);
        assert_eq!(p("-3").unwrap().as_slice(), &[1, 2, 3]);
        assert_eq!(p("65534-").unwrap().as_slice(), &[65534, 65535]);
        assert_eq!(p("top100").unwrap().len(), 100);
        assert!(p("ai").unwrap().as_slice().contains(&11434));
        assert_eq!(p("1-3,5,7-8").unwrap().describe(), "1-3,5,7-8");
    }

    #[test]
    fn bad_lists_name_the_value() {
        for s in ["", "80,", "70000", "90-80", "http", "1-2-3", "top7"] {
            let e = p(s).unwrap_err().to_string();
            assert!(e.starts_with(&format!("bad port list '{s}'")), "{e}");
        }
    }
}
