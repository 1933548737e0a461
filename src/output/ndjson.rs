//! NDJSON: one result per line, written as found. A resumed scan appends, so the two files'
//! lines together are the scan's results, each once.
//!
//! Lines are buffered whole and written whole: the file never ends inside a line the sink
//! counted. `stream_len` says where the file stands (for a checkpoint): a resume cuts the
//! file back there, so lines written after the checkpoint — found again — are not doubled.

use super::{Doc, Sink};
use crate::event::Event;
use std::io::{self, Write};

/// Whole lines gathered before one write.
const BUFFER: usize = 1 << 16;

pub struct NdjsonSink<W: Write> {
    out: W,
    lines: Vec<u8>,
    /// The file's length when opened (None: not a file whose length means anything).
    base: Option<u64>,
    /// Bytes of whole lines written since.
    written: u64,
}

impl<W: Write> NdjsonSink<W> {
    pub fn new(out: W) -> Self {
        Self::at(out, None)
    }

    /// A sink whose file is `base` bytes long now.
    pub fn at(out: W, base: Option<u64>) -> Self {
        NdjsonSink {
            out,
            lines: Vec::with_capacity(BUFFER),
            base,
            written: 0,
        }
    }

    fn write_lines(&mut self) -> io::Result<()> {
        if !self.lines.is_empty() {
            // Taken first: after an error the lines are not tried again (the scan stops).
            let lines = std::mem::take(&mut self.lines);
            self.out.write_all(&lines)?;
            self.written += lines.len() as u64;
            self.lines = lines;
            self.lines.clear();
        }
        self.out.flush()
    }
}

impl<W: Write + Send> Sink for NdjsonSink<W> {
    fn event(&mut self, e: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.lines, super::clean::event(e).as_ref())?;
        self.lines.push(b'\n');
        if self.lines.len() >= BUFFER {
            self.write_lines()?;
        }
        Ok(())
    }
    fn tick(&mut self) -> io::Result<()> {
        self.write_lines()
    }
    fn stream_len(&mut self) -> Option<io::Result<u64>> {
        let base = self.base?;
        Some(self.write_lines().map(|()| base + self.written))
    }
    fn end(&mut self, _: &Doc<'_>, _: u64) -> io::Result<()> {
        self.write_lines()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HostResult, Reason};

    fn host(i: u8) -> Event {
        Event::Host(HostResult {
            ip: std::net::IpAddr::from([198, 18, 0, i]),
            state: "up".into(),
            reason: Reason::EchoReply,
            rtt_ms: None,
            ts: 1.0,
            hostname: None,
            ttl: None,
        })
    }

    /// A writer that takes `room` bytes, then fails: a disk filling up.
    struct Filling {
        got: Vec<u8>,
        room: usize,
    }
    impl Write for Filling {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(self.room - self.got.len());
            if n == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.got.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_length_counts_whole_lines_written_and_stops_at_an_error() {
        let mut s = NdjsonSink::at(
            Filling {
                got: Vec::new(),
                room: 1 << 20,
            },
            Some(10),
        );
        s.event(&host(1)).unwrap();
        // Nothing is written before a tick or a checkpoint: no half line can reach the file.
        assert!(s.out.got.is_empty());
        let one = s.stream_len().unwrap().unwrap();
        assert_eq!(one, 10 + s.out.got.len() as u64);
        assert_eq!(s.out.got.last(), Some(&b'\n'));
        s.out.room = s.out.got.len() + 5; // room for 5 bytes more only
        s.event(&host(2)).unwrap();
        assert!(s.stream_len().unwrap().is_err());
        // The 5 bytes of a half line went out, but the length still says where lines ended.
        s.out.room = 1 << 20;
        assert_eq!(s.stream_len().unwrap().unwrap(), one);
        assert!(NdjsonSink::new(Vec::new()).stream_len().is_none());
    }
}
