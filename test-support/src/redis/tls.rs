//! A `redis-server` that speaks TLS only, with an ACL user and the default user disabled, as
//! managed Redis runs: certificates made for the test with the `openssl` CLI (a CA, the
//! server's for `127.0.0.1`, a client's, and an unrelated CA).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{RedisServer, TempDir, available, free_port};

/// The ACL user the app connects as (the `default` user is off), with the least privilege
/// the store needs: [`APP_ACL`].
pub const USER: &str = "meshes-app";
/// Its password.
pub const PASSWORD: &str = "acl-secret-pw-7";
/// What the app's ACL user may do, after `<user> on ><password>`: the store's keys (the
/// namespace `meshes`), no channel, and only the commands the store sends, its scripts run
/// and the clients need to connect (a cluster's slot map, a Sentinel master's role). The
/// README documents this line; a test keeps the two the same.
pub const APP_ACL: &str = "~meshes:* resetchannels -@all +eval +evalsha +script|load +hgetall +hmget +hget +hset +del +zadd +zrem +zrange +pexpire +pttl +get +set +time +ping +client|setname +cluster|slots +cluster|shards +role";
/// The operators' user (replication, sentinels, `redis-cli --cluster`), never the app's.
pub const ADMIN: &str = "meshes-admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-secret-pw-9";

/// A TLS-only redis-server, killed on drop.
#[derive(Debug)]
pub struct TlsRedis {
    server: RedisServer,
    /// The CA that signed the server's and the client's certificates (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing of this server's (PEM).
    pub wrong_ca: PathBuf,
    /// A client certificate the server accepts, and its key (PEM).
    pub client_cert: PathBuf,
    /// The key of [`client_cert`](Self::client_cert).
    pub client_key: PathBuf,
    _dir: TempDir,
}

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
pub(crate) struct Certificates {
    pub(crate) ca: PathBuf,
    pub(crate) wrong_ca: PathBuf,
    pub(crate) server_cert: PathBuf,
    pub(crate) server_key: PathBuf,
    pub(crate) client_cert: PathBuf,
    pub(crate) client_key: PathBuf,
}

impl Certificates {
    pub(crate) fn make(d: &Path) -> Self {
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

    /// The redis-server arguments: TLS with these certificates, the ACL user, `default` off.
    pub(crate) fn server_args(&self, require_client_cert: bool) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        let mut args: Vec<String> = vec![
            "--tls-cert-file".into(),
            path(&self.server_cert),
            "--tls-key-file".into(),
            path(&self.server_key),
            "--tls-ca-cert-file".into(),
            path(&self.ca),
            "--tls-auth-clients".into(),
            if require_client_cert { "yes" } else { "no" }.into(),
            "--user".into(),
            "default".into(),
            "off".into(),
            "--user".into(),
        ];
        // The documented line, plus the key patterns of the tests' own namespaces.
        let app = format!("{USER} on >{PASSWORD} {APP_ACL} ~test:* ~replicas:*");
        args.extend(app.split(' ').map(str::to_owned));
        args.push("--user".into());
        let admin = format!("{ADMIN} on >{ADMIN_PASSWORD} ~* &* +@all");
        args.extend(admin.split(' ').map(str::to_owned));
        args
    }

    /// The `redis-cli` arguments that reach such a server.
    pub(crate) fn cli_args(&self) -> Vec<String> {
        vec![
            "--tls".into(),
            "--cacert".into(),
            self.ca.display().to_string(),
            "--user".into(),
            ADMIN.into(),
            "--pass".into(),
            ADMIN_PASSWORD.into(),
            "--no-auth-warning".into(),
        ]
    }
}

impl TlsRedis {
    /// Starts the server on a free port, or `None` when redis-server is not installed (see
    /// [`available`]). With `require_client_cert`, a client must present a certificate
    /// signed by [`ca`](Self::ca).
    ///
    /// # Panics
    ///
    /// When `openssl` fails or the server does not start within 10 s.
    pub fn start(what: &str, require_client_cert: bool) -> Option<Self> {
        if !available(what) {
            return None;
        }
        let dir = TempDir::new("tls");
        let certs = Certificates::make(&dir.0);
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            extra: certs.server_args(require_client_cert),
            tls: true,
            dir: TempDir::new("redis"),
        };
        server.restart();
        Some(Self {
            server,
            ca: certs.ca,
            wrong_ca: certs.wrong_ca,
            client_cert: certs.client_cert,
            client_key: certs.client_key,
            _dir: dir,
        })
    }

    /// `rediss://meshes-app:<password>@127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("rediss://{USER}:{PASSWORD}@127.0.0.1:{}", self.server.port)
    }

    /// The port (TLS).
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// Kills the server (an outage).
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.server.restart();
    }
}

#[cfg(test)]
mod tests {
    /// The least-privilege ACL line the README documents is the one the fixture gives the app.
    #[test]
    fn the_readme_documents_the_acl_of_the_fixture() {
        let readme = include_str!("../../../README.md");
        let documented = format!(
            "ACL SETUSER {} on >PASSWORD {}",
            super::USER,
            super::APP_ACL
        );
        assert!(
            readme.contains(&documented),
            "README.md must show: {documented}"
        );
    }
}
