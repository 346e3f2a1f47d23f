//! Chromium through chromedriver, driven with [fantoccini] (feature `browser`): the browser
//! suite and the first-embed benchmark. The browser and the driver are
//! found on `PATH` (or named by `CHROME` / `CHROMEDRIVER`), never at a fixed path.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A chromedriver process, killed on drop.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    url: String,
    chrome: PathBuf,
    profiles: PathBuf,
}

/// One browser session (a window with its own profile).
#[derive(Debug)]
pub struct Session(Client);

/// The first of `names` that is an executable on `PATH`, or the path in `var`.
fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH")?).collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Browser {
    /// Starts chromedriver, or `None` with a notice when Chromium or chromedriver is not
    /// installed (a failure under `CI=true`).
    pub async fn start() -> Option<Self> {
        let chrome = find(
            "CHROME",
            &[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
                "chrome",
            ],
        );
        let driver = find("CHROMEDRIVER", &["chromedriver"]);
        let (Some(chrome), Some(driver)) = (chrome, driver) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium / chromedriver are not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "NOTICE: chromium or chromedriver not found on PATH; skipping the browser test"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let browser = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chrome,
            profiles: std::env::temp_dir()
                .join(format!("meshes-e2e-{}-{port}", std::process::id())),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(browser);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start"); // `browser` is dropped: the driver is killed
    }

    /// A new session with a fresh profile.
    pub async fn session(&self) -> Session {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = self.profiles.join(n.to_string());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1200,1000",
                         format!("--user-data-dir={}", profile.display())]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        // chromedriver is on loopback, over plain http.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromedriver session");
        Session(client)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// Chromedriver's own endpoint for DevTools commands.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

impl Session {
    /// Navigates to `url` and waits for the page's load.
    pub async fn goto(&self, url: &str) {
        self.0.goto(url).await.unwrap();
    }

    /// Runs `script` in the current browsing context and returns its value.
    pub async fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.0
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Switches into the frame `css` selects, or back to the top document with `None`.
    pub async fn switch_to_frame(&self, css: Option<&str>) {
        match css {
            Some(css) => {
                let frame = self.0.find(Locator::Css(css)).await.unwrap();
                frame.enter_frame().await.unwrap();
            }
            None => self.0.enter_parent_frame().await.unwrap(),
        }
    }

    /// A DevTools command, e.g. `Page.setBypassCSP`.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.0
            .issue_cmd(Cdp(json!({"cmd": cmd, "params": params})))
            .await
            .unwrap()
    }

    /// Opens a new tab and switches to it; returns the handle of the tab it left.
    pub async fn new_tab(&self) -> fantoccini::wd::WindowHandle {
        let old = self.0.window().await.unwrap();
        let tab = self.0.new_window(true).await.unwrap();
        self.0.switch_to_window(tab.handle).await.unwrap();
        old
    }

    /// Switches to the tab `handle`.
    pub async fn switch_to(&self, handle: fantoccini::wd::WindowHandle) {
        self.0.switch_to_window(handle).await.unwrap();
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.0.screenshot().await.unwrap()
    }

    /// Ends the session (closes its window).
    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}
