//! A served shop for the server's tests: organization `acme` on a random loopback port, with
//! simulated machines and any bundled or test plugin installed, and organization `other` with
//! a machine of the same id that nobody serves.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatter_model::{Machine, MachineId, OrgId, Organization, PluginId, Role};
use chatter_runtime::{Manifest, PluginPackage, Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_server::config::MachineSection;
use chatter_store::{SledStore, Store};
use serde_json::Value;

/// The shared fixtures folder (`$CHATTER_FIXTURES`, or `../shared/fixtures` beside the
/// repository) joined with `sub`, or `None` after saying why the test is skipped.
pub fn fixtures(sub: &str) -> Option<PathBuf> {
    let path = std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    if path.is_dir() {
        Some(path.join(sub))
    } else {
        println!("skipping: fixtures not found at {}", path.display());
        None
    }
}

/// The owner of every test shop's organization `acme`.
pub const OWNER_EMAIL: &str = "owner@acme.example";
/// Their password.
pub const OWNER_PASSWORD: &str = "owner password 1";

/// The API token each running shop's owner calls with, by the shop's base URL: [`get`] and
/// [`send`] attach it to requests to that shop, so tests read like plain API calls.
static OWNER_TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn owner_token_for(url: &str) -> Option<String> {
    OWNER_TOKENS
        .lock()
        .unwrap()
        .iter()
        .find(|(base, _)| url.starts_with(&format!("{base}/")))
        .map(|(_, token)| token.clone())
}

/// A running server and its store.
pub struct Shop {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// An owner's API token for organization `acme`.
    pub token: String,
    /// The store it serves.
    pub store: Arc<SledStore>,
    _data: tempfile::TempDir,
}

/// What to serve.
#[derive(Default)]
pub struct ShopSetup {
    /// Simulated machines `mill-1`… configured in the config file.
    pub simulated: u32,
    /// Plugins (guest names) installed besides the simulator.
    pub plugins: &'static [&'static str],
    /// The operator's loopback setting.
    pub allow_loopback: bool,
    /// Observations a second and at once each device token may send, if not the defaults.
    pub ingest_rate: Option<(u64, u64)>,
    /// The organization's time zone, if not UTC.
    pub time_zone: Option<&'static str>,
    /// The SMTP server account e-mail goes to, if any (`smtp://127.0.0.1:<port>`).
    pub smtp_url: Option<String>,
    /// The socket to serve on, when the test needs the address before the server starts
    /// (an OAuth provider must know the callback URL).
    pub listener: Option<tokio::net::TcpListener>,
    /// OAuth providers, by name.
    pub providers: BTreeMap<String, chatter_server::config::ProviderSection>,
    /// The vault's key files.
    pub vault: chatter_server::config::KeySources,
    /// Seconds between retries of a failed scheduled report, if not the default.
    pub report_retry_delay_s: Option<u64>,
    /// How alerts are delivered, if not the defaults.
    pub alerts: chatter_server::config::AlertsSection,
}

/// Serves `machines` simulated machines.
pub async fn shop(machines: u32) -> Shop {
    serve(ShopSetup {
        simulated: machines,
        ..ShopSetup::default()
    })
    .await
}

