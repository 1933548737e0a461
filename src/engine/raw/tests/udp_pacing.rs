//! UDP retries paced to rationed ICMP errors, against SimNet's token bucket on the manual
//! clock: the windowed pace against the scan-long average it replaced.

use super::{Setup, all_targets, port_results, script, simulate};
use crate::engine::raw::icmp_pace::IcmpPace;
use crate::event::{PortState, Proto};
use crate::link::sim::Behaviour;
use std::net::IpAddr;
use std::time::Duration;

/// A UDP scan of 40 mostly closed ports on the /26 at 10,000/s, the hosts sending 1,000 port
/// unreachables a second in all: (closed ports found, closed ports there, last probe's time).
fn udp_scan(retries: u32, timeout_ms: u64, pacer: fn(u64) -> IcmpPace) -> (usize, usize, Duration) {
    let mut s = Setup::new(22);
    s.proto = Proto::Udp;
    s.ports = (1..=40).collect();
    s.faults.icmp_per_sec = 1000;
    s.opts.rate = Some(10_000);
    s.opts.retries = retries;
    s.opts.timeout = Duration::from_millis(timeout_ms);
    s.pacer = pacer;
    let r = simulate(&s);
    let got = port_results(&r.events);
    let (mut found, mut there) = (0, 0);
    for (ip, port) in all_targets(&s.ports) {
        if script(ip, port) == Behaviour::Closed {
            there += 1;
            found += usize::from(got[&(IpAddr::V4(ip), port)].0 == PortState::Closed);
        }
    }
    let last = *r.net.send_times.last().expect("probes were sent");
    (found, there, last)
}

/// Every closed port is found with the windowed pace, whatever the retries and the wait
/// before them, and sooner than with the scan-long average: about as soon as 1,000
/// unreachables a second allow. With the default 1 s timeout the average, diluted by the
/// second of silence before the first retry, paced at a third of the limit.
#[test]
fn windowed_pacing_finds_every_closed_port_sooner_than_the_average() {
    for (retries, timeout_ms) in [(1, 300), (2, 300), (3, 500), (1, 1000), (2, 1000)] {
        let (found, there, t) = udp_scan(retries, timeout_ms, IcmpPace::new);
        let (old_found, _, old_t) = udp_scan(retries, timeout_ms, IcmpPace::scan_long_average);
        let case = format!("--retries {retries} --timeout {timeout_ms}ms");
        assert_eq!(found, there, "{case}: closed ports found");
        assert_eq!(
            old_found, there,
            "{case}: the premise (the old pace was exact, slowly)"
        );
        assert!(t < old_t, "{case}: {t:?}, the average took {old_t:?}");
        // The first pass (2,560 probes at 10,000/s), the wait, and every closed port's
        // unreachable at the limit, with a fifth to spare.
        let timeout = Duration::from_millis(timeout_ms);
        let allowed = Duration::from_millis(256)
            + timeout
            + Duration::from_secs_f64(there as f64 / 1000.0 * 1.2);
        assert!(t <= allowed, "{case}: {t:?} > {allowed:?}");
        if timeout_ms == 1000 {
            assert!(t * 2 < old_t, "{case}: {t:?} against {old_t:?}");
        }
    }
}
