//! Hostile plugins are contained: each attack of the `hostile-driver` test guest is stopped by
//! the limit meant for it, reported as a fault naming that limit, and leaves the host and other
//! instances running.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatter_model::Value;
use chatter_runtime::{DriverInstance, Fault, Runtime};

async fn hostile(runtime: &Runtime, behaviour: &str) -> DriverInstance {
    let plugin = common::load(runtime, "hostile-driver");
    let machine = common::machine("m1", "hostile-driver");
    let context = common::context(&plugin, &machine, &[("behaviour", behaviour)]);
    let mut instance = DriverInstance::start(runtime, plugin, context)
        .await
        .unwrap();
    instance.open(&machine).await.unwrap();
    instance
}

#[tokio::test]
async fn a_well_behaved_driver_polls() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "well-behaved").await;
    for expected in 1..=3 {
        let batch = instance.poll().await.unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].value, Value::Event(expected.to_string()));
    }
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_its_deadline() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "infinite-loop").await;
    let started = std::time::Instant::now();
    let fault = instance.poll().await.unwrap_err();
    assert_eq!(
        fault,
        Fault::Deadline {
            timeout: Duration::from_millis(500)
        }
    );
    // Generous: the deadline is 500 ms and the epoch ticks every 10 ms.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_looping_plugin_does_not_starve_others_on_the_same_thread() {
    let runtime = common::runtime();
    let mut looping = hostile(&runtime, "infinite-loop").await;
    let mut healthy = hostile(&runtime, "well-behaved").await;
    let spinner = async { looping.poll().await };
    let worker = async {
        let mut polls = 0;
        while polls < 20 {
            healthy.poll().await.unwrap();
            polls += 1;
            tokio::task::yield_now().await;
        }
        polls
    };
    let (spun, polls) = tokio::join!(spinner, worker);
    assert!(matches!(spun, Err(Fault::Deadline { .. })));
    assert_eq!(polls, 20);
}

#[tokio::test]
async fn a_memory_bomb_hits_its_cap() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "memory-bomb").await;
    let fault = instance.poll().await.unwrap_err();
    assert_eq!(
        fault,
        Fault::MemoryLimit {
            cap_bytes: 16 << 20
        }
    );
}

#[tokio::test]
async fn a_panic_traps_and_says_so() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "panic").await;
    let fault = instance.poll().await.unwrap_err();
    let Fault::Trap { message } = &fault else {
        panic!("{fault:?}")
    };
    assert!(message.contains("unreachable"), "{message}");
    assert!(fault.kills_instance());
}

#[tokio::test]
async fn files_environment_and_sockets_are_out_of_reach() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "escape").await;
    let batch = instance.poll().await.unwrap();
    let reports: Vec<String> = batch
        .iter()
        .map(|o| match &o.value {
            Value::Event(text) => text.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reports.len(), 6, "{reports:?}");
    for report in &reports {
        assert!(report.contains(": refused ("), "escaped: {report}");
    }
}

#[tokio::test]
async fn a_huge_batch_hits_the_per_call_cap() {
    let runtime = common::runtime();
    // Building and lifting 20,000 observations takes ~0.2 s in a debug host, more on a busy
    // machine: give this call a deadline that cannot interfere.
    let package = common::package_with_manifest("hostile-driver", |m| {
        m.replace("call-timeout-ms = 500", "call-timeout-ms = 5000")
    })
    .unwrap();
    let plugin = Arc::new(runtime.load(&package).unwrap());
    let machine = common::machine("m1", "hostile-driver");
    let context = common::context(&plugin, &machine, &[("behaviour", "huge-batch")]);
    let mut instance = DriverInstance::start(&runtime, plugin, context)
        .await
        .unwrap();
    instance.open(&machine).await.unwrap();
    let fault = instance.poll().await.unwrap_err();
    let Fault::OutputTooLarge {
        items,
        bytes,
        cap_bytes,
    } = fault
    else {
        panic!("{fault:?}")
    };
    assert_eq!((items, cap_bytes), (20_000, 256 << 10));
    assert!(bytes > cap_bytes);
}

