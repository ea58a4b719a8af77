//! TLS for the team archive, with rustls (no OpenSSL to install) and libpq's `sslmode`
//! meanings: `require` encrypts without checking who answers (unless `sslrootcert` is
//! given), `verify-ca` checks the certificate chain, `verify-full` also the host name.
//! Trusted roots: `sslrootcert`, else `~/.postgresql/root.crt`, else the system's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::{Address, TlsMode};
use crate::error::Result;

/// The connector for `address`, and the `sslmode` to hand to the driver.
pub fn connector(address: &Address) -> Result<(MakeRustlsConnect, postgres::config::SslMode)> {
    use postgres::config::SslMode;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // A unix socket is local: libpq ignores sslmode there, and so do we.
    let local = address
        .config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, postgres::config::Host::Unix(_)));
    let mode = if local { TlsMode::Disable } else { address.tls };
    let roots = || load_roots(address);
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::Disable | TlsMode::Prefer => Arc::new(Unchecked(provider.clone())),
        TlsMode::Require if address.root_cert.is_none() => Arc::new(Unchecked(provider.clone())),
        TlsMode::Require | TlsMode::VerifyCa => {
            Arc::new(ChainOnly(webpki(roots()?, &provider, address)?))
        }
        TlsMode::VerifyFull => webpki(roots()?, &provider, address)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| address.error("setting up TLS", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let ssl = match mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        _ => SslMode::Require,
    };
    Ok((MakeRustlsConnect::new(config), ssl))
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
    address: &Address,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| address.error("setting up TLS", e))
}

/// The trusted roots: `sslrootcert`, else `~/.postgresql/root.crt`, else the system's.
fn load_roots(address: &Address) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let default = std::env::var_os("HOME").map(|h| Path::new(&h).join(".postgresql/root.crt"));
    let file: Option<PathBuf> = address
        .root_cert
        .clone()
        .or_else(|| default.filter(|p| p.is_file()));
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
                address.error("reading sslrootcert", format!("{}: {e}", path.display()))
            })?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    address.error("reading sslrootcert", format!("{}: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    address.error("reading sslrootcert", format!("{}: {e}", path.display()))
                })?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // One unusable system certificate does not make the others unusable.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(address.error(
            "setting up TLS",
            "no trusted root certificate (give sslrootcert=FILE)",
        ));
    }
    Ok(roots)
}

/// Accepts any certificate: libpq's `prefer` and `require` (encryption without knowing who
/// answers). Handshake signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
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
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Checks the certificate chain but not the host name: libpq's `verify-ca`.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
