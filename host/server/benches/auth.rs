//! What signing in and checking credentials cost: requests a second through the access check
//! (an API token, a session cookie) against a public route served by the same server in the
//! same run (the baseline: HTTP and routing alone), and sign-ins a second, which Argon2id bounds
//! by design.
//!
//! `cargo bench -p chatter-server --bench auth`

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::OrgId;
use chatter_runtime::{Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_store::{SledStore, Store};

mod common;
use common::{owner_token, sign_in};

/// Clients sending at once.
const CLIENTS: usize = 8;
/// Requests each client sends per measurement.
const REQUESTS: usize = 2_000;
/// Sign-ins each client makes.
const SIGN_INS: usize = 10;

/// Requests a second `CLIENTS` clients get from `path` with `header`.
async fn rate(base: &str, path: &str, header: Option<(&'static str, String)>) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let url = format!("{base}{path}");
        let header = header.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..REQUESTS {
                let mut request = client.get(&url);
                if let Some((name, value)) = &header {
                    request = request.header(*name, value);
                }
                let response = request.send().await.unwrap();
                assert!(
                    response.status().is_success(),
                    "{url}: {}",
                    response.status()
                );
                response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    (CLIENTS * REQUESTS) as f64 / started.elapsed().as_secs_f64()
}

/// Sign-ins a second, and the session cookie of the last.
async fn sign_ins(base: &str) -> (f64, String) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut session = String::new();
            for _ in 0..SIGN_INS {
                session = sign_in(&client, &base).await;
            }
            session
        }));
    }
    let mut session = String::new();
    for task in tasks {
        session = task.await.unwrap();
    }
    let rate = (CLIENTS * SIGN_INS) as f64 / started.elapsed().as_secs_f64();
    (rate, session)
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("auth-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
        let org = OrgId::new("shop").unwrap();
        let token = owner_token(store.as_ref(), &org).await;
        let mut config = ServerConfig::default();
        config.server.data_dir = dir.path().to_owned();
        config.server.organization = org;
        let plugins = Arc::new(
            Runtime::new(RuntimeConfig { max_instances: 4, ..RuntimeConfig::default() }).unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served: Arc<dyn Store> = store.clone();
        tokio::spawn(async move {
            chatter_server::serve(&config, plugins, served, listener, std::future::pending())
                .await
                .unwrap();
        });
        tokio::time::sleep(Duration::from_millis(500)).await;

        let (sign_in_rate, session) = sign_ins(&base).await;
        let public = rate(&base, "/healthz", None).await;
        let bearer = ("authorization", format!("Bearer {token}"));
        let with_token = rate(&base, "/api/v1/machines", Some(bearer)).await;
        let with_session = rate(&base, "/api/v1/machines", Some(("cookie", session))).await;
        println!("{CLIENTS} clients over loopback, {REQUESTS} requests each");
        println!("  public /healthz (baseline)       {public:>9.0} req/s");
        println!(
            "  /api/v1/machines, API token      {with_token:>9.0} req/s  ({:.2}x baseline)",
            with_token / public
        );
        println!(
            "  /api/v1/machines, session cookie {with_session:>9.0} req/s  ({:.2}x baseline)",
            with_session / public
        );
        println!(
            "  sign-ins (Argon2id 19 MiB, t=2)  {sign_in_rate:>9.1} /s    ({:.0} ms each on {} cores)",
            1000.0 / sign_in_rate * std::thread::available_parallelism().map_or(1, usize::from) as f64,
            std::thread::available_parallelism().map_or(1, usize::from)
        );
    });
}
