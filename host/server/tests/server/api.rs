//! The HTTP API over a real socket: a shop of simulated machines whose state changes, the
//! plugins with their health, server-sent events, stable JSON errors, and tenancy — another
//! organization's machines are never visible.

use std::time::Duration;

use crate::common::{get, request, shop};
use chatter_model::{MachineId, OrgId};
use chatter_store::Store;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn machines_are_listed_and_their_state_changes() {
    let shop = shop(3).await;
    let (status, body) = get(&format!("{}/healthz", shop.base)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

    let mut sequences = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, machine) = get(&format!("{}/api/v1/machines/mill-1", shop.base)).await;
        let latest = machine["current"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["sequence"].as_u64())
            .max();
        sequences.extend(latest);
        if sequences.len() >= 2 && sequences.first() != sequences.last() {
            break;
        }
    }
    assert!(
        sequences.len() >= 2 && sequences.first() < sequences.last(),
        "no new data: {sequences:?}"
    );

    let (status, body) = get(&format!("{}/api/v1/machines", shop.base)).await;
    assert_eq!(status, 200);
    let machines = body["machines"].as_array().unwrap();
    let ids: Vec<&str> = machines.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["mill-1", "mill-2", "mill-3"]);
    for machine in machines {
        let status = machine["status"].as_str().unwrap();
        assert!(
            ["offline", "alarm", "running", "paused", "setup", "idle"].contains(&status),
            "{status}"
        );
    }

    // What the API shows is what was stored.
    let acme = OrgId::new("acme").unwrap();
    let stored = shop
        .store
        .last_sequence(&acme, &MachineId::new("mill-1").unwrap())
        .await
        .unwrap();
    assert!(stored >= *sequences.last().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_organizations_machines_are_invisible() {
    let shop = shop(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = get(&format!("{}/api/v1/machines", shop.base)).await;
    let text = body.to_string();
    assert!(!text.contains("secret"), "{text}");
    let (_, machine) = get(&format!("{}/api/v1/machines/mill-1", shop.base)).await;
    assert_eq!(machine["name"], "Mill 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_have_a_stable_json_shape() {
    let shop = shop(1).await;
    let (status, body) = get(&format!("{}/api/v1/machines/lathe-9", shop.base)).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "machine_not_found");
    assert_eq!(
        body["error"]["message"],
        "no machine `lathe-9` in this organization"
    );

    let (status, body) = get(&format!("{}/api/v1/machines/Not%20An%20Id", shop.base)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("machine_not_found"))
    );

    let (status, body) = get(&format!("{}/api/v1/nothing", shop.base)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("route_not_found"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_are_listed_with_the_health_of_their_instances() {
    let shop = shop(2).await;
    // The other organization's machine runs the simulator too, but is not counted here.
    let mut body = Value::Null;
    for _ in 0..100 {
        body = get(&format!("{}/api/v1/plugins", shop.base)).await.1;
        if body["plugins"][0]["instances"]["running"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let simulator = &body["plugins"][0];
    assert_eq!(simulator["id"], "simulator");
    assert_eq!(simulator["kind"], "driver");
    assert_eq!(simulator["instances"]["running"], 2, "{body}");
    assert_eq!(simulator["instances"]["total"], 2, "{body}");
    assert_eq!(simulator["instances"]["quarantined"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_changes_arrive_as_server_sent_events() {
    let shop = shop(1).await;
    let mut response = request(
        reqwest::Method::GET,
        &format!("{}/api/v1/events", shop.base),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut received = String::new();
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !received.contains("event: machine") || !received.contains("\"sequence\"") {
            let chunk = response.chunk().await.unwrap().unwrap();
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(waited.is_ok(), "no machine event: {received}");
    assert!(received.contains("\"machine\":\"mill-1\""), "{received}");
}
