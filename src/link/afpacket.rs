//! The Linux AF_PACKET link: whole Ethernet frames out, kernel-filtered frames in.
//!
//! Written on libc rather than pnet's datalink channel because the raw engine needs what that
//! API does not expose: a classic-BPF filter attached *before* the socket is bound (so no
//! unfiltered packet is ever queued), PACKET_IGNORE_OUTGOING, and later batched sends.

use super::bpf::SockFilter;
use super::ring::{RingRequest, RxRing};
use super::{FrameBatch, PacketRx, PacketTx};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// linux/if_packet.h; not in every libc release.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

pub struct AfPacket {
    /// Before `fd`, so the mapping goes first when dropped.
    ring: Option<RxRing>,
    fd: OwnedFd,
    ifindex: i32,
    ifname: String,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl AfPacket {
    /// Opens a packet socket on `ifname` for frames of EtherType `protocol` (0x0800 IPv4,
    /// 0x0806 ARP) that receives only what `filter` passes.
    pub fn open(ifname: &str, filter: &[SockFilter], protocol: u16) -> io::Result<AfPacket> {
        AfPacket::open_with(ifname, filter, protocol, None)
    }

    /// As `open`, receiving through a TPACKET_V3 ring of the given shape (see `ring`).
    pub fn open_ring(
        ifname: &str,
        filter: &[SockFilter],
        protocol: u16,
        ring: &RingRequest,
    ) -> io::Result<AfPacket> {
        AfPacket::open_with(ifname, filter, protocol, Some(ring))
    }

    fn open_with(
        ifname: &str,
        filter: &[SockFilter],
        protocol: u16,
        ring: Option<&RingRequest>,
    ) -> io::Result<AfPacket> {
        let name = CString::new(ifname)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
        // SAFETY: a plain C call with a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
        if ifindex == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface '{ifname}'"),
            ));
        }
        // Protocol 0: the socket receives nothing until bound with a protocol below, so the
        // filter is in place before the first packet can arrive.
        // SAFETY: socket(2) with constant arguments; the fd is owned at once.
        let fd = unsafe {
            OwnedFd::from_raw_fd(check(libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                0,
            ))?)
        };
        let prog = SockFprog {
            len: filter.len() as u16,
            filter: filter.as_ptr(),
        };
        // SAFETY: prog points at `filter`, alive for the call; the kernel copies it.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const SockFprog).cast(),
                std::mem::size_of::<SockFprog>() as libc::socklen_t,
            )
        })?;
        let one: libc::c_int = 1;
        // Best effort (Linux 4.20+): the filter already keeps our own probes out.
        // SAFETY: an int option, pointer to a live int.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        // The ring must exist before bind, so the first packet already lands in it.
        let ring = ring
            .map(|req| RxRing::attach(fd.as_raw_fd(), req))
            .transpose()?;
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid starting value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = protocol.to_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: sll is a valid sockaddr_ll of the length given.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(AfPacket {
            ring,
            fd,
            ifindex,
            ifname: ifname.to_string(),
        })
    }

    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    /// The interface's hardware address.
    pub fn mac(&self) -> io::Result<[u8; 6]> {
        // SAFETY: ifreq is plain data; zeroed is valid; the name is copied in bounds below.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req
            .ifr_name
            .iter_mut()
            .zip(self.ifname.bytes().take(libc::IFNAMSIZ - 1))
        {
            *dst = src as libc::c_char;
        }
        // SAFETY: SIOCGIFHWADDR fills req.ifr_ifru.ifru_hwaddr.
        check(unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) })?;
        // SAFETY: the union member the ioctl above wrote.
        let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
        let mut mac = [0u8; 6];
        for (m, d) in mac.iter_mut().zip(data.iter()) {
            *m = *d as u8;
        }
        Ok(mac)
    }

    /// Sends one whole frame (link header included).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: frame is a valid slice for the length given.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Asks for a receive buffer of `bytes` (root may exceed `net.core.rmem_max`): replies to a
    /// burst of probes arrive in bursts, and an overflowing socket buffer drops them silently.
    pub fn grow_receive_buffer(&self, bytes: usize) {
        let v = bytes.min(i32::MAX as usize) as libc::c_int;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: an int option, pointer to a live int.
            let rc = unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc == 0 {
                return;
            }
        }
    }

    /// Frames the kernel dropped for want of buffer space since the last call
    /// (PACKET_STATISTICS; reading resets the kernel's counters).
    pub fn drops(&self) -> u64 {
        // struct tpacket_stats { tp_packets, tp_drops } (v3 adds tp_freeze_q_cnt).
        let mut st = [0u32; 3];
        let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
        // SAFETY: st is 8 writable bytes and len says so.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc == 0 { u64::from(st[1]) } else { 0 }
    }

    /// Sends the batch's frames with one sendmmsg(2); returns how many the kernel took.
    pub fn send_many(&self, batch: &FrameBatch) -> io::Result<usize> {
        const MAX: usize = 256;
        let n = batch.len().min(MAX);
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: iovec and mmsghdr are plain data; zeroed is a valid starting value.
        let mut iov: [libc::iovec; MAX] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
        for (i, frame) in batch.frames().take(n).enumerate() {
            iov[i] = libc::iovec {
                iov_base: frame.as_ptr() as *mut libc::c_void,
                iov_len: frame.len(),
            };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs[..n] point at iov[..n], which point into `batch`, all alive for the
        // call; the socket is bound, so no address is needed.
        let sent = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent >= 0 {
            return Ok(sent as usize);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            // The device queue is full: nothing went; the caller waits and tries again.
            Some(libc::ENOBUFS) | Some(libc::EAGAIN) => Ok(0),
            _ => Err(e),
        }
    }

    /// Waits up to `timeout` for one frame; `Ok(None)` if none came.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        if !self.wait_readable(timeout)? {
            return Ok(None);
        }
        self.recv_now(buf)
    }

    /// Waits up to `timeout` for something to read; false if nothing came (or a signal
    /// interrupted the wait, which the caller treats the same way: it loops).
    fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        match check(unsafe { libc::poll(&mut pfd, 1, ms) }) {
            Ok(n) => Ok(n > 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One queued frame, without waiting; `Ok(None)` if the queue is empty.
    fn recv_now(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is a valid writable slice for the length given.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(e),
        }
    }
}

