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
