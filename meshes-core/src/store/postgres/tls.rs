//! TLS to PostgreSQL as libpq reads it from the connection string — `sslmode` (`disable`,
//! `prefer`, `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file, or
//! `system` for the platform's roots) — through rustls.
//!
//! tokio-postgres knows `sslmode` up to `require` only and no `sslrootcert`, so both are taken
//! out of the string here (the URL's query or the key/value form) before it parses the rest.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::store::StoreError;

/// libpq's `sslmode`, less `allow` (plain text first, which tokio-postgres cannot do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    /// libpq's default: TLS when the server offers it, unauthenticated.
    Prefer,
    /// TLS or nothing, unauthenticated (unless a root certificate is given: then as
    /// `verify-ca`, as libpq does).
    Require,
    /// TLS, the server's certificate signed by a trusted root; any name.
    VerifyCa,
    /// TLS, the server's certificate signed by a trusted root and naming the host.
    VerifyFull,
}

/// Where the trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Root {
    File(PathBuf),
    /// `sslrootcert=system`: the platform's roots.
    System,
}

/// The TLS settings of a connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Settings {
    mode: Mode,
    root: Option<Root>,
}

/// Splits a connection string (`postgres://…?sslmode=…` or `host=… sslmode=…`) into what
/// tokio-postgres parses and the TLS settings.
///
/// # Errors
///
/// An unknown or unsupported `sslmode`, or a client certificate (`sslcert`, `sslkey`).
pub(super) fn split(conn: &str) -> Result<(String, Settings), StoreError> {
    let (rest, pairs) = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        split_url(conn)
    } else {
        split_key_values(conn)
    };
    let mut mode = None;
    let mut root = None;
    for (key, value) in pairs {
        match key.as_str() {
            "sslmode" => {
                mode = Some(match value.as_str() {
                    "disable" => Mode::Disable,
                    "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    "allow" => {
                        return Err(StoreError::new(
                            "postgres: sslmode=allow is not supported; use prefer, require, \
                             verify-ca or verify-full",
                        ));
                    }
                    other => {
                        return Err(StoreError::new(format!(
                            "postgres: unknown sslmode {other:?} (disable, prefer, require, \
                             verify-ca or verify-full)"
                        )));
                    }
                });
            }
            "sslrootcert" => {
                root = Some(if value == "system" {
                    Root::System
                } else {
                    Root::File(PathBuf::from(value))
                });
            }
            other => {
                return Err(StoreError::new(format!(
                    "postgres: {other} (a client certificate) is not supported"
                )));
            }
        }
    }
    let mode = match (mode, &root) {
        // libpq: with a root certificate, `require` verifies the chain.
        (Some(Mode::Require), Some(_)) => Mode::VerifyCa,
        (Some(mode), _) => mode,
        (None, _) => Mode::Prefer,
    };
    Ok((rest, Settings { mode, root }))
}

/// The keys this module reads, and those it refuses (rather than tokio-postgres' "unknown
/// option").
const OURS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let key = decode(key);
        if OURS.contains(&key.as_str()) {
            ours.push((key, decode(value)));
        } else {
            kept.push(part);
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, ours)
}

/// The key/value form (`host=db port=5432 sslmode='verify-full'`): values may be quoted, with
/// `\` escaping inside quotes.
fn split_key_values(conn: &str) -> (String, Vec<(String, String)>) {
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    let mut chars = conn.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '=').is_some() {
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            if chars.next_if(|(_, c)| *c == '\'').is_some() {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\'' => break,
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        c => value.push(c),
                    }
                }
            } else {
                while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(conn.len(), |&(i, _)| i);
        if OURS.contains(&key.as_str()) {
            ours.push((key, value));
        } else {
            kept.push(&conn[start..end]);
        }
    }
    let kept: Vec<&str> = kept.iter().map(|s| s.trim_end()).collect();
    (kept.join(" "), ours)
}

