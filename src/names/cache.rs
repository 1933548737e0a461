//! Names kept between scans: a tab-separated file (`address`, `unix time`, `name` — empty for
//! "has none"), entries older than the TTL ignored. Answers and non-answers are both kept, so a
//! repeated scan of the same network asks the resolver nothing it asked within the hour. The
//! cache is best effort: an unreadable line is skipped, an unwritable file only costs lookups.
//!
//! The file is input like any other: read line by line (a line over `lines::MAX_LINE` ends
//! the reading), at most `MAX_ENTRIES` kept, and a name is kept only if it is one a lookup
//! could have given — not empty of text, at most 1020 characters (255 octets escaped), no
//! character `output::clean` would take out.

use crate::lines::{Lines, MAX_LINE};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// How long a cached answer stands.
pub const TTL_SECS: u64 = 3600;
/// At most this many entries are written back (the newest).
const MAX_ENTRIES: usize = 1 << 20;
/// The longest name kept: 255 octets, each escaped as `\xNN` at worst.
const MAX_NAME_CHARS: usize = 4 * 255;

/// Can `name` be kept (and written back as one field of one line)?
fn keepable(name: &str) -> bool {
    name.len() <= MAX_NAME_CHARS && !name.chars().any(crate::output::clean::unfit)
}

#[derive(Debug, Default)]
pub struct NameCache {
    path: Option<PathBuf>,
    entries: HashMap<IpAddr, (u64, Option<String>)>,
    dirty: bool,
}

/// `$XDG_CACHE_HOME/synsweep/names.tsv`, else `$HOME/.cache/synsweep/names.tsv`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("synsweep").join("names.tsv"))
}

impl NameCache {
    /// Loads `path` (a missing or unreadable file is an empty cache); `now` in Unix seconds.
    pub fn load(path: Option<PathBuf>, now: u64) -> NameCache {
        let mut entries = HashMap::new();
        if let Some(file) = path.as_deref().and_then(|p| std::fs::File::open(p).ok()) {
            let lines = Lines::new(std::io::BufReader::new(file), MAX_LINE);
            for line in lines.map_while(Result::ok) {
                if entries.len() >= MAX_ENTRIES {
                    break;
                }
                let mut f = line.splitn(3, '\t');
                let (Some(ip), Some(at), Some(name)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                let (Ok(ip), Ok(at)) = (ip.parse::<IpAddr>(), at.parse::<u64>()) else {
                    continue;
                };
                if now.saturating_sub(at) < TTL_SECS && keepable(name) {
                    let name = (!name.is_empty()).then(|| name.to_string());
                    entries.insert(ip, (at, name));
                }
            }
        }
        NameCache {
            path,
            entries,
            dirty: false,
        }
    }

    /// `Some(answer)` if the cache knows (the answer may be "no name"), None if it must be asked.
    pub fn get(&self, ip: IpAddr) -> Option<Option<&str>> {
        self.entries.get(&ip).map(|(_, n)| n.as_deref())
    }

    pub fn put(&mut self, ip: IpAddr, name: Option<String>, now: u64) {
        // A name with a tab or newline cannot be written back; it is simply not kept.
        if name.as_deref().is_some_and(|n| !keepable(n)) {
            return;
        }
        self.entries.insert(ip, (now, name));
        self.dirty = true;
    }

    /// Writes the cache back (beside, then renamed), if anything was learned.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = self.path.as_deref().filter(|_| self.dirty) else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut newest: Vec<_> = self.entries.iter().collect();
        newest.sort_unstable_by_key(|e| std::cmp::Reverse(e.1.0));
        newest.truncate(MAX_ENTRIES);
        let tmp = part_path(path);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for (ip, (at, name)) in newest {
            writeln!(out, "{ip}\t{at}\t{}", name.as_deref().unwrap_or(""))?;
        }
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, path)
    }
}

fn part_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_non_answers_survive_a_save_until_they_expire() {
        let dir = std::env::temp_dir().join(format!("synsweep-cache-{}", std::process::id()));
        let path = dir.join("sub").join("names.tsv");
        let (a, b): (IpAddr, IpAddr) =
            ("198.18.0.1".parse().unwrap(), "198.18.0.2".parse().unwrap());
        let mut c = NameCache::load(Some(path.clone()), 1000);
        assert_eq!(c.get(a), None);
        c.put(a, Some("one.lab".into()), 1000);
        c.put(b, None, 1000);
        c.put(
            "198.18.0.3".parse().unwrap(),
            Some("bad\tname".into()),
            1000,
        );
        c.save().unwrap();
        let again = NameCache::load(Some(path.clone()), 1000 + TTL_SECS - 1);
        assert_eq!(again.get(a), Some(Some("one.lab")));
        assert_eq!(again.get(b), Some(None), "a known non-answer is kept");
        assert_eq!(again.get("198.18.0.3".parse().unwrap()), None);
        let later = NameCache::load(Some(path.clone()), 1000 + TTL_SECS);
        assert_eq!(later.get(a), None, "expired");
        std::fs::write(&path, "garbage\n198.18.0.9\tnot-a-time\tx\n\n").unwrap();
        assert_eq!(NameCache::load(Some(path.clone()), 1000).entries.len(), 0);
        // Hostile names in the file: escapes, bidi overrides, a 2 KB name, a NUL.
        let long = "a".repeat(2048);
        std::fs::write(
            &path,
            format!(
                "198.18.0.1\t1000\tev\x1b[2Jil\n198.18.0.2\t1000\t\u{202e}lab\n\
                 198.18.0.3\t1000\t{long}\n198.18.0.4\t1000\tn\0ul\n198.18.0.5\t1000\tok.lab\r\n"
            ),
        )
        .unwrap();
        let c = NameCache::load(Some(path.clone()), 1000);
        assert_eq!(c.entries.len(), 1, "{:?}", c.entries);
        assert_eq!(c.get("198.18.0.5".parse().unwrap()), Some(Some("ok.lab")));
        // A line without end stops the reading after MAX_LINE, keeping what came before.
        let mut endless = b"198.18.0.5\t1000\tok.lab\n".to_vec();
        endless.extend(std::iter::repeat_n(b'x', 3 * MAX_LINE));
        std::fs::write(&path, endless).unwrap();
        assert_eq!(NameCache::load(Some(path), 1000).entries.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