/// Serves `setup`.
pub async fn serve(setup: ShopSetup) -> Shop {
    let data = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::default();
    config.server.data_dir = data.path().to_owned();
    config.server.organization = OrgId::new("acme").unwrap();
    config.network.allow_loopback = setup.allow_loopback;
    config.supervision.backoff_initial_ms = 100;
    config.machines = (1..=setup.simulated)
        .map(|n| MachineSection {
            id: MachineId::new(format!("mill-{n}")).unwrap(),
            name: format!("Mill {n}"),
            driver: PluginId::new("simulator").unwrap(),
            poll_interval_ms: 50,
            config: BTreeMap::from([
                ("seed".to_owned(), n.to_string()),
                ("speed".to_owned(), "600".to_owned()),
            ]),
            endpoints: Vec::new(),
            feed: Default::default(),
            signals: Default::default(),
            group: None,
            daily_part_goal: None,
        })
        .collect();
    if let Some(zone) = setup.time_zone {
        config.server.time_zone = zone.to_owned();
    }
    if let Some((rate, burst)) = setup.ingest_rate {
        config.ingest.rate_per_token = rate;
        config.ingest.burst_per_token = burst;
    }
    config.email.smtp_url = setup.smtp_url.clone();
    if let Some(delay) = setup.report_retry_delay_s {
        config.reports.retry_delay_s = delay;
    }
    config.providers = setup.providers;
    config.vault = setup.vault;
    config.alerts = setup.alerts;
    // Recorded machine data is years old: keep it.
    config.retention.raw_days = 0;
    config.retention.derived_days = 0;

    let store = Arc::new(SledStore::open(data.path().join("store")).unwrap());
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            max_instances: 16,
            ..RuntimeConfig::default()
        })
        .unwrap(),
    );
    for guest in std::iter::once("simulator").chain(setup.plugins.iter().copied()) {
        install(store.as_ref(), &runtime, guest).await;
    }

    let acme = OrgId::new("acme").unwrap();
    store
        .put_organization(&Organization::new(acme.clone(), "My shop"))
        .await
        .unwrap();
    let operator = chatter_server::accounts::operator::add_user;
    operator(
        store.as_ref(),
        OWNER_EMAIL,
        "Owner",
        OWNER_PASSWORD,
        &acme,
        Role::Owner,
    )
    .await
    .unwrap();
    let token = chatter_server::accounts::operator::create_token(
        store.as_ref(),
        OWNER_EMAIL,
        &acme,
        Role::Owner,
        "tests",
    )
    .await
    .unwrap();

    let other = OrgId::new("other").unwrap();
    store
        .put_organization(&Organization::new(other.clone(), "Other shop"))
        .await
        .unwrap();
    let secret = Machine {
        org: other,
        id: MachineId::new("mill-1").unwrap(),
        name: "Other's secret mill".into(),
        driver: PluginId::new("simulator").unwrap(),
        config: BTreeMap::new(),
        endpoints: Vec::new(),
        poll_interval_ms: 50,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    };
    store.put_machine(&secret).await.unwrap();

    let listener = match setup.listener {
        Some(listener) => listener,
        None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    };
    let base = format!("http://{}", listener.local_addr().unwrap());
    config.server.public_url = Some(base.clone());
    {
        let mut tokens = OWNER_TOKENS.lock().unwrap();
        // A finished test's port may be handed to this shop: its owner's token is the one.
        tokens.retain(|(served, _)| *served != base);
        tokens.push((base.clone(), token.clone()));
    }
    let served_store: Arc<dyn Store> = store.clone();
    tokio::spawn(async move {
        chatter_server::serve(
            &config,
            runtime,
            served_store,
            listener,
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    Shop {
        base,
        token,
        store,
        _data: data,
    }
}

/// Installs the guest called `name`, as `chatter plugin add` would.
async fn install(store: &SledStore, runtime: &Runtime, name: &str) {
    let guest = chatter_guest_builds::guest(name);
    let manifest_text = std::fs::read_to_string(guest.manifest_path()).unwrap();
    let manifest = Manifest::parse(&manifest_text, guest.manifest_path()).unwrap();
    let package = PluginPackage::new(
        manifest,
        std::fs::read(guest.wasm_path()).unwrap(),
        PathBuf::from(guest.wasm),
    );
    chatter_server::plugins::install(store, runtime, &package, &manifest_text)
        .await
        .unwrap();
}

/// A request to `url`, with its shop owner's token if `url` is a test shop's.
pub fn request(method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
    let request = reqwest::Client::new().request(method, url);
    match owner_token_for(url) {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// GET `url`: status and JSON body.
pub async fn get(url: &str) -> (u16, Value) {
    let response = request(reqwest::Method::GET, url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// GETs `url` as the owner: the body as text, after checking the status is 200.
pub async fn get_text(url: &str) -> String {
    let response = request(reqwest::Method::GET, url).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {text}");
    text
}

/// Sends `method` to `url` with a JSON body: status and JSON body (`null` when empty).
pub async fn send(method: reqwest::Method, url: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = request(method, url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

/// Polls `url` until `done` holds for its body, for at most `limit`; returns the last body.
pub async fn wait_for(url: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let (_, body) = get(url).await;
        if done(&body) || std::time::Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A session of `user` in `org`, made directly in the store as signing in would: the `Cookie`
/// header that carries it and its CSRF token.
pub async fn session(
    store: &SledStore,
    user: &chatter_model::UserId,
    org: &OrgId,
    expires_in_ms: i64,
) -> (String, String) {
    use chatter_store::Accounts as _;
    let id = chatter_server::auth::secret::new_secret("").unwrap();
    let csrf = chatter_server::auth::secret::random_hex::<16>().unwrap();
    let now = chatter_model::now_ms();
    let record = chatter_model::Session {
        user: user.clone(),
        org: Some(org.clone()),
        csrf_token: csrf.clone(),
        created_at_ms: now,
        last_seen_ms: now,
        expires_at_ms: now + expires_in_ms,
        user_agent: "test".into(),
    };
    store.put_session(&id.hash, &record).await.unwrap();
    (format!("chatter_session={}", id.secret), csrf)
}
