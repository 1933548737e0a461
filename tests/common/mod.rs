//! Lab helpers for the integration tests: bring a lab up (scripts/lab.sh), run the real binary
//! in its scanner namespace, and compute the exact ground truth from scripts/lab.env.
#![allow(dead_code)] // each test file uses its own part of this

pub mod scenarios;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_synsweep");

/// Runs as user `nobody` with no capabilities, as an unprivileged user would.
pub const UNPRIVILEGED: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

pub fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Lab tests need root. Without it they say so and pass vacuously — unless
/// SYNSWEEP_REQUIRE_LAB=1 (CI sets it), where skipping is a failure.
pub fn lab_allowed(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var("SYNSWEEP_REQUIRE_LAB").as_deref() != Ok("1"),
            "{test}: lab tests are required (SYNSWEEP_REQUIRE_LAB=1) but this is not root"
        );
        eprintln!("{test}: skipped: lab tests need root");
    }
    root
}

pub struct Lab {
    pub name: String,
}

/// A lab for `test`, or None (after saying why) where lab tests cannot run.
pub fn lab(test: &str) -> Option<Lab> {
    lab_allowed(test).then(Lab::up)
}

static SCANS: AtomicUsize = AtomicUsize::new(0);

/// Lab tests that measure the scanner at speed (rates it finds, drops in its own capture
/// ring) take this first: the tests of one file run in parallel threads, and two scans at
/// full speed on the same two cores would measure each other.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the machine for one test (a test that panicked while holding it does not stop the
/// others).
pub fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Lab {
    pub fn up() -> Lab {
        let name = format!(
            "ss{}x{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let out = Command::new(root_dir().join("scripts/lab.sh"))
            .args(["up", &name, "600"])
            .output()
            .expect("run scripts/lab.sh");
        assert!(
            out.status.success(),
            "lab up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Lab { name }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_under(&[], args)
    }

    /// The binary run under a wrapper (e.g. `prlimit --nofile=48:48`) in the scanner namespace.
    pub fn command_under(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &format!("{}-s", self.name)])
            .args(wrapper)
            .arg(BIN)
            .args(args)
            // The reverse-DNS cache of this lab's scans, never the user's own.
            .env("XDG_CACHE_HOME", tmp(&format!("cache-{}", self.name)));
        c
    }

    /// Another program (nmap, ndiff) in the scanner namespace.
    pub fn program(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &format!("{}-s", self.name), program])
            .args(args);
        c
    }

    /// Turns the target's ICMP error rate limit on (Linux's default) or off.
    pub fn icmp_limit(&self, on: bool) {
        self.lab_sh("icmp-limit", &[if on { "on" } else { "off" }]);
    }

    /// `scripts/lab.sh VERB NAME ARGS…` on this lab (police, sparse, loss, …).
    pub fn lab_sh(&self, verb: &str, args: &[&str]) {
        let out = Command::new(root_dir().join("scripts/lab.sh"))
            .arg(verb)
            .arg(&self.name)
            .args(args)
            .output()
            .expect("run scripts/lab.sh");
        assert!(
            out.status.success(),
            "lab.sh {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn scan(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("run synsweep in the lab")
    }

    /// Runs a scan (quiet, NDJSON to a fresh file) and returns its port results.
    pub fn scan_ports(&self, args: &[&str]) -> BTreeMap<SocketAddr, Truth> {
        self.scan_ports_under(&[], args)
    }

    pub fn scan_ports_under(&self, wrapper: &[&str], args: &[&str]) -> BTreeMap<SocketAddr, Truth> {
        let nd = tmp(&format!(
            "{}-{}.ndjson",
            self.name,
            SCANS.fetch_add(1, Ordering::SeqCst)
        ));
        let out = self
            .command_under(wrapper, args)
            .args(["-q", "-oD", nd.to_str().unwrap()])
            .output()
            .expect("run synsweep in the lab");
        assert!(
            out.status.success(),
            "synsweep {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got = BTreeMap::new();
        ndjson_ports(&read(&nd), &mut got);
        got
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn synsweep in the lab")
    }

    /// Packets the target namespace counted to LAB_WATCHED.
    pub fn watched_packets(&self) -> u64 {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &format!("{}-t", self.name),
                "nft",
                "list",
                "counter",
                "inet",
                "lab",
                "watched",
            ])
            .output()
            .expect("nft list counter");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("counter output has packets N")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(root_dir().join("scripts/lab.sh"))
            .args(["down", &self.name])
            .status();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Truth {
    Open,
    Closed,
    Filtered,
    OpenFiltered,
}

pub struct GroundTruth {
    env: HashMap<String, String>,
}

impl GroundTruth {
    pub fn load() -> GroundTruth {
        let text =
            std::fs::read_to_string(root_dir().join("scripts/lab.env")).expect("read lab.env");
        let env = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        GroundTruth { env }
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.env[key].split_whitespace().map(String::from).collect()
    }

    fn ports(&self, key: &str) -> Vec<u16> {
        self.list(key)
            .iter()
            .map(|p| p.parse().expect("port in lab.env"))
            .collect()
    }

    pub fn is_silent(&self, ip: IpAddr) -> bool {
        let (a, b) = self.env["LAB_SILENT_HOSTS"].split_once('-').expect("range");
        let (a, b): (Ipv4Addr, Ipv4Addr) = (a.parse().unwrap(), b.parse().unwrap());
        matches!(ip, IpAddr::V4(v) if a <= v && v <= b)
    }

    pub fn state(&self, t: SocketAddr) -> Truth {
        let p = t.port();
        if self.is_silent(t.ip())
            || self.ports("LAB_DROP_PORTS").contains(&p)
            || self.ports("LAB_PROHIBIT_PORTS").contains(&p)
        {
            Truth::Filtered
        } else if self.ports("LAB_RESET_PORTS").contains(&p) {
            Truth::Closed
        } else if self.ports("LAB_OPEN_PORTS").contains(&p)
            || self
                .list("LAB_HOST_OPEN")
                .iter()
                .any(|s| s.parse::<SocketAddr>().ok() == Some(t))
        {
            Truth::Open
        } else {
            Truth::Closed
        }
    }

    /// A UDP port's state: silence (a silent host, a dropped port, a forged answer) is
    /// open|filtered; an answer open; an ICMP port unreachable closed.
    pub fn udp_state(&self, t: SocketAddr) -> Truth {
        let p = t.port();
        let forged = self.list("LAB_UDP_FORGED").contains(&t.to_string());
        if self.is_silent(t.ip()) || self.ports("LAB_UDP_DROP").contains(&p) || forged {
            Truth::OpenFiltered
        } else if self.ports("LAB_UDP_PROHIBIT").contains(&p) {
            Truth::Filtered
        } else if self.ports("LAB_UDP_OPEN").contains(&p) {
            Truth::Open
        } else {
            Truth::Closed
        }
    }

    pub fn expect_udp(
        &self,
        hosts: impl Iterator<Item = IpAddr> + Clone,
        ports: &[u16],
    ) -> BTreeMap<SocketAddr, Truth> {
        expect_with(hosts, ports, |t| self.udp_state(t))
    }

    pub fn expect(
        &self,
        hosts: impl Iterator<Item = IpAddr> + Clone,
        ports: &[u16],
    ) -> BTreeMap<SocketAddr, Truth> {
        expect_with(hosts, ports, |t| self.state(t))
    }
}

/// The state of every host × port by `state`.
fn expect_with(
    hosts: impl Iterator<Item = IpAddr> + Clone,
    ports: &[u16],
    state: impl Fn(SocketAddr) -> Truth,
) -> BTreeMap<SocketAddr, Truth> {
    let mut m = BTreeMap::new();
    for &p in ports {
        for h in hosts.clone() {
            let t = SocketAddr::new(h, p);
            m.insert(t, state(t));
        }
    }
    m
}

pub fn hosts_24() -> impl Iterator<Item = IpAddr> + Clone {
    (0..=255u8).map(|i| IpAddr::V4(Ipv4Addr::new(198, 18, 0, i)))
}

/// Port results of NDJSON lines; panics on a duplicate (nothing may be reported twice).
pub fn ndjson_ports(text: &str, into: &mut BTreeMap<SocketAddr, Truth>) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad NDJSON line {line}: {e}"));
        if v["type"] != "port" {
            continue;
        }
        let t = SocketAddr::new(
            v["ip"].as_str().unwrap().parse().unwrap(),
            v["port"].as_u64().unwrap() as u16,
        );
        let s = match v["state"].as_str().unwrap() {
            "open" => Truth::Open,
            "closed" => Truth::Closed,
            "filtered" => Truth::Filtered,
            "open|filtered" => Truth::OpenFiltered,
            other => panic!("unknown state {other}"),
        };
        assert!(into.insert(t, s).is_none(), "{t} reported twice");
    }
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synsweep-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    // World-writable (sticky), so tests that drop privileges can write their outputs too.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
    d.join(name)
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}
