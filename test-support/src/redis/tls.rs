//! A `redis-server` that speaks TLS only, with an ACL user and the default user disabled, as
//! managed Redis runs, on [`Certificates`] made for the test.

use std::path::{Path, PathBuf};

use super::{RedisServer, TempDir, available, free_port};
use crate::certificates::Certificates;

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

/// The redis-server arguments: TLS with these certificates, the ACL user, `default` off.
pub(crate) fn server_args(certs: &Certificates, require_client_cert: bool) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    let mut args: Vec<String> = vec![
        "--tls-cert-file".into(),
        path(&certs.server_cert),
        "--tls-key-file".into(),
        path(&certs.server_key),
        "--tls-ca-cert-file".into(),
        path(&certs.ca),
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
pub(crate) fn cli_args(certs: &Certificates) -> Vec<String> {
    vec![
        "--tls".into(),
        "--cacert".into(),
        certs.ca.display().to_string(),
        "--user".into(),
        ADMIN.into(),
        "--pass".into(),
        ADMIN_PASSWORD.into(),
        "--no-auth-warning".into(),
    ]
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
            extra: server_args(&certs, require_client_cert),
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
