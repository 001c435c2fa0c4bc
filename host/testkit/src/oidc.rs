//! A real OAuth 2.0 / OpenID Connect provider on 127.0.0.1 for tests: npm's `oidc-provider`
//! run by Node.js with `oidc/server.mjs`, standing in for Autodesk's sign-in.
//!
//! The provider is configured as an integration meets Autodesk's: one confidential client
//! (`client_secret_post`), the authorization code flow with PKCE (S256) required, a refresh
//! token with every code that is replaced on each use (a replaced one used again is refused
//! with `invalid_grant`), token revocation (RFC 7009), userinfo and introspection, and opaque
//! access tokens. Nobody has to sign in: the interaction pages sign in the one account (Ada
//! Lovelace, `sub` `user-ada`) and grant every requested scope at once, or refuse with
//! `access_denied` after [`OidcServer::set_consent`]`(false)`.
//!
//! The npm packages are those of `oidc/package-lock.json`, installed with `npm ci` the first
//! time into the cargo target folder (`<target>/testkit-node/<hash of the lock>/`) and reused
//! from there.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

/// How long [`OidcServer::start`] waits for the provider to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The oldest Node.js major version `oidc-provider` 9 runs on.
const NODE_MAJOR: u32 = 20;

/// What the provider's one client and its tokens look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcOptions {
    /// The client's `client_id`.
    pub client_id: String,
    /// The client's `client_secret`, sent in the token request's body (`client_secret_post`).
    pub client_secret: String,
    /// The redirect URIs the client may use, exactly.
    pub redirect_uris: Vec<String>,
    /// Scopes accepted besides `openid`, `profile`, `email` and `offline_access`; Autodesk's
    /// `user-profile:read` also releases the profile and email to userinfo.
    pub extra_scopes: Vec<String>,
    /// How long an access token lives, in seconds.
    pub access_token_ttl_s: u64,
}

impl Default for OidcOptions {
    /// Client `chatter-test` with secret `chatter-test-secret`, no redirect URIs (set them),
    /// the scopes `data:read`, `data:write` and `user-profile:read`, and one-hour access
    /// tokens.
    fn default() -> Self {
        OidcOptions {
            client_id: "chatter-test".to_owned(),
            client_secret: "chatter-test-secret".to_owned(),
            redirect_uris: Vec::new(),
            extra_scopes: ["data:read", "data:write", "user-profile:read"]
                .map(str::to_owned)
                .to_vec(),
            access_token_ttl_s: 3600,
        }
    }
}

/// A running `oidc-provider` on 127.0.0.1, killed when dropped.
pub struct OidcServer {
    child: Child,
    issuer: String,
    endpoints: Endpoints,
    /// Everything the process printed, stdout and stderr, as it arrived.
    output: Arc<Mutex<String>>,
    http: reqwest::Client,
}

/// The endpoints of the provider's discovery document.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    revocation: String,
    userinfo: String,
}

