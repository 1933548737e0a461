//! A bounded writer into a frame slot: writes past the end set a flag instead of panicking,
//! and `finish` then returns None (the probe is not sent).

pub struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut [u8]) -> Writer<'a> {
        Writer {
            out,
            len: 0,
            overflow: false,
        }
    }

    pub fn put(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            _ => self.overflow = true,
        }
    }

    pub fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    pub fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    /// `v` as lowercase hex, `digits` long (most significant first).
    pub fn hex(&mut self, v: u64, digits: u32) {
        for i in (0..digits).rev() {
            let nibble = ((v >> (4 * i)) & 0xf) as usize;
            self.u8(b"0123456789abcdef"[nibble]);
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrites a big-endian u16 written earlier at `at` (lengths known only at the end).
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        match self.out.get_mut(at..at + 2) {
            Some(dst) if at + 2 <= self.len => dst.copy_from_slice(&v.to_be_bytes()),
            _ => self.overflow = true,
        }
    }

    pub fn finish(self) -> Option<usize> {
        (!self.overflow).then_some(self.len)
    }
}

/// The bytes of `v`'s lowercase hex form, `digits` long, for comparing against answers.
pub fn hex_bytes<const N: usize>(v: u64) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer::new(&mut out);
    w.hex(v, N as u32);
    out
}
