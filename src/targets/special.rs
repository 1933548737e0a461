//! Address blocks no scan can mean: packets to them are never unicast answers.
//!
//! A wide target (`0.0.0.0/0`, `224.0.0.0/3`) has them cut out with a notice; a target that
//! lies wholly inside one of them was named on its own, and is kept.

use super::range::IpRange;

pub struct SpecialBlock {
    pub net: &'static str,
    pub why: &'static str,
}

pub const SPECIAL_BLOCKS: &[SpecialBlock] = &[
    SpecialBlock {
        net: "0.0.0.0/8",
        why: "\"this network\" (RFC 1122)",
    },
    SpecialBlock {
        net: "224.0.0.0/4",
        why: "multicast",
    },
    // 240/4 holds 255.255.255.255, the limited broadcast address.
    SpecialBlock {
        net: "240.0.0.0/4",
        why: "reserved and limited broadcast",
    },
    SpecialBlock {
        net: "::/128",
        why: "the unspecified address",
    },
    SpecialBlock {
        net: "ff00::/8",
        why: "IPv6 multicast",
    },
];

pub fn special_ranges() -> impl Iterator<Item = (IpRange, &'static SpecialBlock)> {
    // Parsed once: `wholly_special` runs per token of a list file, and parsing the blocks
    // each time made a million-line exclude file cost seconds.
    static PARSED: std::sync::OnceLock<Vec<(IpRange, &'static SpecialBlock)>> =
        std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            SPECIAL_BLOCKS
                .iter()
                .filter_map(|b| {
                    let net: ipnet::IpNet = b.net.parse().ok()?;
                    Some((IpRange::from_net(net), b))
                })
                .collect()
        })
        .iter()
        .copied()
}

/// The special block that wholly contains `r`, if any.
pub fn wholly_special(r: &IpRange) -> Option<&'static SpecialBlock> {
    special_ranges().find(|(s, _)| r.within(s)).map(|(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_parses() {
        assert_eq!(special_ranges().count(), SPECIAL_BLOCKS.len());
    }

    #[test]
    fn broadcast_is_special_and_unicast_is_not() {
        let bcast = IpRange::single("255.255.255.255".parse().unwrap());
        assert!(wholly_special(&bcast).is_some());
        let lab = IpRange::single("198.18.0.1".parse().unwrap());
        assert!(wholly_special(&lab).is_none());
    }
}
