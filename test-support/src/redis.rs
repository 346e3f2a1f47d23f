//! A throwaway `redis-server` on a free loopback port, a 3-master Redis Cluster, a TLS-only
//! server with an ACL user ([`tls`]), or a master, a replica and three sentinels
//! ([`sentinel`], plain or all over TLS).

pub mod sentinel;
pub mod tls;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    extra: Vec<String>,
    /// TLS only: `port` is the TLS port and there is no plain one.
    tls: bool,
    /// Its working directory (`--dir`): a replica's full sync writes `dump.rdb` there, never
    /// into the source tree the tests run in.
    dir: TempDir,
}

/// Whether `redis-server` can run here. When it cannot and `MESHES_REQUIRE_REDIS` is set (as
/// `.ci/run` does), this panics; otherwise it prints a notice naming `what` is skipped.
///
/// # Panics
///
/// When `MESHES_REQUIRE_REDIS` is set and `redis-server` is missing.
pub fn available(what: &str) -> bool {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("MESHES_REQUIRE_REDIS").is_none(),
            "MESHES_REQUIRE_REDIS is set but redis-server is not installed"
        );
        eprintln!("NOTICE: redis-server not found; skipping {what}");
    }
    installed
}

/// A free loopback port.
///
/// # Panics
///
/// When no port can be bound.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts a server on a free port, or `None` when redis-server is not installed (see
    /// [`available`]).
    pub fn start(what: &str) -> Option<Self> {
        available(what).then(|| Self::start_on(free_port()))
    }

    /// Starts a server on `port` (redis-server must be installed).
    ///
    /// # Panics
    ///
    /// When it does not accept connections within 10 s.
    pub fn start_on(port: u16) -> Self {
        Self::start_with(port, Vec::new())
    }

    fn start_with(port: u16, extra: Vec<String>) -> Self {
        let mut server = Self {
            child: None,
            port,
            extra,
            tls: false,
            dir: TempDir::new("redis"),
        };
        server.restart();
        server
    }

    /// The server's URL, `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (an outage); [`restart`](Self::restart) brings it back, empty.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)).
    ///
    /// # Panics
    ///
    /// When it does not accept connections within 10 s.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let ports: Vec<&str> = if self.tls {
            vec!["--port", "0", "--tls-port", &port]
        } else {
            vec!["--port", &port]
        };
        let child = Command::new("redis-server")
            .args(ports)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir.0)
            .args(&self.extra)
            .current_dir(&self.dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // What answered is this server, not another process on the port (this one would have
        // exited, unable to bind).
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        assert!(
            exited.is_none(),
            "redis-server on port {} exited ({exited:?}): the port was taken",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Held while a cluster's ports are chosen and bound.
static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A 3-master Redis Cluster on loopback (no replicas), killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// TLS only (and an ACL user), with these certificates.
    tls: Option<crate::certificates::Certificates>,
    _dir: TempDir,
}

/// A directory removed on drop (each node keeps its `nodes.conf` there across restarts).
#[derive(Debug)]
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "meshes-{what}-{}-{}",
            std::process::id(),
            fastish_random()
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port whose cluster bus port (+10000) is free too, both below the ephemeral range
/// (Linux: 32768 and up), so that no `free_port()` and no outgoing connection of a concurrent
/// test can take them between this check and the server's bind. Clusters started at the same
/// time in this process are kept apart by [`STARTING`].
fn cluster_port() -> u16 {
    loop {
        let port = 20_000 + (std::process::id() as u16 ^ fastish_random()) % 2_700;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            return port;
        }
    }
}

fn fastish_random() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}

impl RedisCluster {
    /// Starts three cluster-enabled `redis-server`s and joins them with
    /// `redis-cli --cluster create`, or `None` when redis-server is not installed (see
    /// [`available`]).
    ///
    /// # Panics
    ///
    /// When the cluster does not come up within 30 s.
    pub fn start(what: &str) -> Option<Self> {
        Self::start_with_tls(what, false)
    }

    /// [`start`](Self::start), the nodes speaking TLS only (the cluster bus too) with the
    /// ACL user of [`tls`] and the `default` user off; their URLs are
    /// `rediss://<user>:<password>@…`, their CA is [`ca`](Self::ca).
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
        let dir = TempDir::new("cluster");
        let certs = with_tls.then(|| crate::certificates::Certificates::make(&dir.0));
        let mut nodes = Vec::new();
        // Ports are chosen and bound under the lock: two clusters starting at once cannot pick
        // the same ones.
        let starting = STARTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for i in 0..3 {
            let mut port = cluster_port();
            while nodes.iter().any(|n: &RedisServer| n.port == port) {
                port = cluster_port();
            }
            let node_dir = dir.0.join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).expect("a node dir");
            let mut extra: Vec<String> = vec![
                "--cluster-enabled".into(),
                "yes".into(),
                "--cluster-config-file".into(),
                node_dir.join("nodes.conf").display().to_string(),
                "--cluster-node-timeout".into(),
                "2000".into(),
            ];
            if let Some(certs) = &certs {
                extra.extend(["--tls-cluster".into(), "yes".into()]);
                extra.extend(tls::server_args(certs, false));
            }
            let mut node = RedisServer {
                child: None,
                port,
                extra,
                tls: certs.is_some(),
                dir: TempDir::new("redis"),
            };
            node.restart();
            nodes.push(node);
        }
        drop(starting);
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let cli = certs.as_ref().map(tls::cli_args).unwrap_or_default();
        let created = Command::new("redis-cli")
            .args(&cli)
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli (package redis-tools)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let cluster = Self {
            nodes,
            tls: certs,
            _dir: dir,
        };
        cluster.wait_ok();
        Some(cluster)
    }

    /// Waits until every running node reports `cluster_state:ok`.
    ///
    /// # Panics
    ///
    /// After 30 s.
    pub fn wait_ok(&self) {
        self.wait_state("ok");
    }

    /// Waits until every running node reports `cluster_state:<state>`.
    fn wait_state(&self, state: &str) {
        let started = Instant::now();
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            loop {
                let cli = self.tls.as_ref().map(tls::cli_args).unwrap_or_default();
                let info = Command::new("redis-cli")
                    .args(&cli)
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if info.contains(&format!("cluster_state:{state}")) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the redis cluster did not become {state}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        match &self.tls {
            None => self.nodes.iter().map(RedisServer::url).collect(),
            Some(_) => self
                .nodes
                .iter()
                .map(|n| {
                    format!(
                        "rediss://{}:{}@127.0.0.1:{}",
                        tls::USER,
                        tls::PASSWORD,
                        n.port
                    )
                })
                .collect(),
        }
    }

    /// The CA of a TLS cluster's certificates.
    pub fn ca(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|c| c.ca.as_path())
    }

    /// Kills node `i` and waits until the others declare the cluster down (their node
    /// timeout is 2 s): with no replica to take over its slots, every command then fails.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
        self.wait_state("fail");
    }

    /// Restarts node `i` with its cluster configuration, and waits until the cluster is ok.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].restart();
        self.wait_ok();
    }
}
