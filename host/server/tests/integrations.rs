//! The Autodesk integration end to end on loopback: a real OAuth2/OpenID server (npm
//! `oidc-provider`) stands in for Autodesk's identity service, a Data Management stand-in serves
//! the real tool library and CAM templates from the fixtures over HTTPS, and the real
//! `autodesk-fusion` plugin imports them through the host's OAuth connection.
//!
//! Also the paths that must fail: forged and replayed callbacks, denied consent, a spent code,
//! a reused or revoked refresh token, hosts outside the allow-list, a redirect to another host,
//! a sealed row copied to another organization; and a scan of logs and responses for secrets.

#![allow(clippy::unwrap_used)]

// Its own binary: the tests below install a process-wide log capture at trace level.
#[path = "server/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chatter_model::{Connection, OrgId};
use chatter_server::config::{KeySources, ProviderSection};
use chatter_server::vault::{Scope, Vault, VaultKey};
use chatter_store::{Accounts as _, Library as _, Store as _};
use chatter_testkit::{DataManagementServer, OidcOptions, OidcServer, skip};
use common::{Shop, ShopSetup};
use reqwest::Method;
use serde_json::Value;

/// Everything one test runs against.
struct Env {
    shop: Shop,
    oidc: OidcServer,
    dm: DataManagementServer,
    vault: Vault,
    /// The owner's browser session: the `Cookie` header and its CSRF token.
    cookie: String,
    csrf: String,
    /// The provider as the shop's configuration has it.
    provider: ProviderSection,
    /// The vault key, the client secret and the CA certificate the configuration names.
    files: tempfile::TempDir,
}

fn available(what: &str) -> bool {
    skip::fixtures(what, DataManagementServer::fixtures_available)
        && skip::available(what, OidcServer::is_available)
}

/// A shop with an Autodesk connection that finished its first sync, and the connection's id;
/// none when the test `what` cannot run here.
async fn connected(what: &str) -> Option<(Env, String)> {
    if !available(what) {
        return None;
    }
    let env = env(|_, _| {}).await;
    let id = text(&env.connect().await, "id").to_owned();
    Some((env, id))
}