impl OidcServer {
    /// Whether the provider can start here: Node.js 20 or later and npm are on the `PATH`.
    pub fn is_available() -> Result<(), String> {
        let node = Command::new("node")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("node cannot be run ({error}); install Node.js 20+"))?;
        let version = String::from_utf8_lossy(&node.stdout).trim().to_owned();
        let major = version
            .strip_prefix('v')
            .and_then(|rest| rest.split('.').next())
            .and_then(|major| major.parse::<u32>().ok());
        match major {
            Some(major) if major >= NODE_MAJOR => {}
            _ => return Err(format!("node {version:?} is older than v{NODE_MAJOR}")),
        }
        let npm = Command::new("npm")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("npm cannot be run ({error}); install npm"))?;
        if npm.status.success() {
            Ok(())
        } else {
            Err(format!("npm --version failed with {}", npm.status))
        }
    }

    /// Installs the npm packages if need be, starts the provider on a free port of 127.0.0.1,
    /// and reads its discovery document.
    pub async fn start(options: OidcOptions) -> anyhow::Result<OidcServer> {
        let modules = tokio::task::spawn_blocking(installed_node_modules)
            .await
            .context("installing the OIDC provider's npm packages")??;
        let settings = serde_json::json!({
            "port": 0,
            "node_modules": modules,
            "client_id": options.client_id,
            "client_secret": options.client_secret,
            "redirect_uris": options.redirect_uris,
            "extra_scopes": options.extra_scopes,
            "access_token_ttl_s": options.access_token_ttl_s,
        });
        let script = source_dir().join("server.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .arg(settings.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting node {}", script.display()))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            collect(stdout, Arc::clone(&output), Some(port_tx));
        }
        if let Some(stderr) = child.stderr.take() {
            collect(stderr, Arc::clone(&output), None);
        }
        let mut server = OidcServer {
            child,
            issuer: String::new(),
            endpoints: Endpoints {
                authorization: String::new(),
                token: String::new(),
                revocation: String::new(),
                userinfo: String::new(),
            },
            output,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .context("building an HTTP client")?,
        };
        let port = match tokio::time::timeout(START_TIMEOUT, port_rx).await {
            Ok(Ok(port)) => port,
            Ok(Err(_closed)) => {
                // Give stderr's reader a moment to catch the last words.
                tokio::time::sleep(Duration::from_millis(200)).await;
                let status = server.child.try_wait().ok().flatten();
                anyhow::bail!(
                    "the OIDC provider exited before listening ({}); its output:\n{}",
                    status.map_or_else(|| "still running".to_owned(), |s| s.to_string()),
                    server.output()
                );
            }
            Err(_elapsed) => anyhow::bail!(
                "the OIDC provider did not listen within {START_TIMEOUT:?}; its output:\n{}",
                server.output()
            ),
        };
        server.issuer = format!("http://127.0.0.1:{port}");
        server.endpoints = server.discover().await.with_context(|| {
            format!(
                "reading the discovery document; output:\n{}",
                server.output()
            )
        })?;
        Ok(server)
    }

    /// Reads the endpoints from `/.well-known/openid-configuration`.
    async fn discover(&self) -> anyhow::Result<Endpoints> {
        let document: serde_json::Value = self
            .http
            .get(format!("{}/.well-known/openid-configuration", self.issuer))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let endpoint = |name: &str| -> anyhow::Result<String> {
            document[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the discovery document has no {name}"))
        };
        Ok(Endpoints {
            authorization: endpoint("authorization_endpoint")?,
            token: endpoint("token_endpoint")?,
            revocation: endpoint("revocation_endpoint")?,
            userinfo: endpoint("userinfo_endpoint")?,
        })
    }

    /// `http://127.0.0.1:PORT`: the issuer, and the base of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authorization endpoint, from the discovery document.
    pub fn authorize_url(&self) -> String {
        self.endpoints.authorization.clone()
    }

    /// The token endpoint, from the discovery document.
    pub fn token_url(&self) -> String {
        self.endpoints.token.clone()
    }

    /// The revocation endpoint (RFC 7009), from the discovery document.
    pub fn revocation_url(&self) -> String {
        self.endpoints.revocation.clone()
    }

    /// The userinfo endpoint, from the discovery document. It needs a token with the `openid`
    /// scope; the name and email need `profile`/`email` or `user-profile:read` too.
    pub fn userinfo_url(&self) -> String {
        self.endpoints.userinfo.clone()
    }

    /// Whether the following sign-ins grant what is asked (`true`, the start) or end with
    /// `error=access_denied` at the redirect URI (`false`).
    pub async fn set_consent(&self, allow: bool) -> anyhow::Result<()> {
        let mode = if allow { "allow" } else { "deny" };
        let response = self
            .http
            .post(format!("{}/test/consent", self.issuer))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .context("asking the OIDC provider to change its consent")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("the OIDC provider refused consent mode {mode}: {status} {body}");
        }
        Ok(())
    }

    /// Everything the Node.js process printed so far, stdout and stderr: a line per request
    /// (`GET /me 200`), per interaction, and per error the provider reported.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .map(|output| output.clone())
            .unwrap_or_default()
    }

    /// Plays the user's browser from `authorize_url` (an authorization request a client
    /// built): follows the provider's redirects, carrying its cookies, through the automatic
    /// sign-in and consent, until one leads to a URL starting with `redirect_prefix`, and
    /// returns that URL (the client's callback with its `code` and `state`, or its `error`).
    pub async fn consent(
        &self,
        authorize_url: &str,
        redirect_prefix: &str,
    ) -> anyhow::Result<String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut url = reqwest::Url::parse(authorize_url)?;
        let mut cookies: Vec<(String, String)> = Vec::new();
        for _hop in 0..12 {
            let mut request = http.get(url.clone());
            if !cookies.is_empty() {
                let header = cookies
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                request = request.header(reqwest::header::COOKIE, header);
            }
            let response = request.send().await?;
            for set_cookie in response.headers().get_all(reqwest::header::SET_COOKIE) {
                let pair = set_cookie.to_str()?.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.retain(|(known, _)| known != name.trim());
                    cookies.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            let status = response.status();
            let Some(location) = response.headers().get(reqwest::header::LOCATION) else {
                anyhow::bail!(
                    "{} answered {status} without a redirect: {}\n{}",
                    url.path(),
                    response.text().await.unwrap_or_default(),
                    self.output()
                );
            };
            url = url.join(location.to_str()?)?;
            if url.as_str().starts_with(redirect_prefix) {
                return Ok(url.into());
            }
        }
        anyhow::bail!(
            "no redirect to {redirect_prefix} in 12 hops:\n{}",
            self.output()
        )
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for OidcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcServer")
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Reads `stream` line by line on a thread of its own into `output`; the first line
/// `listening <port>` goes to `port`, which is dropped (closed) if the stream ends first.
fn collect(
    stream: impl Read + Send + 'static,
    output: Arc<Mutex<String>>,
    mut port: Option<tokio::sync::oneshot::Sender<u16>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Ok(mut output) = output.lock() {
                output.push_str(&line);
            }
            let listening = line
                .trim()
                .strip_prefix("listening ")
                .and_then(|port| port.parse::<u16>().ok());
            if let Some(listening) = listening
                && let Some(port) = port.take()
            {
                let _ = port.send(listening);
            }
        }
    });
}

