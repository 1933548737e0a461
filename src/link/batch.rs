//! A batch of frames in one flat buffer: the sender crafts into it and the link sends it with
//! one system call. Fixed slots (no allocation per packet; the buffer is made once).

/// Room for any probe we craft: Ethernet + IPv4 + UDP + the largest UDP payload (512 bytes);
/// a multiple of 64 so every slot starts on its own cache line.
pub const SLOT: usize = 640;

pub struct FrameBatch {
    buf: Vec<u8>,
    lens: Vec<usize>,
    capacity: usize,
}

impl FrameBatch {
    pub fn new(capacity: usize) -> FrameBatch {
        let capacity = capacity.max(1);
        FrameBatch {
            buf: vec![0; capacity * SLOT],
            lens: Vec::with_capacity(capacity),
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.lens.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }
    pub fn is_full(&self) -> bool {
        self.lens.len() == self.capacity
    }
    pub fn free(&self) -> usize {
        self.capacity - self.lens.len()
    }

    /// Crafts one frame into the next free slot with `write` (which returns the length it
    /// wrote, or None if it could not); false if the batch is full or `write` failed.
    #[inline]
    pub fn push_with(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        if self.is_full() {
            return false;
        }
        let at = self.lens.len() * SLOT;
        match write(&mut self.buf[at..at + SLOT]) {
            Some(n) if n <= SLOT => {
                self.lens.push(n);
                true
            }
            _ => false,
        }
    }

    pub fn frame(&self, i: usize) -> &[u8] {
        &self.buf[i * SLOT..i * SLOT + self.lens[i]]
    }

    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.lens.len()).map(|i| self.frame(i))
    }

    /// Forgets the first `n` frames (they were sent); the rest move to the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.lens.len());
        if n == self.lens.len() {
            self.lens.clear();
            return;
        }
        self.buf.copy_within(n * SLOT..self.lens.len() * SLOT, 0);
        self.lens.drain(..n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_their_bytes_through_a_partial_send() {
        let mut b = FrameBatch::new(3);
        for i in 0..3u8 {
            assert!(b.push_with(|out| {
                out[..=i as usize].fill(i + 1);
                Some(i as usize + 1)
            }));
        }
        assert!(b.is_full() && !b.push_with(|_| Some(1)));
        b.consume(1);
        let got: Vec<Vec<u8>> = b.frames().map(<[u8]>::to_vec).collect();
        assert_eq!(got, vec![vec![2, 2], vec![3, 3, 3]]);
        assert!(!b.push_with(|_| None), "a failed craft takes no slot");
        assert!(
            !b.push_with(|_| Some(SLOT + 1)),
            "nor does an oversized one"
        );
        assert_eq!(b.len(), 2);
        b.consume(5);
        assert!(b.is_empty());
    }
}
