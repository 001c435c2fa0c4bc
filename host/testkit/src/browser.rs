//! A real headless Chromium for tests, driven over WebDriver: Debian's `chromedriver` started
//! on a free port of 127.0.0.1, a `fantoccini` session on it, and the few steps tests take.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver, from the `chromium-driver` package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long [`Browser::start`] waits for chromedriver to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the waits look again.
const POLL: Duration = Duration::from_millis(100);

/// How the browser is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOptions {
    /// The window's width and height in pixels.
    pub window: (u32, u32),
    /// Accept any TLS certificate, such as a test server's self-signed one.
    pub ignore_certificate_errors: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            window: (1280, 900),
            ignore_certificate_errors: false,
        }
    }
}

/// How long a sign-in may take (Argon2id is slow on purpose, and slower in debug builds).
const SIGN_IN_WAIT: Duration = Duration::from_secs(30);

/// A headless Chromium with a fresh profile. Dropping it kills chromedriver and the browser;
/// [`close`](Browser::close) ends the session politely first.
///
/// Its methods need a Tokio runtime, as `#[tokio::test]` gives.
pub struct Browser {
    client: Client,
    /// chromedriver, leader of its own process group, which the browser's processes join.
    driver: Driver,
    /// Holds the browser profile and chromedriver's log; removed on drop, after the kill.
    dir: TempDir,
}

impl Browser {
    /// Whether the browser can start here: both Debian binaries are installed.
    pub fn is_available() -> Result<(), String> {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(binary).is_file() {
                return Err(format!(
                    "{} not found at {binary} (install Debian chromium and chromium-driver)",
                    binary.rsplit('/').next().unwrap_or(binary)
                ));
            }
        }
        Ok(())
    }

    /// Starts a browser with the default [`BrowserOptions`]: 1280×900, certificates checked.
    pub async fn start() -> anyhow::Result<Browser> {
        Browser::start_with(BrowserOptions::default()).await
    }

    /// Starts chromedriver on a free port of 127.0.0.1 and opens a headless session on it.
    pub async fn start_with(options: BrowserOptions) -> anyhow::Result<Browser> {
        let dir = tempfile::Builder::new()
            .prefix("chatter-browser-")
            .tempdir()
            .context("creating the browser's folder")?;
        let profile = dir.path().join("profile");
        fs::create_dir(&profile).context("creating the browser profile")?;
        let log_path = dir.path().join("chromedriver.log");
        let log = fs::File::create(&log_path).context("creating chromedriver's log")?;
        let port = crate::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("sharing chromedriver's log")?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        // Killed on any early return, and if this future is dropped midway.
        let mut driver = Driver(child);
        let started = crate::wait_for_port(port, START_TIMEOUT, || match driver.0.try_wait() {
            Ok(Some(status)) => anyhow::bail!("chromedriver exited with {status}"),
            Ok(None) => Ok(()),
            Err(error) => Err(error.into()),
        });
        let client = match started {
            Ok(()) => connect(port, &profile, &options).await,
            Err(error) => Err(error),
        };
        match client {
            Ok(client) => Ok(Browser {
                client,
                driver,
                dir,
            }),
            Err(error) => {
                drop(driver);
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                Err(error.context(format!(
                    "the browser did not start; chromedriver's output:\n{log}"
                )))
            }
        }
    }

    /// The WebDriver client, for anything the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("loading {url}"))
    }

    /// The element that `css` selects, now.
    async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let found = self.client.find(Locator::Css(css)).await;
        match found {
            Ok(element) => Ok(element),
            Err(error) => Err(self
                .here(error, &format!("no element matches {css:?}"))
                .await),
        }
    }

    /// Empties the field that `css` selects and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field
            .clear()
            .await
            .with_context(|| format!("clearing {css:?}"))?;
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {css:?}"))
    }

    /// Clicks the element that `css` selects.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {css:?}"))
    }

    /// The rendered text of the element that `css` selects.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        self.find(css)
            .await?
            .text()
            .await
            .with_context(|| format!("reading the text of {css:?}"))
    }

    /// Waits up to `timeout` for an element that `css` selects, and returns it.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<Element> {
        let found = self
            .client
            .wait()
            .at_most(timeout)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => Ok(element),
            Err(error) => {
                let what = format!("no element matches {css:?} within {timeout:?}");
                Err(self.here(error, &what).await)
            }
        }
    }

    /// Waits up to `timeout` for the element that `css` selects to show text containing
    /// `contains`, and returns its whole text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        contains: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(contains) {
                    return Ok(text);
                }
                last = Some(text);
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await;
                let seen = match last {
                    Some(text) => format!("its text was {text:?}"),
                    None => "no element matched".to_owned(),
                };
                anyhow::bail!(
                    "{css:?} did not show {contains:?} within {timeout:?} at {url}: {seen}"
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a screenshot of the window as `<workspace>/target/artifacts/<name>.png` and
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let folder = crate::workspace_root().join("target").join("artifacts");
        fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join(format!("{name}.png"));
        fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Resizes the window to `width`×`height` pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.client
            .set_window_size(width, height)
            .await
            .with_context(|| format!("resizing the window to {width}x{height}"))
    }

    /// Signs in to the Chatter at `base` through its sign-in form, and waits for the signed-in
    /// page.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) -> anyhow::Result<()> {
        self.goto(&format!("{base}/sign-in")).await?;
        self.fill("#sign-in input[name=email]", email).await?;
        self.fill("#sign-in input[name=password]", password).await?;
        self.click("#sign-in-submit").await?;
        self.wait_for("#sign-out", SIGN_IN_WAIT).await?;
        Ok(())
    }

    /// Ends the WebDriver session, which closes the browser; chromedriver is killed on drop.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("closing the browser session")
    }

    /// The page's address, for messages; `?` when it cannot be read.
    async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => {
                let mut url = url.to_string();
                // `data:` pages carry their whole content in the address.
                if url.len() > 200 {
                    url.truncate(url.floor_char_boundary(200));
                    url.push('…');
                }
                url
            }
            Err(_) => "?".to_owned(),
        }
    }

    /// `error`, explained by `what` and the page it happened on.
    async fn here(&self, error: fantoccini::error::CmdError, what: &str) -> anyhow::Error {
        let url = self.current_url().await;
        anyhow::Error::new(error).context(format!("{what} at {url}"))
    }
}

/// The chromedriver process, which leads its own process group; dropping it kills the group
/// (chromedriver and the browser it started) and reaps chromedriver.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // `kill` from procps takes a negative id as a process group; without it, the leader alone.
        let killed_group = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !killed_group {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("chromedriver", &self.driver.0.id())
            .field("dir", &self.dir.path())
            .finish()
    }
}

/// Opens a WebDriver session on chromedriver at `port`.
async fn connect(port: u16, profile: &Path, options: &BrowserOptions) -> anyhow::Result<Client> {
    let (width, height) = options.window;
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    if options.ignore_certificate_errors {
        args.push("--ignore-certificate-errors".to_owned());
    }
    let capabilities = json!({
        "browserName": "chrome",
        "acceptInsecureCerts": options.ignore_certificate_errors,
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": args,
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal");
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .context("opening a WebDriver session on chromedriver")
}
