//! The one sanitizer at the output boundary. Every string that came from outside — names
//! from DNS, the name cache or the user, banners, HTTP titles and servers, certificate
//! fields, AI products and models, command-line arguments echoed back — passes through here
//! before any sink writes it, so no output can carry a terminal escape, a bidi override that
//! reorders what a reader sees, a TAB that opens a grepable field, or a character XML 1.0
//! forbids even escaped.
//!
//! What is taken out is shown, not dropped: `\x1b`, `\u{202e}`, so a reader sees that the
//! service sent it. Backslashes are left alone (banner text is already escaped that way).

use crate::event::Event;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Is `c` unfit for any output? Control characters (C0 — TAB, CR and LF included — DEL,
/// C1), the bidi controls, invisible format characters and line separators, and the
/// Unicode noncharacters (U+FFFE and U+FFFF are forbidden in XML 1.0).
pub fn unfit(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'                 // Arabic letter mark
            | '\u{180e}'               // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'  // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'  // line and paragraph separators
            | '\u{202a}'..='\u{202e}'  // LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{2064}'  // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}'  // LRI, RLI, FSI, PDI, deprecated format controls
            | '\u{feff}'               // BOM / zero-width no-break space
            | '\u{fff9}'..='\u{fffb}'  // interlinear annotation
            | '\u{fdd0}'..='\u{fdef}'  // noncharacters
            | '\u{e0000}'..='\u{e007f}' // tag characters (text hidden in plain sight)
        )
        || (u32::from(c) & 0xfffe) == 0xfffe
}

/// `s` with every unfit character shown as an escape.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unfit) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unfit(c) {
            out.push(c);
        } else if u32::from(c) < 0x100 {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// A grepable field: clean text without the format's separators (`/` between a port's
/// fields, `,` between ports), which become spaces.
pub fn field(s: &str) -> String {
    text(s).replace(['/', ','], " ")
}

/// Clean text escaped for an XML attribute or element. Line breaks the sink itself put in
/// (between banner lines) are kept as character references.
pub fn xml(s: &str) -> String {
    let lines: Vec<String> = s
        .split('\n')
        .map(|l| quick_xml::escape::escape(text(l).as_ref()).into_owned())
        .collect();
    lines.join("&#xa;")
}

/// Applies `f` to every string of `e` that came from outside.
fn each_string(e: &mut Event, f: &mut dyn FnMut(&mut String)) {
    match e {
        Event::Port(p) => {
            f(&mut p.service);
            p.hostname.iter_mut().for_each(&mut *f);
        }
        Event::Host(h) => {
            f(&mut h.state);
            h.hostname.iter_mut().for_each(&mut *f);
        }
        Event::Name(n) => f(&mut n.ptr),
        Event::Banner(b) => {
            f(&mut b.service);
            f(&mut b.text);
            if let Some(h) = &mut b.http {
                h.server.iter_mut().for_each(&mut *f);
                h.title.iter_mut().for_each(&mut *f);
            }
            if let Some(t) = &mut b.tls {
                for s in [
                    &mut t.version,
                    &mut t.subject,
                    &mut t.issuer,
                    &mut t.not_after,
                ] {
                    f(s);
                }
                t.sans.iter_mut().for_each(&mut *f);
            }
            if let Some(a) = &mut b.ai {
                f(&mut a.product);
                a.version.iter_mut().for_each(&mut *f);
                a.models.iter_mut().for_each(&mut *f);
            }
        }
        Event::Checkpoint(_) | Event::AnswersAll(_) => {}
        Event::Service(s) => {
            f(&mut s.name);
            f(&mut s.method);
            for o in [
                &mut s.product,
                &mut s.version,
                &mut s.extrainfo,
                &mut s.tunnel,
            ] {
                o.iter_mut().for_each(&mut *f);
            }
            s.cpe.iter_mut().for_each(&mut *f);
            for script in &mut s.scripts {
                f(&mut script.id);
                // Script output is text of several lines: each line is cleaned, the line
                // breaks between them stay.
                let mut lines: Vec<String> = script.output.split('\n').map(String::from).collect();
                lines.iter_mut().for_each(&mut *f);
                script.output = lines.join("\n");
            }
        }
    }
}

/// Does any string of `e` need cleaning? (Most events: no, and they are not copied.)
fn dirty(e: &Event) -> bool {
    let any = |s: &str| s.chars().any(unfit);
    let opt = |s: &Option<String>| s.as_deref().is_some_and(any);
    match e {
        Event::Port(p) => any(&p.service) || opt(&p.hostname),
        Event::Host(h) => any(&h.state) || opt(&h.hostname),
        Event::Name(n) => any(&n.ptr),
        Event::Checkpoint(_) | Event::AnswersAll(_) => false,
        Event::Banner(b) => {
            any(&b.service)
                || any(&b.text)
                || b.http
                    .as_ref()
                    .is_some_and(|h| opt(&h.server) || opt(&h.title))
                || b.tls.as_ref().is_some_and(|t| {
                    [&t.version, &t.subject, &t.issuer, &t.not_after]
                        .iter()
                        .any(|s| any(s))
                        || t.sans.iter().any(|s| any(s))
                })
                || b.ai.as_ref().is_some_and(|a| {
                    any(&a.product) || opt(&a.version) || a.models.iter().any(|s| any(s))
                })
        }
        Event::Service(s) => {
            any(&s.name)
                || any(&s.method)
                || [&s.product, &s.version, &s.extrainfo, &s.tunnel]
                    .into_iter()
                    .any(opt)
                || s.cpe.iter().any(|c| any(c))
                || s.scripts
                    .iter()
                    .any(|x| any(&x.id) || x.output.split('\n').any(any))
        }
    }
}

/// `e` with every outside string clean, for the JSON sinks (serde_json escapes control
/// characters, but a reader's `jq -r` would print them, and bidi overrides it keeps).
pub fn event(e: &Event) -> Cow<'_, Event> {
    if !dirty(e) {
        return Cow::Borrowed(e);
    }
    let mut e = e.clone();
    each_string(&mut e, &mut |s| {
        if let Cow::Owned(c) = text(s) {
            *s = c;
        }
    });
    Cow::Owned(e)
}

/// `e`, cleaned, without a copy when it was clean already.
pub fn owned(e: Event) -> Event {
    match event(&e) {
        Cow::Owned(c) => c,
        Cow::Borrowed(_) => e,
    }
}

/// The command line as documents echo it.
pub fn args(args: &[String]) -> String {
    text(&args.join(" ")).into_owned()
}

#[cfg(test)]
mod tests;