impl PacketTx for AfPacket {
    fn send_batch(&mut self, batch: &FrameBatch) -> io::Result<usize> {
        self.send_many(batch)
    }
}

impl PacketRx for AfPacket {
    fn recv(&mut self, timeout: Duration, handle: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        if let Some(ring) = &mut self.ring {
            if !ring.ready() {
                let mut pfd = libc::pollfd {
                    fd: self.fd.as_raw_fd(),
                    events: libc::POLLIN | libc::POLLERR,
                    revents: 0,
                };
                let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
                // SAFETY: one valid pollfd.
                match check(unsafe { libc::poll(&mut pfd, 1, ms) }) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
                    Err(e) => return Err(e),
                }
            }
            let mut got = 0;
            // Bounded, so a flood cannot starve the caller's stop checks.
            for _ in 0..64 {
                if !ring.ready() {
                    break;
                }
                got += ring.drain_block(handle);
            }
            return Ok(got);
        }
        let mut buf = [0u8; 2048];
        let mut got = 0;
        if !self.wait_readable(timeout)? {
            return Ok(0);
        }
        // Drain what is queued after one wake-up, one recv(2) per frame (bounded, so a flood
        // cannot starve the caller's stop checks).
        while got < 4096 {
            match self.recv_now(&mut buf)? {
                Some(n) => {
                    handle(&buf[..n.min(buf.len())]);
                    got += 1;
                }
                None => break,
            }
        }
        Ok(got)
    }

    fn drops(&mut self) -> u64 {
        AfPacket::drops(self)
    }
}
