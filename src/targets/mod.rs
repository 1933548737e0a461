//! Targets: what the user named, minus what they excluded, minus what no scan can mean.

pub mod file;
pub mod parse;
pub mod range;
pub mod special;

pub use file::read_list_file;

use crate::error::{Error, Result};
use parse::{TargetSpec, parse_token};
use range::{IpRange, RangeSet};
use std::collections::HashMap;
use std::net::IpAddr;

/// Resolves a host name to all of its addresses.
pub type Resolver<'a> = &'a dyn Fn(&str) -> Result<Vec<IpAddr>>;

/// The system resolver (getaddrinfo through dns-lookup).
pub fn system_resolver(name: &str) -> Result<Vec<IpAddr>> {
    let mut addrs: Vec<IpAddr> = dns_lookup::lookup_host(name)
        .map_err(|e| Error::Resolve(name.to_string(), e.to_string()))?
        .collect();
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(Error::Resolve(name.to_string(), "no addresses".into()));
    }
    Ok(addrs)
}

#[derive(Debug, Default)]
pub struct Targets {
    pub set: RangeSet,
    /// Forward names of host-name targets, kept for the results.
    pub names: HashMap<IpAddr, String>,
    /// What the excludes named (resolved), whether or not it overlapped the targets.
    pub excluded: RangeSet,
    /// Ranges inside special blocks that were named on their own, and so are scanned.
    pub special_named: RangeSet,
    /// One-line notices for the user (special blocks left out, ...).
    pub notices: Vec<String>,
}

/// Splits a list of target tokens written with commas and/or white space.
pub fn split_tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
}

/// Targets (or excludes) as given: tokens still to parse or resolve (names, and addresses of
/// special blocks named on their own), and ranges already merged (from list files, where
/// keeping a million single addresses as strings cost three times their ranges).
#[derive(Debug, Default, Clone)]
pub struct Listed {
    pub tokens: Vec<String>,
    pub ranges: RangeSet,
}

impl Listed {
    pub fn from_tokens<S: AsRef<str>>(tokens: impl IntoIterator<Item = S>) -> Listed {
        Listed {
            tokens: tokens.into_iter().map(|t| t.as_ref().to_string()).collect(),
            ranges: RangeSet::default(),
        }
    }

    pub fn add(&mut self, more: Listed) {
        self.tokens.extend(more.tokens);
        self.ranges = std::mem::take(&mut self.ranges).union(more.ranges.into_ranges());
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.ranges.is_empty()
    }

    /// Every address named (host names resolved), as one set: what excludes cut.
    pub fn into_set(self, resolve: Resolver) -> Result<RangeSet> {
        let mut ranges = self.ranges.into_ranges();
        for tok in &self.tokens {
            ranges.extend(expand(tok, resolve, None)?);
        }
        Ok(RangeSet::from_ranges(ranges))
    }
}

/// `build` over tokens and merged ranges (taken, not copied: a million excludes are 48 MB).
pub fn build_listed(includes: Listed, excludes: Listed, resolve: Resolver) -> Result<Targets> {
    let mut t = Targets::default();
    // A list file's ranges are never wholly special (those stay tokens, reported below).
    let mut wide = includes.ranges.into_ranges();
    let mut named_special = Vec::new();
    for tok in &includes.tokens {
        for r in expand(tok, resolve, Some(&mut t.names))? {
            match special::wholly_special(&r) {
                Some(b) => {
                    t.notices.push(format!(
                        "scanning {r} ({}) because it was named on its own",
                        b.why
                    ));
                    named_special.push(r);
                }
                None => wide.push(r),
            }
        }
    }
    let wide = RangeSet::from_ranges(wide);
    let mut cut = Vec::new();
    for (block, info) in special::special_ranges() {
        let hit = wide.intersect(&RangeSet::from_ranges(vec![block]));
        if !hit.is_empty() {
            t.notices.push(format!(
                "left out {} addresses of {} ({}); name them on their own to scan them",
                hit.count(),
                info.net,
                info.why
            ));
            cut.push(block);
        }
    }
    let mut kept = wide.subtract(&RangeSet::from_ranges(cut)).ranges().to_vec();
    kept.extend(named_special.iter().copied());
    t.special_named = RangeSet::from_ranges(named_special);

    t.excluded = excludes.into_set(resolve)?;
    t.set = RangeSet::from_ranges(kept).subtract(&t.excluded);
    t.names.retain(|ip, _| t.set.contains(*ip));
    if t.set.is_empty() {
        return Err(Error::Empty("every target was excluded or left out".into()));
    }
    Ok(t)
}

