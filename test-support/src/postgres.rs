//! A real PostgreSQL for the tests: `initdb` in a temporary directory, `postgres` on a free
//! loopback port (as the `postgres` user, or `nobody`, when the tests run as root), stopped
//! and removed on drop. The Debian binaries live under `/usr/lib/postgresql/<version>/bin`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::certificates::Certificates;

/// The directory of `initdb`, `pg_ctl` and `postgres` (the newest installed version), if any.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether PostgreSQL can run here. When it cannot and `MESHES_REQUIRE_POSTGRES` is set (as
/// `.ci/run` does), this panics; otherwise it prints a notice naming `what` is skipped.
///
/// # Panics
///
/// When `MESHES_REQUIRE_POSTGRES` is set and PostgreSQL is not installed.
pub fn available(what: &str) -> bool {
    let found = bin_dir().is_some();
    if !found {
        assert!(
            std::env::var_os("MESHES_REQUIRE_POSTGRES").is_none(),
            "MESHES_REQUIRE_POSTGRES is set but PostgreSQL is not installed"
        );
        eprintln!("NOTICE: PostgreSQL not found; skipping {what}");
    }
    found
}

/// A running PostgreSQL with a database `meshes` and a user `meshes` (trust on loopback).
#[derive(Debug)]
pub struct PostgresServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `Some(user)` when the server runs as another user (the tests run as root).
    user: Option<String>,
    /// When it speaks TLS only: its certificates.
    tls: Option<Certificates>,
}

/// The unprivileged user to run as when we are root.
fn run_as() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let exists = |u: &str| {
        Command::new("id")
            .arg(u)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ["postgres", "nobody"]
        .into_iter()
        .find(|u| exists(u))
        .map(str::to_owned)
}

impl PostgresServer {
    /// Starts a server, or `None` when PostgreSQL is not installed (see [`available`]).
    ///
    /// # Panics
    ///
    /// When the server cannot be initialised or started.
    pub fn start(what: &str) -> Option<Self> {
        Self::start_with(what, false)
    }

    /// As [`start`](Self::start), for a server that accepts TLS connections only (as managed
    /// PostgreSQL does), with a certificate for `127.0.0.1` and `localhost` signed by
    /// [`certificates`](Self::certificates)' CA.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start), or when `openssl` fails.
    pub fn start_tls(what: &str) -> Option<Self> {
        Self::start_with(what, true)
    }

    fn start_with(what: &str, tls: bool) -> Option<Self> {
        if !available(what) {
            return None;
        }
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "meshes-postgres-{}-{:x}",
            std::process::id(),
            fastrand_like()
        ));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let user = run_as();
        if let Some(u) = &user {
            let status = Command::new("chown")
                .arg(format!("{u}:"))
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the data directory");
        }
        let tls = tls.then(|| {
            let certs_dir = dir.join("certs");
            std::fs::create_dir_all(&certs_dir).expect("a certificates dir");
            let certs = Certificates::make(&certs_dir);
            if let Some(u) = &user {
                let status = Command::new("chown")
                    .arg(format!("{u}:"))
                    .args([&certs.server_cert, &certs.server_key])
                    .status()
                    .expect("chown");
                assert!(status.success(), "chown of the server's certificate");
            }
            certs
        });
        let server = Self {
            bin,
            dir,
            port: crate::redis::free_port(),
            user,
            tls,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "meshes",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        if server.tls.is_some() {
            // TLS only: every TCP connection must be `hostssl`.
            let hba = data.join("pg_hba.conf");
            let text = std::fs::read_to_string(&hba).expect("pg_hba.conf");
            let text: String = text
                .lines()
                .map(|l| match l.strip_prefix("host ") {
                    Some(rest) => format!("hostssl {rest}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&hba, text).expect("pg_hba.conf");
        }
        server.start_again();
        server.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &server.port.to_string(),
                "-U",
                "meshes",
                "meshes",
            ],
        );
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the server's programs (as its user), and checks it succeeded.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again, after [`stop`](Self::stop)) and waits until it accepts
    /// connections.
    pub fn start_again(&self) {
        // fsync off: a crash of the server (not of the machine) loses nothing, and tests are
        // faster; commits stay synchronous, so `stop` (immediate, as a crash) keeps them.
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        if let Some(certs) = &self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                certs.server_cert.display(),
                certs.server_key.display()
            ));
        }
        let data = self.data();
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
            ],
        );
    }

    /// Stops the server at once (as a crash would; `immediate`).
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                data.to_str().unwrap(),
            ],
        );
    }

    /// Its URL (`postgres://meshes@127.0.0.1:<port>/meshes`).
    pub fn url(&self) -> String {
        format!("postgres://meshes@127.0.0.1:{}/meshes", self.port)
    }

    /// The certificates of a server started with [`start_tls`](Self::start_tls).
    pub fn certificates(&self) -> Option<&Certificates> {
        self.tls.as_ref()
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data directory's parent (where its log is).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let _ = cmd
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A number that differs between the servers of one process.
fn fastrand_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ NEXT.fetch_add(0x9e37_79b9, Ordering::Relaxed)
}
