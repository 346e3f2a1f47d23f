//! TLS to Redis: a private CA and a client certificate read from PEM files, and connect
//! errors that name the setting to fix.

use std::path::PathBuf;

#[cfg(any(feature = "rustls", feature = "native-tls"))]
use redis::{ClientTlsConfig, TlsCertificates};

use crate::store::StoreError;

/// A PEM file and the name of the setting it came from (a builder method or an environment
/// variable), for error messages.
#[derive(Clone, Debug)]
pub(super) struct PemFile {
    pub(super) setting: &'static str,
    pub(super) path: PathBuf,
}

impl PemFile {
    #[cfg_attr(not(any(feature = "rustls", feature = "native-tls")), allow(dead_code))]
    fn read(&self) -> Result<Vec<u8>, StoreError> {
        let bytes = std::fs::read(&self.path).map_err(|e| {
            StoreError::with_source(format!("{} could not be read", self.setting), e)
        })?;
        if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(StoreError::new(format!(
                "{} is not a PEM file (no -----BEGIN line)",
                self.setting
            )));
        }
        Ok(bytes)
    }
}

/// The TLS settings beyond the URL's `rediss://`: a CA to trust instead of the platform's
/// roots, and a client certificate and key for mutual TLS.
#[derive(Clone, Debug, Default)]
pub(super) struct Tls {
    pub(super) ca: Option<PemFile>,
    pub(super) client: Option<(PemFile, PemFile)>,
}

impl Tls {
    pub(super) fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }

    /// The certificates, read now (so that a missing file is a startup error naming it).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    pub(super) fn certificates(&self) -> Result<TlsCertificates, StoreError> {
        let root_cert = self.ca.as_ref().map(PemFile::read).transpose()?;
        let client_tls = match &self.client {
            Some((cert, key)) => Some(ClientTlsConfig {
                client_cert: cert.read()?,
                client_key: key.read()?,
            }),
            None => None,
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }

    /// A connect error, saying which setting to look at when the handshake failed.
    pub(super) fn explain(&self, what: &str, e: redis::RedisError) -> StoreError {
        let text = format!("{e:?} {e}").to_ascii_lowercase();
        let certificate = ["certificate", "unknownissuer", "tls handshake", "handshake"]
            .iter()
            .any(|needle| text.contains(needle));
        if !certificate {
            return StoreError::with_source(format!("could not connect to {what}"), e);
        }
        let against = self.ca.as_ref().map_or_else(
            || "the platform's root certificates (set a private CA with MESHES_REDIS_CA_FILE or ca_file)".to_owned(),
            |ca| format!("the CA of {}", ca.setting),
        );
        StoreError::with_source(
            format!(
                "could not connect to {what}: the TLS handshake failed; the server's certificate must verify against {against}"
            ),
            e,
        )
    }
}

#[cfg(all(test, any(feature = "rustls", feature = "native-tls")))]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_non_pem_files_name_their_setting() {
        let missing = Tls {
            ca: Some(PemFile {
                setting: "MESHES_REDIS_CA_FILE",
                path: "/nonexistent/ca.pem".into(),
            }),
            client: None,
        };
        let e = missing.certificates().unwrap_err().to_string();
        assert!(
            e.starts_with("MESHES_REDIS_CA_FILE could not be read"),
            "{e}"
        );
        let not_pem = std::env::temp_dir().join(format!("meshes-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        let bad = Tls {
            ca: None,
            client: Some((
                PemFile {
                    setting: "MESHES_REDIS_CLIENT_CERT",
                    path: not_pem.clone(),
                },
                PemFile {
                    setting: "MESHES_REDIS_CLIENT_KEY",
                    path: not_pem.clone(),
                },
            )),
        };
        let e = bad.certificates().unwrap_err().to_string();
        assert!(
            e.starts_with("MESHES_REDIS_CLIENT_CERT is not a PEM file"),
            "{e}"
        );
        let _ = std::fs::remove_file(not_pem);
    }
}
