//! One target token: an address, a CIDR prefix, a `first-last` range (or the nmap-style
//! last-octet shorthand `10.0.0.1-20`), or a host name.

use super::range::IpRange;
use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Range(IpRange),
    Name(String),
}

pub fn parse_token(tok: &str) -> Result<TargetSpec> {
    let bad = |why: &str| Error::BadTarget(tok.to_string(), why.to_string());
    if tok.is_empty() {
        return Err(bad("empty"));
    }
    if let Ok(ip) = tok.parse::<IpAddr>() {
        return Ok(TargetSpec::Range(IpRange::single(ip)));
    }
    if tok.contains('/') {
        let net: ipnet::IpNet = tok
            .parse()
            .map_err(|_| bad("not a CIDR prefix (expected ADDRESS/LENGTH)"))?;
        return Ok(TargetSpec::Range(IpRange::from_net(net)));
    }
    if let Some((a, b)) = tok.split_once('-')
        && let Ok(first) = a.parse::<IpAddr>()
    {
        return parse_dash_range(first, b)
            .map(TargetSpec::Range)
            .map_err(|w| bad(&w));
    }
    if is_host_name(tok) {
        return Ok(TargetSpec::Name(tok.to_string()));
    }
    Err(bad("not an address, prefix, range or host name"))
}

fn parse_dash_range(first: IpAddr, b: &str) -> std::result::Result<IpRange, String> {
    let last = match (first, b.parse::<IpAddr>(), b.parse::<u8>()) {
        (_, Ok(last), _) => last,
        (IpAddr::V4(f), Err(_), Ok(octet)) => {
            let [x, y, z, _] = f.octets();
            IpAddr::V4(Ipv4Addr::new(x, y, z, octet))
        }
        _ => return Err("range end is not an address".into()),
    };
    IpRange::new(first, last)
        .ok_or_else(|| "range end is before its start or of another family".into())
}

/// RFC 1123 host name: dot-separated labels of letters, digits and hyphens.
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
        // An all-numeric dotted name is a malformed address, not a name.
        && !s.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(tok: &str) -> (String, u128) {
        match parse_token(tok).unwrap() {
            TargetSpec::Range(r) => (r.to_string(), r.count()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(range("198.18.0.1"), ("198.18.0.1".into(), 1));
        assert_eq!(
            range("198.18.0.7/24"),
            ("198.18.0.0-198.18.0.255".into(), 256)
        );
        assert_eq!(
            range("198.18.0.1-198.18.1.0"),
            ("198.18.0.1-198.18.1.0".into(), 256)
        );
        assert_eq!(
            range("198.18.0.10-20"),
            ("198.18.0.10-198.18.0.20".into(), 11)
        );
        assert_eq!(
            range("2001:db8::/126"),
            ("2001:db8::-2001:db8::3".into(), 4)
        );
        assert_eq!(
            range("2001:db8::1-2001:db8::2"),
            ("2001:db8::1-2001:db8::2".into(), 2)
        );
        assert_eq!(
            parse_token("example.com").unwrap(),
            TargetSpec::Name("example.com".into())
        );
    }

    #[test]
    fn bad_tokens_name_themselves() {
        for tok in [
            "198.18.0.300",
            "198.18.0.0/33",
            "198.18.0.9-198.18.0.1",
            "198.18.0.1-::1",
            "198.18.0.1-300",
            "a..b",
            "-x",
            "1.2.3",
            "",
            "what?",
        ] {
            let e = parse_token(tok).unwrap_err().to_string();
            assert!(e.contains(&format!("'{tok}'")), "{e}");
        }
    }
}