/// A shop with the Autodesk provider configured against the stand-ins.
async fn env(tune: impl FnOnce(&mut ProviderSection, &DataManagementServer)) -> Env {
    capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let oidc = OidcServer::start(OidcOptions {
        redirect_uris: vec![format!("{base}/integrations/callback")],
        ..OidcOptions::default()
    })
    .await
    .unwrap();
    let dm = DataManagementServer::start(oidc.userinfo_url())
        .await
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let key_file = write("vault.key", &VaultKey::generate().unwrap());
    let mut provider = ProviderSection {
        display_name: "Autodesk".into(),
        authorize_url: oidc.authorize_url(),
        token_url: oidc.token_url(),
        revoke_url: Some(oidc.revocation_url()),
        userinfo_url: Some(format!("{}/userinfo", dm.api_url())),
        api_url: Some(dm.api_url()),
        client_id: OidcOptions::default().client_id,
        client_secret_env: None,
        client_secret_file: Some(write(
            "client.secret",
            &OidcOptions::default().client_secret,
        )),
        client_auth: chatter_server::integrations::provider::ClientAuth::Post,
        scopes: vec!["openid".into()],
        api_hosts: vec![dm.api_host()],
        download_hosts: vec![dm.download_host()],
        ca_file: Some(write("ca.pem", &dm.ca_pem())),
        request_timeout_s: 30,
        max_response_mib: 64,
    };
    tune(&mut provider, &dm);
    let configured = provider.clone();
    let vault_keys = KeySources {
        key_file: Some(key_file),
        ..KeySources::default()
    };
    let vault = Vault::load(&vault_keys).unwrap().unwrap();
    let shop = common::serve(ShopSetup {
        plugins: &["autodesk-fusion"],
        listener: Some(listener),
        providers: BTreeMap::from([("autodesk".to_owned(), provider)]),
        vault: vault_keys,
        ..ShopSetup::default()
    })
    .await;
    let owner = shop
        .store
        .user_by_email(common::OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let (cookie, csrf) = common::session(
        &shop.store,
        &owner.id,
        &OrgId::new("acme").unwrap(),
        3_600_000,
    )
    .await;
    Env {
        shop,
        oidc,
        dm,
        vault,
        cookie,
        csrf,
        provider: configured,
        files,
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shop.base)
    }

    /// Clicks "Connect Autodesk": the provider's authorization URL the server redirects to.
    async fn start_connecting(&self) -> String {
        let response = no_redirects()
            .post(self.url("/integrations/autodesk-fusion/connect"))
            .header("cookie", &self.cookie)
            .form(&[("csrf", self.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&self.oidc.authorize_url()),
            "{location}"
        );
        location
    }

    /// Consents at the provider: the callback URL it sends the browser back to.
    async fn consent(&self, authorize: &str) -> String {
        self.oidc
            .consent(authorize, &self.url("/integrations/callback"))
            .await
            .unwrap()
    }

    /// Opens `url` (a callback) in the owner's browser session: the status and the body.
    async fn open(&self, url: &str) -> (u16, String) {
        let response = no_redirects()
            .get(url)
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location.unwrap_or(response.text().await.unwrap()))
    }

    /// Connects the account and waits for the first sync: the connection.
    async fn connect(&self) -> Value {
        let callback = self.consent(&self.start_connecting().await).await;
        let (status, location) = self.open(&callback).await;
        assert_eq!(status, 303, "{location}");
        assert_eq!(location, "/integrations?done=integration_connected");
        self.wait_for_sync().await
    }

    async fn connections(&self) -> Vec<Value> {
        let (status, body) = common::get(&self.url("/api/v1/connections")).await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn wait_for_sync(&self) -> Value {
        for _ in 0..600 {
            if let Some(connection) = self.connections().await.into_iter().next()
                && !connection["last_sync"].is_null()
            {
                return connection;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the first sync did not end in 60 s");
    }

    async fn sync(&self, id: &str) -> (u16, Value) {
        common::send(
            Method::POST,
            &self.url(&format!("/api/v1/connections/{id}/sync")),
            None,
        )
        .await
    }

    /// The connection record as stored, with its sealed tokens.
    async fn stored(&self, id: &str) -> Connection {
        self.shop
            .store
            .connection(&OrgId::new("acme").unwrap(), id)
            .await
            .unwrap()
            .unwrap()
    }

    /// The connection's tokens, opened with the test's copy of the vault key.
    async fn tokens(&self, id: &str) -> Value {
        let connection = self.stored(id).await;
        let sealed = connection
            .tokens
            .as_ref()
            .expect("the connection has tokens");
        let scope = Scope {
            org: &connection.org,
            connection: &connection.id,
        };
        serde_json::from_slice(&self.vault.open(scope, sealed).unwrap()).unwrap()
    }

    async fn library(&self, kind: &str) -> Vec<Value> {
        let (status, body) = common::get(&self.url(&format!("/api/v1/library?kind={kind}"))).await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn entry(&self, id: &str) -> Value {
        let (status, body) = common::get(&self.url(&format!("/api/v1/library/{id}"))).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn token_endpoint(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let options = OidcOptions::default();
        let mut form = form.to_vec();
        form.push(("client_id", &options.client_id));
        form.push(("client_secret", &options.client_secret));
        let response = reqwest::Client::new()
            .post(self.oidc.token_url())
            .form(&form)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn userinfo_status(&self, access_token: &str) -> u16 {
        reqwest::Client::new()
            .get(self.oidc.userinfo_url())
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Token requests the provider answered (refreshes and code exchanges). The provider logs a
/// request when its response has gone out, so a count read right after a response can be one
/// short: this reads until two reads 300 ms apart agree.
async fn token_requests(oidc: &OidcServer) -> usize {
    let count = || {
        oidc.output()
            .lines()
            .filter(|line| line.starts_with("POST /token "))
            .count()
    };
    let mut last = count();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = count();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {value}"))
}

// --- Captured logs -----------------------------------------------------------------------

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(Arc::default)
}

#[derive(Clone)]
struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the server and the plugins log, at every level, goes to a buffer the tests scan.
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::new(
            "chatter_server=trace,chatter_runtime=trace,tower_http=trace,oauth2=trace,reqwest=trace",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(|| Capture)
            .with_ansi(false)
            .try_init();
    });
}

fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

/// Fails naming where a secret shows up.
fn assert_no_secret(secrets: &[(&str, &str)], places: &[(&str, &str)]) {
    for (name, secret) in secrets {
        assert!(secret.len() >= 16, "{name} is too short to scan for");
        for (place, text) in places {
            assert!(!text.contains(secret), "the {name} appears in {place}");
        }
    }
}

// --- Facts read straight from the fixtures ------------------------------------------------

fn fixture(path: &str) -> Option<PathBuf> {
    common::fixtures(&format!("autodesk/{path}"))
}

/// The `tools.json` inside the `.tools` archive, as plain JSON.
fn amana_tools() -> Vec<Value> {
    let path = fixture("fusion-tool-libraries/Amana-Tool-Fusion-Master.tools").unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut json = String::new();
    archive
        .by_name("tools.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    let library: Value = serde_json::from_str(&json).unwrap();
    library["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tool| tool["type"] != "holder" && tool["type"] != "probe")
        .cloned()
        .collect()
}

fn counts<'a>(values: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for value in values {
        *counts.entry(value.to_owned()).or_default() += 1;
    }
    counts
}

/// `(description, strategy)` of each operation of a template, by a plain scan of its XML.
fn template_operations(name: &str) -> Vec<(String, String)> {
    let path = fixture(&format!("fusion-cam-templates/{name}")).unwrap();
    let xml = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    document
        .descendants()
        .filter(|node| node.has_tag_name("template"))
        .filter(|node| node.attribute("strategy") != Some("setup"))
        .map(|node| {
            (
                node.attribute("description").unwrap_or_default().to_owned(),
                node.attribute("strategy").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

// --- Tests ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_imports_the_libraries_and_a_second_sync_only_what_changed() {
    if !available("the Autodesk integration") {
        return;
    }
    let env = env(|_, _| {}).await;
    let connection = env.connect().await;
    let id = text(&connection, "id").to_owned();
    assert_eq!(connection["status"], "connected");
    assert_eq!(connection["account"]["name"], "Ada Lovelace");
    let scopes: Vec<&str> = connection["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"data:read"), "{scopes:?}");
    let first = &connection["last_sync"];
    assert_eq!(first["error"], Value::Null, "{first}");
    assert_eq!(first["failures"], serde_json::json!([]), "{first}");
    // Two tool libraries (.tools and .json), two templates, one program; the design is skipped.
    assert_eq!(first["imported"], 5, "{first}");

    // The tool libraries hold the fixture's tools, checked against the raw file.
    let tools = amana_tools();
    let libraries = env.library("tool-library").await;
    assert_eq!(libraries.len(), 2);
    for library in &libraries {
        let entry = env.entry(text(library, "id")).await;
        let parsed = entry["document"]["tools"].as_array().unwrap();
        assert_eq!(parsed.len(), tools.len(), "{}", text(library, "name"));
        assert_eq!(
            counts(parsed.iter().map(|t| t["kind"].as_str().unwrap())),
            counts(tools.iter().map(|t| t["type"].as_str().unwrap())),
        );
        assert_eq!(
            counts(parsed.iter().map(|t| t["unit"].as_str().unwrap())),
            counts(tools.iter().map(|t| t["unit"].as_str().unwrap())),
        );
        for raw in tools.iter().step_by(41) {
            let guid = raw["guid"].as_str().unwrap();
            let tool = parsed.iter().find(|t| t["guid"] == guid).unwrap();
            let geometry = &tool["geometry"];
            assert_eq!(
                geometry["diameter"].as_f64(),
                raw["geometry"]["DC"].as_f64(),
                "{guid}"
            );
            assert_eq!(
                geometry["flutes"].as_u64(),
                raw["geometry"]["NOF"].as_u64(),
                "{guid}"
            );
            let raw_preset = &raw["start-values"]["presets"][0];
            let preset = &tool["presets"][0];
            assert_eq!(
                preset["spindle_rpm"].as_f64(),
                raw_preset["n"].as_f64(),
                "{guid}"
            );
            assert_eq!(
                preset["cutting_feed"].as_f64(),
                raw_preset["v_f"].as_f64(),
                "{guid}"
            );
        }
        assert!(text(&entry, "version").starts_with('v'), "{entry}");
        assert_eq!(entry["connection"], id.as_str());
    }

    // The templates' operations, against a plain scan of the XML.
    let templates = env.library("cam-template").await;
    assert_eq!(templates.len(), 2);
    for template in &templates {
        let entry = env.entry(text(template, "id")).await;
        let expected = template_operations(text(template, "name"));
        let operations: Vec<(String, String)> = entry["document"]["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| (text(op, "name").to_owned(), text(op, "strategy").to_owned()))
            .collect();
        assert_eq!(operations, expected, "{}", text(template, "name"));
        assert!(
            entry["document"]["operations"][0]["spindle_rpm"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{entry}"
        );
    }

    // The program, as text, linked to a machine; the link survives a new version.
    let programs = env.library("nc-program").await;
    assert_eq!(programs.len(), 1);
    let program_id = text(&programs[0], "id").to_owned();
    let served: HashMap<String, Vec<u8>> = env.dm.files().into_iter().collect();
    let program = env.entry(&program_id).await;
    assert_eq!(
        text(&program, "text").as_bytes(),
        served["O1001.nc"].as_slice()
    );
    let (status, body) = common::send(
        Method::PUT,
        &env.url(&format!("/api/v1/library/{program_id}/machine")),
        Some(&serde_json::json!({ "machine": "nowhere" })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    env.shop
        .store
        .put_machine(&chatter_model::Machine {
            org: OrgId::new("acme").unwrap(),
            id: chatter_model::MachineId::new("lathe-1").unwrap(),
            name: "Lathe".into(),
            driver: chatter_model::PluginId::new("simulator").unwrap(),
            config: BTreeMap::new(),
            endpoints: Vec::new(),
            poll_interval_ms: 1000,
            enabled: false,
            feed: Default::default(),
            signals: Default::default(),
            group: None,
            daily_part_goal: None,
        })
        .await
        .unwrap();
    let (status, body) = common::send(
        Method::PUT,
        &env.url(&format!("/api/v1/library/{program_id}/machine")),
        Some(&serde_json::json!({ "machine": "lathe-1" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Nothing changed: nothing is imported or downloaded again.
    let downloads_before = env
        .dm
        .requests()
        .iter()
        .filter(|r| r.host == "download")
        .count();
    let (status, second) = env.sync(&id).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["imported"].as_u64(), second["skipped"].as_u64()),
        (Some(0), Some(5))
    );
    let downloads_after = env
        .dm
        .requests()
        .iter()
        .filter(|r| r.host == "download")
        .count();
    assert_eq!(downloads_before, downloads_after);

    // A new version of the program replaces the old one in place.
    let revised = b"%\nO1001 (REVISED)\nG0 X0 Y0\nM30\n%\n".to_vec();
    env.dm.add_version("O1001.nc", revised.clone());
    let (status, third) = env.sync(&id).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(
        (third["imported"].as_u64(), third["skipped"].as_u64()),
        (Some(1), Some(4))
    );
    let program = env.entry(&program_id).await;
    assert_eq!(text(&program, "text").as_bytes(), revised.as_slice());
    assert_eq!(program["machine"], "lathe-1");
    assert_eq!(env.library("nc-program").await.len(), 1);
    let machine_page = common::request(Method::GET, &env.url("/machines/lathe-1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        machine_page.contains(&format!("href=\"/library/{program_id}\">O1001.nc</a>")),
        "the machine's page lists its program"
    );

    // Credentials went only where they belong.
    let requests = env.dm.requests();
    assert!(requests.iter().any(|r| r.host == "download"));
    for request in &requests {
        assert_eq!(
            request.had_authorization,
            request.host == "api",
            "{request:?}"
        );
    }

    // No token, code or secret in the logs, the API's answers or the stored library.
    let tokens = env.tokens(&id).await;
    let (_, connections) = common::get(&env.url("/api/v1/connections")).await;
    let (_, library) = common::get(&env.url("/api/v1/library")).await;
    let mut stored = String::new();
    for entry in env
        .shop
        .store
        .library_entries(&OrgId::new("acme").unwrap())
        .await
        .unwrap()
    {
        stored.push_str(&serde_json::to_string(&entry).unwrap());
    }
    let page = common::request(Method::GET, &env.url("/integrations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logs = logs();
    assert!(
        logs.contains("integration.http"),
        "the gateway's spans are captured"
    );
    let client_secret = OidcOptions::default().client_secret;
    assert_no_secret(
        &[
            ("access token", text(&tokens, "access_token")),
            ("refresh token", text(&tokens, "refresh_token")),
            ("client secret", &client_secret),
        ],
        &[
            ("the logs, which hold what the plugin was given", &logs),
            ("GET /api/v1/connections", &connections.to_string()),
            ("GET /api/v1/library", &library.to_string()),
            ("the library", &stored),
            ("the integrations page", &page),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_and_refused_callbacks_connect_nothing() {
    if !available("refused OAuth callbacks") {
        return;
    }
    let env = env(|_, _| {}).await;

    // A state this server never issued.
    let (status, body) = env
        .open(&env.url("/integrations/callback?code=made-up&state=not-ours"))
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("does not match a connection you started here"),
        "{body}"
    );

    // The provider's callback, opened by another member's session: refused, and burned.
    let callback = env.consent(&env.start_connecting().await).await;
    let owner = env
        .shop
        .store
        .user_by_email(common::OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let (other_cookie, _) = common::session(
        &env.shop.store,
        &owner.id,
        &OrgId::new("acme").unwrap(),
        60_000,
    )
    .await;
    let response = no_redirects()
        .get(&callback)
        .header("cookie", &other_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, body) = env.open(&callback).await;
    assert_eq!(
        status, 400,
        "a state seen by another session is burned: {body}"
    );

    // Consent denied at the provider.
    env.oidc.set_consent(false).await.unwrap();
    let denied = env.consent(&env.start_connecting().await).await;
    assert!(denied.contains("error=access_denied"), "{denied}");
    let (status, body) = env.open(&denied).await;
    assert_eq!(status, 400);
    assert!(body.contains("Autodesk did not grant access"), "{body}");
    env.oidc.set_consent(true).await.unwrap();

    // A good callback connects once; replaying it is refused.
    let callback = env.consent(&env.start_connecting().await).await;
    let (status, _) = env.open(&callback).await;
    assert_eq!(status, 303);
    let (status, body) = env.open(&callback).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("it may have been used already"), "{body}");

    // A spent code under a fresh state: the provider refuses the exchange.
    let used_code = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let fresh = env.consent(&env.start_connecting().await).await;
    let fresh_state = reqwest::Url::parse(&fresh)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let forged = reqwest::Url::parse_with_params(
        &env.url("/integrations/callback"),
        [
            ("code", used_code.as_str()),
            ("state", fresh_state.as_str()),
        ],
    )
    .unwrap();
    let (status, body) = env.open(forged.as_str()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("could not be completed"), "{body}");
    assert!(body.contains("invalid_grant"), "{body}");

    env.wait_for_sync().await;
    assert_eq!(
        env.connections().await.len(),
        1,
        "only the good callback connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_retried_once_with_a_refreshed_token() {
    let Some((env, id)) = connected("token refresh after a 401").await else {
        return;
    };
    let before = env.tokens(&id).await;

    env.dm.fail_next_with_401(1);
    let (status, body) = env.sync(&id).await;
    assert_eq!(status, 200, "{body}");
    let after = env.tokens(&id).await;
    assert_ne!(before["access_token"], after["access_token"]);
    assert_ne!(
        before["refresh_token"], after["refresh_token"],
        "refresh tokens rotate"
    );
    assert_eq!(env.userinfo_status(text(&after, "access_token")).await, 200);

    // Two 401s in a row: one refresh, one retry, then the plugin sees the 401.
    let refreshes = token_requests(&env.oidc).await;
    env.dm.fail_next_with_401(2);
    let (status, body) = env.sync(&id).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(token_requests(&env.oidc).await, refreshes + 1);
    assert_eq!(env.connections().await[0]["status"], "connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_used_elsewhere_asks_for_reauthorization_without_looping() {
    let Some((env, id)) = connected("reused refresh tokens").await else {
        return;
    };
    let tokens = env.tokens(&id).await;

    // Someone else spends the refresh token; the provider then refuses it from the host.
    let (status, body) = env
        .token_endpoint(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", text(&tokens, "refresh_token")),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    let refreshes = token_requests(&env.oidc).await;
    env.dm.fail_next_with_401(1);
    let (status, body) = env.sync(&id).await;
    assert_eq!(status, 502, "{body}");
    let connection = &env.connections().await[0];
    assert_eq!(
        connection["status"], "needs_reauthorization",
        "{connection}"
    );
    assert!(
        text(connection, "status_reason").contains("invalid_grant"),
        "{connection}"
    );
    assert_eq!(
        token_requests(&env.oidc).await,
        refreshes + 1,
        "one refresh attempt, no loop:\n{}",
        env.oidc.output()
    );
    assert!(
        env.stored(&id).await.tokens.is_none(),
        "dead tokens are dropped"
    );

    // Syncing again does not touch the provider; the page offers to connect again.
    let (status, _) = env.sync(&id).await;
    assert_eq!(status, 409);
    assert_eq!(token_requests(&env.oidc).await, refreshes + 1);
    let page = common::request(Method::GET, &env.url("/integrations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Needs re-authorization"), "{page}");
    assert!(page.contains("data-test=\"reconnect\""), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_the_grant_and_a_revoked_grant_needs_reauthorization() {
    let Some((env, id)) = connected("revocation").await else {
        return;
    };
    let tokens = env.tokens(&id).await;

    // Revoked at the provider behind the host's back (the user removed the app there).
    let options = OidcOptions::default();
    let response = reqwest::Client::new()
        .post(env.oidc.revocation_url())
        .form(&[
            ("token", text(&tokens, "refresh_token")),
            ("token_type_hint", "refresh_token"),
            ("client_id", &options.client_id),
            ("client_secret", &options.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let (status, body) = env.sync(&id).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        env.connections().await[0]["status"],
        "needs_reauthorization"
    );

    // Connecting the same account again revives that connection, then Disconnect: both
    // tokens stop working at the provider.
    let before = env.stored(&id).await.last_sync.unwrap().finished_at_ms;
    let second = env.consent(&env.start_connecting().await).await;
    assert_eq!(env.open(&second).await.0, 303);
    let fresh = loop {
        let connections = env.connections().await;
        assert_eq!(
            connections.len(),
            1,
            "the same account is one connection: {connections:?}"
        );
        let connection = &connections[0];
        if connection["last_sync"]["finished_at_ms"].as_i64() > Some(before) {
            break connection.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(fresh["id"], id.as_str());
    assert_eq!(fresh["status"], "connected");
    assert_eq!(fresh["last_sync"]["error"], Value::Null, "{fresh}");
    assert_eq!(fresh["last_sync"]["imported"], 0, "nothing new: {fresh}");
    let fresh_id = text(&fresh, "id").to_owned();
    let tokens = env.tokens(&fresh_id).await;
    assert_eq!(
        env.userinfo_status(text(&tokens, "access_token")).await,
        200
    );
    let (status, body) = common::send(
        Method::DELETE,
        &env.url(&format!("/api/v1/connections/{fresh_id}")),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "disconnected");
    assert_eq!(
        env.userinfo_status(text(&tokens, "access_token")).await,
        401
    );
    let (status, _) = env
        .token_endpoint(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", text(&tokens, "refresh_token")),
        ])
        .await;
    assert_eq!(status, 400);
    assert!(env.stored(&fresh_id).await.tokens.is_none());
    // What it imported stays, naming its source.
    assert_eq!(env.library("tool-library").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_reach_hosts_outside_the_allow_list() {
    if !available("the authorized-HTTP allow-list") {
        return;
    }
    // The plugin is pointed at a host the provider does not list.
    let env = env(|provider, _| {
        provider.api_url = Some("https://127.0.0.2:9/".into());
    })
    .await;
    let connection = env.connect().await;
    let error = text(&connection["last_sync"], "error");
    assert!(
        error.contains("127.0.0.2:9 is not one of Autodesk's API or download hosts"),
        "{error}"
    );
    assert!(env.library("tool-library").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_not_followed_with_the_token() {
    if !available("provider redirects") {
        return;
    }
    // The profile URL answers with a redirect to the download host.
    let env = env(|provider, dm| {
        let object = dm.object_of("O1001.nc").unwrap();
        provider.userinfo_url = Some(format!("{}/redirect-download/{object}", dm.api_url()));
    })
    .await;
    let callback = env.consent(&env.start_connecting().await).await;
    assert_eq!(env.open(&callback).await.0, 303);
    env.wait_for_sync().await;
    let requests = env.dm.requests();
    let redirect = requests
        .iter()
        .find(|r| r.path.starts_with("/redirect-download/"))
        .expect("the plugin asked for its profile");
    assert!(redirect.had_authorization, "the API host gets the token");
    let followed: Vec<_> = requests.iter().filter(|r| r.host == "download").collect();
    assert!(
        !followed.is_empty(),
        "the plugin followed the redirect itself"
    );
    assert!(
        followed.iter().all(|r| !r.had_authorization),
        "{followed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_row_copied_to_another_organization_does_not_open() {
    let Some((env, id)) = connected("the token vault").await else {
        return;
    };
    let mut copied = env.stored(&id).await;
    copied.org = OrgId::new("other").unwrap();
    env.shop.store.put_connection(&copied).await.unwrap();
    let sealed = copied.tokens.as_ref().unwrap();
    let error = env
        .vault
        .open(
            Scope {
                org: &copied.org,
                connection: &copied.id,
            },
            sealed,
        )
        .unwrap_err();
    assert!(
        error.to_string().contains("belongs to another one"),
        "{error}"
    );
    // The original still opens.
    assert!(env.tokens(&id).await["access_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_in_the_browser_shows_the_imported_tools_and_operations() {
    use chatter_testkit::Browser;
    if !available("connecting Autodesk in a browser")
        || !skip::available("connecting Autodesk in a browser", Browser::is_available)
    {
        return;
    }
    let env = env(|_, _| {}).await;
    let browser = Browser::start().await.unwrap();
    browser
        .sign_in(&env.shop.base, common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await
        .unwrap();
    browser.goto(&env.url("/integrations")).await.unwrap();
    browser.click("#connect-autodesk-fusion").await.unwrap();
    // The provider signs in and consents by itself and sends the browser back.
    browser
        .wait_for_text("#message, .notice", "Connected", Duration::from_secs(20))
        .await
        .unwrap();
    let mut synced = false;
    for _ in 0..60 {
        browser.goto(&env.url("/integrations")).await.unwrap();
        let cell = browser.text("[data-test=last-sync]").await.unwrap();
        if cell.contains("5 imported") {
            synced = true;
            break;
        }
        assert!(!cell.contains("Failed"), "{cell}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(synced, "the first sync did not show in 30 s");
    assert_eq!(
        browser.text("[data-test=account]").await.unwrap(),
        "Ada Lovelace"
    );
    browser.click("[data-test=sync]").await.unwrap();
    browser
        .wait_for_text(".notice", "Sync finished", Duration::from_secs(30))
        .await
        .unwrap();
    browser.screenshot("integrations-connected").await.unwrap();

    browser
        .goto(&env.url("/library?kind=tool-library"))
        .await
        .unwrap();
    browser.click("[data-test=entry-name]").await.unwrap();
    browser
        .wait_for("#tool-count", Duration::from_secs(20))
        .await
        .unwrap();
    let count: usize = browser.text("#tool-count").await.unwrap().parse().unwrap();
    assert_eq!(count, amana_tools().len());
    browser.screenshot("library-tools").await.unwrap();

    browser
        .goto(&env.url("/library?kind=cam-template"))
        .await
        .unwrap();
    browser.click("[data-test=entry-name]").await.unwrap();
    browser
        .wait_for("#operation-count", Duration::from_secs(20))
        .await
        .unwrap();
    let name = browser.text("h1").await.unwrap();
    let expected = template_operations(&name);
    let shown: usize = browser
        .text("#operation-count")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(shown, expected.len());
    let first = browser.text("[data-test=operation-name]").await.unwrap();
    assert_eq!(first, expected[0].0);
    browser.screenshot("library-operations").await.unwrap();
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_new_vault_key_reseals_every_connection_at_start() {
    use chatter_runtime::{Runtime, RuntimeConfig};
    use chatter_server::integrations::Integrations;

    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(chatter_store::SledStore::open(data.path().join("store")).unwrap());
    let org = OrgId::new("acme").unwrap();
    store
        .put_organization(&chatter_model::Organization::new(org.clone(), "Acme"))
        .await
        .unwrap();
    let key = |name: &str| {
        let path = data.path().join(name);
        std::fs::write(&path, VaultKey::generate().unwrap()).unwrap();
        VaultKey::from_file(&path).unwrap()
    };
    let (old, new) = (key("old.key"), key("new.key"));
    let (old_fingerprint, new_fingerprint) =
        (old.fingerprint().to_owned(), new.fingerprint().to_owned());
    let before = Vault::new(old, Vec::new());
    let mut connection = Connection {
        id: "0123456789abcdef".into(),
        org: org.clone(),
        provider: "autodesk".into(),
        plugin: chatter_model::PluginId::new("autodesk-fusion").unwrap(),
        account: None,
        scopes: vec!["data:read".into()],
        status: chatter_model::ConnectionStatus::Connected,
        created_by: chatter_model::UserId::new("someone").unwrap(),
        created_at_ms: 0,
        last_sync: None,
        tokens: None,
    };
    let secret = br#"{"access_token":"a-secret-access-token","refresh_token":null,"expires_at_ms":null,"scopes":[]}"#;
    let scope = Scope {
        org: &org,
        connection: "0123456789abcdef",
    };
    connection.tokens = Some(before.seal(scope, secret).unwrap());
    store.put_connection(&connection).await.unwrap();

    // The operator moves to a new key and keeps the old one as a previous key for one start.
    let rotated = Vault::new(
        new,
        vec![VaultKey::from_file(&data.path().join("old.key")).unwrap()],
    );
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let integrations = Integrations::new(
        Vec::new(),
        Some(rotated),
        runtime,
        store.clone(),
        "http://127.0.0.1:1",
    )
    .unwrap();
    assert_eq!(integrations.reseal_all().await.unwrap(), 1);
    assert_eq!(
        integrations.reseal_all().await.unwrap(),
        0,
        "once is enough"
    );

    let stored = store
        .connection(&org, "0123456789abcdef")
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.tokens.unwrap();
    assert_eq!(sealed.key, new_fingerprint);
    assert_ne!(sealed.key, old_fingerprint);
    // The new key alone now opens it: the old one can go.
    let only_new = Vault::new(
        VaultKey::from_file(&data.path().join("new.key")).unwrap(),
        Vec::new(),
    );
    assert_eq!(only_new.open(scope, &sealed).unwrap(), secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_only_its_five_newest_authorizations() {
    if !available("authorizations in progress") {
        return;
    }
    let env = env(|_, _| {}).await;
    let mut started = Vec::new();
    for _ in 0..6 {
        started.push(env.start_connecting().await);
    }
    let oldest = env.consent(&started[0]).await;
    let (status, body) = env.open(&oldest).await;
    assert_eq!(status, 400, "the oldest of six was dropped: {body}");
    let newest = env.consent(&started[5]).await;
    assert_eq!(env.open(&newest).await.0, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_sync_by_themselves_at_the_interval() {
    use chatter_runtime::{Runtime, RuntimeConfig};
    use chatter_server::integrations::Integrations;
    use chatter_server::integrations::provider::Provider;

    let Some((env, id)) = connected("periodic syncs").await else {
        return;
    };
    let first = env.stored(&id).await.last_sync.unwrap().finished_at_ms;
    // Integrations over the shop's store, as a server with a short interval would run them.
    let vault = Vault::load(&KeySources {
        key_file: Some(env.files.path().join("vault.key")),
        ..KeySources::default()
    })
    .unwrap();
    let integrations = Arc::new(
        Integrations::new(
            vec![Provider::from_section("autodesk", &env.provider).unwrap()],
            vault,
            Arc::new(Runtime::new(RuntimeConfig::default()).unwrap()),
            env.shop.store.clone(),
            &env.shop.base,
        )
        .unwrap(),
    );
    let periodic = tokio::spawn(integrations.sync_periodically(Duration::from_millis(300)));
    let mut synced_again = false;
    for _ in 0..300 {
        let last = env.stored(&id).await.last_sync.unwrap();
        if last.finished_at_ms > first {
            assert_eq!(last.error, None);
            assert_eq!((last.imported, last.skipped), (0, 5));
            synced_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    periodic.abort();
    assert!(synced_again, "no periodic sync within 30 s");
}
