//! The libpcap / Npcap link (cargo feature `pcap`): what Windows and macOS need, and an
//! alternative on Linux (`--pcap`). The same kernel-side filter as AF_PACKET, written in
//! pcap's language; frames are sent one `pcap_sendpacket` at a time (no batching API).

use super::{FrameBatch, PacketRx, PacketTx};
use pcap::{Active, Capture, Direction, Linktype};
use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

fn to_io(what: &str, iface: &str) -> impl Fn(pcap::Error) -> io::Error {
    let ctx = format!("libpcap {what} on {iface}");
    move |e| io::Error::other(format!("{ctx}: {e}"))
}

/// The reply filter of `bpf::reply_filter` in pcap syntax.
pub fn filter_expression(us: Ipv4Addr, port_lo: u16, port_hi: u16) -> String {
    format!(
        "ip dst {us} and (((tcp or udp) and dst portrange {port_lo}-{port_hi} and ip[6:2] & 0x1fff = 0) or icmp)"
    )
}

pub struct PcapRx {
    cap: Capture<Active>,
    /// libpcap's drop count (`ps_drop`, cumulative) at the last `drops` call.
    dropped: u32,
}

/// Opens `iface` for capture with `filter`; fails unless its frames start with an Ethernet
/// header (`ethernet`) or with the IP header (otherwise).
pub fn open_rx(iface: &str, filter: &str, ethernet: bool) -> io::Result<PcapRx> {
    // Non-blocking, and we wait with poll(2) ourselves: libpcap's own read timeout is not
    // honoured in immediate mode on every platform, and a capture that never returns would
    // never see the stop flag.
    let mut cap = Capture::from_device(iface)
        .map_err(to_io("open", iface))?
        .immediate_mode(true)
        .snaplen(512)
        .buffer_size(8 << 20)
        .open()
        .map_err(to_io("activate", iface))?
        .setnonblock()
        .map_err(to_io("non-blocking mode", iface))?;
    // Not every platform can leave our own probes out; the filter does either way.
    let _ = cap.direction(Direction::In);
    cap.filter(filter, true).map_err(to_io("filter", iface))?;
    let want = if ethernet {
        Linktype::ETHERNET
    } else {
        Linktype::RAW
    };
    let got = cap.get_datalink();
    if got != want {
        return Err(io::Error::other(format!(
            "libpcap on {iface}: link type {} is not supported (want {})",
            got.0, want.0
        )));
    }
    Ok(PcapRx { cap, dropped: 0 })
}

impl PacketRx for PcapRx {
    fn recv(&mut self, timeout: Duration, handle: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        wait_readable(&self.cap, timeout)?;
        let mut got = 0;
        while got < 4096 {
            match self.cap.next_packet() {
                Ok(p) => {
                    handle(p.data);
                    got += 1;
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(e) => return Err(io::Error::other(format!("libpcap: {e}"))),
            }
        }
        Ok(got)
    }

    fn drops(&mut self) -> u64 {
        let Ok(st) = self.cap.stats() else {
            return 0;
        };
        let new = st.dropped.wrapping_sub(self.dropped);
        self.dropped = st.dropped;
        u64::from(new)
    }
}

#[cfg(unix)]
fn wait_readable(cap: &Capture<Active>, timeout: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: cap.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    if unsafe { libc::poll(&mut pfd, 1, ms) } < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn wait_readable(_cap: &Capture<Active>, timeout: Duration) -> io::Result<()> {
    // Npcap offers an event handle, not a descriptor; a short sleep keeps the loop polite.
    std::thread::sleep(timeout.min(Duration::from_millis(1)));
    Ok(())
}

pub struct PcapTx {
    cap: Capture<Active>,
}

pub fn open_tx(iface: &str) -> io::Result<PcapTx> {
    let cap = Capture::from_device(iface)
        .map_err(to_io("open", iface))?
        .snaplen(64)
        .open()
        .map_err(to_io("activate", iface))?;
    Ok(PcapTx { cap })
}

impl PacketTx for PcapTx {
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize> {
        let mut sent = 0;
        for f in batch.frames() {
            match self.cap.sendpacket(f) {
                Ok(()) => sent += 1,
                // A full device queue: the caller keeps the rest and tries again.
                Err(_) if sent > 0 => break,
                Err(e) => return Err(io::Error::other(format!("libpcap send: {e}"))),
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_says_what_the_bpf_program_does() {
        assert_eq!(
            filter_expression(Ipv4Addr::new(198, 19, 0, 1), 61000, 61999),
            "ip dst 198.19.0.1 and (((tcp or udp) and dst portrange 61000-61999 and ip[6:2] & 0x1fff = 0) or icmp)"
        );
    }
}
