//! Privilege as a value, discovered once; the engine is a pure function of what was asked and
//! what the process may do (table-tested below).

/// What this process may do with the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    /// A raw packet socket can be opened (effective CAP_NET_RAW on Linux, not the uid).
    pub raw_packets: bool,
    /// A datagram ICMP socket can be opened (Linux: our group is in
    /// `net.ipv4.ping_group_range`; macOS: always).
    pub icmp_sockets: bool,
}

impl Privilege {
    /// Asks the kernel by opening (and closing) a packet socket: the only test that also
    /// covers capabilities granted with setcap, user namespaces and seccomp.
    pub fn discover() -> Privilege {
        Privilege {
            raw_packets: can_open_packet_socket(),
            icmp_sockets: crate::engine::ping_socket::available(),
        }
    }
}

#[cfg(target_os = "linux")]
fn can_open_packet_socket() -> bool {
    socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, None).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn can_open_packet_socket() -> bool {
    false
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScanType {
    /// `-sS`: TCP SYN through the raw engine.
    Syn,
    /// `-sT`: TCP connect through the kernel's sockets.
    Connect,
    /// `-sn`: host discovery by ICMP echo through the raw engine.
    Ping,
    /// `-sU`: UDP with protocol payloads, through the raw engine or connected sockets.
    Udp,
}

/// The ports an unprivileged host sweep connects to.
pub const TCP_PING_PORTS: [u16; 2] = [80, 443];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Raw,
    Connect,
    /// Host sweeps without raw packets: ICMP echo through datagram ICMP sockets.
    PingSocket,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineChoice {
    pub engine: Engine,
    /// One line for stderr when the choice differs from what was asked.
    pub notice: Option<String>,
}

/// Which engine runs a scan. `requested` is `None` when the user named no scan type: SYN when
/// it can run, else connect. `raw_built` says whether this build has a raw engine.
pub fn choose_engine(
    requested: Option<ScanType>,
    privilege: Privilege,
    raw_built: bool,
    privileged_only: bool,
) -> Result<EngineChoice, String> {
    let connect = |notice: Option<String>| {
        Ok(EngineChoice {
            engine: Engine::Connect,
            notice,
        })
    };
    match requested {
        Some(ScanType::Connect) => connect(None),
        Some(ScanType::Ping) if raw_built && privilege.raw_packets => Ok(EngineChoice {
            engine: Engine::Raw,
            notice: None,
        }),
        Some(ScanType::Ping) if privileged_only => Err(
            "--privileged-only: cannot send ICMP echo: no raw-socket privilege (CAP_NET_RAW)"
                .into(),
        ),
        // The same question without raw packets, where the system lets us ask it.
        Some(ScanType::Ping) if privilege.icmp_sockets => Ok(EngineChoice {
            engine: Engine::PingSocket,
            notice: Some(
                "no raw-socket privilege (CAP_NET_RAW); host discovery by ICMP echo through datagram sockets (net.ipv4.ping_group_range allows them)"
                    .into(),
            ),
        }),
        // Without raw packets a host still shows itself by answering a TCP connect, open or
        // refused: the sweep runs on the connect engine and says so.
        Some(ScanType::Ping) => connect(Some(format!(
            "{}; host discovery by TCP connect to ports {} (a host is up when one answers, open or refused)",
            if raw_built {
                "no raw-socket privilege (CAP_NET_RAW)"
            } else {
                "this build has no raw-packet engine"
            },
            TCP_PING_PORTS.map(|p| p.to_string()).join(" and ")
        ))),
        // Nothing asked and nothing to offer: the connect scan is simply the scan.
        None if !raw_built && !privileged_only => connect(None),
        Some(ScanType::Udp) if raw_built && privilege.raw_packets => Ok(EngineChoice {
            engine: Engine::Raw,
            notice: None,
        }),
        Some(ScanType::Udp) if privileged_only => Err(
            "--privileged-only: cannot send raw UDP probes: no raw-socket privilege (CAP_NET_RAW)"
                .into(),
        ),
        // A connected UDP socket hears the target's ICMP port unreachable as ECONNREFUSED:
        // the same three states, one socket per probe.
        Some(ScanType::Udp) => connect(Some(format!(
            "{}; UDP scan through connected sockets",
            if raw_built {
                "no raw-socket privilege (CAP_NET_RAW)"
            } else {
                "this build has no raw-packet engine"
            }
        ))),
        Some(ScanType::Syn) | None => {
            let why = if !raw_built {
                "this build has no raw-packet engine"
            } else if !privilege.raw_packets {
                "no raw-socket privilege (CAP_NET_RAW)"
            } else {
                return Ok(EngineChoice {
                    engine: Engine::Raw,
                    notice: None,
                });
            };
            if privileged_only {
                Err(format!("--privileged-only: cannot run a SYN scan: {why}"))
            } else if requested.is_some() {
                connect(Some(format!(
                    "SYN scan unavailable ({why}); using TCP connect scan"
                )))
            } else {
                connect(Some(format!("{why}; using TCP connect scan")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Engine::*;

    #[test]
    fn engine_table() {
        let (root, user) = (
            Privilege {
                raw_packets: true,
                icmp_sockets: false,
            },
            Privilege {
                raw_packets: false,
                icmp_sockets: false,
            },
        );
        let pinger = Privilege {
            raw_packets: false,
            icmp_sockets: true,
        };
        let syn = Some(ScanType::Syn);
        let tcp = Some(ScanType::Connect);
        let ping = Some(ScanType::Ping);
        let udp = Some(ScanType::Udp);
        // (requested, privilege, raw built, privileged-only) -> engine, or None for refusal
        let table = [
            (tcp, root, true, false, Some(Connect), false),
            (tcp, user, true, false, Some(Connect), false),
            (tcp, user, true, true, Some(Connect), false),
            (syn, root, true, false, Some(Raw), false),
            (None, root, true, false, Some(Raw), false),
            (syn, user, true, false, Some(Connect), true),
            (None, user, true, false, Some(Connect), true),
            (syn, user, true, true, None, false),
            (None, user, true, true, None, false),
            (syn, root, true, true, Some(Raw), false),
            (syn, root, false, false, Some(Connect), true),
            (syn, root, false, true, None, false),
            (None, root, false, false, Some(Connect), false),
            (None, user, false, false, Some(Connect), false),
            (None, root, false, true, None, false),
            (ping, root, true, false, Some(Raw), false),
            (ping, root, true, true, Some(Raw), false),
            (ping, user, true, false, Some(Connect), true),
            (ping, root, false, false, Some(Connect), true),
            (ping, user, true, true, None, false),
            (ping, pinger, true, false, Some(PingSocket), true),
            (ping, pinger, false, false, Some(PingSocket), true),
            (ping, pinger, true, true, None, false),
            (syn, pinger, true, false, Some(Connect), true),
            (udp, root, true, false, Some(Raw), false),
            (udp, user, true, false, Some(Connect), true),
            (udp, root, false, false, Some(Connect), true),
            (udp, user, true, true, None, false),
        ];
        for (req, privilege, built, only, want, notice) in table {
            let got = choose_engine(req, privilege, built, only);
            match want {
                Some(e) => {
                    let c = got.unwrap();
                    assert_eq!(c.engine, e, "{req:?} {privilege:?} {built} {only}");
                    assert_eq!(c.notice.is_some(), notice, "{req:?} {privilege:?}");
                }
                None => assert!(got.unwrap_err().contains("--privileged-only")),
            }
        }
    }
}
