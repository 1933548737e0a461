//! Names kept between scans: a tab-separated file (`address`, `unix time`, `name` — empty for
//! "has none"), entries older than the TTL ignored. Answers and non-answers are both kept, so a
//! repeated scan of the same network asks the resolver nothing it asked within the hour. The
//! cache is best effort: an unreadable line is skipped, an unwritable file only costs lookups.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// How long a cached answer stands.
pub const TTL_SECS: u64 = 3600;
/// At most this many entries are written back (the newest).
const MAX_ENTRIES: usize = 1 << 20;

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
        if let Some(text) = path
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            for line in text.lines() {
                let mut f = line.splitn(3, '\t');
                let (Some(ip), Some(at), Some(name)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                let (Ok(ip), Ok(at)) = (ip.parse::<IpAddr>(), at.parse::<u64>()) else {
                    continue;
                };
                if now.saturating_sub(at) < TTL_SECS && !name.contains(['\t', '\n']) {
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
        if name.as_deref().is_some_and(|n| n.contains(['\t', '\n'])) {
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
        assert_eq!(NameCache::load(Some(path), 1000).entries.len(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
