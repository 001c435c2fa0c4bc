//! Setting machines up through the API: add one with its driver, endpoints and configuration
//! (checked against the plugin's schema, with errors that name the field), stop and start its
//! driver, replace and remove it — and never touch another organization's machine.

use std::time::Duration;

use crate::common::{get, request, send, shop, wait_for};
use chatter_model::{MachineId, OrgId};
use chatter_store::Store;
use reqwest::Method;
use serde_json::{Value, json};

fn simulated(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Lathe 7",
        "driver": "simulator",
        "config": { "seed": 7, "speed": 600.0 },
        "poll_interval_ms": 50,
    })
}

fn sequence_of(machine: &Value) -> u64 {
    machine["current"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["sequence"].as_u64())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_added_through_the_api_runs_its_driver() {
    let shop = shop(0).await;
    let url = format!("{}/api/v1/machines", shop.base);
    let (status, created) = send(Method::POST, &url, Some(&simulated("lathe-7"))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "lathe-7");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["config"]["seed"], "7");

    let machine_url = format!("{url}/lathe-7");
    let machine = wait_for(&machine_url, Duration::from_secs(20), |m| {
        sequence_of(m) > 0 && m["driver_health"]["status"]["state"] == "running"
    })
    .await;
    assert_eq!(
        machine["driver_health"]["status"]["state"], "running",
        "{machine}"
    );
    assert!(
        machine["driver_health"]["last_data_ms"].is_i64(),
        "{machine}"
    );
    assert_eq!(machine["driver_health"]["restarts"], 0);

    let (status, page) = get(&format!("{machine_url}/observations?limit=5")).await;
    assert_eq!(status, 200);
    assert_eq!(page["observations"].as_array().unwrap().len(), 5, "{page}");
    assert_eq!(page["observations"][0]["sequence"], 1);
    assert_eq!(page["next_after"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_machine_keeps_its_data_and_starts_again() {
    let shop = shop(0).await;
    let url = format!("{}/api/v1/machines", shop.base);
    send(Method::POST, &url, Some(&simulated("lathe-7"))).await;
    let machine_url = format!("{url}/lathe-7");
    wait_for(&machine_url, Duration::from_secs(20), |m| {
        sequence_of(m) > 0
    })
    .await;

    let (status, stopped) = send(Method::POST, &format!("{machine_url}/stop"), None).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["enabled"], false);
    assert!(stopped["driver_health"].is_null(), "{stopped}");
    let at_stop = shop
        .store
        .last_sequence(
            &OrgId::new("acme").unwrap(),
            &MachineId::new("lathe-7").unwrap(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after_pause = shop
        .store
        .last_sequence(
            &OrgId::new("acme").unwrap(),
            &MachineId::new("lathe-7").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(at_stop, after_pause, "a stopped driver went on storing");
    // Nothing is known of a machine nobody reads: its timeline says offline from the stop.
    let (_, timeline) = get(&format!("{machine_url}/timeline")).await;
    assert_eq!(timeline["current"]["status"], "offline", "{timeline}");
    let (_, listed) = get(&url).await;
    assert_eq!(listed["machines"][0]["enabled"], false);

    let (status, started) = send(Method::POST, &format!("{machine_url}/start"), None).await;
    assert_eq!(status, 200, "{started}");
    let running = wait_for(&machine_url, Duration::from_secs(20), |m| {
        sequence_of(m) > after_pause
    })
    .await;
    assert!(sequence_of(&running) > after_pause, "{running}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_setups_are_refused_with_the_field_named_and_nothing_saved() {
    let shop = shop(0).await;
    let url = format!("{}/api/v1/machines", shop.base);
    let cases = [
        (
            json!({ "id": "m1", "driver": "simulator", "config": { "seed": "seven" } }),
            422,
            "invalid_config",
            "seed",
        ),
        (
            json!({ "id": "m1", "driver": "simulator", "config": { "colour": "red" } }),
            422,
            "invalid_config",
            "colour",
        ),
        (
            json!({ "id": "m1", "driver": "simulator", "config": { "seed": [1, 2] } }),
            422,
            "invalid_machine",
            "config.seed",
        ),
        (
            json!({ "id": "m1", "driver": "fanuc-focas" }),
            422,
            "unknown_driver",
            "fanuc-focas",
        ),
        (
            json!({ "id": "m1", "driver": "simulator",
                    "endpoints": [{ "name": "adapter", "host": "10.0.0.5", "port": 70000 }] }),
            422,
            "invalid_machine",
            "endpoints[0].port",
        ),
        (
            json!({ "id": "m1", "driver": "simulator",
                    "endpoints": [{ "name": "adapter", "host": "10.0.0.5", "port": 7878 },
                                  { "name": "adapter", "host": "10.0.0.6", "port": 7878 }] }),
            422,
            "invalid_machine",
            "endpoints[1].name",
        ),
        (
            json!({ "id": "Not An Id", "driver": "simulator" }),
            422,
            "invalid_machine",
            "id:",
        ),
        (
            json!({ "id": "m1", "driver": "simulator", "poll_interval_ms": 1 }),
            422,
            "invalid_machine",
            "poll_interval_ms",
        ),
        (
            json!({ "id": "m1", "driver": "simulator", "colour": "red" }),
            422,
            "invalid_body",
            "colour",
        ),
    ];
    for (body, status, code, named) in cases {
        let (got, answer) = send(Method::POST, &url, Some(&body)).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body} → {answer}"
        );
        assert!(
            message.contains(named),
            "{body}: `{named}` not in {message:?}"
        );
    }
    let response = request(reqwest::Method::POST, &url)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "invalid_body");

    let (_, listed) = get(&url).await;
    assert_eq!(listed["machines"], json!([]), "a refused machine was saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn machines_are_replaced_and_removed_and_ids_are_unique() {
    let shop = shop(0).await;
    let url = format!("{}/api/v1/machines", shop.base);
    let (status, _) = send(Method::POST, &url, Some(&simulated("lathe-7"))).await;
    assert_eq!(status, 201);
    let (status, answer) = send(Method::POST, &url, Some(&simulated("lathe-7"))).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("machine_exists"))
    );

    let machine_url = format!("{url}/lathe-7");
    let mut changed = simulated("lathe-7");
    changed["name"] = json!("Lathe 7 (rebuilt)");
    changed["config"]["seed"] = json!(8);
    let (status, replaced) = send(Method::PUT, &machine_url, Some(&changed)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "Lathe 7 (rebuilt)");
    assert_eq!(replaced["config"]["seed"], "8");

    let (status, answer) = send(Method::PUT, &machine_url, Some(&simulated("lathe-8"))).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("invalid_machine"))
    );

    let (status, body) = send(Method::DELETE, &machine_url, None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = get(&machine_url).await;
    assert_eq!(status, 404);
    let (status, _) = send(Method::DELETE, &machine_url, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_organizations_machine_is_never_touched() {
    let shop = shop(0).await;
    let other = OrgId::new("other").unwrap();
    let id = MachineId::new("mill-1").unwrap();
    let before = shop.store.machine(&other, &id).await.unwrap().unwrap();

    // `mill-1` exists only in `other`: for `acme` it does not exist.
    let machine_url = format!("{}/api/v1/machines/mill-1", shop.base);
    for (method, path) in [
        (Method::POST, "/stop"),
        (Method::POST, "/start"),
        (Method::DELETE, ""),
        (Method::GET, "/observations"),
    ] {
        let (status, answer) = send(method.clone(), &format!("{machine_url}{path}"), None).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (404, Some("machine_not_found")),
            "{method} {path}"
        );
    }
    // Creating `mill-1` in `acme` makes a new, unrelated machine.
    let (status, _) = send(
        Method::POST,
        &format!("{}/api/v1/machines", shop.base),
        Some(&simulated("mill-1")),
    )
    .await;
    assert_eq!(status, 201);
    send(Method::DELETE, &machine_url, None).await;
    assert_eq!(
        shop.store.machine(&other, &id).await.unwrap().unwrap(),
        before
    );
}
