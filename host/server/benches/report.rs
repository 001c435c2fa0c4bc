//! The utilization report end to end: `POST /api/v1/reports/runs` over loopback to a running
//! server, which checks the request, resolves the days, runs the `utilization` component (one
//! `timelines`, one `totals-over` and one `events` call reading the store for every machine),
//! and archives the CSV, JSON and HTML it hands over. For 100 machines × 30 days of a realistic
//! shop (`chatter_testkit::sample`, ~140 state changes a machine-day), then fewer machines and
//! fewer days to show how it grows. The baseline, measured in the same run on the same data:
//! the organization summary (`GET /api/v1/summary`), the host's own totals of the same
//! machines and range without a plugin, timelines, cycles or documents.
//!
//! `cargo bench -p chatter-server --bench report`

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::OrgId;
use chatter_runtime::{PluginPackage, Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_store::{DerivedRecords, SledStore, Store};
use chatter_testkit::sample::{DAY, Random, edge_machine, machine_day};
use serde_json::{Value, json};

mod common;
use common::owner_token;

const MACHINES: usize = 100;
const DAYS: i64 = 30;
/// 2026-11-01T00:00:00Z: the data ends here.
const END: i64 = 20_393 * DAY;
const ROUNDS: usize = 9;

/// Stores `DAYS` days of every machine; returns how many intervals.
async fn fill(store: &SledStore, org: &OrgId) -> usize {
    let mut intervals = 0;
    for n in 0..MACHINES {
        let machine = edge_machine(org, &format!("m{n:03}"), &format!("Machine {n}"));
        store.put_machine(&machine).await.unwrap();
        let mut random = Random::new(n as u64 * 7_919);
        let mut counter = 0;
        for d in 0..DAYS {
            let records = machine_day(&mut random, END - (DAYS - d) * DAY, &mut counter);
            intervals += records.intervals.len();
            let derived = DerivedRecords {
                intervals: &records.intervals,
                parts: &records.parts,
                cycles: &records.cycles,
                alarms: &records.alarms,
                snapshot: b"{}",
            };
            store.put_derived(org, &machine.id, derived).await.unwrap();
        }
    }
    intervals
}

async fn install_utilization(store: &dyn Store, runtime: &Runtime) {
    let guest = chatter_guest_builds::guest("utilization");
    let manifest = std::fs::read_to_string(guest.manifest_path()).unwrap();
    let package = PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path())).unwrap();
    chatter_server::plugins::install(store, runtime, &package, &manifest)
        .await
        .unwrap();
}

fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .unwrap()
        .to_string()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// Runs the report over the last `days` days for the first `machines` machines; returns
    /// the time and the run.
    async fn report(&self, machines: usize, days: i64) -> (Duration, Value) {
        let ids: Vec<String> = (0..machines).map(|n| format!("m{n:03}")).collect();
        let body = json!({
            "plugin": "utilization",
            "from": rfc3339(END - days * DAY),
            "to": rfc3339(END),
            "machines": ids,
        });
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/api/v1/reports/runs", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let run: Value = response.json().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(status, 201, "{run}");
        assert_eq!(run["status"]["state"], "succeeded", "{run}");
        (elapsed, run)
    }

    /// The organization summary over the same range: every machine's totals.
    async fn summary(&self, days: i64) -> Duration {
        let url = format!(
            "{}/api/v1/summary?from={}&to={}",
            self.base,
            rfc3339(END - days * DAY),
            rfc3339(END)
        );
        let started = Instant::now();
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        started.elapsed()
    }
}

async fn measure(client: &Client, machines: usize, days: i64) -> (f64, Value) {
    let mut samples = Vec::new();
    let mut last = Value::Null;
    for _ in 0..ROUNDS {
        let (elapsed, run) = client.report(machines, days).await;
        samples.push(elapsed);
        last = run;
    }
    (median(samples), last)
}

fn sizes(run: &Value) -> String {
    run["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {:.0} KiB",
                d["name"].as_str().unwrap(),
                d["bytes"].as_f64().unwrap() / 1024.0
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn bench() {
    let dir = tempfile::Builder::new()
        .prefix("report-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let org = OrgId::new("shop").unwrap();
    let token = owner_token(store.as_ref(), &org).await;
    let filling = Instant::now();
    let intervals = fill(&store, &org).await;
    println!(
        "{MACHINES} machines × {DAYS} days stored: {intervals} intervals, in {:.1} s",
        filling.elapsed().as_secs_f64()
    );
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    install_utilization(store.as_ref(), &runtime).await;

    let mut config = ServerConfig::default();
    config.server.data_dir = dir.path().to_owned();
    config.server.organization = org.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served: Arc<dyn Store> = store.clone();
    tokio::spawn(async move {
        chatter_server::serve(&config, runtime, served, listener, std::future::pending())
            .await
            .unwrap();
    });
    let client = Client {
        http: reqwest::Client::new(),
        base,
        token,
    };
    while client
        .http
        .get(format!("{}/healthz", client.base))
        .send()
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Warm up: the first run compiles the component (no artifact cache here).
    let (first, _) = client.report(MACHINES, DAYS).await;
    println!(
        "first run (compiles the component, makes the day pages): {:.0} ms",
        first.as_secs_f64() * 1e3
    );

    let summary = median(summary_samples(&client, DAYS).await);
    let reads = median(read_samples(store.as_ref(), &org, DAYS).await);
    println!("store reads alone (every interval, cycle, part count and alarm): {reads:.1} ms");
    let (full, run) = measure(&client, MACHINES, DAYS).await;
    println!(
        "utilization, {MACHINES} machines × {DAYS} days: median {full:.1} ms ({ROUNDS} runs) — \
         summary of the same: {summary:.1} ms ({:.1}×) — target ≤ 300 ms: {}",
        full / summary,
        if full <= 300.0 { "MET" } else { "MISSED" }
    );
    println!("  documents: {}", sizes(&run));
    println!("growth with machines ({DAYS} days):");
    for machines in [10, 25, 50, 100] {
        let (ms, _) = measure(&client, machines, DAYS).await;
        println!(
            "  {machines:>3} machines: {ms:>7.1} ms  ({:.2} ms a machine)",
            ms / machines as f64
        );
    }
    println!("growth with days ({MACHINES} machines):");
    for days in [1, 7, 14, 30] {
        let (ms, _) = measure(&client, MACHINES, days).await;
        println!(
            "  {days:>3} days: {ms:>7.1} ms  ({:.2} ms a day)",
            ms / days as f64
        );
    }
}

async fn summary_samples(client: &Client, days: i64) -> Vec<Duration> {
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        samples.push(client.summary(days).await);
    }
    samples
}

/// The time to read every record the report reads, straight from the store.
async fn read_samples(store: &dyn Store, org: &OrgId, days: i64) -> Vec<Duration> {
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let (from, to) = (END - days * DAY, END);
        for n in 0..MACHINES {
            let machine = chatter_model::MachineId::new(format!("m{n:03}")).unwrap();
            store.intervals(org, &machine, from, to).await.unwrap();
            store
                .cycles(org, &machine, from, to, usize::MAX)
                .await
                .unwrap();
            store
                .parts(org, &machine, from, to, usize::MAX)
                .await
                .unwrap();
            store
                .alarms(org, &machine, from, to, usize::MAX)
                .await
                .unwrap();
        }
        samples.push(started.elapsed());
    }
    samples
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}
