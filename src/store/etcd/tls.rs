//! TLS for `etcds://` URLs: rustls with the ring provider, configured from
//! `JSAFE_ETCD_CACERT` (PEM: the CAs that may sign a member's certificate;
//! the system bundle when unset), `JSAFE_ETCD_CERT` and `JSAFE_ETCD_KEY`
//! (PEM: the client certificate and its key, both or neither). Secrets are
//! named by the environment, never by the command line.
//!
//! The configuration is built once per process, when the first `etcds://`
//! URL is connected; from then on every connection the process opens to a
//! member speaks TLS (a process never falls back to clear text). A local
//! path never reaches this module.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// The system's CA bundle (Debian's), used when `JSAFE_ETCD_CACERT` is unset.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Build the TLS configuration from the environment (once per process).
pub(super) fn enable() -> Result<(), String> {
    if CONFIG.get().is_some() {
        return Ok(());
    }
    let config = build()?;
    let _ = CONFIG.set(Arc::new(config));
    Ok(())
}

/// The configuration, when this process speaks TLS to etcd.
pub(super) fn config() -> Option<Arc<ClientConfig>> {
    CONFIG.get().cloned()
}

fn var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS: cannot read {what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "TLS: {what} {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

fn build() -> Result<ClientConfig, String> {
    // ring: small, builds without a C toolchain beyond cc. It has no
    // post-quantum key exchange (hence the deprecation note); etcd's Go TLS
    // agrees X25519 with it.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (ca_what, ca_path) = match var("JSAFE_ETCD_CACERT") {
        Some(p) => ("JSAFE_ETCD_CACERT", std::path::PathBuf::from(p)),
        None => ("the system CA bundle", std::path::PathBuf::from(SYSTEM_CAS)),
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(ca_what, &ca_path)? {
        roots.add(cert).map_err(|e| {
            format!(
                "TLS: {ca_what} {}: a certificate is not usable as a CA: {e}",
                ca_path.display()
            )
        })?;
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    match (var("JSAFE_ETCD_CERT"), var("JSAFE_ETCD_KEY")) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = certs("JSAFE_ETCD_CERT", Path::new(&cert))?;
            let key_path = Path::new(&key);
            let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
                format!(
                    "TLS: cannot read a private key from JSAFE_ETCD_KEY {}: {e}",
                    key_path.display()
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("TLS: client certificate and key: {e}"))
        }
        (Some(_), None) => Err("TLS: JSAFE_ETCD_CERT is set without JSAFE_ETCD_KEY".to_owned()),
        (None, Some(_)) => Err("TLS: JSAFE_ETCD_KEY is set without JSAFE_ETCD_CERT".to_owned()),
    }
}
