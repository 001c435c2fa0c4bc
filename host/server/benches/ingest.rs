//! Ingestion throughput, in one run each against its baseline:
//!
//! 1. SHDR parsing: the `shdr` driver component decoding `okuma.txt` from a loopback socket,
//!    against the same decoder compiled natively (`shdr::Decoder`).
//! 2. End to end: a replayed log at maximum speed → the `shdr` driver → the store, through a
//!    running server, in observations per second.
//!
//! `cargo bench -p chatter-server --bench ingest`. Needs the fixtures (`CHATTER_FIXTURES` or
//! `../shared/fixtures`).

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{Endpoint, Machine, MachineId, OrgId, PluginId};
use chatter_runtime::{DriverInstance, InstanceContext, PluginPackage, Runtime, RuntimeConfig};
use tokio::io::AsyncWriteExt;

mod common;
use common::owner_token;

const ROUNDS: usize = 5;

fn fixtures() -> Option<PathBuf> {
    let path = std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    path.is_dir().then_some(path)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let Some(fixtures) = fixtures() else {
        println!("skipping the ingest benchmark: fixtures not found (set CHATTER_FIXTURES)");
        return;
    };
    let log = std::fs::read(fixtures.join("mtconnect/cppagent/okuma.txt")).unwrap();
    let devices =
        std::fs::read_to_string(fixtures.join("mtconnect/cppagent/demo-Devices.xml")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let native = native_decode(&log, &devices);
    let wasm = runtime.block_on(wasm_decode(&log, &devices, native.observations));
    let native_rate = native.observations as f64 / native.time.as_secs_f64();
    let wasm_rate = native.observations as f64 / wasm.as_secs_f64();
    println!(
        "shdr parse, okuma.txt ({} bytes, {} observations)",
        log.len(),
        native.observations
    );
    println!(
        "  native decoder        {:>10.1} ms  {:>12.0} observations/s",
        native.time.as_secs_f64() * 1e3,
        native_rate
    );
    println!(
        "  wasm driver (socket)  {:>10.1} ms  {:>12.0} observations/s",
        wasm.as_secs_f64() * 1e3,
        wasm_rate
    );
    let ratio = wasm_rate / native_rate;
    println!(
        "=> wasm/native = {ratio:.2}x (target >= 0.5x): {}",
        if ratio >= 0.5 { "MET" } else { "MISSED" }
    );

    let logs = [
        ("cppagent/okuma.txt", "cppagent/demo-Devices.xml", "OKUMA"),
        (
            "nist-smstestbed/Mazak03-20160510-20160511.txt",
            "nist-smstestbed/Devices.xml",
            "Mazak03",
        ),
    ];
    for (log, devices, device) in logs {
        let log = fixtures.join("mtconnect").join(log);
        let devices = fixtures.join("mtconnect").join(devices);
        let (observations, time, rate) = runtime.block_on(end_to_end(&log, &devices, device));
        let name = log.file_name().map(|n| n.to_string_lossy().into_owned());
        println!(
            "replay (max speed) -> shdr driver -> store, {}: {observations} observations; \
             {:.0} ms from adding the machine to the last stored (plugin load and connect \
             included)",
            name.unwrap_or_default(),
            time.as_secs_f64() * 1e3,
        );
        println!(
            "=> {rate:.0} observations/s end to end (target >= 200000): {}",
            if rate >= 200_000.0 { "MET" } else { "MISSED" }
        );
    }
}

/// A server with the `shdr` driver, a machine reading `log` replayed at maximum speed: how
/// many observations reach the store, how long from adding the machine until the last one is
/// durable (loading the plugin and connecting included), and the steady flow in observations
/// per second once the first batch is stored (medians of the rounds).
async fn end_to_end(
    log: &std::path::Path,
    devices: &std::path::Path,
    device: &str,
) -> (u64, Duration, f64) {
    use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay};
    use chatter_store::Store as _;

    let model =
        chatter_mtconnect::devices::DeviceModel::parse(&std::fs::read_to_string(devices).unwrap())
            .unwrap();
    let mut decoder = shdr::Decoder::new(
        model.device(device).cloned(),
        shdr::DecoderOptions::default(),
    );
    let mut out = Vec::new();
    decoder.feed(&std::fs::read(log).unwrap(), &mut out);
    let expected = out.len() as u64;

    let mut times = Vec::new();
    let mut flows: Vec<f64> = Vec::new();
    for round in 0..ROUNDS {
        let data = tempfile::tempdir().unwrap();
        let mut config = chatter_server::ServerConfig::default();
        config.server.data_dir = data.path().to_owned();
        config.server.organization = OrgId::new("bench").unwrap();
        config.network.allow_loopback = true;
        let store = Arc::new(chatter_store::SledStore::open(data.path().join("store")).unwrap());
        let runtime = Arc::new(
            Runtime::new(RuntimeConfig {
                max_instances: 4,
                ..RuntimeConfig::default()
            })
            .unwrap(),
        );
        let guest = chatter_guest_builds::guest("shdr");
        let manifest_text = std::fs::read_to_string(guest.manifest_path()).unwrap();
        let package = PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path())).unwrap();
        chatter_server::plugins::install(store.as_ref(), &runtime, &package, &manifest_text)
            .await
            .unwrap();
        let owner = owner_token(store.as_ref(), &OrgId::new("bench").unwrap()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served: Arc<dyn chatter_store::Store> = store.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            chatter_server::serve(&config, runtime, served, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let replay = ShdrReplay::start(ShdrLog::read(log).unwrap(), ReplayOptions::default())
            .await
            .unwrap();
        let machine = serde_json::json!({
            "id": "m",
            "driver": "shdr",
            "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": replay.local_addr().port() }],
            "config": {
                "devices-xml": std::fs::read_to_string(devices).unwrap(),
                "device": device,
            },
            "poll_interval_ms": 10,
        });
        let started = Instant::now();
        let response = reqwest::Client::new()
            .post(format!("{base}/api/v1/machines"))
            .bearer_auth(&owner)
            .json(&machine)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let org = OrgId::new("bench").unwrap();
        let id = MachineId::new("m").unwrap();
        let mut first = None;
        loop {
            let stored = store.last_sequence(&org, &id).await.unwrap();
            if stored > 0 && first.is_none() {
                first = Some((Instant::now(), stored));
            }
            if stored >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "round {round} stalled"
            );
        }
        times.push(started.elapsed());
        // The flow counts what arrived after the first batch, over the time it took.
        let (first_at, first_batch) = first.unwrap_or((started, 0));
        flows.push((expected - first_batch) as f64 / first_at.elapsed().as_secs_f64());
        let _ = stop.send(());
        let _ = server.await;
    }
    flows.sort_by(f64::total_cmp);
    (expected, median(times), flows[flows.len() / 2])
}