impl Settings {
    /// What tokio-postgres negotiates.
    pub(super) fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector: the roots read now, so that a missing file is a startup error naming
    /// `sslrootcert`.
    pub(super) fn connector(&self) -> Result<MakeRustls, StoreError> {
        let provider = Arc::new(ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            Mode::Disable | Mode::Prefer | Mode::Require => Arc::new(Lenient {
                provider: provider.clone(),
                chain: None,
            }),
            Mode::VerifyCa | Mode::VerifyFull => {
                let roots = self.roots()?;
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| {
                            StoreError::with_source("postgres: sslrootcert holds no usable CA", e)
                        })?;
                if self.mode == Mode::VerifyFull {
                    webpki
                } else {
                    Arc::new(Lenient {
                        provider: provider.clone(),
                        chain: Some(webpki),
                    })
                }
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::with_source("postgres: TLS configuration", e))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustls {
            config: Arc::new(config),
            needs_name: self.mode == Mode::VerifyFull,
        })
    }

    fn roots(&self) -> Result<RootCertStore, StoreError> {
        let mut store = RootCertStore::empty();
        let default = std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".postgresql/root.crt"))
            .filter(|p| p.exists())
            .map(Root::File);
        match self.root.clone().or(default) {
            Some(Root::File(path)) => {
                let bytes = std::fs::read(&path).map_err(|e| {
                    StoreError::with_source(
                        format!("postgres: sslrootcert {} could not be read", path.display()),
                        e,
                    )
                })?;
                for cert in CertificateDer::pem_slice_iter(&bytes) {
                    let cert = cert.map_err(|e| {
                        StoreError::with_source(
                            format!("postgres: sslrootcert {} is not PEM", path.display()),
                            e,
                        )
                    })?;
                    store.add(cert).map_err(|e| {
                        StoreError::with_source(
                            format!("postgres: sslrootcert {} holds a bad CA", path.display()),
                            e,
                        )
                    })?;
                }
            }
            Some(Root::System) => {
                let _ =
                    store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            None => {
                return Err(StoreError::new(
                    "postgres: sslmode=verify-ca and verify-full need the CA: sslrootcert=<PEM \
                     file> or sslrootcert=system (or ~/.postgresql/root.crt)",
                ));
            }
        }
        if store.is_empty() {
            return Err(StoreError::new(
                "postgres: sslrootcert holds no certificate",
            ));
        }
        Ok(store)
    }

    /// A connect error, saying which setting to look at when the handshake failed.
    pub(super) fn explain(&self, e: StoreError) -> StoreError {
        let mut text = String::new();
        let mut cause: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cause {
            text.push_str(&c.to_string().to_ascii_lowercase());
            cause = c.source();
        }
        if !text.contains("certificate") {
            return e;
        }
        let against = match &self.root {
            Some(Root::File(path)) => format!("the CA in sslrootcert ({})", path.display()),
            Some(Root::System) => "the platform's roots (sslrootcert=system)".to_owned(),
            None => "~/.postgresql/root.crt".to_owned(),
        };
        let name = if self.mode == Mode::VerifyFull {
            " and name the URL's host"
        } else {
            ""
        };
        StoreError::with_source(
            format!(
                "postgres: the TLS handshake failed: the server's certificate must verify \
                 against {against}{name}"
            ),
            e,
        )
    }
}

/// Makes a connector per host: the name verified (`verify-full`) is the connection string's
/// `host`, as libpq does (`hostaddr` only says where to connect).
#[derive(Clone)]
pub(super) struct MakeRustls {
    config: Arc<ClientConfig>,
    needs_name: bool,
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, rustls::Error> {
        let name = match ServerName::try_from(domain.to_owned()) {
            Ok(name) => name,
            Err(_) if !self.needs_name => ServerName::try_from("postgres").expect("a DNS name"),
            Err(_) => {
                return Err(rustls::Error::General(
                    "sslmode=verify-full needs the URL's host to be a name or an IP address".into(),
                ));
            }
        };
        Ok(RustlsConnect {
            config: self.config.clone(),
            name,
        })
    }
}

/// Connects one stream.
pub(super) struct RustlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A TLS stream to the server (no channel binding: SCRAM-SHA-256 without `-PLUS`).
pub(super) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// `prefer` and `require` without a root certificate (`chain` none): encrypted, the server
/// not authenticated (libpq's meaning). `verify-ca` (`chain` some): the chain must lead to a
/// trusted root, any name. The handshake's signatures are checked either way.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain before the name: a name error means the chain held.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(conn: &str) -> (String, Settings) {
        split(conn).unwrap()
    }

    #[test]
    fn the_url_keeps_what_tokio_postgres_reads() {
        let (rest, s) = settings(
            "postgres://u:p%40ss@db:5432/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p%40ss@db:5432/app?application_name=x");
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root, Some(Root::File("/etc/ca.pem".into())));
        let (rest, s) = settings("postgresql://db/app?sslmode=require");
        assert_eq!(rest, "postgresql://db/app");
        assert_eq!(s.mode, Mode::Require);
        assert_eq!(settings("postgres://db/app").1.mode, Mode::Prefer);
        assert_eq!(
            settings("postgres://db/app?sslmode=require&sslrootcert=system").1,
            Settings {
                mode: Mode::VerifyCa,
                root: Some(Root::System)
            },
            "libpq: require with a root certificate verifies the chain"
        );
    }

    #[test]
    fn the_key_value_form_too() {
        let (rest, s) = settings(
            "host=db  sslmode = 'verify-ca' user=app sslrootcert='/a b/c\\'a.pem' dbname=x",
        );
        assert_eq!(rest, "host=db user=app dbname=x");
        assert_eq!(s.mode, Mode::VerifyCa);
        assert_eq!(s.root, Some(Root::File("/a b/c'a.pem".into())));
    }

    #[test]
    fn unsupported_settings_are_named() {
        for (conn, says) in [
            ("postgres://db/app?sslmode=allow", "sslmode=allow"),
            ("postgres://db/app?sslmode=verify", "unknown sslmode"),
            ("postgres://db/app?sslcert=/c.pem", "sslcert"),
            ("host=db sslkey=/k.pem", "sslkey"),
        ] {
            let e = split(conn).unwrap_err().to_string();
            assert!(e.contains(says), "{conn}: {e}");
        }
    }

    #[test]
    fn verifying_needs_a_readable_ca() {
        let (_, s) =
            settings("postgres://db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
        let e = s.connector().err().unwrap().to_string();
        assert!(e.contains("sslrootcert /nonexistent/ca.pem"), "{e}");
        let (_, s) = settings("postgres://db/app?sslmode=require");
        assert!(s.connector().is_ok(), "no CA needed when not verifying");
    }
}
