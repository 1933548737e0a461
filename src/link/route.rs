//! Where a raw scan's probes leave, planned before anything starts (so a missing route or an
//! unanswered ARP request is a clear error, not an empty scan): the kernel's routes and
//! neighbours first, the user's overrides on top, the next hop resolved by ARP.

use super::Backend;
use super::setup::{self, LinkPlan, Overrides};
use crate::error::{Error, Result};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Plans the link for IPv4 ranges `(first, last)`; the system's tables, or a test's.
pub type RoutePlanner<'a> =
    &'a dyn Fn(&[(Ipv4Addr, Ipv4Addr)], &Overrides, Backend) -> Result<Route>;

/// Where probes leave, decided before the scan starts (so its notices print first).
#[derive(Debug, Clone)]
pub struct Route {
    pub plan: LinkPlan,
    pub notices: Vec<String>,
}

/// The link for a scan of IPv4 addresses `first`..`last`: every target must leave through
/// the same interface to the same next hop, since one frame template serves them all.
pub fn route(ranges: &[(Ipv4Addr, Ipv4Addr)], o: &Overrides, backend: Backend) -> Result<Route> {
    let plans = system_plans(ranges, o)?;
    let mut notices = Vec::new();
    let Some((first, plan)) = plans.first().cloned() else {
        return Err(Error::Link("no targets to route".into()));
    };
    for (dst, other) in &plans[1..] {
        let same_hop =
            other.next_hop == plan.next_hop || (other.next_hop == *dst && plan.next_hop == first);
        if other.iface != plan.iface || !same_hop {
            return Err(Error::Link(format!(
                "{first} and {dst} leave through different routes ({} via {}, {} via {}); scan them separately",
                plan.iface, plan.next_hop, other.iface, other.next_hop
            )));
        }
    }
    let on_link = plan.next_hop == first && plan.next_hop_mac != Some([0; 6]);
    if on_link && plans.len() > 1 && o.router_mac.is_none() {
        return Err(Error::Link(format!(
            "the targets are on the local link of {}, where each has its own MAC address; \
             raw scans of several on-link hosts are not supported yet: give --router-mac, or use -sT",
            plan.iface
        )));
    }
    let mut plan = plan;
    if plan.next_hop_mac.is_none()
        && let Some(src_mac) = plan.src_mac
    {
        plan.next_hop_mac = match backend {
            Backend::Live => Some(resolve(&plan, src_mac)?),
            _ => {
                notices.push(format!(
                    "next hop {} is not in the neighbour table; the dry run shows ff:ff:ff:ff:ff:ff",
                    plan.next_hop
                ));
                Some([0xff; 6])
            }
        };
    }
    Ok(Route { plan, notices })
}

#[cfg(target_os = "linux")]
fn system_plans(
    ranges: &[(Ipv4Addr, Ipv4Addr)],
    o: &Overrides,
) -> Result<Vec<(Ipv4Addr, LinkPlan)>> {
    setup::system_many(ranges, o).map_err(Error::Link)
}

#[cfg(not(target_os = "linux"))]
fn system_plans(
    _ranges: &[(Ipv4Addr, Ipv4Addr)],
    _o: &Overrides,
) -> Result<Vec<(Ipv4Addr, LinkPlan)>> {
    Err(Error::Link(
        "routes are read from Linux's tables; give -e, --source-ip and --router-mac".into(),
    ))
}

#[cfg(target_os = "linux")]
fn resolve(plan: &LinkPlan, src_mac: [u8; 6]) -> Result<[u8; 6]> {
    let asked = crate::link::arp::resolve(
        &plan.iface,
        src_mac,
        plan.src_ip,
        plan.next_hop,
        Duration::from_secs(2),
    )
    .map_err(|e| Error::Link(format!("ARP for {} on {}: {e}", plan.next_hop, plan.iface)))?;
    asked.ok_or_else(|| {
        Error::Link(format!(
            "no ARP answer from next hop {} on {}; give --router-mac",
            plan.next_hop, plan.iface
        ))
    })
}

#[cfg(not(target_os = "linux"))]
fn resolve(plan: &LinkPlan, _src_mac: [u8; 6]) -> Result<[u8; 6]> {
    Err(Error::Link(format!(
        "next hop {} is not in the neighbour table; give --router-mac",
        plan.next_hop
    )))
}
