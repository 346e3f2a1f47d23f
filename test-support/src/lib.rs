//! Test fixtures shared by the meshes-rs test suites and benchmarks (not published).
//!
//! - [`redis`]: a throwaway `redis-server` on a free loopback port.
//! - [`csp`]: Servo's CSP implementation as an oracle for the `frame-src` merge.
//! - [`mock`]: session managers on meshes-mock.
//! - [`login`]: signing in to the example apps.
//! - [`apps`] (feature `apps`): the same small host app on either adapter, for the acceptance,
//!   reliability and telemetry suites; [`example_apps`]: the example apps on a free port;
//!   [`spawn_actix!`]: an actix-web server on a thread of its own.
//! - [`browser`] (feature `browser`): Chromium through chromedriver.
//! - [`rss_kib`]: this process's resident memory.

#[cfg(feature = "apps")]
pub mod apps;
#[cfg(feature = "browser")]
pub mod browser;
pub mod certificates;
pub mod csp;
#[cfg(feature = "apps")]
pub mod example_apps;
#[cfg(feature = "apps")]
pub mod host;
pub mod login;
pub mod mock;
pub mod postgres;
pub mod redis;

/// Which adapter an app is built with.
#[cfg(feature = "apps")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// meshes-axum.
    Axum,
    /// meshes-actix.
    Actix,
}

/// This process's resident memory in KiB (`VmRSS` of `/proc/self/status`; 0 where there is
/// none).
pub fn rss_kib() -> u64 {
    proc_status_kib("VmRSS:")
}

/// This process's peak resident memory in KiB (`VmHWM`; 0 where there is none).
pub fn peak_rss_kib() -> u64 {
    proc_status_kib("VmHWM:")
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Serves the actix-web app that `$factory` builds (as for `HttpServer::new`) on `$listener`
/// (a bound `std::net::TcpListener`), one worker, on an actix system in a thread of its own.
/// The calling crate depends on `actix-web`.
#[macro_export]
macro_rules! spawn_actix {
    ($listener:expr, $factory:expr) => {{
        let listener: std::net::TcpListener = $listener;
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                actix_web::HttpServer::new($factory)
                    .workers(1)
                    .disable_signals()
                    .listen(listener)
                    .unwrap()
                    .run()
                    .await
                    .unwrap();
            });
        });
    }};
}
