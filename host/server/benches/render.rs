//! How long the floor screens take to render on the server, for shops of 100 and 1,000
//! machines that each reported a working day: the dashboard (`/`), TV mode (`/tv`), the tile
//! data screens catch up from (`/floor/tiles`) and one machine's page (`/machines/{id}`,
//! today), as one signed-in browser asks for them over loopback, against `/healthz` on the same
//! server in the same run (the baseline: HTTP alone).
//!
//! `cargo bench -p chatter-server --bench render`

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::OrgId;
use chatter_runtime::{Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_store::{SledStore, Store};
use serde_json::{Value, json};

mod common;
use common::{owner_token, sign_in};

/// Shops measured, by machine count.
const SHOPS: [usize; 2] = [100, 1_000];
/// Hours of data each machine reported, ending now.
const HOURS: i64 = 8;
/// Minutes between a machine's state changes.
const CHANGE_EVERY_MIN: i64 = 3;
const CELLS: [&str; 4] = ["Milling cell", "Turning cell", "5-axis", "Grinding"];

/// A machine's day: execution cycling through running, a feed hold, idle and an alarm, with
/// programs, a part at each cycle's end, and the condition raised and cleared.
fn day(machine: usize, now_ns: i64) -> Vec<Value> {
    let start = now_ns - HOURS * 3_600_000_000_000;
    let steps = HOURS * 60 / CHANGE_EVERY_MIN;
    let mut observations = vec![observation(1, "avail", start, event("AVAILABLE"))];
    let mut parts = 0;
    for step in 0..steps {
        let at = start + step * CHANGE_EVERY_MIN * 60_000_000_000 + machine as i64 * 1_000_000;
        let sequence = observations.len() as u64 + 1;
        let execution = match (step + machine as i64) % 6 {
            0..=2 => "ACTIVE",
            3 => "FEED_HOLD",
            4 => "READY",
            _ => "STOPPED",
        };
        let program = format!("O{:04}", 1000 + step % 7);
        observations.push(observation(sequence, "program", at, event(&program)));
        observations.push(observation(sequence + 1, "exec", at + 1, event(execution)));
        if execution == "READY" {
            parts += 1;
            observations.push(observation(
                sequence + 2,
                "parts",
                at + 2,
                event(&parts.to_string()),
            ));
        }
        if execution == "STOPPED" && step % 4 == 0 {
            let fault = json!({ "type": "condition", "value": { "level": "fault", "native_code": "1010", "text": "SPINDLE OVERLOAD" } });
            observations.push(observation(sequence + 2, "alarm", at + 2, fault));
        } else if execution == "ACTIVE" {
            let normal = json!({ "type": "condition", "value": { "level": "normal" } });
            observations.push(observation(sequence + 2, "alarm", at + 2, normal));
        }
    }
    observations
}

fn event(text: &str) -> Value {
    json!({ "type": "event", "value": text })
}

fn observation(sequence: u64, item: &str, at_ns: i64, value: Value) -> Value {
    let timestamp = jiff::Timestamp::from_nanosecond(i128::from(at_ns)).unwrap();
    json!({ "sequence": sequence, "data_item": item, "timestamp": timestamp.to_string(), "value": value })
}

/// Median and 95th percentile of `samples` (sorted here), in milliseconds.
fn median_p95(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5).as_secs_f64() * 1e3, at(0.95).as_secs_f64() * 1e3)
}

/// Times `rounds` sequential GETs of `path` with the session `cookie`.
async fn time_get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
    rounds: usize,
) -> (f64, f64, usize) {
    let mut samples = Vec::with_capacity(rounds);
    let mut bytes = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let response = client
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        bytes = response.bytes().await.unwrap().len();
        samples.push(started.elapsed());
    }
    let (median, p95) = median_p95(&mut samples);
    (median, p95, bytes)
}

async fn shop(machines: usize) {
    let dir = tempfile::Builder::new()
        .prefix("render-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let org = OrgId::new("shop").unwrap();
    let owner = owner_token(store.as_ref(), &org).await;
    let mut config = ServerConfig::default();
    config.server.data_dir = dir.path().to_owned();
    config.server.organization = org;
    config.ingest.rate_per_token = 10_000_000;
    config.ingest.burst_per_token = 10_000_000;
    let plugins = Arc::new(
        Runtime::new(RuntimeConfig {
            max_instances: 4,
            ..RuntimeConfig::default()
        })
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served: Arc<dyn Store> = store.clone();
    tokio::spawn(async move {
        chatter_server::serve(&config, plugins, served, listener, std::future::pending())
            .await
            .unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let token: Value = client
        .post(format!("{base}/api/v1/device-tokens"))
        .bearer_auth(&owner)
        .json(&json!({ "name": "bench" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device = token["token"].as_str().unwrap().to_owned();
    let now_ns = chatter_model::now_ms() * 1_000_000;
    let filling = Instant::now();
    for n in 0..machines {
        let id = format!("machine-{n:04}");
        let machine = json!({
            "id": id,
            "name": format!("Machine {n}"),
            "driver": "simulator",
            "feed": "edge",
            "group": CELLS[n % CELLS.len()],
            "daily_part_goal": 120,
            "signals": { "availability": ["avail"], "execution": ["exec"], "program": ["program"], "part_count": ["parts"] },
        });
        let created = client
            .post(format!("{base}/api/v1/machines"))
            .bearer_auth(&owner)
            .json(&machine)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let batch = json!({ "machine": id, "stream": "bench", "observations": day(n, now_ns) });
        let posted = client
            .post(format!("{base}/api/v1/ingest"))
            .bearer_auth(&device)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert!(
            posted.status().is_success(),
            "{}",
            posted.text().await.unwrap()
        );
    }
    let filled = filling.elapsed();
    let session = sign_in(&client, &base).await;
    let rounds = if machines <= 100 { 100 } else { 20 };
    // Warm up: the first read of each machine's part count goes to the store.
    time_get(&client, &base, "/", &session, 2).await;

    let (health, _, _) = time_get(&client, &base, "/healthz", &session, rounds).await;
    println!(
        "{machines} machines, {HOURS} h of data each (filled in {:.1} s); {rounds} sequential requests per page",
        filled.as_secs_f64()
    );
    println!("  /healthz (baseline)   median {health:>7.2} ms");
    for (path, name) in [
        ("/", "dashboard"),
        ("/tv", "TV mode"),
        ("/floor/tiles", "tile data"),
        ("/machines/machine-0000", "a machine's day"),
    ] {
        let (median, p95, bytes) = time_get(&client, &base, path, &session, rounds).await;
        println!(
            "  {name:<21} median {median:>7.2} ms  p95 {p95:>7.2} ms  {:>6.0} KiB  ({:.0}x baseline)",
            bytes as f64 / 1024.0,
            median / health
        );
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for machines in SHOPS {
        runtime.block_on(shop(machines));
    }
}
