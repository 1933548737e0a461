//! What nmap said of a port (`--nmap`) as text, shared by the table and grepable sinks: the
//! version line nmap itself prints, and its scripts' outputs. Clean (`clean::text`).

use super::clean::text;
use crate::event::ServiceResult;

/// nmap's VERSION column: `OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)`.
pub fn version(s: &ServiceResult) -> String {
    let mut parts: Vec<String> = [&s.product, &s.version]
        .into_iter()
        .flatten()
        .map(|p| text(p).into_owned())
        .collect();
    if let Some(e) = &s.extrainfo {
        parts.push(format!("({})", text(e)));
    }
    parts.join(" ")
}

/// nmap's SERVICE column: `ssh`, `ssl/http` for a service inside TLS.
pub fn name(s: &ServiceResult) -> String {
    match &s.tunnel {
        Some(t) => format!("{}/{}", text(t), text(&s.name)),
        None => text(&s.name).into_owned(),
    }
}

/// The version line (if any), then each script as `id: first line` and its further lines
/// indented, as nmap's normal output shows them.
pub fn lines(s: &ServiceResult) -> Vec<String> {
    let mut out = Vec::new();
    let v = version(s);
    if !v.is_empty() {
        out.push(format!("nmap: {v}"));
    }
    for script in &s.scripts {
        let mut body = script.output.trim_matches('\n').split('\n');
        let first = body.next().unwrap_or("");
        out.push(format!("{}: {}", text(&script.id), text(first.trim())));
        out.extend(body.map(|l| format!("  {}", text(l.trim_end()))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Proto, ScriptResult};

    #[test]
    fn version_and_scripts_as_nmap_prints_them_and_clean() {
        let s = ServiceResult {
            ip: "127.0.0.1".parse().unwrap(),
            port: 22,
            proto: Proto::Tcp,
            name: "http".into(),
            product: Some("nginx".into()),
            version: Some("1.22".into()),
            extrainfo: Some("Ubuntu".into()),
            tunnel: Some("ssl".into()),
            method: "probed".into(),
            conf: 10,
            cpe: vec![],
            scripts: vec![ScriptResult {
                id: "http-title".into(),
                output: "\n  Welcome\x1b[2J\n  second line\n".into(),
            }],
            ts: 0.0,
        };
        assert_eq!(version(&s), "nginx 1.22 (Ubuntu)");
        assert_eq!(name(&s), "ssl/http");
        assert_eq!(
            lines(&s),
            vec![
                "nmap: nginx 1.22 (Ubuntu)",
                "http-title: Welcome\\x1b[2J",
                "    second line"
            ]
        );
    }
}
