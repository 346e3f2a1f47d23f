//! Certificates made for a test with the `openssl` CLI: a CA, a server's for `127.0.0.1` and
//! `localhost`, a client's, and an unrelated CA — for TLS Redis and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A self-signed CA `name` (`name.pem`, `name.key`).
fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=meshes test {name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// A certificate `name` signed by `ca.pem`, with these extensions.
fn leaf(dir: &Path, name: &str, extensions: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), extensions).expect("write an extension file");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.pem"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

/// The certificates of a TLS deployment, made in a directory.
#[derive(Clone, Debug)]
pub struct Certificates {
    /// The CA that signed the server's and the client's certificates (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing here (PEM).
    pub wrong_ca: PathBuf,
    /// The server's certificate, for `127.0.0.1` and `localhost` (PEM).
    pub server_cert: PathBuf,
    /// Its key (PEM).
    pub server_key: PathBuf,
    /// A client certificate (PEM).
    pub client_cert: PathBuf,
    /// Its key (PEM).
    pub client_key: PathBuf,
}

impl Certificates {
    /// Makes them in `d`.
    ///
    /// # Panics
    ///
    /// When `openssl` fails.
    pub fn make(d: &Path) -> Self {
        ca(d, "ca");
        ca(d, "wrong-ca");
        leaf(
            d,
            "server",
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
        );
        leaf(
            d,
            "client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        );
        Self {
            ca: d.join("ca.pem"),
            wrong_ca: d.join("wrong-ca.pem"),
            server_cert: d.join("server.pem"),
            server_key: d.join("server.key"),
            client_cert: d.join("client.pem"),
            client_key: d.join("client.key"),
        }
    }
}
