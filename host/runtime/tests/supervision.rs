//! The supervisor keeps a driver polling, restarts it after faults with backoff, quarantines
//! it when it keeps faulting, and attributes every fault.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatter_model::{DataItem, Observation};
use chatter_runtime::{
    DriverHealth, DriverStatus, Fault, ObservationSink, SupervisedDriver, SupervisionPolicy,
    supervise_driver,
};

#[derive(Clone, Default)]
struct Collected {
    items: Arc<Mutex<Vec<DataItem>>>,
    batches: Arc<Mutex<Vec<Vec<Observation>>>>,
}

impl ObservationSink for Collected {
    async fn declare(&self, items: Vec<DataItem>) -> Result<(), String> {
        *self.items.lock().unwrap() = items;
        Ok(())
    }

    async fn deliver(&self, batch: Vec<Observation>) -> Result<(), String> {
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

fn fast_policy() -> SupervisionPolicy {
    SupervisionPolicy {
        poll_interval: Duration::from_millis(5),
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        restart_budget: 3,
        budget_window: Duration::from_secs(60),
    }
}

fn supervise(behaviour: &str, misbehave_after: &str, sink: Collected) -> SupervisedDriver {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-driver");
    let machine = common::machine("mill-1", "hostile-driver");
    let context = common::context(
        &plugin,
        &machine,
        &[
            ("behaviour", behaviour),
            ("misbehave-after", misbehave_after),
        ],
    );
    supervise_driver(runtime, plugin, machine, context, fast_policy(), sink)
}

async fn wait_for(driver: &SupervisedDriver, done: impl Fn(&DriverHealth) -> bool) -> DriverHealth {
    let mut health = driver.watch();
    let waited = tokio::time::timeout(Duration::from_secs(30), health.wait_for(|h| done(h))).await;
    waited
        .expect("the driver reached the expected state in time")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_healthy_driver_is_polled_and_its_batches_delivered() {
    let sink = Collected::default();
    let driver = supervise("well-behaved", "0", sink.clone());
    let health = wait_for(&driver, |h| h.polls >= 5).await;
    assert_eq!(health.status, DriverStatus::Running);
    assert_eq!(health.restarts, 0);
    assert_eq!(sink.items.lock().unwrap().len(), 2);
    assert!(sink.batches.lock().unwrap().len() >= 5);
}

#[tokio::test]
async fn a_crashing_driver_is_restarted_then_quarantined_and_the_fault_attributed() {
    let sink = Collected::default();
    let driver = supervise("panic", "2", sink.clone());
    let health = wait_for(&driver, |h| {
        matches!(h.status, DriverStatus::Quarantined { .. })
    })
    .await;

    assert_eq!(health.restarts, 3, "restarted up to the budget of 3");
    // Each fresh instance answered two polls before panicking again: 4 instances in all.
    assert_eq!(health.polls, 8);
    let fault = health.last_fault.unwrap();
    assert_eq!(fault.plugin, "hostile-driver");
    assert_eq!(fault.version, "0.1.0");
    assert_eq!(fault.org, "acme");
    assert_eq!(fault.machine, "mill-1");
    assert!(
        matches!(fault.fault, Fault::Trap { .. }),
        "{:?}",
        fault.fault
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        driver.is_finished(),
        "a quarantined driver is no longer polled"
    );
}

#[tokio::test]
async fn a_looping_driver_is_quarantined_for_its_deadline() {
    let driver = supervise("infinite-loop", "0", Collected::default());
    let health = wait_for(&driver, |h| {
        matches!(h.status, DriverStatus::Quarantined { .. })
    })
    .await;
    let fault = health.last_fault.unwrap();
    assert_eq!(
        fault.fault,
        Fault::Deadline {
            timeout: Duration::from_millis(500)
        }
    );
    assert_eq!(fault.message, "ran past its 500ms deadline and was stopped");
}

#[tokio::test]
async fn reported_errors_are_retried_and_never_quarantine() {
    let driver = supervise("fail-every-poll", "0", Collected::default());
    let health = wait_for(&driver, |h| {
        matches!(h.status, DriverStatus::Retrying { .. })
    })
    .await;
    assert_eq!(
        health.status,
        DriverStatus::Retrying {
            error: "reported unreachable: configured to fail every poll".into()
        }
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = driver.health();
    assert_eq!(later.restarts, 0);
    assert!(matches!(later.status, DriverStatus::Retrying { .. }));
}

#[tokio::test]
async fn state_survives_a_restart() {
    // The hostile driver's poll count is in memory only, so after each restart it starts again
    // at 1: batches show the restarts and that nothing else was lost.
    let sink = Collected::default();
    let driver = supervise("panic", "2", sink.clone());
    wait_for(&driver, |h| h.restarts >= 1 && h.polls >= 3).await;
    let batches = sink.batches.lock().unwrap().clone();
    let values: Vec<String> = batches
        .iter()
        .flatten()
        .map(|o| match &o.value {
            chatter_model::Value::Event(v) => v.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(&values[..3], ["1", "2", "1"]);
}

#[tokio::test]
async fn a_failed_poll_rolls_its_state_back_and_counters_reach_the_health() {
    let sink = Collected::default();
    let driver = supervise("checkpoint-then-fail", "0", sink.clone());
    let health = wait_for(&driver, |h| h.polls >= 4).await;
    let values: Vec<String> = sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .map(|o| match &o.value {
            chatter_model::Value::Event(v) => v.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    let expected: Vec<String> = (1..=values.len()).map(|n| n.to_string()).collect();
    assert_eq!(
        values, expected,
        "a checkpoint moved by a failed poll was kept"
    );
    assert!(health.counters["checkpoints"] >= 7, "{:?}", health.counters);
    assert_eq!(
        health.last_error.map(|e| e.message),
        Some("reported unreachable: failing after moving the checkpoint".to_owned())
    );
}