/// This crate's `oidc/` folder: `package.json`, `package-lock.json` and `server.mjs`.
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// The cargo target folder: `$CARGO_TARGET_DIR` (relative to the workspace when relative), or
/// `target/` in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => crate::workspace_root().join(dir),
        None => crate::workspace_root().join("target"),
    }
}

/// Serializes installs within this process; [`installed_node_modules`] renames into place so
/// that other processes do not clash either.
static INSTALL: Mutex<()> = Mutex::new(());

/// The `node_modules` folder holding the packages of `oidc/package-lock.json`: installed with
/// `npm ci` into a fresh folder beside the cache entry, then renamed into place, unless an
/// earlier run (of this or another process) did so already.
fn installed_node_modules() -> anyhow::Result<PathBuf> {
    let source = source_dir();
    let lock = std::fs::read(source.join("package-lock.json"))
        .with_context(|| format!("reading {}/package-lock.json", source.display()))?;
    let hash: String = Sha256::digest(&lock)[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let cache = target_dir().join("testkit-node");
    let entry = cache.join(&hash);
    let modules = entry.join("node_modules");
    let _guard = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if modules.join("oidc-provider").is_dir() {
        return Ok(modules);
    }
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!("{hash}.installing-"))
        .tempdir_in(&cache)
        .with_context(|| format!("creating a folder in {}", cache.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), staging.path().join(file))
            .with_context(|| format!("copying {file} to {}", staging.path().display()))?;
    }
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(staging.path())
        .stdin(Stdio::null())
        .output()
        .context("running npm ci (is npm installed?)")?;
    if !npm.status.success() {
        anyhow::bail!(
            "npm ci for the OIDC provider failed with {}:\n{}{}",
            npm.status,
            String::from_utf8_lossy(&npm.stdout),
            String::from_utf8_lossy(&npm.stderr)
        );
    }
    let staged = staging.keep();
    if let Err(error) = std::fs::rename(&staged, &entry) {
        // Another process got there first: use its copy.
        let _ = std::fs::remove_dir_all(&staged);
        if !modules.join("oidc-provider").is_dir() {
            return Err(error)
                .with_context(|| format!("moving the npm packages to {}", entry.display()));
        }
    }
    Ok(modules)
}
