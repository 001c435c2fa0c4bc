//! The `haas-mdc` driver component in a running server, against a scripted Haas control over
//! real TCP: what the control reports arrives as observations, change by change.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{ShopSetup, send, wait_for};
use chatter_haas_mdc::{Mode, RunStatus};
use chatter_replay::haas::{Advance, HaasResponder, MachineState, Options};
use reqwest::Method;
use serde_json::{Value, json};

fn current<'a>(machine: &'a Value, item: &str) -> &'a Value {
    machine["current"]
        .as_array()
        .and_then(|all| all.iter().find(|o| o["data_item"] == item))
        .map_or(&Value::Null, |o| &o["value"])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_haas_control_is_read_through_mdc() {
    let options = Options {
        advance: Advance::OnDemand,
        ..Options::default()
    };
    let loaded = MachineState {
        parts: 41,
        macros: BTreeMap::from([(5021, -12.5)]),
        ..MachineState::default()
    };
    let control = HaasResponder::start(vec![loaded.clone()], options)
        .await
        .unwrap();
    let shop = common::serve(ShopSetup {
        plugins: &["haas-mdc"],
        allow_loopback: true,
        ..ShopSetup::default()
    })
    .await;
    let body = json!({
        "id": "vf-2",
        "driver": "haas-mdc",
        "endpoints": [{ "name": "mdc", "host": "127.0.0.1", "port": control.local_addr().port() }],
        "config": { "macros": "5021:x-position:POSITION:MILLIMETER" },
        "poll_interval_ms": 50,
    });
    let (status, answer) = send(
        Method::POST,
        &format!("{}/api/v1/machines", shop.base),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    let url = format!("{}/api/v1/machines/vf-2", shop.base);
    let machine = wait_for(&url, Duration::from_secs(30), |m| {
        current(m, "execution")["value"] == "READY"
    })
    .await;
    assert_eq!(
        current(&machine, "execution")["value"],
        "READY",
        "{machine}"
    );
    assert_eq!(current(&machine, "controller-mode")["value"], "AUTOMATIC");
    assert_eq!(current(&machine, "program")["value"], "O00012");
    assert_eq!(current(&machine, "part-count")["value"], "41");
    assert_eq!(current(&machine, "serial")["value"], "1234567");
    assert_eq!(current(&machine, "x-position")["value"], -12.5);

    // Cycle start: while busy the control answers Q500 with only `STATUS, BUSY`.
    control.set_state(MachineState {
        status: RunStatus::Busy,
        ..loaded
    });
    let machine = wait_for(&url, Duration::from_secs(30), |m| {
        current(m, "execution")["value"] == "ACTIVE"
    })
    .await;
    assert_eq!(
        current(&machine, "execution")["value"],
        "ACTIVE",
        "{machine}"
    );
    assert_eq!(machine["status"], "running", "{machine}");

    // The part finishes and the operator switches to MDI.
    control.set_state(MachineState {
        status: RunStatus::Idle,
        mode: Mode::Mdi,
        parts: 42,
        ..MachineState::default()
    });
    let machine = wait_for(&url, Duration::from_secs(30), |m| {
        current(m, "execution")["value"] == "READY"
    })
    .await;
    assert_eq!(current(&machine, "part-count")["value"], "42", "{machine}");
    assert_eq!(
        current(&machine, "controller-mode")["value"],
        "MANUAL_DATA_INPUT"
    );
    assert_eq!(
        current(&machine, "x-position")["type"],
        "unavailable",
        "{machine}"
    );
    assert!(
        machine["driver_health"]["counters"]["requests"]
            .as_u64()
            .unwrap()
            > 4,
        "{machine}"
    );
}
