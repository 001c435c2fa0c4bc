//! The edge ingestion API under crashes: a client streams batches to `chatter serve` while the
//! server is killed with SIGKILL at random moments and restarted on the same data folder.
//! Afterwards every acknowledged observation is stored exactly once, nothing is stored that
//! was never sent, and the derived timeline counts every stored observation once.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod operator;

const BATCH: u64 = 400;
const BATCHES: u64 = 60;
const KILLS: u32 = 5;
/// 2026-01-01T00:00:00Z in nanoseconds.
const BASE: i64 = 1_767_225_600_000_000_000;
/// Observations are 10 ms apart.
const STEP: i64 = 10_000_000;
/// Every 37th observation switches execution, starting ACTIVE.
const SWITCH_EVERY: u64 = 37;

/// The server process; killed when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(["serve", "--config"])
        .arg(config)
        .env("CHATTER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

fn kill_hard(server: &mut Server) {
    let pid = server.0.id().to_string();
    Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    server.0.wait().unwrap();
}

async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = reqwest::get(format!("{base}/healthz")).await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up at {base}");
}

fn timestamp(sequence: u64) -> String {
    let nanos = BASE + sequence as i64 * STEP;
    jiff_free_rfc3339(nanos)
}

/// RFC 3339 for a time in 2026-01, without a time library: days, hours, minutes, seconds.
fn jiff_free_rfc3339(nanos: i64) -> String {
    let since = nanos - BASE;
    let (seconds, fraction) = (since / 1_000_000_000, since % 1_000_000_000);
    let (day, rest) = (seconds / 86_400, seconds % 86_400);
    format!(
        "2026-01-{:02}T{:02}:{:02}:{:02}.{fraction:09}Z",
        day + 1,
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The observation the edge numbers `sequence`: a sample carrying its number, or every
/// `SWITCH_EVERY`th an execution change.
fn observation(sequence: u64) -> Value {
    let value = if sequence % SWITCH_EVERY == 1 {
        let state = if (sequence / SWITCH_EVERY).is_multiple_of(2) {
            "ACTIVE"
        } else {
            "READY"
        };
        json!({ "type": "event", "value": state })
    } else {
        json!({ "type": "sample", "value": sequence as f64 })
    };
    let item = if sequence % SWITCH_EVERY == 1 {
        "exec"
    } else {
        "x"
    };
    json!({ "sequence": sequence, "data_item": item, "timestamp": timestamp(sequence), "value": value })
}

/// Sends batches until `BATCHES` are acknowledged, retrying each until it is.
async fn stream(base: String, token: String, acknowledged: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let items = json!([
        { "id": "exec", "category": "event", "kind": "EXECUTION" },
        { "id": "avail", "category": "event", "kind": "AVAILABILITY" },
    ]);
    for batch in 0..BATCHES {
        let first = batch * BATCH + 1;
        let observations: Vec<Value> = (first..first + BATCH).map(observation).collect();
        let body = json!({
            "machine": "edge-mill", "stream": "crash-test", "data_items": items,
            "observations": observations,
        });
        loop {
            let sent = client
                .post(format!("{base}/api/v1/ingest"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    let answer: Value = response.json().await.unwrap();
                    assert_eq!(answer["rejected"], json!([]), "{answer}");
                    assert_eq!(
                        answer["last_sequence"],
                        json!(first + BATCH - 1),
                        "{answer}"
                    );
                    acknowledged.store(first + BATCH - 1, Ordering::SeqCst);
                    break;
                }
                Ok(response) => {
                    let status = response.status();
                    panic!("{status}: {}", response.text().await.unwrap_or_default());
                }
                // The server is down or died mid-request: send the batch again.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    done.store(true, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_survive_sigkill_exactly_once() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = data.path().join("chatter.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ndata-dir = \"{}\"\norganization = \"acme\"\n\
             [retention]\nraw-days = 0\nderived-days = 0\n\
             [ingest]\nrate-per-token = 10000000\nburst-per-token = 10000000\n",
            data.path().join("data").display()
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let owner = operator::owner_token(&config);
    let mut server = start(&config);
    wait_healthy(&base).await;

    let client = reqwest::Client::new();
    let machine = json!({ "id": "edge-mill", "driver": "simulator", "feed": "edge" });
    let created = client
        .post(format!("{base}/api/v1/machines"))
        .bearer_auth(&owner)
        .json(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let token: Value = client
        .post(format!("{base}/api/v1/device-tokens"))
        .bearer_auth(&owner)
        .json(&json!({ "name": "crash test" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let acknowledged = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let client_task = tokio::spawn(stream(
        base.clone(),
        token,
        acknowledged.clone(),
        done.clone(),
    ));

    // Kill at pseudo-random moments spread over the stream (a fixed seed, so a failure can be
    // replayed): after each fifth of the batches is acknowledged, within the next 200 ms.
    let mut seed: u64 = 0x5eed_c4a7;
    let mut mid_stream = 0;
    for kill in 1..=u64::from(KILLS) {
        let threshold = kill * BATCHES * BATCH / (u64::from(KILLS) + 1);
        while acknowledged.load(Ordering::SeqCst) < threshold && !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        tokio::time::sleep(Duration::from_millis((seed >> 33) % 200)).await;
        if !done.load(Ordering::SeqCst) {
            mid_stream += 1;
        }
        kill_hard(&mut server);
        server = start(&config);
        wait_healthy(&base).await;
    }
    assert!(mid_stream >= 3, "only {mid_stream} kills hit the stream");
    tokio::time::timeout(Duration::from_secs(120), client_task)
        .await
        .unwrap()
        .unwrap();

    // Every acknowledged observation once, in order, and nothing else.
    let last = acknowledged.load(Ordering::SeqCst);
    assert_eq!(last, BATCH * BATCHES);
    let mut numbers = Vec::new();
    let mut after = 0;
    loop {
        let page: Value = client
            .get(format!(
                "{base}/api/v1/machines/edge-mill/observations?after={after}&limit=10000"
            ))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let observations = page["observations"].as_array().unwrap();
        if observations.is_empty() {
            break;
        }
        for o in observations {
            let nanos = o["timestamp"].as_i64().unwrap();
            numbers.push(((nanos - BASE) / STEP) as u64);
        }
        after = page["next_after"].as_u64().unwrap();
    }
    assert_eq!(numbers, (1..=last).collect::<Vec<_>>());

    // The timeline was derived from each observation once, crashes or not.
    let mut running = 0;
    for switch in (1..=last).step_by(SWITCH_EVERY as usize) {
        if (switch / SWITCH_EVERY).is_multiple_of(2) {
            let end = (switch + SWITCH_EVERY).min(last);
            running += (end - switch) as i64 * STEP;
        }
    }
    let url = format!(
        "{base}/api/v1/machines/edge-mill/timeline?from={}&to={}",
        timestamp(1),
        timestamp(last)
    );
    let timeline: Value = client
        .get(url)
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seconds = timeline["totals"]["seconds"]["running"].as_f64().unwrap();
    assert!(
        (seconds - running as f64 / 1e9).abs() < 1e-6,
        "running {seconds} s, expected {} s: {timeline}",
        running as f64 / 1e9
    );
    drop(server);
}
