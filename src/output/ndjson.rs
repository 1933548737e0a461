//! NDJSON: one result per line, written as found. A resumed scan appends, so the two files'
//! lines together are the scan's results, each once.

use super::Sink;
use super::meta::{ScanMeta, Summary};
use super::store::ResultStore;
use crate::event::Event;
use std::io::{self, Write};

pub struct NdjsonSink<W: Write> {
    out: W,
}

impl<W: Write> NdjsonSink<W> {
    pub fn new(out: W) -> Self {
        NdjsonSink { out }
    }
}

impl<W: Write + Send> Sink for NdjsonSink<W> {
    fn event(&mut self, e: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, super::clean::event(e).as_ref())?;
        self.out.write_all(b"\n")
    }
    fn tick(&mut self) -> io::Result<()> {
        self.out.flush()
    }
    fn finish(&mut self, _: &ResultStore, _: &ScanMeta, _: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}
