//! ARP (RFC 826) for the next hop's MAC when the neighbour table does not have it yet.

use super::afpacket::AfPacket;
use super::bpf::{SockFilter, ethertype_filter};
use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub const ETH_P_ARP: u16 = 0x0806;
const FRAME_LEN: usize = 42;

/// A broadcast "who has `target`? tell `src_ip`" frame.
pub fn request(src_mac: [u8; 6], src_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&src_mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet, IPv4, 6, 4, request
    f[22..28].copy_from_slice(&src_mac);
    f[28..32].copy_from_slice(&src_ip.octets());
    // target hardware address stays zero
    f[38..42].copy_from_slice(&target.octets());
    f
}

/// The sender's MAC, if `frame` is an ARP reply from `target`.
pub fn reply_from(frame: &[u8], target: Ipv4Addr) -> Option<[u8; 6]> {
    let arp = frame.get(14..42)?;
    let is_reply =
        frame.get(12..14)? == ETH_P_ARP.to_be_bytes() && arp[0..8] == [0, 1, 8, 0, 6, 4, 0, 2];
    (is_reply && arp[14..18] == target.octets()).then(|| {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&arp[8..14]);
        mac
    })
}

/// Asks for `target`'s MAC on `ifname`, re-asking every 250 ms, until `timeout`.
pub fn resolve(
    ifname: &str,
    src_mac: [u8; 6],
    src_ip: Ipv4Addr,
    target: Ipv4Addr,
    timeout: Duration,
) -> io::Result<Option<[u8; 6]>> {
    let filter: Vec<SockFilter> = ethertype_filter(ETH_P_ARP);
    let link = AfPacket::open(ifname, &filter, ETH_P_ARP)?;
    let ask = request(src_mac, src_ip, target);
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 128];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        link.send(&ask)?;
        let round = Instant::now() + left.min(Duration::from_millis(250));
        while let Some(wait) = round.checked_duration_since(Instant::now()) {
            if let Some(n) = link.recv(&mut buf, wait)?
                && let Some(mac) = reply_from(&buf[..n], target)
            {
                return Ok(Some(mac));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_and_reply_parsing() {
        let me = [2, 0, 0, 0, 0, 1];
        let req = request(
            me,
            Ipv4Addr::new(198, 19, 0, 1),
            Ipv4Addr::new(198, 19, 0, 2),
        );
        let hex: String = req.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ffffffffffff0200000000010806000108000604000102000000000 1c6130001000000000000c6130002"
                .replace(' ', "")
        );
        // The reply: the gateway tells us its MAC.
        let gw = [2, 0, 0, 0, 0, 2];
        let mut reply = req;
        reply[0..6].copy_from_slice(&me);
        reply[6..12].copy_from_slice(&gw);
        reply[21] = 2;
        reply[22..28].copy_from_slice(&gw);
        reply[28..32].copy_from_slice(&[198, 19, 0, 2]);
        reply[32..38].copy_from_slice(&me);
        reply[38..42].copy_from_slice(&[198, 19, 0, 1]);
        assert_eq!(reply_from(&reply, Ipv4Addr::new(198, 19, 0, 2)), Some(gw));
        assert_eq!(
            reply_from(&reply, Ipv4Addr::new(198, 19, 0, 3)),
            None,
            "from someone else"
        );
        assert_eq!(
            reply_from(&req, Ipv4Addr::new(198, 19, 0, 1)),
            None,
            "a request is no reply"
        );
        assert_eq!(
            reply_from(&reply[..30], Ipv4Addr::new(198, 19, 0, 2)),
            None,
            "truncated"
        );
    }

    proptest::proptest! {
        /// A reply with any of its bytes changed or cut: a MAC only from an ARP reply whose
        /// sender is the target.
        #[test]
        fn mutated_replies_are_safe(
            hits in proptest::collection::vec((0usize..60, proptest::prelude::any::<u8>()), 0..4),
            len in 0usize..60,
        ) {
            let target = Ipv4Addr::new(198, 19, 0, 2);
            let mut f = request([2, 0, 0, 0, 0, 1], Ipv4Addr::new(198, 19, 0, 1), target).to_vec();
            f[21] = 2;
            f[28..32].copy_from_slice(&target.octets());
            f.resize(60, 0);
            for (at, b) in hits {
                f[at] = b;
            }
            f.truncate(len);
            if let Some(mac) = reply_from(&f, target) {
                proptest::prop_assert_eq!(&f[12..14], &ETH_P_ARP.to_be_bytes());
                proptest::prop_assert_eq!(&f[28..32], &target.octets());
                proptest::prop_assert_eq!(&f[22..28], &mac);
            }
        }
    }
}
