//! The parser on nmap's own output (a real nmap 7.93 run against loopback listeners) and on a
//! fixture with what real runs also give: CPEs, scripts with structured output and several
//! lines, escapes, TLS tunnels, IPv6, host scripts, closed ports and other protocols.

use super::*;
use proptest::prelude::*;

const LOOPBACK: &[u8] = include_bytes!("loopback.xml");
const SCRIPTS: &[u8] = include_bytes!("scripts.xml");

#[test]
fn a_real_nmap_run_gives_each_ports_service_and_scripts() {
    let found = parse(LOOPBACK, 7.0).unwrap();
    assert_eq!(found.len(), 2);
    let ssh = &found[0];
    assert_eq!(ssh.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!((ssh.port, ssh.proto), (18022, Proto::Tcp));
    assert_eq!(ssh.name, "ssh");
    assert_eq!(ssh.product.as_deref(), Some("OpenSSH"));
    assert_eq!(ssh.version.as_deref(), Some("9.2p1 Debian 2+deb12u3"));
    assert_eq!(ssh.extrainfo.as_deref(), Some("protocol 2.0"));
    assert_eq!((ssh.method.as_str(), ssh.conf), ("probed", 10));
    assert_eq!(
        ssh.cpe,
        ["cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"]
    );
    assert!(ssh.scripts.is_empty());
    assert_eq!(ssh.ts, 7.0);
    let http = &found[1];
    assert_eq!((http.port, http.name.as_str()), (18080, "http"));
    assert_eq!(http.product.as_deref(), Some("SimpleHTTPServer"));
    let ids: Vec<&str> = http.scripts.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["http-server-header", "http-title"]);
    assert_eq!(http.scripts[1].output, "Directory listing for /");
}

#[test]
fn scripts_tunnels_escapes_and_what_is_skipped() {
    let found = parse(SCRIPTS, 0.0).unwrap();
    let ports: Vec<u16> = found.iter().map(|s| s.port).collect();
    // 8080 is closed with nothing said; sctp/9 is no protocol synsweep scans.
    assert_eq!(ports, [22, 443]);
    let v6: IpAddr = "2001:db8::7".parse().unwrap();
    assert!(
        found.iter().all(|s| s.ip == v6),
        "the MAC address is no host address"
    );
    let ssh = &found[0];
    assert_eq!(ssh.scripts.len(), 1);
    assert_eq!(
        ssh.scripts[0].output,
        "\n  256 aa:bb (ECDSA)\n  256 cc:dd (ED25519)"
    );
    let web = &found[1];
    assert_eq!(web.tunnel.as_deref(), Some("ssl"));
    assert_eq!(web.version, None);
    // Escapes resolved; the escape character is kept for the sinks' sanitizer to show.
    assert_eq!(web.scripts[0].output, "Café <home> & more\u{1b}[2J");
    assert_eq!(web.scripts[1].id, "ssl-date");
}

#[test]
fn truncated_or_foreign_documents_are_errors() {
    // nmap killed part-way: what it wrote is no scan to merge.
    let cut = &SCRIPTS[..SCRIPTS.len() - 12];
    assert_eq!(parse(cut, 0.0), Err(XmlError::Truncated));
    assert!(matches!(
        parse(b"<a><b></a>", 0.0),
        Err(XmlError::Malformed(_))
    ));
    assert_eq!(parse(b"<html/>", 0.0), Err(XmlError::NotNmap));
    assert_eq!(parse(b"", 0.0), Err(XmlError::NotNmap));
}

proptest! {
    /// Any bytes: a value or an error, never a panic.
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..3000) {
        let _ = parse(&bytes, 0.0);
        let _ = parse(&LOOPBACK[..cut.min(LOOPBACK.len())], 0.0);
    }
}
