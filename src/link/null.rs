//! Links that send nowhere: the generator benchmark (`synsweep bench`) counts what it would
//! have sent, and `--dry-run` prints each probe instead of sending it.

use super::{FrameBatch, PacketRx, PacketTx};
use std::io::{self, Write};
use std::time::Duration;

/// Takes every frame and drops it: the ceiling of the crafting path alone.
#[derive(Debug, Default)]
pub struct NullTx {
    pub frames: u64,
    pub bytes: u64,
}

impl PacketTx for NullTx {
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize> {
        self.frames += batch.len() as u64;
        self.bytes += batch.frames().map(|f| f.len() as u64).sum::<u64>();
        Ok(batch.len())
    }
}

/// Receives nothing; waits as asked so the capture loop does not spin.
#[derive(Debug, Default)]
pub struct NullRx;

impl PacketRx for NullRx {
    fn recv(&mut self, timeout: Duration, _handle: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        std::thread::sleep(timeout);
        Ok(0)
    }
}

/// Writes one line per probe (a one-line summary, then the frame in hex) instead of sending.
pub struct PrintTx<W: Write> {
    out: W,
    describe: fn(&[u8]) -> String,
}

impl<W: Write> PrintTx<W> {
    pub fn new(out: W, describe: fn(&[u8]) -> String) -> Self {
        PrintTx { out, describe }
    }
}

impl<W: Write> PacketTx for PrintTx<W> {
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize> {
        for f in batch.frames() {
            let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(self.out, "{} {hex}", (self.describe)(f))?;
        }
        Ok(batch.len())
    }
}
