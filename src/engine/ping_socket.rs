//! Host discovery without raw-socket privilege: ICMP echo through the kernel's datagram ICMP
//! sockets ("ping sockets": Linux allows them to the groups in `net.ipv4.ping_group_range`;
//! macOS to everyone). The kernel picks the identifier, checks the checksum and hands each
//! socket only the replies to its own identifier; the payload carries a random cookie the
//! reply must echo. One socket per attempt, driven by the connect engine.

use super::connector::{Attempt, Connector, classify_error};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub struct PingSocketConnector;

/// Can this process open a datagram ICMP socket?
pub fn available() -> bool {
    Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)).is_ok()
}

/// An echo request: type, code 0, checksum and identifier left to the kernel, sequence 1,
/// then the cookie.
fn request(v6: bool, cookie: u64) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = if v6 { 128 } else { 8 };
    p[7] = 1;
    p[8..].copy_from_slice(&cookie.to_be_bytes());
    p
}

/// Is `reply` the echo reply to our request? (macOS hands IPv4 replies over with their IP
/// header; Linux without.)
fn answers(reply: &[u8], v6: bool, cookie: u64) -> bool {
    let icmp = match reply.first() {
        Some(b) if !v6 && b >> 4 == 4 => reply.get(usize::from(b & 0xf) * 4..).unwrap_or(&[]),
        _ => reply,
    };
    let echo_reply = if v6 { 129 } else { 0 };
    icmp.len() >= 16 && icmp[0] == echo_reply && icmp[8..16] == cookie.to_be_bytes()
}

impl Connector for PingSocketConnector {
    async fn attempt(&self, target: SocketAddr, timeout: Duration) -> Attempt {
        let v6 = target.is_ipv6();
        let (domain, proto) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let socket = match Socket::new(domain, Type::DGRAM, Some(proto)) {
            Ok(s) => s,
            Err(e) => return classify_error(e, Duration::ZERO),
        };
        let to = SockAddr::from(SocketAddr::new(target.ip(), 0));
        if let Err(e) = socket
            .set_nonblocking(true)
            .and_then(|()| socket.connect(&to))
        {
            return classify_error(e, Duration::ZERO);
        }
        // tokio's UdpSocket only sends and receives datagrams on its descriptor, which is all
        // a ping socket needs; it saves registering the descriptor with the reactor by hand.
        let socket = match tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket)) {
            Ok(s) => s,
            Err(e) => return classify_error(e, Duration::ZERO),
        };
        let cookie: u64 = rand::random();
        let start = Instant::now();
        if let Err(e) = socket.send(&request(v6, cookie)).await {
            return classify_error(e, start.elapsed());
        }
        let wait = async {
            let mut buf = [0u8; 1500];
            loop {
                match socket.recv(&mut buf).await {
                    Ok(n) if answers(&buf[..n], v6, cookie) => {
                        return Attempt::Open {
                            rtt: start.elapsed(),
                        };
                    }
                    Ok(_) => continue, // not the reply to this request
                    Err(e) => return classify_error(e, start.elapsed()),
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Attempt::Silent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_must_echo_the_cookie() {
        let mut r = request(false, 42);
        r[0] = 0;
        assert!(answers(&r, false, 42));
        assert!(!answers(&r, false, 43));
        assert!(
            !answers(&request(false, 42), false, 42),
            "our own request is no reply"
        );
        let mut with_ip = vec![0x45u8];
        with_ip.extend([0u8; 19]);
        with_ip.extend_from_slice(&r);
        assert!(answers(&with_ip, false, 42));
        let mut r6 = request(true, 7);
        r6[0] = 129;
        assert!(answers(&r6, true, 7));
        assert!(!answers(&[0, 0], false, 7));
    }
}
