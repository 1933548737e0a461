//! UDP probes: the payload each well-known port gets so that a real service answers, and the
//! check that an answer is to *our* payload. A UDP service ignores what it does not
//! understand, so an empty datagram finds few open ports; a protocol request finds them.
//!
//! Where the protocol has an id field (DNS transaction id, SNMP request id, NTP transmit
//! time, IKE initiator SPI …) it carries bits of the probe's cookie and the answer must echo
//! them; an answer that does not is forged. Protocols without such a field are proven by the
//! source port the cookie chose alone (the capture checks it for every UDP answer).
//!
//! Writing never allocates (the sender's path); checking never panics on any bytes.

mod binary;
mod dns;
mod ntp;
mod snmp;
mod text;
mod writer;

pub use writer::Writer;

/// The largest payload we send (a probe must fit a frame slot, see `link::batch`).
pub const MAX_PAYLOAD: usize = 512;

/// What a UDP answer proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// It echoes the cookie bits our payload carried.
    Proven,
    /// The protocol has no field we could set: the source port is the only proof.
    PortOnly,
    /// It should echo our id and does not: someone else's answer, or a forgery.
    Forged,
}

/// One protocol's probe.
struct Protocol {
    name: &'static str,
    ports: &'static [u16],
    write: fn(u64, &mut Writer),
    check: fn(u64, &[u8]) -> Check,
}

const PROTOCOLS: &[Protocol] = &[
    Protocol {
        name: "echo",
        ports: &[7],
        write: binary::echo,
        check: binary::check_echo,
    },
    Protocol {
        name: "dns",
        ports: &[53],
        write: dns::version_query,
        check: dns::check,
    },
    Protocol {
        name: "portmap",
        ports: &[111],
        write: binary::rpc_null,
        check: binary::check_rpc,
    },
    Protocol {
        name: "ntp",
        ports: &[123],
        write: ntp::client_request,
        check: ntp::check,
    },
    Protocol {
        name: "netbios-ns",
        ports: &[137],
        write: dns::netbios_status,
        check: dns::check,
    },
    Protocol {
        name: "snmp",
        ports: &[161],
        write: snmp::get_request,
        check: snmp::check,
    },
    Protocol {
        name: "ike",
        ports: &[500],
        write: binary::ike_main_mode,
        check: binary::check_ike,
    },
    Protocol {
        name: "rip",
        ports: &[520],
        write: binary::rip_request,
        check: port_only,
    },
    Protocol {
        name: "ipmi",
        ports: &[623],
        write: binary::rmcp_ping,
        check: binary::check_rmcp,
    },
    Protocol {
        name: "openvpn",
        ports: &[1194],
        write: binary::openvpn_reset,
        check: binary::check_openvpn,
    },
    Protocol {
        name: "ms-sql-m",
        ports: &[1434],
        write: binary::mssql_browse,
        check: port_only,
    },
    Protocol {
        name: "ssdp",
        ports: &[1900],
        write: text::ssdp_search,
        check: port_only,
    },
    Protocol {
        name: "stun",
        ports: &[3478],
        write: binary::stun_binding,
        check: binary::check_stun,
    },
    Protocol {
        name: "ws-discovery",
        ports: &[3702],
        write: text::wsd_probe,
        check: text::check_wsd,
    },
    Protocol {
        name: "sip",
        ports: &[5060],
        write: text::sip_options,
        check: text::check_sip,
    },
    Protocol {
        name: "nat-pmp",
        ports: &[5351],
        write: binary::natpmp_address,
        check: port_only,
    },
    Protocol {
        name: "mdns",
        ports: &[5353],
        write: dns::mdns_services,
        check: dns::check,
    },
    Protocol {
        name: "coap",
        ports: &[5683],
        write: binary::coap_core,
        check: binary::check_coap,
    },
    Protocol {
        name: "ubiquiti",
        ports: &[10001],
        write: binary::ubiquiti,
        check: port_only,
    },
    Protocol {
        name: "memcached",
        ports: &[11211],
        write: binary::memcached_version,
        check: binary::check_memcached,
    },
];

fn port_only(_: u64, _: &[u8]) -> Check {
    Check::PortOnly
}

fn protocol(port: u16) -> Option<&'static Protocol> {
    PROTOCOLS.iter().find(|p| p.ports.contains(&port))
}

/// The protocol probed on `port`, if it has one (else the probe is an empty datagram).
pub fn protocol_name(port: u16) -> Option<&'static str> {
    protocol(port).map(|p| p.name)
}

/// Ports that get a protocol payload.
pub fn payload_ports() -> impl Iterator<Item = u16> {
    PROTOCOLS.iter().flat_map(|p| p.ports.iter().copied())
}

/// Writes the payload for `port` carrying `cookie` into `out`; its length, or None if `out`
/// is too small (never for `MAX_PAYLOAD` bytes).
pub fn write_payload(port: u16, cookie: u64, out: &mut [u8]) -> Option<usize> {
    let mut w = Writer::new(out);
    if let Some(p) = protocol(port) {
        (p.write)(cookie, &mut w);
    }
    w.finish()
}

/// Does `reply` (a UDP payload from `port`) answer the payload we sent with `cookie`?
pub fn check_reply(port: u16, cookie: u64, reply: &[u8]) -> Check {
    match protocol(port) {
        Some(p) => (p.check)(cookie, reply),
        None => Check::PortOnly,
    }
}

/// The cookie's low 16 bits: the id of protocols with 16-bit ids.
fn id16(cookie: u64) -> u16 {
    cookie as u16
}

#[cfg(test)]
mod tests;
