//! A throwaway `redis-server` on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
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
        let mut server = Self { child: None, port };
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
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
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
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
