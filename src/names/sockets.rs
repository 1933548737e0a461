//! The PTR client's source ports: a fresh connected UDP socket every `PER_PORT` queries (a
//! spoofed answer must guess the port as well as the id), each closed once nothing sent from
//! it is still waiting. Connected: the kernel drops datagrams from anyone but the server, and
//! reports its ICMP port-unreachable as ECONNREFUSED.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Queries sent from one source port before the next goes out from a fresh one.
pub const PER_PORT: usize = 16;
/// Datagrams read from one socket per wake-up, so one busy socket cannot starve the rest.
const READS_PER_WAKE: usize = 64;

struct Port {
    socket: UdpSocket,
    sent: usize,
    waiting: usize,
}

pub struct Ports {
    server: SocketAddr,
    open: BTreeMap<u64, Port>,
    next: u64,
}

impl Ports {
    pub fn new(server: SocketAddr) -> Ports {
        Ports {
            server,
            open: BTreeMap::new(),
            next: 0,
        }
    }

    fn fresh(&self) -> io::Result<UdpSocket> {
        let any = match self.server {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let s = UdpSocket::bind(any)?;
        s.connect(self.server)?;
        s.set_nonblocking(true)?;
        Ok(s)
    }

    /// Sends `q` from the current port (a fresh one when it has sent its share); the port's
    /// serial number, which an answer must come back on.
    pub fn send(&mut self, q: &[u8]) -> io::Result<u64> {
        let current = self
            .open
            .last_key_value()
            .filter(|(_, p)| p.sent < PER_PORT)
            .map(|(&k, _)| k);
        let serial = match current {
            Some(k) => k,
            None => {
                let socket = self.fresh()?;
                self.next += 1;
                self.open.insert(
                    self.next,
                    Port {
                        socket,
                        sent: 0,
                        waiting: 0,
                    },
                );
                self.next
            }
        };
        let port = self
            .open
            .get_mut(&serial)
            .ok_or_else(|| io::Error::other("no socket"))?;
        port.sent += 1;
        port.socket.send(q)?;
        port.waiting += 1;
        Ok(serial)
    }

    /// One query sent from `serial` is settled (answered, or sent again elsewhere).
    pub fn answered(&mut self, serial: u64) {
        let newest = self.open.last_key_value().map(|(&k, _)| k);
        if let Some(p) = self.open.get_mut(&serial) {
            p.waiting = p.waiting.saturating_sub(1);
            if p.waiting == 0 && (p.sent >= PER_PORT || Some(serial) != newest) {
                self.open.remove(&serial);
            }
        }
    }

    /// What arrived on any port within `wait`: (serial, datagram or error).
    pub fn receive(&mut self, wait: Duration) -> Vec<(u64, io::Result<Vec<u8>>)> {
        let serials: Vec<u64> = self.open.keys().copied().collect();
        let mut fds: Vec<libc::pollfd> = self
            .open
            .values()
            .map(|p| libc::pollfd {
                fd: p.socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if fds.is_empty() {
            std::thread::sleep(wait);
            return Vec::new();
        }
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fds` is a live, writable array of exactly `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        let mut got = Vec::new();
        if n <= 0 {
            return got;
        }
        let mut buf = [0u8; 4096];
        for (fd, serial) in fds.iter().zip(serials) {
            let Some(p) = self.open.get(&serial).filter(|_| fd.revents != 0) else {
                continue;
            };
            for _ in 0..READS_PER_WAKE {
                match p.socket.recv(&mut buf) {
                    Ok(n) => got.push((serial, Ok(buf[..n].to_vec()))),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        got.push((serial, Err(e)));
                        break;
                    }
                }
            }
        }
        got
    }
}
