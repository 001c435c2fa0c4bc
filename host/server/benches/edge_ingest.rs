//! Durable ingest through the edge API: edge connectors posting batches of 1,000 observations
//! over HTTP to a running server (JSON parsing, per-item checks, deduplication, durable append,
//! derivation, live state), against the same batches appended straight to the store in the same
//! run (the store's own durable throughput: the baseline). Three rounds, one after another, show
//! how throughput holds up as the store fills.
//!
//! `cargo bench -p chatter-server --bench edge_ingest`

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{MachineId, Observation, OrgId, Value};
use chatter_runtime::{Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_store::{SledStore, Store};
use serde_json::{Value as Json, json};

mod common;
use common::owner_token;

/// Edge connectors posting at once, one machine each.
const EDGES: usize = 8;
const BATCH: u64 = 1_000;
/// Batches each edge posts per round.
const BATCHES: u64 = 100;
const ROUNDS: u64 = 3;
const BASE_NS: i64 = 1_764_374_400_000_000_000;

/// The `n`th observation of a machine: mostly samples, an execution change every 50th.
fn observation(n: u64) -> (String, i64, Value) {
    let at = BASE_NS + n as i64 * 1_000_000;
    if n.is_multiple_of(50) {
        let state = if n.is_multiple_of(100) {
            "ACTIVE"
        } else {
            "READY"
        };
        ("exec".into(), at, Value::Event(state.into()))
    } else {
        (format!("axis-{}", n % 7), at, Value::Sample(n as f64 * 0.5))
    }
}

fn body(machine: &str, first: u64) -> Vec<u8> {
    let observations: Vec<Json> = (first..first + BATCH)
        .map(|n| {
            let (item, at, value) = observation(n);
            let timestamp = jiff::Timestamp::from_nanosecond(i128::from(at)).unwrap();
            json!({ "sequence": n, "data_item": item, "timestamp": timestamp.to_string(), "value": value })
        })
        .collect();
    serde_json::to_vec(
        &json!({ "machine": machine, "stream": "bench", "observations": observations }),
    )
    .unwrap()
}

fn observations(first: u64) -> Vec<Observation> {
    (first..first + BATCH)
        .map(|n| {
            let (data_item, timestamp, value) = observation(n);
            Observation {
                data_item,
                timestamp,
                value,
            }
        })
        .collect()
}

async fn post_all(base: &str, token: &str, bodies: Vec<(String, Vec<Vec<u8>>)>) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (_, batches) in bodies {
        let (client, url, token) = (
            client.clone(),
            format!("{base}/api/v1/ingest"),
            token.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            for batch in batches {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(batch)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    response.status().is_success(),
                    "{}",
                    response.text().await.unwrap()
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

async fn append_all(store: &Arc<SledStore>, org: &OrgId, round: u64) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for edge in 0..EDGES {
        let (store, org) = (store.clone(), org.clone());
        tasks.push(tokio::spawn(async move {
            let machine = MachineId::new(format!("direct-{edge}")).unwrap();
            for b in 0..BATCHES {
                let first = (round * BATCHES + b) * BATCH + 1;
                store
                    .append_observations(&org, &machine, &observations(first))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("edge-ingest-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
        let mut config = ServerConfig::default();
        config.server.data_dir = dir.path().to_owned();
        config.server.organization = OrgId::new("shop").unwrap();
        config.ingest.rate_per_token = u64::MAX / 4;
        config.ingest.burst_per_token = u64::MAX / 4;
        let plugin_runtime = Arc::new(
            Runtime::new(RuntimeConfig { max_instances: 16, ..RuntimeConfig::default() }).unwrap(),
        );
        let owner = owner_token(store.as_ref(), &OrgId::new("shop").unwrap()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served: Arc<dyn Store> = store.clone();
        tokio::spawn(async move {
            chatter_server::serve(&config, plugin_runtime, served, listener, std::future::pending())
                .await
                .unwrap();
        });
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for edge in 0..EDGES {
            for id in [format!("edge-{edge}"), format!("direct-{edge}")] {
                let machine = json!({ "id": id, "driver": "simulator", "feed": "edge" });
                let response = client.post(format!("{base}/api/v1/machines")).bearer_auth(&owner).json(&machine).send().await.unwrap();
                assert_eq!(response.status(), 201);
            }
        }
        let token: Json = client
            .post(format!("{base}/api/v1/device-tokens"))
            .bearer_auth(&owner)
            .json(&json!({ "name": "bench" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let org = OrgId::new("shop").unwrap();

        println!("{EDGES} edges x {BATCHES} batches of {BATCH} observations per round, durable");
        for round in 0..ROUNDS {
            let bodies: Vec<(String, Vec<Vec<u8>>)> = (0..EDGES)
                .map(|edge| {
                    let machine = format!("edge-{edge}");
                    let batches = (0..BATCHES)
                        .map(|b| body(&machine, (round * BATCHES + b) * BATCH + 1))
                        .collect();
                    (machine, batches)
                })
                .collect();
            let api = post_all(&base, &token, bodies).await;
            let direct = append_all(&store, &org, round).await;
            let total = (EDGES as u64 * BATCHES * BATCH) as f64;
            let api_rate = total / api.as_secs_f64();
            let direct_rate = total / direct.as_secs_f64();
            println!(
                "round {} (store holds {:>4.1} M before): API {:>9.0} obs/s   store alone {:>9.0} obs/s   API/store {:.2}",
                round + 1,
                (2 * round * EDGES as u64 * BATCHES * BATCH) as f64 / 1e6,
                api_rate,
                direct_rate,
                api_rate / direct_rate
            );
        }
    });
}
