//! `--iflist` (masscan's): the interfaces raw scans can send from, with their addresses, and
//! the IPv4 routes the kernel would use.

use std::fmt::Write;

pub fn render() -> String {
    let mut o = String::new();
    for i in pnet_datalink::interfaces() {
        let mac = i.mac.map_or_else(|| "-".to_string(), |m| m.to_string());
        let ips: Vec<String> = i.ips.iter().map(|n| n.to_string()).collect();
        let state = if i.is_up() { "up" } else { "down" };
        let _ = writeln!(o, "{}\t{state}\t{mac}\t{}", i.name, ips.join(" "));
    }
    #[cfg(target_os = "linux")]
    if let Ok(routes) = std::fs::read_to_string("/proc/net/route") {
        let _ = writeln!(o, "\nroutes (destination/mask via gateway on interface):");
        for line in routes.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let hex = |s: &str| {
                u32::from_str_radix(s, 16)
                    .ok()
                    .map(|n| std::net::Ipv4Addr::from(n.swap_bytes()))
            };
            if let (Some(dev), Some(dst), Some(gw), Some(mask)) = (
                f.first(),
                f.get(1).and_then(|s| hex(s)),
                f.get(2).and_then(|s| hex(s)),
                f.get(7).and_then(|s| hex(s)),
            ) {
                let _ = writeln!(o, "{dst}/{mask} via {gw} on {dev}");
            }
        }
    }
    o
}
