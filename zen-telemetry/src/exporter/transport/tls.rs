//! TLS for the HTTP transport: rustls with the system's roots, Mozilla's
//! (webpki) roots and the configured CA, and the client certificate when one
//! is configured. (tonic builds the same from the same files for gRPC.)

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsFiles;

/// Mozilla's roots and the system's, read from the system once per process
/// (the span and metric destinations share them).
fn public_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // A system without a certificate store still has Mozilla's roots.
        for certificate in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(certificate);
        }
        roots
    })
}

/// The client configuration for `files` (read and checked by the
/// configuration). Only an `https` destination gets roots: a plaintext one
/// never makes a handshake, so the system's store is not read for it.
pub(crate) fn client_config(files: &TlsFiles, https: bool) -> Result<rustls::ClientConfig, String> {
    let mut roots = if https {
        public_roots().clone()
    } else {
        RootCertStore::empty()
    };
    if https && let Some(pem) = files.certificate.as_ref().and_then(|file| file.pem()) {
        for certificate in CertificateDer::pem_slice_iter(pem).flatten() {
            roots
                .add(certificate)
                .map_err(|e| format!("the CA certificate cannot be used: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots);
    let identity = files
        .client_certificate
        .as_ref()
        .and_then(|file| file.pem())
        .zip(files.client_key.as_ref().and_then(|file| file.pem()));
    // No ALPN here: hyper-rustls sets `http/1.1` itself, and panics on a
    // configuration that already has protocols.
    let config = match identity {
        Some((chain, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain).flatten().collect();
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("the client key cannot be used: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate cannot be used: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}