#[tokio::test]
async fn a_log_flood_is_truncated_and_the_plugin_goes_on() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "log-flood").await;
    let batch = instance.poll().await.unwrap();
    assert_eq!(batch.len(), 1);
}

#[tokio::test]
async fn state_beyond_its_cap_is_refused_as_a_reported_error() {
    let runtime = common::runtime();
    let mut instance = hostile(&runtime, "state-flood").await;
    let fault = instance.poll().await.unwrap_err();
    let Fault::Plugin { code, message } = &fault else {
        panic!("{fault:?}")
    };
    assert_eq!(code, "denied");
    assert!(message.contains("exceeds the per-call cap"), "{message}");
    assert!(!fault.kills_instance());
}

#[tokio::test]
async fn a_trapped_instance_does_not_disturb_a_fresh_one() {
    let runtime = common::runtime();
    let mut broken = hostile(&runtime, "panic").await;
    assert!(broken.poll().await.is_err());
    drop(broken);
    let mut fresh = hostile(&runtime, "well-behaved").await;
    assert_eq!(fresh.poll().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_capability_not_granted_is_denied_at_the_call() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-driver");
    let machine = common::machine("m1", "hostile-driver");
    let mut context = common::context(&plugin, &machine, &[("behaviour", "state-flood")]);
    context.grants.clear();
    let mut instance = DriverInstance::start(&runtime, Arc::clone(&plugin), context)
        .await
        .unwrap();
    instance.open(&machine).await.unwrap();
    let fault = instance.poll().await.unwrap_err();
    assert_eq!(
        fault,
        Fault::Plugin {
            code: "denied".into(),
            message: "the `state` capability is not granted to this plugin".into()
        }
    );
}

/// Starts the hostile driver in `connect` mode for a machine with `endpoints`, and returns what
/// its one poll reported.
async fn connect_report(
    endpoints: Vec<chatter_model::Endpoint>,
    endpoint: &str,
    allow_loopback: bool,
    grant: bool,
) -> String {
    network_report("connect", endpoints, endpoint, allow_loopback, grant).await
}

/// Starts the hostile driver in a network `behaviour` for a machine with `endpoints`, and
/// returns what its one poll reported.
async fn network_report(
    behaviour: &str,
    endpoints: Vec<chatter_model::Endpoint>,
    endpoint: &str,
    allow_loopback: bool,
    grant: bool,
) -> String {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-driver");
    let mut machine = common::machine("m1", "hostile-driver");
    machine.endpoints = endpoints;
    let mut context = common::context(
        &plugin,
        &machine,
        &[("behaviour", behaviour), ("endpoint", endpoint)],
    );
    context.endpoints = machine.endpoints.clone();
    context.network.allow_loopback = allow_loopback;
    if !grant {
        context
            .grants
            .remove(&chatter_runtime::manifest::Capability::MachineNetwork);
    }
    let mut instance = DriverInstance::start(&runtime, plugin, context)
        .await
        .unwrap();
    instance.open(&machine).await.unwrap();
    let batch = instance.poll().await.unwrap();
    match &batch[0].value {
        Value::Event(text) => text.clone(),
        other => panic!("{other:?}"),
    }
}

fn endpoint(name: &str, host: &str, port: u16) -> chatter_model::Endpoint {
    chatter_model::Endpoint {
        name: name.into(),
        host: host.into(),
        port,
    }
}

/// A TCP server on loopback that answers each connection with one line.
async fn greeter() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buffer = [0; 16];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(b"* PONG 10000\n").await;
        }
    });
    port
}

#[tokio::test]
async fn a_driver_reaches_its_machine_when_the_operator_allows_loopback() {
    let port = greeter().await;
    let report = connect_report(
        vec![endpoint("adapter", "127.0.0.1", port)],
        "adapter",
        true,
        true,
    )
    .await;
    assert_eq!(report, "reply: * PONG 10000\n");
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let port = greeter().await;
    let report = connect_report(
        vec![endpoint("adapter", "127.0.0.1", port)],
        "adapter",
        false,
        true,
    )
    .await;
    assert_eq!(
        report,
        format!(
            "ErrorCode::Denied: 127.0.0.1:{port} resolves to 127.0.0.1, a loopback address (the operator has not allowed loopback)"
        )
    );
}

