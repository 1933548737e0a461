//! `-oJ`: one JSON document — the scan, every result, the final figures.

use super::Sink;
use super::meta::{ScanMeta, Summary};
use super::store::ResultStore;
use serde::Serialize;
use std::io::{self, Write};

pub struct JsonSink<W: Write> {
    out: W,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink { out }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    scan: &'a ScanMeta,
    results: Vec<crate::event::Event>,
    stats: &'a super::meta::Figures,
    complete: bool,
}

impl<W: Write + Send> Sink for JsonSink<W> {
    fn finish(&mut self, store: &ResultStore, meta: &ScanMeta, s: &Summary) -> io::Result<()> {
        let mut meta = meta.clone();
        for a in &mut meta.args {
            *a = super::clean::text(a).into_owned();
        }
        let doc = Document {
            scan: &meta,
            results: store.events().map(super::clean::owned).collect(),
            stats: &s.figures,
            complete: s.complete,
        };
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
