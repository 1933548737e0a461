//! One connect attempt to one address: the seam between the connect engine's scheduling and
//! the kernel's sockets. Tests script a fake network behind the same trait.

use crate::event::Reason;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What one attempt learned.
#[derive(Debug)]
pub enum Attempt {
    /// The handshake completed.
    Open { rtt: Duration },
    /// The target said no: RST (`ECONNREFUSED`/`ECONNRESET`).
    Closed { reason: Reason, rtt: Duration },
    /// An ICMP unreachable came back (host, network, administratively prohibited).
    Unreachable { reason: Reason, rtt: Duration },
    /// Nothing came back before the timeout.
    Silent,
    /// A local shortage (file descriptors, ephemeral ports, buffers): says nothing about the
    /// target; the engine slows down and tries again.
    Resource(io::Error),
}

pub trait Connector: Send + Sync + 'static {
    fn attempt(
        &self,
        target: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = Attempt> + Send;
}

/// The real thing: a non-blocking kernel socket per attempt, driven by tokio.
pub struct KernelConnector;

impl Connector for KernelConnector {
    async fn attempt(&self, target: SocketAddr, timeout: Duration) -> Attempt {
        let socket = match target {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        };
        let socket = match socket {
            Ok(s) => s,
            Err(e) => return classify_error(e, Duration::ZERO),
        };
        // SO_LINGER 0: closing sends RST and frees the port at once instead of leaving a
        // TIME_WAIT entry behind for every open port found.
        if let Err(e) = socket2::SockRef::from(&socket).set_linger(Some(Duration::ZERO)) {
            return classify_error(e, Duration::ZERO);
        }
        let start = Instant::now();
        match tokio::time::timeout(timeout, socket.connect(target)).await {
            Ok(Ok(stream)) => connected(&stream, start.elapsed()),
            Ok(Err(e)) => classify_error(e, start.elapsed()),
            Err(_) => Attempt::Silent,
        }
    }
}

/// A completed handshake, unless the socket connected to itself. A connect to a port of this
/// machine's ephemeral range can be given that very port as its source: its SYN then meets
/// itself and TCP's simultaneous open completes a connection with no listener behind it.
/// That only happens when nothing listens there (the kernel hands out no source port a
/// listener holds), so the port is closed.
fn connected(stream: &tokio::net::TcpStream, rtt: Duration) -> Attempt {
    match (stream.local_addr(), stream.peer_addr()) {
        (Ok(local), Ok(peer)) if local == peer => Attempt::Closed {
            reason: Reason::ConnRefused,
            rtt,
        },
        _ => Attempt::Open { rtt },
    }
}

/// Sorts a socket error into an answer from the target, silence, or a local shortage.
pub fn classify_error(e: io::Error, rtt: Duration) -> Attempt {
    let reason = match e.kind() {
        io::ErrorKind::ConnectionRefused => Some(Reason::ConnRefused),
        io::ErrorKind::ConnectionReset => Some(Reason::Reset),
        _ => None,
    };
    if let Some(reason) = reason {
        return Attempt::Closed { reason, rtt };
    }
    match e.raw_os_error() {
        Some(libc::EHOSTUNREACH) => Attempt::Unreachable {
            reason: Reason::HostUnreach,
            rtt,
        },
        Some(libc::ENETUNREACH) => Attempt::Unreachable {
            reason: Reason::NetUnreach,
            rtt,
        },
        Some(
            libc::EMFILE
            | libc::ENFILE
            | libc::EADDRNOTAVAIL
            | libc::EADDRINUSE
            | libc::ENOBUFS
            | libc::ENOMEM
            | libc::EAGAIN
            | libc::EINTR,
        ) => Attempt::Resource(e),
        // ETIMEDOUT and anything unexpected: no answer we can trust; treated as silence, so
        // it is retried and ends as filtered rather than invented as closed.
        _ => Attempt::Silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> Attempt {
        classify_error(io::Error::from_raw_os_error(code), Duration::from_millis(1))
    }

    #[test]
    fn errors_sort_into_answers_silence_and_shortages() {
        assert!(matches!(
            os(libc::ECONNREFUSED),
            Attempt::Closed {
                reason: Reason::ConnRefused,
                ..
            }
        ));
        assert!(matches!(
            os(libc::EHOSTUNREACH),
            Attempt::Unreachable {
                reason: Reason::HostUnreach,
                ..
            }
        ));
        assert!(matches!(
            os(libc::ENETUNREACH),
            Attempt::Unreachable {
                reason: Reason::NetUnreach,
                ..
            }
        ));
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::EADDRNOTAVAIL,
            libc::ENOBUFS,
            libc::EAGAIN,
        ] {
            assert!(matches!(os(code), Attempt::Resource(_)), "errno {code}");
        }
        assert!(matches!(os(libc::ETIMEDOUT), Attempt::Silent));
    }

    /// The race behind false opens on localhost, made certain: a socket bound to the very
    /// port it connects to completes a handshake with itself, with no listener anywhere.
    #[tokio::test]
    async fn a_socket_connected_to_itself_is_closed_not_open() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let own = socket.local_addr().unwrap();
        let stream = socket.connect(own).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), own, "no self-connect happened");
        assert!(matches!(
            connected(&stream, Duration::ZERO),
            Attempt::Closed {
                reason: Reason::ConnRefused,
                ..
            }
        ));
        // A real listener's connection stays open.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(to).await.unwrap();
        assert!(matches!(
            connected(&stream, Duration::ZERO),
            Attempt::Open { .. }
        ));
    }
}
