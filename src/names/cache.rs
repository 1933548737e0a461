//! Names kept between scans: a tab-separated file (`address`, `unix time`, `name` — empty for
//! "has none"), entries older than the TTL ignored. Answers and non-answers are both kept, so a
//! repeated scan of the same network asks the resolver nothing it asked within the hour. The
//! cache is best effort: an unreadable line is skipped, an unwritable file only costs lookups.
//!
//! The file is input like any other: read line by line (a line over `lines::MAX_LINE` ends
//! the reading), at most `MAX_ENTRIES` kept, and a name is kept only if it is one a lookup
//! could have given — not empty of text, at most 1020 characters (255 octets escaped), no
//! character `output::clean` would take out.
//!
//! The cache lives only in a directory of the effective user's. Run as root with a user's
//! HOME (`sudo -E`, a sudoers `env_keep`, `su` without `-`), it is neither read nor written:
//! a root-owned file in a user's home is what this rule exists to prevent, and fixing
//! ownership with chown as root inside a directory another user controls is a hazard of its
//! own; the cost is only the lookups. The file is written through `safe_file` (0600, a
//! random temporary name, renamed), so nothing planted in the directory is followed.

use crate::lines::{Lines, MAX_LINE};
use crate::safe_file::{self, Mode};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
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

/// The effective uid (the owner every file and directory of the cache must have).
fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// May the cache live in `dir`? If it exists: a real directory (not a link) of `uid`'s. If
/// not: the nearest directory above it that exists is `uid`'s (the rest is created).
pub fn dir_is_ours(dir: &Path, uid: u32) -> bool {
    match std::fs::symlink_metadata(dir) {
        Ok(m) => return m.is_dir() && m.uid() == uid,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return false,
    }
    let mut d = dir;
    while let Some(up) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(up) {
            Ok(m) => return m.is_dir() && m.uid() == uid,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => d = up,
            Err(_) => return false,
        }
    }
    false
}

impl NameCache {
    /// Loads `path` (a missing or unreadable file is an empty cache); `now` in Unix seconds.
    /// A path outside the effective user's own directories is no cache at all.
    pub fn load(path: Option<PathBuf>, now: u64) -> NameCache {
        let path = path.filter(|p| p.parent().is_some_and(|d| dir_is_ours(d, euid())));
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
            if !dir_is_ours(dir, euid()) {
                return Err(std::io::Error::other("not the effective user's directory"));
            }
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let mut newest: Vec<_> = self.entries.iter().collect();
        newest.sort_unstable_by_key(|e| std::cmp::Reverse(e.1.0));
        newest.truncate(MAX_ENTRIES);
        let mut pending = safe_file::create(path, Mode::Private)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut out = std::io::BufWriter::new(pending.file_mut());
        for (ip, (at, name)) in newest {
            writeln!(out, "{ip}\t{at}\t{}", name.as_deref().unwrap_or(""))?;
        }
        out.flush()?;
        drop(out);
        pending.commit().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_non_answers_survive_a_save_until_they_expire() {
        let dir = std::env::temp_dir().join(format!("synsweep-cache-{}", std::process::id()));
        let path = dir.join("sub").join("names.tsv");
        // Its directories are created only below one of this user's own (not /tmp's).
        std::fs::create_dir_all(&dir).unwrap();
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

    #[test]
    fn links_planted_in_the_cache_directory_are_never_written_through() {
        let dir = std::env::temp_dir().join(format!("synsweep-cache-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.join("names.tsv");
        // The temporary name an older synsweep used.
        std::os::unix::fs::symlink(&victim, dir.join("names.tsv.part")).unwrap();
        let mut c = NameCache::load(Some(path.clone()), 1000);
        c.put("198.18.0.1".parse().unwrap(), Some("one.lab".into()), 1000);
        c.save().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::read_to_string(&path).unwrap().contains("one.lab"));
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Another user's link at the cache's own name, as root: refused, target untouched.
        if euid() == 0 {
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink(&victim, &path).unwrap();
            std::os::unix::fs::lchown(&path, Some(65534), Some(65534)).unwrap();
            assert!(c.save().is_err());
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_cache_lives_only_in_the_effective_users_directories() {
        let dir = std::env::temp_dir().join(format!("synsweep-cache-own-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let me = euid();
        assert!(dir_is_ours(&dir, me));
        assert!(
            dir_is_ours(&dir.join("a").join("b"), me),
            "created below our own"
        );
        assert!(
            !dir_is_ours(&dir, me + 1),
            "someone else's (sudo -E with a user's HOME)"
        );
        let link = dir.join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(!dir_is_ours(&link, me), "a link as the cache directory");
        let _ = std::fs::remove_dir_all(dir);
    }
}
