//! TLS for banners: a handshake that accepts any certificate (we report certificates; we do
//! not trust them), then the negotiated version and the leaf certificate's subject, issuer,
//! names and expiry (parsed by `x509-parser`). rustls with the ring provider: no system
//! library, no cmake.

use super::text::printable;
use crate::event::TlsInfo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The connector every TLS banner uses (built once per scan).
pub fn connector() -> Option<tokio_rustls::TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The name to ask for: the user's host name (sent as SNI), else the address (no SNI).
pub fn server_name(host: Option<&str>, ip: IpAddr) -> ServerName<'static> {
    host.and_then(|h| ServerName::try_from(h.to_string()).ok())
        .unwrap_or(ServerName::IpAddress(ip.into()))
}

pub fn version_name(v: Option<rustls::ProtocolVersion>) -> String {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
        Some(other) => format!("{other:?}"),
        None => "unknown".into(),
    }
}

/// The most subject alternative names kept (a certificate may list thousands).
pub const MAX_SANS: usize = 64;

/// What a leaf certificate says; None if it does not parse. Every field is printable and
/// bounded: subject and issuer 512 bytes, at most `MAX_SANS` names of 256.
pub fn describe(version: String, der: &[u8]) -> Option<TlsInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in ext.value.general_names.iter().take(MAX_SANS) {
            match name {
                GeneralName::DNSName(n) => sans.push(printable(n.as_bytes(), 256)),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    sans.extend(ip.map(|a| a.to_string()));
                }
                _ => {}
            }
        }
    }
    let expiry = cert.validity().not_after.timestamp();
    let not_after = u64::try_from(expiry)
        .ok()
        .map(|s| humantime::format_rfc3339(UNIX_EPOCH + Duration::from_secs(s)).to_string())
        .unwrap_or_else(|| expiry.to_string());
    Some(TlsInfo {
        version,
        subject: printable(cert.subject().to_string().as_bytes(), 512),
        issuer: printable(cert.issuer().to_string().as_bytes(), 512),
        sans,
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let n = body.len();
        let mut v = vec![tag];
        match n {
            0..128 => v.push(n as u8),
            128..256 => v.extend([0x81, n as u8]),
            _ => v.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        v.extend_from_slice(body);
        v
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        der(0x30, &parts.concat())
    }

    /// A distinguished name of one common name.
    fn name(cn: &[u8]) -> Vec<u8> {
        seq(&[der(0x31, &seq(&[der(0x06, &[0x55, 4, 3]), der(0x0c, cn)]))])
    }

    /// A leaf certificate built by hand (x509-parser reads its structure; nothing checks
    /// the signature): `cn` as subject and issuer, `sans` as DNS names.
    fn cert(cn: &[u8], sans: &[Vec<u8>]) -> Vec<u8> {
        let rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1];
        let alg = seq(&[der(0x06, &[&rsa[..], &[11]].concat()), der(0x05, &[])]);
        let validity = seq(&[der(0x17, b"250101000000Z"), der(0x17, b"491231235959Z")]);
        let key = seq(&[
            seq(&[der(0x06, &[&rsa[..], &[1]].concat()), der(0x05, &[])]),
            der(0x03, &[0, 0x30, 0]),
        ]);
        let names: Vec<Vec<u8>> = sans.iter().map(|n| der(0x82, n)).collect();
        let san = seq(&[der(0x06, &[0x55, 0x1d, 0x11]), der(0x04, &seq(&names))]);
        let tbs = seq(&[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &[1]),
            alg.clone(),
            name(cn),
            validity,
            name(cn),
            key,
            der(0xa3, &seq(&[san])),
        ]);
        seq(&[tbs, alg, der(0x03, &[0, 1, 2, 3])])
    }

    #[test]
    fn hostile_certificates_give_bounded_printable_fields() {
        let sans: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("h{i}.\x1b[2J.lab").into_bytes())
            .collect();
        let der = cert("evil\x1b]0;x\x07\u{202e}".as_bytes(), &sans);
        let info = describe("TLSv1.3".into(), &der).expect("the hand-built certificate parses");
        assert_eq!(info.sans.len(), MAX_SANS);
        assert!(
            info.sans[0].starts_with("h0.\\x1b[2J"),
            "{:?}",
            info.sans[0]
        );
        assert!(info.subject.contains("evil"), "{}", info.subject);
        for s in [&info.subject, &info.issuer, &info.not_after]
            .into_iter()
            .chain(&info.sans)
        {
            assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
        }
        assert_eq!(info.not_after, "2049-12-31T23:59:59Z");
    }

    proptest! {
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = describe("TLSv1.3".into(), &bytes);
        }

        /// The hand-built certificate with bytes changed: lengths, tags, the SAN list.
        #[test]
        fn mutated_certificates_are_safe_and_bounded(
            n in 0usize..80,
            hits in proptest::collection::vec((any::<proptest::sample::Index>(), prop_oneof![Just(0xffu8), Just(0x80), Just(0x84), Just(0), any::<u8>()]), 0..4),
        ) {
            let sans: Vec<Vec<u8>> = (0..n).map(|i| format!("h{i}.lab").into_bytes()).collect();
            let mut der = cert(b"web.lab", &sans);
            for (at, b) in hits {
                let i = at.index(der.len());
                der[i] = b;
            }
            if let Some(info) = describe("TLSv1.3".into(), &der) {
                prop_assert!(info.sans.len() <= MAX_SANS);
                prop_assert!(info.subject.len() <= 512 && info.issuer.len() <= 512);
                prop_assert!(info.sans.iter().all(|s| s.len() <= 256));
            }
        }
    }

    #[test]
    fn a_connector_builds_and_names_follow_the_target() {
        assert!(connector().is_some());
        let ip: IpAddr = "198.18.0.7".parse().unwrap();
        assert!(matches!(
            server_name(Some("web.lab"), ip),
            ServerName::DnsName(_)
        ));
        assert!(matches!(server_name(None, ip), ServerName::IpAddress(_)));
    }
}
