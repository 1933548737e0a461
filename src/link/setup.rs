//! Where probes to a target leave: interface, source address, next hop and its MAC, from the
//! kernel's routing and neighbour tables (or the user's overrides). The planning is a pure
//! function of the tables' text, so fixtures test it; `system` reads the live tables.

use std::net::Ipv4Addr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub iface: String,
    pub dest: Ipv4Addr,
    pub mask: Ipv4Addr,
    pub gateway: Option<Ipv4Addr>,
    pub metric: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    /// None on links without Ethernet headers (tun, WireGuard, PPP).
    pub mac: Option<[u8; 6]>,
    /// Loopback frames carry an Ethernet header of zero addresses and need no ARP.
    pub loopback: bool,
    pub ipv4: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub interface: Option<String>,
    pub source_ip: Option<Ipv4Addr>,
    /// Our MAC in the frames (masscan's `--adapter-mac`): for a spoofed or bridged source.
    pub source_mac: Option<[u8; 6]>,
    pub router_mac: Option<[u8; 6]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPlan {
    pub iface: String,
    pub src_ip: Ipv4Addr,
    pub src_mac: Option<[u8; 6]>,
    /// The gateway, or the target itself when it is on the link.
    pub next_hop: Ipv4Addr,
    /// Known from the neighbour table or the override; None means "resolve with ARP" (or, on
    /// a link without Ethernet headers, "not needed").
    pub next_hop_mac: Option<[u8; 6]>,
}

/// Parses `/proc/net/route`. Addresses there are the raw network-order bytes printed as a
/// host-order hex word, so they are turned back into bytes in host order.
pub fn parse_routes(text: &str) -> Vec<Route> {
    let addr = |h: &str| {
        u32::from_str_radix(h, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.to_ne_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u16::from_str_radix(f.get(3)?, 16).ok()?;
            if flags & 0x1 == 0 {
                return None; // RTF_UP not set
            }
            let gateway = addr(f.get(2)?)?;
            Some(Route {
                iface: f.first()?.to_string(),
                dest: addr(f.get(1)?)?,
                gateway: (flags & 0x2 != 0 && !gateway.is_unspecified()).then_some(gateway),
                metric: f.get(6)?.parse().ok()?,
                mask: addr(f.get(7)?)?,
            })
        })
        .collect()
}

/// Parses `/proc/net/arp`: complete entries only (flag ATF_COM), as (address, MAC, device).
pub fn parse_neighbours(text: &str) -> Vec<(Ipv4Addr, [u8; 6], String)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(2)?.trim_start_matches("0x"), 16).ok()?;
            if flags & 0x2 == 0 {
                return None;
            }
            let mut mac = [0u8; 6];
            let parts: Vec<&str> = f.get(3)?.split(':').collect();
            if parts.len() != 6 {
                return None;
            }
            for (m, p) in mac.iter_mut().zip(parts) {
                *m = u8::from_str_radix(p, 16).ok()?;
            }
            Some((f.first()?.parse().ok()?, mac, f.get(5)?.to_string()))
        })
        .collect()
}

