//! How the configuration's compact values are written in the resume file: the seed as a
//! decimal string, ranges as `first-last` strings, ports as `22,80,8000-8100`.

pub mod seed {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&seed.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("seed '{text}' is not a 64-bit number")))
    }
}

pub mod ranges {
    use crate::targets::parse::{TargetSpec, parse_token};
    use crate::targets::range::RangeSet;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(set: &RangeSet, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(set.ranges().iter().map(|r| r.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RangeSet, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        let mut ranges = Vec::with_capacity(texts.len());
        for t in &texts {
            match parse_token(t) {
                Ok(TargetSpec::Range(r)) => ranges.push(r),
                _ => return Err(D::Error::custom(format!("'{t}' is not an address range"))),
            }
        }
        Ok(RangeSet::from_ranges(ranges))
    }
}

pub mod ports {
    use crate::ports::PortList;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(ports: &PortList, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&ports.describe())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PortList, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| D::Error::custom(format!("'{text}' is not a port list")))
    }

    /// Numbers and ranges only: what `PortList::describe` writes.
    pub fn parse(text: &str) -> Option<PortList> {
        let mut ports = Vec::new();
        for item in text.split(',').filter(|i| !i.is_empty()) {
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
            if a > b {
                return None;
            }
            ports.extend(a..=b);
        }
        Some(PortList::new(ports))
    }
}

pub mod names {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::HashMap;
    use std::net::IpAddr;

    pub fn serialize<S: Serializer>(
        names: &HashMap<IpAddr, String>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<_> = names.iter().collect();
        sorted.sort();
        s.collect_seq(sorted)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<HashMap<IpAddr, String>, D::Error> {
        Ok(Vec::<(IpAddr, String)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}
