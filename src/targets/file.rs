//! Target and exclude files (`-iL`, `--excludefile`; `-` = stdin): tokens separated by white
//! space or commas, `#` starts a comment that runs to the end of the line.
//!
//! Read in bounded memory: line by line (a line over `lines::MAX_LINE` is an error naming
//! the file and the line, so `-iL /dev/zero` fails at once), and addresses, prefixes and
//! ranges are merged as they come, so memory follows the merged ranges, not the file. Host
//! names and special addresses named on their own stay tokens for `build` to resolve and
//! report.

use super::parse::{TargetSpec, parse_token};
use super::range::{IpRange, RangeSet};
use super::special;
use super::{Listed, split_tokens};
use crate::error::{Error, Result};
use crate::lines::{LineError, Lines, MAX_LINE};
use std::io::BufRead;
use std::path::Path;

/// Ranges held unmerged before they are merged into the set.
const MERGE_EVERY: usize = 1 << 16;

/// What a list file says: its names and special addresses as written, and its ranges,
/// merged.
pub fn read_list_file(path: &Path) -> Result<Listed> {
    if path == Path::new("-") {
        read_list(std::io::stdin().lock(), path)
    } else {
        let f = std::fs::File::open(path).map_err(|e| Error::ReadFile(path.to_path_buf(), e))?;
        read_list(std::io::BufReader::new(f), path)
    }
}

/// `read_list_file` over any reader; `path` names it in errors.
pub fn read_list(r: impl BufRead, path: &Path) -> Result<Listed> {
    let bad = |why: String| Error::BadFile(path.to_path_buf(), why);
    let mut tokens = Vec::new();
    let mut set = RangeSet::default();
    let mut pending: Vec<IpRange> = Vec::new();
    let mut lines = Lines::new(r, MAX_LINE);
    while let Some(line) = lines.next() {
        let line = line.map_err(|e| match e {
            LineError::Io(e) => Error::ReadFile(path.to_path_buf(), e),
            other => bad(other.to_string()),
        })?;
        let n = lines.number();
        for tok in split_tokens(line.split('#').next().unwrap_or("")) {
            match parse_token(tok).map_err(|e| bad(format!("line {n}: {e}")))? {
                TargetSpec::Range(r) if special::wholly_special(&r).is_none() => pending.push(r),
                _ => tokens.push(tok.to_string()),
            }
        }
        if pending.len() >= MERGE_EVERY {
            set = set.union(std::mem::take(&mut pending));
        }
    }
    Ok(Listed {
        tokens,
        ranges: set.union(pending),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// Tokens, then the merged ranges as text.
    fn flat(l: Listed) -> Vec<String> {
        let ranges = l.ranges.ranges().iter().map(IpRange::to_string);
        l.tokens.into_iter().chain(ranges).collect()
    }

    fn read(text: &[u8]) -> Result<Vec<String>> {
        read_list(text, Path::new("list.txt")).map(flat)
    }

    #[test]
    fn list_files_skip_comments_and_merge_ranges() {
        let toks = read(
            b"# header\n198.18.0.1, 198.18.0.2 # two\n\nweb.lab\n198.18.1.0/30\r\n224.0.0.251\n",
        )
        .unwrap();
        assert_eq!(
            toks,
            s(&[
                "web.lab",
                "224.0.0.251",
                "198.18.0.1-198.18.0.2",
                "198.18.1.0-198.18.1.3"
            ])
        );
        let dir = std::env::temp_dir().join(format!("synsweep-list-{}", std::process::id()));
        std::fs::write(&dir, "198.18.0.1\n").unwrap();
        let toks = flat(read_list_file(&dir).unwrap());
        std::fs::remove_file(&dir).ok();
        assert_eq!(toks, s(&["198.18.0.1"]));
    }

    #[test]
    fn a_bad_line_is_one_error_naming_the_file_and_line() {
        let e = read(b"198.18.0.1\n198.18.0.300\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "list.txt: line 2: bad target '198.18.0.300': not an address, prefix, range or host name"
        );
        let mut long = b"198.18.0.1\n".to_vec();
        long.extend(std::iter::repeat_n(b' ', MAX_LINE + 1));
        let e = read(&long).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("list.txt: line 2 is longer than {MAX_LINE} bytes")
        );
        assert!(!e.contains('\n'));
    }

    /// The issue's `-iL /dev/zero`: it read 5.4 GB in 10 s. Now one line of error, having
    /// read one line's worth.
    #[test]
    fn regression_dev_zero_fails_at_once() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        let t = std::time::Instant::now();
        let e = read_list_file(zero).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("/dev/zero: line 1 is longer than {MAX_LINE} bytes")
        );
        eprintln!("-iL /dev/zero failed in {:?}", t.elapsed());
        let e = read(b"198.18.0.1\n\0\0\0\n").unwrap_err().to_string();
        assert!(
            e.starts_with("list.txt: line 2: bad target '\\x00\\x00\\x00'"),
            "{e}"
        );
    }

    #[test]
    fn many_addresses_merge_as_they_come() {
        let mut text = String::new();
        for i in 0..(3 * MERGE_EVERY as u32) {
            text.push_str(&format!("{}\n", std::net::Ipv4Addr::from(0xc612_0000 + i)));
        }
        let toks = read(text.as_bytes()).unwrap();
        assert_eq!(toks, s(&["198.18.0.0-198.20.255.255"]));
    }

    proptest! {
        #[test]
        fn any_bytes_are_one_answer(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            match read(&bytes) {
                Ok(toks) => prop_assert!(toks.iter().all(|t| parse_token(t).is_ok())),
                Err(e) => prop_assert!(!e.to_string().contains('\n')),
            }
        }

        #[test]
        fn lists_of_addresses_read_back_as_their_set(addrs in proptest::collection::vec(any::<u16>(), 0..200)) {
            let text: String = addrs.iter().map(|a| format!("198.18.{}.{}\n", a >> 8, a & 0xff)).collect();
            let toks = read(text.as_bytes()).unwrap();
            let ranges: Vec<IpRange> = toks
                .iter()
                .map(|t| match parse_token(t) {
                    Ok(TargetSpec::Range(r)) => r,
                    other => panic!("{other:?}"),
                })
                .collect();
            let mut want = addrs.clone();
            want.sort_unstable();
            want.dedup();
            let set = RangeSet::from_ranges(ranges);
            prop_assert_eq!(set.count(), want.len() as u128);
        }
    }
}
