//! The Linux AF_PACKET link: whole Ethernet frames out, kernel-filtered frames in.
//!
//! Written on libc rather than pnet's datalink channel because the raw engine needs what that
//! API does not expose: a classic-BPF filter attached *before* the socket is bound (so no
//! unfiltered packet is ever queued), PACKET_IGNORE_OUTGOING, and later batched sends.

use super::bpf::SockFilter;
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

    /// Waits up to `timeout` for one frame; `Ok(None)` if none came.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        if check(unsafe { libc::poll(&mut pfd, 1, ms) })? == 0 {
            return Ok(None);
        }
        // SAFETY: buf is a valid writable slice for the length given.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            n if n >= 0 => Ok(Some(n as usize)),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