#[tokio::test]
async fn the_cloud_metadata_address_is_refused() {
    let report = connect_report(
        vec![endpoint("agent", "169.254.169.254", 80)],
        "agent",
        true,
        true,
    )
    .await;
    assert_eq!(
        report,
        "ErrorCode::Denied: 169.254.169.254:80 resolves to 169.254.169.254, a link-local or cloud metadata address"
    );
}

#[tokio::test]
async fn an_endpoint_outside_the_machine_record_does_not_exist() {
    let port = greeter().await;
    let report = connect_report(
        vec![endpoint("adapter", "127.0.0.1", port)],
        "ssh",
        true,
        true,
    )
    .await;
    assert_eq!(
        report,
        "ErrorCode::Denied: the machine has no endpoint called `ssh`"
    );
}

#[tokio::test]
async fn the_network_needs_its_grant() {
    let port = greeter().await;
    let report = connect_report(
        vec![endpoint("adapter", "127.0.0.1", port)],
        "adapter",
        true,
        false,
    )
    .await;
    assert_eq!(
        report,
        "ErrorCode::Denied: the `machine-network` capability is not granted to this plugin"
    );
}

#[tokio::test]
async fn a_fuel_budget_stops_a_loop() {
    let config = chatter_runtime::RuntimeConfig {
        max_instances: 8,
        fuel_metering: true,
        ..chatter_runtime::RuntimeConfig::default()
    };
    let runtime = Arc::new(Runtime::new(config).unwrap());
    let package = common::package_with_manifest("hostile-driver", |m| {
        m.replace(
            "call-timeout-ms = 500",
            "call-timeout-ms = 500\nfuel = 5000000",
        )
    })
    .unwrap();
    let plugin = Arc::new(runtime.load(&package).unwrap());
    let machine = common::machine("m1", "hostile-driver");
    let context = common::context(&plugin, &machine, &[("behaviour", "infinite-loop")]);
    let mut instance = DriverInstance::start(&runtime, plugin, context)
        .await
        .unwrap();
    instance.open(&machine).await.unwrap();
    assert_eq!(
        instance.poll().await.unwrap_err(),
        Fault::FuelExhausted { budget: 5_000_000 }
    );
}

/// A TCP server on loopback that sends `size` bytes to each connection, then closes it.
async fn firehose(size: usize) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = socket.write_all(&vec![b'x'; size]).await;
        }
    });
    port
}

async fn report_of(behaviour: &str, port: u16) -> String {
    let endpoints = vec![endpoint("adapter", "127.0.0.1", port)];
    network_report(behaviour, endpoints, "adapter", true, true).await
}

#[tokio::test]
async fn open_connections_are_capped() {
    let port = greeter().await;
    let report = report_of("hoard-connections", port).await;
    assert_eq!(
        report,
        "4 held; ErrorCode::Denied: already 4 open connections, the most allowed"
    );
}

#[tokio::test]
async fn one_read_moves_at_most_the_per_call_cap() {
    // The hostile driver's manifest caps a call at 256 KiB.
    let port = firehose(3 << 20).await;
    let report = report_of("big-read", port).await;
    let numbers: Vec<usize> = report
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{report}");
    assert!(numbers[0] <= 256 << 10, "{report}");
    assert_eq!(numbers[1], 3 << 20, "nothing lost: {report}");
}

/// Log output captured in memory, for checking what the host logged.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_refusal_is_logged_with_the_plugin_and_organization() {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Machine m1 has an adapter endpoint; the driver asks for another machine's agent.
    let port = greeter().await;
    let report = connect_report(
        vec![endpoint("adapter", "127.0.0.1", port)],
        "other-machine-agent",
        true,
        true,
    )
    .await;
    assert!(report.starts_with("ErrorCode::Denied"), "{report}");

    let written = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let refusal = written
        .lines()
        .find(|line| line.contains("machine-network connection refused"))
        .unwrap_or_else(|| panic!("no refusal logged in:\n{written}"));
    for field in [
        "plugin=hostile-driver",
        "org=acme",
        "machine=\"m1\"",
        "endpoint=other-machine-agent",
    ] {
        assert!(refusal.contains(field), "`{field}` missing from: {refusal}");
    }
}
