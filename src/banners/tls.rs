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

/// What a leaf certificate says; None if it does not parse.
pub fn describe(version: String, der: &[u8]) -> Option<TlsInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
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

    proptest! {
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = describe("TLSv1.3".into(), &bytes);
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
