//! A master, a replica and three sentinels on loopback (`down-after-milliseconds` 1000), as
//! self-hosted high availability runs; with [`RedisSentinel::start_tls`], all of it over TLS
//! (replication and the sentinels too) with the ACL user of [`tls`](super::tls).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::path::Path;

use super::tls::{ADMIN, ADMIN_PASSWORD};
use super::{RedisServer, TempDir, available, free_port};
use crate::certificates::Certificates;

/// The name the sentinels monitor the master under.
pub const MASTER: &str = "meshes-master";

/// The deployment, killed on drop.
#[derive(Debug)]
pub struct RedisSentinel {
    master: RedisServer,
    replica: RedisServer,
    sentinels: Vec<(u16, Child)>,
    tls: Option<Certificates>,
    _dir: TempDir,
}

/// `redis-cli` against `port`, with `auth` (TLS and maybe the ACL user) before `args`.
fn cli_with(auth: &[String], port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(auth)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn wait(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl RedisSentinel {
    /// Starts the master, its replica (synced) and three sentinels that name the master, or
    /// `None` when redis-server is not installed (see [`available`]). Ready for commands,
    /// not yet for a failover: see [`ready_for_failover`](Self::ready_for_failover).
    ///
    /// # Panics
    ///
    /// When it does not come up within 30 s (`redis-cli`, package redis-tools, is needed).
    pub fn start(what: &str) -> Option<Self> {
        Self::start_with_tls(what, false)
    }

    /// [`start`](Self::start), all over TLS (certificates of [`tls`](super::tls)): the master
    /// and the replica are TLS-only with the ACL user (`default` off) and replicate over TLS;
    /// the sentinels listen on TLS only and reach the data nodes over TLS as that user.
    /// [`sentinels`](Self::sentinels) are then `rediss://` URLs, [`ca`](Self::ca) verifies
    /// them all.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start), or when `openssl` fails.
    pub fn start_tls(what: &str) -> Option<Self> {
        Self::start_with_tls(what, true)
    }

    fn start_with_tls(what: &str, with_tls: bool) -> Option<Self> {
        if !available(what) {
            return None;
        }
        let dir = TempDir::new("sentinel");
        let certs = with_tls.then(|| Certificates::make(&dir.0));
        let node = |port: u16, mut extra: Vec<String>| {
            if let Some(c) = &certs {
                extra.extend(super::tls::server_args(c, false));
                extra.extend(["--tls-replication".into(), "yes".into()]);
                extra.extend(["--masteruser".into(), ADMIN.into()]);
                extra.extend(["--masterauth".into(), ADMIN_PASSWORD.into()]);
            }
            let mut server = RedisServer {
                child: None,
                port,
                extra,
                tls: certs.is_some(),
                dir: TempDir::new("redis"),
            };
            server.restart();
            server
        };
        let master = node(free_port(), Vec::new());
        let replica = node(
            free_port(),
            vec![
                "--replicaof".into(),
                "127.0.0.1".into(),
                master.port.to_string(),
            ],
        );
        let data_auth = certs.as_ref().map(super::tls::cli_args).unwrap_or_default();
        let cli = |port, args: &[&str]| cli_with(&data_auth, port, args);
        wait("the replica to sync", Duration::from_secs(30), || {
            cli(master.port, &["info", "replication"]).contains("connected_slaves:1")
                && cli(replica.port, &["info", "replication"]).contains("master_link_status:up")
        });
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = dir.0.join(format!("sentinel{i}.conf"));
            let (listen, auth) = match &certs {
                None => (format!("port {port}\n"), String::new()),
                Some(c) => sentinel_tls(c, port),
            };
            std::fs::write(
                &conf,
                format!(
                    "{listen}bind 127.0.0.1\n\
                     sentinel monitor {MASTER} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {MASTER} 1000\n\
                     sentinel failover-timeout {MASTER} 5000\n\
                     sentinel parallel-syncs {MASTER} 1\n{auth}",
                    master.port
                ),
            )
            .expect("write a sentinel config");
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .current_dir(&dir.0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server --sentinel");
            sentinels.push((port, child));
        }
        let deployment = Self {
            master,
            replica,
            sentinels,
            tls: certs,
            _dir: dir,
        };
        for (port, _) in &deployment.sentinels {
            wait(
                "the sentinels to name the master",
                Duration::from_secs(30),
                || deployment.master_named_by(*port).is_some(),
            );
        }
        Some(deployment)
    }

    /// `redis-cli` against a sentinel (TLS when the deployment is).
    fn sentinel_cli(&self, port: u16, args: &[&str]) -> String {
        let auth: Vec<String> = match &self.tls {
            None => Vec::new(),
            Some(c) => vec![
                "--tls".into(),
                "--cacert".into(),
                c.ca.display().to_string(),
            ],
        };
        cli_with(&auth, port, args)
    }

    /// The port of the master the sentinel on `port` names.
    fn master_named_by(&self, port: u16) -> Option<u16> {
        let answer = self.sentinel_cli(port, &["sentinel", "get-master-addr-by-name", MASTER]);
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// The CA that verifies every node and sentinel of a TLS deployment.
    pub fn ca(&self) -> Option<&Path> {
        self.tls.as_ref().map(|c| c.ca.as_path())
    }

    /// Waits until every sentinel knows the replica and the two other sentinels (their hello
    /// messages go every 2 s, replicas are learnt from the master's `INFO`): from then on,
    /// killing the master makes them promote the replica.
    ///
    /// # Panics
    ///
    /// After 30 s.
    pub fn ready_for_failover(&self) {
        for (port, _) in &self.sentinels {
            wait(
                "the sentinels to know the replica and each other",
                Duration::from_secs(30),
                || {
                    let about = self.sentinel_cli(*port, &["sentinel", "master", MASTER]);
                    let lines: Vec<&str> = about.lines().collect();
                    let field = |name: &str| {
                        lines
                            .iter()
                            .position(|l| *l == name)
                            .and_then(|i| lines.get(i + 1))
                            .copied()
                    };
                    field("num-slaves") == Some("1") && field("num-other-sentinels") == Some("2")
                },
            );
        }
    }

    /// The sentinels, `127.0.0.1:<port>` each (`rediss://127.0.0.1:<port>` over TLS).
    pub fn sentinels(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() { "rediss://" } else { "" };
        self.sentinels
            .iter()
            .map(|(port, _)| format!("{scheme}127.0.0.1:{port}"))
            .collect()
    }

    /// Waits until the master's writes so far reached the replica (`WAIT 1`).
    ///
    /// # Panics
    ///
    /// When they have not within 5 s.
    pub fn wait_replicated(&self) {
        let auth = self
            .tls
            .as_ref()
            .map(super::tls::cli_args)
            .unwrap_or_default();
        let acked = cli_with(&auth, self.master.port, &["wait", "1", "5000"]);
        assert_eq!(acked.trim(), "1", "the replica did not acknowledge");
    }

    /// Kills the master: the sentinels promote the replica after about a second.
    pub fn kill_master(&mut self) {
        self.master.kill();
    }

    /// The port of the master the sentinels name now.
    pub fn current_master_port(&self) -> Option<u16> {
        self.master_named_by(self.sentinels.first()?.0)
    }

    /// The replica's port (the master after a failover).
    pub fn replica_port(&self) -> u16 {
        self.replica.port
    }
}

/// A TLS sentinel's configuration: how it listens (TLS only; TLS to the data nodes and the
/// other sentinels), and how it authenticates to the data nodes (the ACL user; after the
/// `monitor` line, which names the master).
fn sentinel_tls(c: &Certificates, port: u16) -> (String, String) {
    let listen = format!(
        "port 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
         tls-auth-clients no\ntls-replication yes\n",
        c.server_cert.display(),
        c.server_key.display(),
        c.ca.display()
    );
    let auth = format!(
        "sentinel auth-user {MASTER} {ADMIN}\nsentinel auth-pass {MASTER} {ADMIN_PASSWORD}\n"
    );
    (listen, auth)
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        for (_, child) in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
