//! The AF_PACKET receive ring (TPACKET_V3): the kernel writes captured frames into blocks of
//! memory shared with us and wakes the reader once per block (when it fills, or after a
//! short timeout), not once per packet. At 200k replies/s the per-packet wake-ups and
//! recv(2) copies of a plain socket cost more CPU than the classification itself — CPU the
//! two-core path needs for the probes.
//!
//! Layouts are linux/if_packet.h's, read at fixed offsets (a u32 read is bounds-checked
//! against the block; the kernel is trusted for the shape, not for staying in bounds).

use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PACKET_VERSION: libc::c_int = 10;
pub const PACKET_RX_RING: libc::c_int = 5;
pub const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_KERNEL: u32 = 0;

// struct tpacket_block_desc: version, offset_to_priv, then struct tpacket_hdr_v1.
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_PKT: usize = 16;
// struct tpacket3_hdr
const PKT_NEXT: usize = 0;
const PKT_SNAPLEN: usize = 12;
const PKT_MAC: usize = 24;

/// `struct tpacket_req3`.
#[repr(C)]
pub struct RingRequest {
    pub block_size: u32,
    pub block_nr: u32,
    pub frame_size: u32,
    pub frame_nr: u32,
    /// Milliseconds after which a block that is not full is handed to us anyway.
    pub retire_blk_tov: u32,
    pub sizeof_priv: u32,
    pub feature_req_word: u32,
}

impl RingRequest {
    /// `blocks` blocks of `block_size` bytes (a multiple of the page size).
    pub fn new(block_size: u32, blocks: u32, retire_ms: u32) -> RingRequest {
        let frame_size = 2048;
        RingRequest {
            block_size,
            block_nr: blocks,
            frame_size,
            frame_nr: block_size / frame_size * blocks,
            retire_blk_tov: retire_ms,
            sizeof_priv: 0,
            feature_req_word: 0,
        }
    }
}

pub struct RxRing {
    base: NonNull<u8>,
    block_size: usize,
    blocks: usize,
    current: usize,
}

// SAFETY: the mapping is owned by this value and only touched through &mut self.
unsafe impl Send for RxRing {}

impl RxRing {
    /// Sets the socket to TPACKET_V3 with the ring `req` and maps it. Call before bind(2).
    pub fn attach(fd: RawFd, req: &RingRequest) -> io::Result<RxRing> {
        let set = |opt: libc::c_int, val: *const libc::c_void, len: usize| {
            // SAFETY: val points at `len` readable bytes for the call.
            let rc =
                unsafe { libc::setsockopt(fd, libc::SOL_PACKET, opt, val, len as libc::socklen_t) };
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        set(
            PACKET_VERSION,
            (&TPACKET_V3 as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>(),
        )?;
        set(
            PACKET_RX_RING,
            (req as *const RingRequest).cast(),
            std::mem::size_of::<RingRequest>(),
        )?;
        let len = req.block_size as usize * req.block_nr as usize;
        // SAFETY: a fresh shared mapping of the ring the kernel just made for this socket.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(RxRing {
            base: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            block_size: req.block_size as usize,
            blocks: req.block_nr as usize,
            current: 0,
        })
    }

    fn block(&self, i: usize) -> *mut u8 {
        // SAFETY: i < blocks, so the offset stays inside the mapping.
        unsafe { self.base.as_ptr().add(i * self.block_size) }
    }

    fn status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: BLOCK_STATUS is 4-aligned inside the (page-aligned) block; the kernel and we
        // hand the block back and forth through this word.
        unsafe { &*(self.block(i).add(BLOCK_STATUS) as *const AtomicU32) }
    }

    /// Whether the current block is ours to read.
    pub fn ready(&self) -> bool {
        self.status(self.current).load(Ordering::Acquire) & TP_STATUS_USER != 0
    }

    /// Hands each frame of the current block to `handle`, gives the block back to the kernel
    /// and moves on; returns the frames seen (0 if the block was not ready).
    pub fn drain_block(&mut self, handle: &mut dyn FnMut(&[u8])) -> usize {
        if !self.ready() {
            return 0;
        }
        let block = {
            // SAFETY: the block is ours until we write TP_STATUS_KERNEL below; the slice
            // covers exactly one block of the mapping.
            unsafe { std::slice::from_raw_parts(self.block(self.current), self.block_size) }
        };
        let seen = walk_block(block, handle);
        self.status(self.current)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.current = (self.current + 1) % self.blocks;
        seen
    }
}

