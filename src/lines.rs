//! Text files from outside (`-iL`, exclude files, the name cache), read in bounded memory:
//! one line at a time, each at most a cap. A file of one endless line (`-iL /dev/zero`)
//! costs the cap, not the file: the first line over it ends the reading with an error that
//! names the line.

use std::io::{self, BufRead, Read};

/// The longest line read from a list or cache file.
pub const MAX_LINE: usize = 4096;

/// The most read of a whole-document input (the resume file).
pub const MAX_DOCUMENT: u64 = 1 << 30;

/// `path` opened for a streaming parser, buffered, ending after `MAX_DOCUMENT` bytes: memory
/// follows what the parser builds, not the file (`--resume /dev/zero` fails at its first
/// byte instead of reading until memory runs out), and an endless file ends.
pub fn open_capped(path: &std::path::Path) -> io::Result<impl Read> {
    let f = std::fs::File::open(path)?;
    Ok(io::BufReader::new(f.take(MAX_DOCUMENT)))
}

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line {0} is longer than {1} bytes")]
    TooLong(usize, usize),
    #[error("line {0} is not UTF-8 text")]
    NotText(usize),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// The lines of `r` without their line endings (LF or CRLF), numbered from 1. The first
/// error ends the iteration.
pub struct Lines<R> {
    r: R,
    max: usize,
    number: usize,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(r: R, max: usize) -> Lines<R> {
        Lines {
            r,
            max,
            number: 0,
            done: false,
        }
    }

    /// The number of the line last returned.
    pub fn number(&self) -> usize {
        self.number
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<String, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        // Room for the longest line and its CRLF; anything more is one byte too many.
        let limit = self.max.saturating_add(2);
        let read = (&mut self.r).take(limit as u64).read_until(b'\n', &mut buf);
        let result = match read {
            Ok(0) => {
                self.done = true;
                return None;
            }
            Ok(n) => {
                self.number += 1;
                let ended = buf.last() == Some(&b'\n');
                if ended {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                if buf.len() > self.max || (!ended && n >= limit) {
                    Err(LineError::TooLong(self.number, self.max))
                } else {
                    String::from_utf8(buf).map_err(|_| LineError::NotText(self.number))
                }
            }
            Err(e) => Err(LineError::Io(e)),
        };
        self.done = result.is_err();
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(bytes: &[u8], max: usize) -> Vec<Result<String, String>> {
        Lines::new(bytes, max)
            .map(|l| l.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn lines_end_at_lf_or_crlf_and_the_last_may_lack_one() {
        assert_eq!(
            all(b"a\r\nbb\n\nc", 8),
            vec![
                Ok("a".into()),
                Ok("bb".into()),
                Ok("".into()),
                Ok("c".into())
            ]
        );
        assert_eq!(all(b"", 8), vec![]);
    }

    #[test]
    fn a_line_over_the_cap_ends_the_reading_and_names_itself() {
        assert_eq!(
            all(b"12345678\n123456789\nnext\n", 8),
            vec![
                Ok("12345678".into()),
                Err("line 2 is longer than 8 bytes".into())
            ]
        );
        assert_eq!(
            all(b"ok\n\xff\xfe\n", 8)[1],
            Err("line 2 is not UTF-8 text".into())
        );
    }

    #[test]
    fn an_endless_line_costs_the_cap() {
        let zeros = std::io::BufReader::new(std::io::repeat(0));
        let mut lines = Lines::new(zeros, MAX_LINE);
        assert!(matches!(
            lines.next(),
            Some(Err(LineError::TooLong(1, MAX_LINE)))
        ));
        assert!(lines.next().is_none());
    }

    proptest! {
        #[test]
        fn lines_are_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..400), max in 0usize..40) {
            let mut n = 0;
            for l in Lines::new(&bytes[..], max) {
                n += 1;
                if let Ok(l) = l {
                    prop_assert!(l.len() <= max && !l.contains('\n'));
                }
            }
            prop_assert!(n <= bytes.len());
        }
    }
}
