//! Banners as text lines, shared by the table, grepable and XML sinks: what a service said,
//! and what was understood from it (HTTP, TLS, AI).

use crate::event::BannerResult;

/// One line per thing learned, most telling first; clean (`clean::text`), whatever the
/// service sent.
pub fn lines(b: &BannerResult) -> Vec<String> {
    raw_lines(b)
        .into_iter()
        .map(|l| super::clean::text(&l).into_owned())
        .collect()
}

fn raw_lines(b: &BannerResult) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ai) = &b.ai {
        let mut l = format!("ai: {}", ai.product);
        if let Some(v) = &ai.version {
            l += &format!(" {v}");
        }
        if !ai.models.is_empty() {
            l += &format!("; models: {}", ai.models.join(", "));
        }
        l += if ai.open_access {
            "; open: answered without credentials"
        } else {
            "; asks for credentials"
        };
        out.push(l);
    }
    if let Some(h) = &b.http {
        let mut l = format!("http: {}", h.status);
        if let Some(s) = &h.server {
            l += &format!("; server: {s}");
        }
        if let Some(t) = &h.title {
            l += &format!("; title: {t}");
        }
        out.push(l);
    }
    if let Some(t) = &b.tls {
        let mut l = format!(
            "tls: {}; subject: {}; expires {}",
            t.version, t.subject, t.not_after
        );
        if !t.sans.is_empty() {
            l += &format!("; names: {}", t.sans.join(", "));
        }
        out.push(l);
    }
    if out.is_empty() || (b.http.is_none() && b.tls.is_none()) {
        out.push(format!("{}: {}", b.service, b.text));
    }
    out
}

/// The whole banner on one line, without the characters grepable output uses as separators.
pub fn one_line(b: &BannerResult) -> String {
    lines(b)
        .join(" | ")
        .chars()
        .map(|c| {
            if matches!(c, '/' | ',' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect()
}