fn expand(
    tok: &str,
    resolve: Resolver,
    names: Option<&mut HashMap<IpAddr, String>>,
) -> Result<Vec<IpRange>> {
    match parse_token(tok)? {
        TargetSpec::Range(r) => Ok(vec![r]),
        TargetSpec::Name(n) => {
            let addrs = resolve(&n)?;
            if let Some(names) = names {
                for a in &addrs {
                    names.entry(*a).or_insert_with(|| n.clone());
                }
            }
            Ok(addrs.into_iter().map(IpRange::single).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `build_listed` from tokens alone, as the command line gives them.
    fn build(includes: &[String], excludes: &[String], resolve: Resolver) -> Result<Targets> {
        build_listed(
            Listed::from_tokens(includes),
            Listed::from_tokens(excludes),
            resolve,
        )
    }

    fn fake_dns(name: &str) -> Result<Vec<IpAddr>> {
        match name {
            "lab.example" => Ok(vec![
                "198.18.0.5".parse().unwrap(),
                "2001:db8::5".parse().unwrap(),
            ]),
            _ => Err(Error::Resolve(name.into(), "not found".into())),
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn overlaps_count_once_and_excludes_win() {
        let t = build(
            &s(&["198.18.0.0/24", "198.18.0.128/25", "198.18.0.7"]),
            &s(&["198.18.0.0/28", "198.18.0.7"]),
            &fake_dns,
        )
        .unwrap();
        assert_eq!(t.set.count(), 256 - 16);
        assert!(!t.set.contains("198.18.0.7".parse().unwrap()));
    }

    #[test]
    fn host_names_bring_all_their_addresses_and_keep_the_name() {
        let t = build(&s(&["lab.example"]), &[], &fake_dns).unwrap();
        assert_eq!(t.set.count(), 2);
        assert_eq!(
            t.names
                .get(&"2001:db8::5".parse().unwrap())
                .map(String::as_str),
            Some("lab.example")
        );
        let e = build(&s(&["nowhere.example"]), &[], &fake_dns).unwrap_err();
        assert!(e.to_string().contains("nowhere.example"));
    }

    #[test]
    fn wide_targets_lose_special_blocks_with_a_notice() {
        let t = build(&s(&["0.0.0.0/0"]), &[], &fake_dns).unwrap();
        assert_eq!(t.set.count(), (1u128 << 32) - (1 << 24) - 2 * (1 << 28));
        assert!(!t.set.contains("255.255.255.255".parse().unwrap()));
        assert!(!t.set.contains("224.0.0.1".parse().unwrap()));
        assert_eq!(t.notices.len(), 3, "{:?}", t.notices);
    }

    #[test]
    fn special_addresses_named_alone_are_kept() {
        let t = build(&s(&["224.0.0.251"]), &[], &fake_dns).unwrap();
        assert_eq!(t.set.count(), 1);
        assert!(t.notices[0].contains("named on its own"));
    }

    #[test]
    fn excluding_everything_is_an_error() {
        let e = build(&s(&["198.18.0.0/30"]), &s(&["198.18.0.0/29"]), &fake_dns).unwrap_err();
        assert!(matches!(e, Error::Empty(_)));
    }
}