/// Chooses how to reach `dst`: longest matching prefix, then lowest metric.
pub fn plan(
    dst: Ipv4Addr,
    o: &Overrides,
    routes: &[Route],
    neighbours: &[(Ipv4Addr, [u8; 6], String)],
    ifaces: &[Iface],
) -> Result<LinkPlan, String> {
    // This host's own addresses live in the kernel's `local` table, which /proc/net/route does
    // not show: without this, 127.0.0.1 would follow the default route out of the machine.
    let own = dst.is_loopback() || ifaces.iter().any(|i| i.ipv4.contains(&dst));
    if own && o.interface.is_none() {
        let lo = ifaces
            .iter()
            .find(|i| i.loopback)
            .ok_or_else(|| format!("{dst} is this host's, but no loopback interface was found"))?;
        let src_ip = o.source_ip.unwrap_or(if dst.is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            dst
        });
        return Ok(LinkPlan {
            iface: lo.name.clone(),
            src_ip,
            src_mac: Some([0; 6]),
            next_hop: dst,
            next_hop_mac: Some([0; 6]),
        });
    }
    let d = u32::from(dst);
    let route = routes
        .iter()
        .filter(|r| o.interface.as_ref().is_none_or(|i| *i == r.iface))
        .filter(|r| d & u32::from(r.mask) == u32::from(r.dest) & u32::from(r.mask))
        .max_by_key(|r| (u32::from(r.mask).count_ones(), std::cmp::Reverse(r.metric)))
        .ok_or_else(|| format!("no route to {dst}"))?;
    let iface = ifaces
        .iter()
        .find(|i| i.name == route.iface)
        .ok_or_else(|| {
            format!(
                "route to {dst} uses interface '{}', which was not found",
                route.iface
            )
        })?;
    let src_ip = match o.source_ip {
        Some(ip) => ip,
        None => *iface.ipv4.first().ok_or_else(|| {
            format!(
                "interface '{}' has no IPv4 address; give --source-ip",
                iface.name
            )
        })?,
    };
    let next_hop = route.gateway.unwrap_or(dst);
    if iface.loopback {
        return Ok(LinkPlan {
            iface: iface.name.clone(),
            src_ip,
            src_mac: Some([0; 6]),
            next_hop: dst,
            next_hop_mac: Some([0; 6]),
        });
    }
    let next_hop_mac = o.router_mac.or_else(|| {
        neighbours
            .iter()
            .find(|(ip, _, dev)| *ip == next_hop && *dev == iface.name)
            .map(|(_, mac, _)| *mac)
    });
    Ok(LinkPlan {
        iface: iface.name.clone(),
        src_ip,
        src_mac: o.source_mac.or(iface.mac),
        next_hop,
        next_hop_mac,
    })
}

