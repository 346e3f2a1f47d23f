//! A master, a replica and three sentinels on loopback (`down-after-milliseconds` 1000), as
//! self-hosted high availability runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{RedisServer, TempDir, available, free_port};

/// The name the sentinels monitor the master under.
pub const MASTER: &str = "meshes-master";

/// The deployment, killed on drop.
#[derive(Debug)]
pub struct RedisSentinel {
    master: RedisServer,
    replica: RedisServer,
    sentinels: Vec<(u16, Child)>,
    _dir: TempDir,
}

fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
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
        if !available(what) {
            return None;
        }
        let dir = TempDir::new("sentinel");
        let master = RedisServer::start_on(free_port());
        let replica = RedisServer::start_with(
            free_port(),
            vec![
                "--replicaof".into(),
                "127.0.0.1".into(),
                master.port.to_string(),
            ],
        );
        wait("the replica to sync", Duration::from_secs(30), || {
            cli(master.port, &["info", "replication"]).contains("connected_slaves:1")
                && cli(replica.port, &["info", "replication"]).contains("master_link_status:up")
        });
        let mut sentinels = Vec::new();
        for i in 0..3 {
            let port = free_port();
            let conf = dir.0.join(format!("sentinel{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor {MASTER} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {MASTER} 1000\n\
                     sentinel failover-timeout {MASTER} 5000\n\
                     sentinel parallel-syncs {MASTER} 1\n",
                    master.port
                ),
            )
            .expect("write a sentinel config");
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
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
            _dir: dir,
        };
        for (port, _) in &deployment.sentinels {
            wait(
                "the sentinels to name the master",
                Duration::from_secs(30),
                || deployment_master(*port).is_some(),
            );
        }
        Some(deployment)
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
                    let about = cli(*port, &["sentinel", "master", MASTER]);
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

    /// The sentinels, `127.0.0.1:<port>` each.
    pub fn sentinels(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect()
    }

    /// Waits until the master's writes so far reached the replica (`WAIT 1`).
    ///
    /// # Panics
    ///
    /// When they have not within 5 s.
    pub fn wait_replicated(&self) {
        let acked = cli(self.master.port, &["wait", "1", "5000"]);
        assert_eq!(acked.trim(), "1", "the replica did not acknowledge");
    }

    /// Kills the master: the sentinels promote the replica after about a second.
    pub fn kill_master(&mut self) {
        self.master.kill();
    }

    /// The port of the master the sentinels name now.
    pub fn current_master_port(&self) -> Option<u16> {
        deployment_master(self.sentinels.first()?.0)
    }

    /// The replica's port (the master after a failover).
    pub fn replica_port(&self) -> u16 {
        self.replica.port
    }
}

/// The port of the master the sentinel on `port` names.
fn deployment_master(port: u16) -> Option<u16> {
    let answer = cli(port, &["sentinel", "get-master-addr-by-name", MASTER]);
    answer.lines().nth(1)?.trim().parse().ok()
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        for (_, child) in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
