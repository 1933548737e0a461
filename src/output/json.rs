//! `-oJ`: one JSON document — the scan, every result, the final figures — written a host at
//! a time. The layout is serde_json's pretty one, as if the whole document had been one
//! value: each part is serialized pretty and indented to its depth (a JSON string holds no
//! raw line break, so every line break is the layout's own).

use super::store::HostGroup;
use super::{Doc, Sink};
use serde::Serialize;
use std::io::{self, Write};

pub struct JsonSink<W: Write> {
    out: W,
    /// A result was written (the next one follows a comma).
    any: bool,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink { out, any: false }
    }
}

/// Writes through, indenting every line after the first by `indent`.
struct Indented<'a, W: Write> {
    out: &'a mut W,
    indent: &'static [u8],
}

impl<W: Write> Write for Indented<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut lines = buf.split(|&b| b == b'\n');
        if let Some(first) = lines.next() {
            self.out.write_all(first)?;
        }
        for line in lines {
            self.out.write_all(b"\n")?;
            self.out.write_all(self.indent)?;
            self.out.write_all(line)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `v` pretty, as it would stand `indent` deep in a pretty document.
fn pretty(out: &mut impl Write, v: &impl Serialize, indent: &'static [u8]) -> io::Result<()> {
    serde_json::to_writer_pretty(Indented { out, indent }, v)?;
    Ok(())
}

impl<W: Write + Send> Sink for JsonSink<W> {
    fn document(&self) -> bool {
        true
    }

    fn begin(&mut self, doc: &Doc<'_>) -> io::Result<()> {
        let mut meta = doc.meta.clone();
        for a in &mut meta.args {
            *a = super::clean::text(a).into_owned();
        }
        self.out.write_all(b"{\n  \"scan\": ")?;
        pretty(&mut self.out, &meta, b"  ")?;
        self.out.write_all(b",\n  \"results\": [")
    }

    fn host(&mut self, _doc: &Doc<'_>, host: &HostGroup) -> io::Result<()> {
        for e in host.entry.events() {
            let sep: &[u8] = if self.any { b",\n    " } else { b"\n    " };
            self.out.write_all(sep)?;
            pretty(&mut self.out, &super::clean::owned(e), b"    ")?;
            self.any = true;
        }
        Ok(())
    }

    fn end(&mut self, doc: &Doc<'_>, _hosts_up: u64) -> io::Result<()> {
        let close: &[u8] = if self.any { b"\n  ]" } else { b"]" };
        self.out.write_all(close)?;
        self.out.write_all(b",\n  \"stats\": ")?;
        pretty(&mut self.out, &doc.summary.figures, b"  ")?;
        writeln!(self.out, ",\n  \"complete\": {}\n}}", doc.summary.complete)?;
        self.out.flush()
    }
}