/// Addresses whose plans decide every target's: each range's ends, and for each route whose
/// prefix overlaps a range, the first address of the overlap. If these agree, every address
/// of the ranges leaves the same way (a route can only change at a prefix's edge).
pub fn sample_points(ranges: &[(Ipv4Addr, Ipv4Addr)], routes: &[Route]) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    for &(first, last) in ranges {
        let (a, b) = (u32::from(first), u32::from(last));
        out.extend([first, last]);
        for r in routes {
            let mask = u32::from(r.mask);
            let lo = u32::from(r.dest) & mask;
            let hi = lo | !mask;
            if lo <= b && a <= hi {
                out.push(Ipv4Addr::from(lo.max(a)));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The plans of `dsts` (see `sample_points`) from the live tables, read once.
#[cfg(target_os = "linux")]
pub fn system_many(
    ranges: &[(Ipv4Addr, Ipv4Addr)],
    o: &Overrides,
) -> Result<Vec<(Ipv4Addr, LinkPlan)>, String> {
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
    let routes = parse_routes(&read("/proc/thread-self/net/route")?);
    let neighbours = parse_neighbours(&read("/proc/thread-self/net/arp")?);
    let ifaces = live_ifaces();
    sample_points(ranges, &routes)
        .into_iter()
        .map(|d| plan(d, o, &routes, &neighbours, &ifaces).map(|p| (d, p)))
        .collect()
}

#[cfg(target_os = "linux")]
fn live_ifaces() -> Vec<Iface> {
    pnet_datalink::interfaces()
        .into_iter()
        .map(|i| Iface {
            mac: i.mac.map(|m| m.octets()).filter(|m| *m != [0; 6]),
            loopback: i.is_loopback(),
            ipv4: i
                .ips
                .iter()
                .filter_map(|n| match n.ip() {
                    std::net::IpAddr::V4(a) => Some(a),
                    _ => None,
                })
                .collect(),
            name: i.name,
        })
        .collect()
}

/// The live tables of the calling thread's network namespace.
#[cfg(target_os = "linux")]
pub fn system(dst: Ipv4Addr, o: &Overrides) -> Result<LinkPlan, String> {
    // thread-self: a thread that entered another namespace with setns sees that one's tables.
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
    let routes = parse_routes(&read("/proc/thread-self/net/route")?);
    let neighbours = parse_neighbours(&read("/proc/thread-self/net/arp")?);
    plan(dst, o, &routes, &neighbours, &live_ifaces())
}

#[cfg(test)]
mod tests {
    use super::*;

    // As the kernel prints them on a little-endian machine.
    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wg0\t000012C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
down0\t000013C6\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0
";
    const ARP: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
192.168.0.1      0x1         0x2         02:00:00:00:00:fe     *        eth0
192.168.0.9      0x1         0x0         00:00:00:00:00:00     *        eth0
";

    fn ifaces() -> Vec<Iface> {
        vec![
            Iface {
                name: "eth0".into(),
                mac: Some([2, 0, 0, 0, 0, 1]),
                loopback: false,
                ipv4: vec![Ipv4Addr::new(192, 168, 0, 5)],
            },
            Iface {
                name: "wg0".into(),
                mac: None,
                loopback: false,
                ipv4: vec![Ipv4Addr::new(198, 18, 255, 1)],
            },
        ]
    }

    fn go(dst: &str, o: &Overrides) -> Result<LinkPlan, String> {
        plan(
            dst.parse().unwrap(),
            o,
            &parse_routes(ROUTES),
            &parse_neighbours(ARP),
            &ifaces(),
        )
    }

    #[test]
    fn tables_parse() {
        let r = parse_routes(ROUTES);
        assert_eq!(r.len(), 3, "the route that is not up is left out");
        assert_eq!(r[0].gateway, Some(Ipv4Addr::new(192, 168, 0, 1)));
        assert_eq!(r[1].mask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            parse_neighbours(ARP),
            vec![(
                Ipv4Addr::new(192, 168, 0, 1),
                [2, 0, 0, 0, 0, 0xfe],
                "eth0".to_string()
            )]
        );
    }

    #[test]
    fn plans_follow_the_longest_prefix() {
        let p = go("203.0.113.9", &Overrides::default()).unwrap();
        assert_eq!(
            (p.iface.as_str(), p.next_hop),
            ("eth0", Ipv4Addr::new(192, 168, 0, 1))
        );
        assert_eq!(
            p.next_hop_mac,
            Some([2, 0, 0, 0, 0, 0xfe]),
            "gateway from the neighbour table"
        );
        let p = go("192.168.0.9", &Overrides::default()).unwrap();
        assert_eq!(
            (p.next_hop, p.next_hop_mac),
            (Ipv4Addr::new(192, 168, 0, 9), None),
            "on-link, unresolved: ARP"
        );
        let p = go("198.18.3.4", &Overrides::default()).unwrap();
        assert_eq!(
            (p.iface.as_str(), p.src_mac),
            ("wg0", None),
            "a link without Ethernet headers"
        );
    }

    #[test]
    fn this_hosts_own_addresses_go_through_loopback() {
        let mut i = ifaces();
        i.push(Iface {
            name: "lo".into(),
            mac: None,
            loopback: true,
            ipv4: vec![Ipv4Addr::LOCALHOST],
        });
        let plan_for = |dst: &str| {
            plan(
                dst.parse().unwrap(),
                &Overrides::default(),
                &parse_routes(ROUTES),
                &[],
                &i,
            )
            .unwrap()
        };
        for (dst, src) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.3.2.1", "127.0.0.1"),
            ("192.168.0.5", "192.168.0.5"),
        ] {
            let p = plan_for(dst);
            assert_eq!(
                (p.iface.as_str(), p.src_ip),
                ("lo", src.parse().unwrap()),
                "{dst}"
            );
            assert_eq!(p.next_hop_mac, Some([0; 6]));
        }
        // Not ours: the routing table decides (here, the default route).
        assert_eq!(plan_for("192.168.0.6").iface, "eth0");
    }

    #[test]
    fn sample_points_catch_a_more_specific_route_inside_a_range() {
        let routes = parse_routes(ROUTES);
        let r = |a: &str, b: &str| (a.parse().unwrap(), b.parse().unwrap());
        // 198.16.0.0-198.20.255.255 crosses wg0's 198.18.0.0/16 and the default route.
        let pts = sample_points(&[r("198.16.0.0", "198.20.255.255")], &routes);
        let want: Vec<Ipv4Addr> = ["198.16.0.0", "198.18.0.0", "198.20.255.255"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(pts, want);
    }

    #[test]
    fn overrides_win() {
        let o = Overrides {
            interface: Some("eth0".into()),
            source_ip: Some(Ipv4Addr::new(192, 168, 0, 77)),
            source_mac: Some([7; 6]),
            router_mac: Some([9; 6]),
        };
        let p = go("198.18.3.4", &o).unwrap();
        assert_eq!(
            (p.iface.as_str(), p.src_ip, p.src_mac, p.next_hop_mac),
            (
                "eth0",
                Ipv4Addr::new(192, 168, 0, 77),
                Some([7; 6]),
                Some([9; 6])
            )
        );
        let e = go(
            "198.18.3.4",
            &Overrides {
                interface: Some("nope0".into()),
                ..Overrides::default()
            },
        )
        .unwrap_err();
        assert!(e.contains("no route"), "{e}");
    }
}
