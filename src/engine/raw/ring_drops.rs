//! The kernel's count of replies dropped for want of room in the capture ring
//! (`PACKET_STATISTICS`' `tp_drops`, libpcap's `ps_drop`), read by the capture thread a few
//! times a second into `Stats::ring_drops`: drops there are ours, not the path's.

use crate::engine::EngineContext;
use crate::link::PacketRx;
use std::time::Duration;

/// The kernel's count of replies dropped for want of room in the capture ring, read a few
/// times a second into `Stats::ring_drops` (reading resets the kernel's counter).
#[derive(Default)]
pub struct RingDrops {
    next: Duration,
    total: u64,
}

impl RingDrops {
    const EVERY: Duration = Duration::from_millis(250);

    pub fn read<R: PacketRx>(&mut self, rx: &mut R, ctx: &EngineContext, now: Duration) {
        if now >= self.next {
            self.next = now + Self::EVERY;
            self.read_now(rx, ctx);
        }
    }

    pub fn read_now<R: PacketRx>(&mut self, rx: &mut R, ctx: &EngineContext) -> u64 {
        let n = rx.drops();
        self.total += n;
        ctx.stats
            .ring_drops
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        self.total
    }
}
