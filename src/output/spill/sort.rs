//! An external sort of the spill log by host address, stable (records of one host keep the
//! order they were written in, so a host is rebuilt exactly as the in-memory store built
//! it): the log is read in chunks of at most `Budget::chunk_bytes`, each chunk sorted and
//! written as a run to an unnamed scratch file, and the runs merged `Budget::fan_in` at a
//! time — in more than one pass when there are more — into one stream. A log that fits in
//! one chunk is sorted in memory and never written again.

use super::record::{self, Key};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// What the sort may hold in memory.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Record bytes sorted at once (plus 24 bytes of index per record).
    pub chunk_bytes: usize,
    /// Runs merged at once.
    pub fan_in: usize,
    /// Read buffer of each run being merged.
    pub read_buf: usize,
}

impl Default for Budget {
    /// About 8 MB while chunks are sorted, 2 MB while runs are merged.
    fn default() -> Self {
        Budget {
            chunk_bytes: 4 << 20,
            fan_in: 32,
            read_buf: 64 << 10,
        }
    }
}

/// Reads `[pos, end)` of a shared file with `pread`: the log's own write position is not
/// moved, and many runs read one file.
pub(super) struct Span {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for Span {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = (self.end - self.pos).min(buf.len() as u64) as usize;
        if left == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..left], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// `[pos, end)` of `file`.
pub(super) fn span(file: &Arc<File>, pos: u64, end: u64) -> Span {
    Span {
        file: file.clone(),
        pos,
        end,
    }
}

/// The records of a span, one body at a time; None at its end.
pub(super) struct Records<R: Read>(R);

impl<R: Read> Records<R> {
    pub(super) fn new(r: R) -> Self {
        Records(r)
    }

    pub(super) fn next(&mut self) -> io::Result<Option<(Key, Vec<u8>)>> {
        let mut prefix = [0u8; 4];
        match self.0.read(&mut prefix[..1])? {
            0 => return Ok(None),
            _ => self.0.read_exact(&mut prefix[1..])?,
        }
        let mut body = vec![0u8; record::body_len(prefix)?];
        self.0.read_exact(&mut body)?;
        Ok(Some((record::key(&body)?, body)))
    }
}

/// The log's records in address order, stable.
pub enum Sorted {
    /// It all fitted in one chunk: sorted in memory.
    Memory(InMemory),
    Merge(Merge),
}

impl Iterator for Sorted {
    type Item = io::Result<(Key, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Memory(m) => {
                let (k, body) = m.chunk.body(m.next)?;
                m.next += 1;
                Some(Ok((k, body.to_vec())))
            }
            Sorted::Merge(m) => m.next().transpose(),
        }
    }
}

/// Runs in a file: their `[start, end)` offsets.
type RunFile = (Arc<File>, Vec<(u64, u64)>);

/// Sorted runs written one after another to a scratch file.
struct Runs {
    out: BufWriter<File>,
    bounds: Vec<(u64, u64)>,
    at: u64,
}

impl Runs {
    fn new(dir: &Path) -> io::Result<Runs> {
        Ok(Runs {
            out: BufWriter::with_capacity(1 << 18, super::scratch_in(dir)?),
            bounds: Vec::new(),
            at: 0,
        })
    }

    /// Writes a chunk, sorted, as one run, and empties it.
    fn chunk(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        chunk.sort();
        let start = self.at;
        for i in 0..chunk.index.len() {
            if let Some((_, body)) = chunk.body(i) {
                self.at += write_record(&mut self.out, body)?;
            }
        }
        self.bounds.push((start, self.at));
        chunk.clear();
        Ok(())
    }

    /// Writes the records `bodies` gives as one run.
    fn run(&mut self, bodies: impl IntoIterator<Item = io::Result<Vec<u8>>>) -> io::Result<()> {
        let start = self.at;
        for body in bodies {
            self.at += write_record(&mut self.out, &body?)?;
        }
        self.bounds.push((start, self.at));
        Ok(())
    }

    fn done(self) -> io::Result<RunFile> {
        let f = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok((Arc::new(f), self.bounds))
    }
}

/// Records read into one buffer, with an index to sort: 28 bytes of index a record, no
/// allocation per record.
#[derive(Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    index: Vec<(Key, u32, u32)>,
}

impl Chunk {
    fn push(&mut self, key: Key, body: &[u8]) {
        self.index
            .push((key, self.bytes.len() as u32, body.len() as u32));
        self.bytes.extend_from_slice(body);
    }

    fn held(&self) -> usize {
        self.bytes.len() + self.index.len() * std::mem::size_of::<(Key, u32, u32)>()
    }

    /// Sorts the index by key, stably: a host's records keep their order.
    fn sort(&mut self) {
        self.index.sort_by_key(|r| r.0);
    }

    fn body(&self, i: usize) -> Option<(Key, &[u8])> {
        let &(k, at, len) = self.index.get(i)?;
        let at = at as usize;
        Some((k, &self.bytes[at..at + len as usize]))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.index.clear();
    }
}

/// A chunk sorted in memory, record by record.
pub struct InMemory {
    chunk: Chunk,
    next: usize,
}