/// Hands each frame a TPACKET_V3 block holds to `handle`; returns how many. Every offset
/// and length in the block is the kernel's word, checked before use: a header or frame that
/// would reach past the block ends the walk, and no sum can overflow.
pub fn walk_block(block: &[u8], handle: &mut dyn FnMut(&[u8])) -> usize {
    let word = |at: usize| -> Option<u32> {
        let b = block.get(at..at.checked_add(4)?)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let n = word(BLOCK_NUM_PKTS).unwrap_or(0);
    let mut at = word(BLOCK_FIRST_PKT).unwrap_or(0) as usize;
    let mut seen = 0;
    for _ in 0..n {
        let (Some(next), Some(snaplen)) = (
            at.checked_add(PKT_NEXT).and_then(word),
            at.checked_add(PKT_SNAPLEN).and_then(word),
        ) else {
            break;
        };
        let mac = at
            .checked_add(PKT_MAC)
            .and_then(|m| block.get(m..m.checked_add(2)?))
            .map_or(0, |b| u16::from_ne_bytes([b[0], b[1]])) as usize;
        let frame = at.checked_add(mac).and_then(|start| {
            let end = start.checked_add(snaplen as usize)?;
            block.get(start..end)
        });
        if let Some(frame) = frame {
            handle(frame);
            seen += 1;
        }
        // A zero offset ends the block; any other moves forward, so the walk ends.
        match at.checked_add(next as usize) {
            Some(later) if next != 0 => at = later,
            _ => break,
        }
    }
    seen
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in attach.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.block_size * self.blocks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A block as the kernel writes it: frames of `sizes` bytes, each after a header whose
    /// `tp_mac` is 32 and whose `tp_next_offset` leads to the next.
    fn block(sizes: &[usize]) -> Vec<u8> {
        let mut b = vec![0u8; 4096];
        b[BLOCK_NUM_PKTS..BLOCK_NUM_PKTS + 4].copy_from_slice(&(sizes.len() as u32).to_ne_bytes());
        b[BLOCK_FIRST_PKT..BLOCK_FIRST_PKT + 4].copy_from_slice(&48u32.to_ne_bytes());
        let mut at = 48;
        for (i, &n) in sizes.iter().enumerate() {
            let next = if i + 1 == sizes.len() {
                0
            } else {
                (32 + n).next_multiple_of(16)
            };
            b[at + PKT_NEXT..at + PKT_NEXT + 4].copy_from_slice(&(next as u32).to_ne_bytes());
            b[at + PKT_SNAPLEN..at + PKT_SNAPLEN + 4].copy_from_slice(&(n as u32).to_ne_bytes());
            b[at + PKT_MAC..at + PKT_MAC + 2].copy_from_slice(&32u16.to_ne_bytes());
            b[at + 32..at + 32 + n].fill(i as u8 + 1);
            at += next;
        }
        b
    }

    #[test]
    fn a_block_gives_its_frames() {
        let b = block(&[60, 1500, 42]);
        let mut got = Vec::new();
        assert_eq!(walk_block(&b, &mut |f| got.push(f.to_vec())), 3);
        assert_eq!(
            got.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![60, 1500, 42]
        );
        assert!(got[1].iter().all(|&x| x == 2));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::soak_cases(1024)))]
        /// A well-formed block with its words mutated: counts, offsets and lengths near the
        /// integer limits. Frames handed on always lie inside the block.
        #[test]
        fn mutated_blocks_stay_inside(
            sizes in proptest::collection::vec(0usize..600, 0..5),
            hits in proptest::collection::vec((0usize..4096, prop_oneof![Just(u32::MAX), Just(u32::MAX - 3), Just(0u32), Just(4096u32), any::<u32>()]), 0..6),
        ) {
            let mut b = block(&sizes);
            for (at, v) in hits {
                let at = at & !3;
                if at + 4 <= b.len() {
                    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
                }
            }
            let base = b.as_ptr() as usize;
            let mut frames = 0;
            let seen = walk_block(&b, &mut |f| {
                let start = f.as_ptr() as usize - base;
                assert!(start + f.len() <= 4096);
                frames += 1;
            });
            prop_assert_eq!(seen, frames);
            prop_assert!(seen <= 4096, "each step moves forward inside the block");
        }
    }
}
