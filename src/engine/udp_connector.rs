//! UDP for the connect engine (no raw-socket privilege): one connected kernel socket per
//! attempt. The port's protocol payload goes out; a datagram that answers it (the same id
//! check as the raw engine's) is open; the host's ICMP port unreachable, which Linux hands a
//! connected UDP socket as ECONNREFUSED, is closed; silence is open|filtered.

use super::connector::{Attempt, Connector, classify_error};
use crate::event::Reason;
use crate::udp::{Check, MAX_PAYLOAD, check_reply, write_payload};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

pub struct UdpConnector;

/// Errors of a UDP socket: a refusal is the port unreachable; the rest as for TCP.
fn classify(e: io::Error, rtt: Duration) -> Attempt {
    if e.kind() == io::ErrorKind::ConnectionRefused {
        return Attempt::Closed {
            reason: Reason::PortUnreach,
            rtt,
        };
    }
    classify_error(e, rtt)
}

impl Connector for UdpConnector {
    async fn attempt(&self, target: SocketAddr, timeout: Duration) -> Attempt {
        let local: SocketAddr = match target {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = match UdpSocket::bind(local).await {
            Ok(s) => s,
            Err(e) => return classify(e, Duration::ZERO),
        };
        if let Err(e) = socket.connect(target).await {
            return classify(e, Duration::ZERO);
        }
        // No cookie to keep stateless here: the socket is the state, and a fresh random id
        // per attempt is what the answer must echo.
        let cookie: u64 = rand::random();
        let mut payload = [0u8; MAX_PAYLOAD];
        let Some(n) = write_payload(target.port(), cookie, &mut payload) else {
            return Attempt::Silent;
        };
        let start = Instant::now();
        if let Err(e) = socket.send(&payload[..n]).await {
            return classify(e, start.elapsed());
        }
        let mut buf = vec![0u8; 65536];
        let answered = tokio::time::timeout(timeout, async {
            loop {
                match socket.recv(&mut buf).await {
                    Ok(len) if check_reply(target.port(), cookie, &buf[..len]) != Check::Forged => {
                        return Attempt::Open {
                            rtt: start.elapsed(),
                        };
                    }
                    Ok(_) => continue, // not an answer to this attempt: keep listening
                    Err(e) => return classify(e, start.elapsed()),
                }
            }
        })
        .await;
        answered.unwrap_or(Attempt::Silent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> Attempt {
        classify(io::Error::from_raw_os_error(code), Duration::ZERO)
    }

    #[test]
    fn a_refusal_is_a_closed_port_and_shortages_stay_shortages() {
        assert!(matches!(
            os(libc::ECONNREFUSED),
            Attempt::Closed {
                reason: Reason::PortUnreach,
                ..
            }
        ));
        assert!(matches!(os(libc::EMFILE), Attempt::Resource(_)));
        assert!(matches!(os(libc::ETIMEDOUT), Attempt::Silent));
    }

    /// On loopback: an answer (an echo server) and a closed port (the kernel's ICMP). Wrong
    /// ids need a protocol port; the lab's forging responder covers them.
    #[tokio::test]
    async fn loopback_answers_and_refusals() {
        let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let echo_addr = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 1500];
            if let Ok((n, from)) = echo.recv_from(&mut b) {
                let _ = echo.send_to(&b[..n], from);
            }
        });
        let t = Duration::from_millis(500);
        assert!(matches!(
            UdpConnector.attempt(echo_addr, t).await,
            Attempt::Open { .. }
        ));
        assert!(matches!(
            UdpConnector.attempt(closed_addr, t).await,
            Attempt::Closed {
                reason: Reason::PortUnreach,
                ..
            }
        ));
    }
}