/// Sorts the records in `[from, to)` of `log`; runs go to scratch files in `dir`.
pub fn sort(log: &Arc<File>, from: u64, to: u64, dir: &Path, budget: Budget) -> io::Result<Sorted> {
    let mut input = Records(BufReader::with_capacity(
        budget.read_buf.max(1 << 16),
        span(log, from, to),
    ));
    let mut chunk = Chunk::default();
    let mut runs: Option<Runs> = None;
    while let Some((k, body)) = input.next()? {
        chunk.push(k, &body);
        if chunk.held() >= budget.chunk_bytes {
            if runs.is_none() {
                runs = Some(Runs::new(dir)?);
            }
            if let Some(r) = &mut runs {
                r.chunk(&mut chunk)?;
            }
        }
    }
    let Some(mut runs) = runs else {
        chunk.sort();
        return Ok(Sorted::Memory(InMemory { chunk, next: 0 }));
    };
    if !chunk.index.is_empty() {
        runs.chunk(&mut chunk)?;
    }
    drop(chunk);
    let (mut file, mut bounds) = runs.done()?;
    let fan_in = budget.fan_in.max(2);
    // More runs than can be merged at once: merge them in consecutive groups (which keeps
    // the order of equal keys), into a new file, until few enough are left.
    while bounds.len() > fan_in {
        let mut next = Runs::new(dir)?;
        for group in bounds.chunks(fan_in) {
            let mut m = Merge::new(&file, group, budget.read_buf)?;
            next.run(std::iter::from_fn(|| {
                m.next().map(|r| r.map(|(_, b)| b)).transpose()
            }))?;
        }
        (file, bounds) = next.done()?;
    }
    Ok(Sorted::Merge(Merge::new(&file, &bounds, budget.read_buf)?))
}

fn write_record(out: &mut impl Write, body: &[u8]) -> io::Result<u64> {
    out.write_all(&(body.len() as u32).to_le_bytes())?;
    out.write_all(body)?;
    Ok(body.len() as u64 + 4)
}

/// A k-way merge of sorted runs; of equal keys, the earlier run's record comes first.
pub struct Merge {
    runs: Vec<Records<BufReader<Span>>>,
    heads: Vec<Option<Vec<u8>>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
}

impl Merge {
    fn new(file: &Arc<File>, bounds: &[(u64, u64)], buf: usize) -> io::Result<Merge> {
        let mut m = Merge {
            runs: Vec::with_capacity(bounds.len()),
            heads: Vec::with_capacity(bounds.len()),
            heap: BinaryHeap::with_capacity(bounds.len()),
        };
        for (i, &b) in bounds.iter().enumerate() {
            let mut r = Records(BufReader::with_capacity(buf, span(file, b.0, b.1)));
            let head = r.next()?;
            if let Some((k, _)) = &head {
                m.heap.push(Reverse((*k, i)));
            }
            m.heads.push(head.map(|(_, body)| body));
            m.runs.push(r);
        }
        Ok(m)
    }

    fn next(&mut self) -> io::Result<Option<(Key, Vec<u8>)>> {
        let Some(Reverse((k, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let body = self.heads[i].take().unwrap_or_default();
        if let Some((nk, nb)) = self.runs[i].next()? {
            self.heads[i] = Some(nb);
            self.heap.push(Reverse((nk, i)));
        }
        Ok(Some((k, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PortState, Reason};
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn ip_of(h: u8) -> IpAddr {
        if h.is_multiple_of(5) {
            IpAddr::from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, h])
        } else {
            IpAddr::from([198, 18, 0, h])
        }
    }

    /// A log of unlisted-count records whose count is their place in the log: the sort's
    /// output says where each record came from.
    fn log(hosts: &[u8]) -> (Arc<File>, u64) {
        let mut buf = Vec::new();
        for (i, &h) in hosts.iter().enumerate() {
            let (s, r) = (PortState::Closed, Reason::Reset);
            record::encode_unlisted(ip_of(h), s, r, i as u64, &mut buf);
        }
        let mut f = super::super::scratch_in(&std::env::temp_dir()).unwrap();
        f.write_all(&buf).unwrap();
        (Arc::new(f), buf.len() as u64)
    }

    fn places(sorted: Sorted) -> Vec<(IpAddr, u64)> {
        sorted
            .map(|r| {
                let (k, body) = r.unwrap();
                match record::decode(&body).unwrap() {
                    record::Record::Unlisted(ip, _, _, n) => {
                        assert_eq!(record::key_ip(&k), ip);
                        (ip, n)
                    }
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(48)))]

        /// With budgets down to one record a chunk and two runs a merge (many runs, several
        /// passes), the sort is a stable sort by address, as in memory.
        #[test]
        fn equals_a_stable_sort_in_memory(
            hosts in proptest::collection::vec(0u8..12, 0..300),
            chunk in 1usize..200,
            fan_in in 2usize..5,
        ) {
            let (f, len) = log(&hosts);
            let tmp = std::env::temp_dir();
            let mut want: Vec<(IpAddr, u64)> =
                hosts.iter().enumerate().map(|(i, &h)| (ip_of(h), i as u64)).collect();
            want.sort_by_key(|&(ip, _)| ip); // stable
            let budget = Budget { chunk_bytes: chunk, fan_in, read_buf: 16 };
            let got = places(sort(&f, 0, len, &tmp, budget).unwrap());
            prop_assert_eq!(&got, &want);
            let in_memory = places(sort(&f, 0, len, &tmp, Budget::default()).unwrap());
            prop_assert_eq!(&in_memory, &want);
        }
    }

    #[test]
    fn a_range_of_the_log_is_sorted_alone_and_a_cut_record_is_an_error() {
        let (f, len) = log(&[3, 1, 2, 1]);
        let one = len / 4;
        let got = places(sort(&f, one, len, &std::env::temp_dir(), Budget::default()).unwrap());
        assert_eq!(
            got.iter().map(|&(_, n)| n).collect::<Vec<_>>(),
            vec![1, 3, 2]
        );
        let cut = sort(&f, 0, len - 1, &std::env::temp_dir(), Budget::default());
        assert!(cut.is_err());
    }
}