struct Decoded {
    observations: u64,
    time: Duration,
}

/// The driver's decoder, natively, over the whole log at once.
fn native_decode(log: &[u8], devices: &str) -> Decoded {
    let model = chatter_mtconnect::devices::DeviceModel::parse(devices).unwrap();
    let device = model.device("OKUMA").unwrap().clone();
    let mut observations = 0;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let mut decoder = shdr::Decoder::new(Some(device.clone()), shdr::DecoderOptions::default());
        let mut out = Vec::with_capacity(100_000);
        let started = Instant::now();
        decoder.feed(log, &mut out);
        decoder.finish_at(0, &mut out);
        times.push(started.elapsed());
        observations = out.len() as u64;
        std::hint::black_box(out);
    }
    Decoded {
        observations,
        time: median(times),
    }
}

/// The `shdr` component reading the log from a loopback socket, polled back to back until it
/// has returned `expected` observations.
async fn wasm_decode(log: &[u8], devices: &str, expected: u64) -> Duration {
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            max_instances: 4,
            ..RuntimeConfig::default()
        })
        .unwrap(),
    );
    let guest = chatter_guest_builds::guest("shdr");
    let package = PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path())).unwrap();
    let plugin = Arc::new(runtime.load(&package).unwrap());
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let port = serve_once(log.to_vec()).await;
        let machine = Machine {
            org: OrgId::new("bench").unwrap(),
            id: MachineId::new("okuma").unwrap(),
            name: "Okuma".into(),
            driver: PluginId::new("shdr").unwrap(),
            config: BTreeMap::from([
                ("devices-xml".to_owned(), devices.to_owned()),
                ("device".to_owned(), "OKUMA".to_owned()),
                ("max-batch".to_owned(), "100000".to_owned()),
            ]),
            endpoints: vec![Endpoint {
                name: "adapter".into(),
                host: "127.0.0.1".into(),
                port,
            }],
            poll_interval_ms: 10,
            enabled: true,
            feed: Default::default(),
            signals: Default::default(),
            group: None,
            daily_part_goal: None,
        };
        let mut context = InstanceContext::for_machine(machine.org.clone(), machine.id.clone());
        context.config = plugin.manifest.resolve_config(&machine.config).unwrap();
        context.grants = plugin.manifest.capabilities.keys().copied().collect();
        context.endpoints = machine.endpoints.clone();
        context.network.allow_loopback = true;
        let mut instance = DriverInstance::start(&runtime, plugin.clone(), context)
            .await
            .unwrap();
        instance.open(&machine).await.unwrap();
        let mut received = 0;
        let started = Instant::now();
        while received < expected {
            received += instance.poll().await.unwrap().len() as u64;
        }
        times.push(started.elapsed());
    }
    median(times)
}

/// Serves `bytes` to the first connection, then keeps it open.
async fn serve_once(bytes: Vec<u8>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket.write_all(&bytes).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    port
}
