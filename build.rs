//! Build facts for `synsweep --version`: the git commit the binary was built from ("unknown"
//! outside a git checkout or without git: never a reason to fail the build) and the packet
//! backends compiled in.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    // A worktree's .git is a file naming the real git directory; either counts.
    let commit = if Path::new(&manifest).join(".git").exists() {
        git(&["rev-parse", "--short", "HEAD"])
    } else {
        None
    };
    if commit.is_some() {
        // Build again when HEAD moves: a commit, a checkout, or the branch's ref updated.
        for name in ["HEAD", "packed-refs"] {
            if let Some(p) = git(&["rev-parse", "--git-path", name]) {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        if let Some(r) =
            git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r]))
        {
            println!("cargo:rerun-if-changed={r}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let pcap = std::env::var_os("CARGO_FEATURE_PCAP").is_some();
    let backends: Vec<&str> = [(linux, "AF_PACKET"), (pcap, "libpcap")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let backends = if backends.is_empty() {
        "none (connect scans only)".to_string()
    } else {
        backends.join(", ")
    };
    println!(
        "cargo:rustc-env=SYNSWEEP_BUILD_INFO=commit {}; raw packets: {backends}",
        commit.as_deref().unwrap_or("unknown")
    );
}
