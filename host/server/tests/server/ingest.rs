//! The edge ingestion API over real HTTP: device tokens, batches stored once, items checked one
//! by one, and every way a request is refused with a clear error and nothing stored.

use crate::common;

use std::io::Write;

use crate::common::{Shop, ShopSetup, get, send};
use chatter_model::{DeviceToken, MachineId, OrgId};
use chatter_store::Store;
use reqwest::Method;
use serde_json::{Value, json};

async fn edge_shop(setup: ShopSetup) -> (Shop, String) {
    let shop = common::serve(setup).await;
    let machine = json!({ "id": "edge-1", "driver": "simulator", "feed": "edge" });
    let (status, body) = send(
        Method::POST,
        &format!("{}/api/v1/machines", shop.base),
        Some(&machine),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = create_token(&shop.base, "bay 2").await;
    (shop, token)
}

async fn create_token(base: &str, name: &str) -> String {
    let (status, body) = send(
        Method::POST,
        &format!("{base}/api/v1/device-tokens"),
        Some(&json!({ "name": name })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

fn observation(sequence: u64, timestamp: &str, value: Value) -> Value {
    json!({ "sequence": sequence, "data_item": "x", "timestamp": timestamp, "value": value })
}

fn batch(machine: &str, observations: Vec<Value>) -> Value {
    json!({ "machine": machine, "stream": "edge-a", "observations": observations })
}

fn samples(from: u64, count: u64) -> Vec<Value> {
    (from..from + count)
        .map(|s| {
            let timestamp = format!(
                "2026-11-29T10:00:{:02}.{:06}Z",
                s / 1_000_000 % 60,
                s % 1_000_000
            );
            observation(
                s,
                &timestamp,
                json!({ "type": "sample", "value": s as f64 }),
            )
        })
        .collect()
}

/// POSTs `body` (bytes) to the ingest route with `token` and extra headers.
async fn post_raw(
    base: &str,
    token: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/api/v1/ingest"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        retry,
    )
}

async fn post(base: &str, token: &str, body: &Value) -> (u16, Value) {
    let (status, body, _) =
        post_raw(base, Some(token), serde_json::to_vec(body).unwrap(), &[]).await;
    (status, body)
}

async fn stored(shop: &Shop) -> u64 {
    let org = OrgId::new("acme").unwrap();
    let machine = MachineId::new("edge-1").unwrap();
    shop.store.last_sequence(&org, &machine).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_stored_once_and_bad_items_are_named_without_poisoning_it() {
    let (shop, token) = edge_shop(ShopSetup::default()).await;
    let mut items = samples(1, 5);
    items[1]["timestamp"] = json!("2026-11-29 10:00:01");
    items[3] = json!({ "sequence": 4, "data_item": "x", "timestamp": "2026-11-29T10:00:04Z" });
    let body = batch("edge-1", items);
    let (status, answer) = post(&shop.base, &token, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3);
    assert_eq!(answer["duplicates"], 0);
    assert_eq!(answer["last_sequence"], 5);
    let rejected = answer["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{answer}");
    assert_eq!(rejected[0]["index"], 1);
    assert_eq!(rejected[0]["sequence"], 2);
    assert!(
        rejected[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("timestamp:"),
        "{answer}"
    );
    assert_eq!(rejected[1]["index"], 3);
    assert!(
        rejected[1]["error"].as_str().unwrap().contains("value"),
        "{answer}"
    );
    assert_eq!(stored(&shop).await, 3);

    // The acknowledgement was lost: the same batch again stores nothing new.
    let (status, again) = post(&shop.base, &token, &body).await;
    assert_eq!(status, 200);
    assert_eq!(
        (again["accepted"].clone(), again["duplicates"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(stored(&shop).await, 3);

    // Out of order within a batch: the late item is refused, the rest go in.
    let mut items = samples(6, 3);
    items.swap(1, 2);
    let (_, answer) = post(&shop.base, &token, &batch("edge-1", items)).await;
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert!(
        answer["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("does not follow")
    );

    // Where to resume.
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/ingest/machines/edge-1", shop.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let resume: Value = response.json().await.unwrap();
    assert_eq!(
        resume,
        json!({ "machine": "edge-1", "stream": "edge-a", "last_sequence": 8 })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_batch_is_accepted_and_derived() {
    let (shop, token) = edge_shop(ShopSetup::default()).await;
    let body = json!({
        "machine": "edge-1",
        "stream": "edge-a",
        "data_items": [{ "id": "exec", "category": "event", "kind": "EXECUTION" }],
        "observations": [
            { "sequence": 1, "data_item": "exec", "timestamp": "2026-11-29T10:00:00Z",
              "value": { "type": "event", "value": "ACTIVE" } },
            { "sequence": 2, "data_item": "exec", "timestamp": "2026-11-29T10:01:30Z",
              "value": { "type": "event", "value": "READY" } },
            { "sequence": 3, "data_item": "exec", "timestamp": "2026-11-29T10:02:00+00:00",
              "value": { "type": "event", "value": "READY" } },
        ],
    });
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&serde_json::to_vec(&body).unwrap())
        .unwrap();
    let compressed = encoder.finish().unwrap();
    let (status, answer, _) = post_raw(
        &shop.base,
        Some(&token),
        compressed,
        &[("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 3);
    let (_, timeline) = get(&format!(
        "{}/api/v1/machines/edge-1/timeline?from=2026-11-29T10:00:00Z&to=2026-11-29T10:02:00Z",
        shop.base
    ))
    .await;
    assert_eq!(timeline["totals"]["seconds"]["running"], 90.0, "{timeline}");
    assert_eq!(timeline["totals"]["seconds"]["idle"], 30.0, "{timeline}");
    let current = &timeline["current"];
    assert_eq!(current["status"], "idle", "{timeline}");
    assert_eq!(current["since"], "2026-11-29T10:01:30Z", "{timeline}");
    assert_eq!(current["ended_cycle"]["seconds"], 90.0, "{timeline}");
    assert_eq!(current["ended_cycle"]["ended"], "completed", "{timeline}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_say_why_and_store_nothing() {
    let (shop, token) = edge_shop(ShopSetup::default()).await;
    let good = batch("edge-1", samples(1, 3));
    let refuse = |(status, body, _): (u16, Value, Option<String>), want: u16, code: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    };
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();

    // No token, a wrong one, one that only looks right.
    refuse(
        post_raw(&shop.base, None, bytes(&good), &[]).await,
        401,
        "invalid_token",
    );
    refuse(
        post_raw(&shop.base, Some("chd_0000"), bytes(&good), &[]).await,
        401,
        "invalid_token",
    );
    refuse(
        post_raw(&shop.base, Some("hunter2"), bytes(&good), &[]).await,
        401,
        "invalid_token",
    );

    // A revoked token.
    let doomed = create_token(&shop.base, "doomed").await;
    let (_, list) = get(&format!("{}/api/v1/device-tokens", shop.base)).await;
    let listed = list["device_tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| t.get("token").is_none()), "{list}");
    let id = doomed["chd_".len()..][..8].to_owned();
    let (status, _) = send(
        Method::DELETE,
        &format!("{}/api/v1/device-tokens/{id}", shop.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
    refuse(
        post_raw(&shop.base, Some(&doomed), bytes(&good), &[]).await,
        401,
        "invalid_token",
    );

    // Another organization's token cannot reach this organization's machine; this
    // organization's token cannot reach the other's machine of the same id.
    let foreign = "chd_foreign-token";
    let record = DeviceToken {
        kind: chatter_model::DeviceKind::Edge,
        id: "foreign0".into(),
        org: OrgId::new("other").unwrap(),
        name: "theirs".into(),
        created_at_ms: 0,
        revoked_at_ms: None,
    };
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(foreign.as_bytes()))
    };
    shop.store.put_device_token(&hash, &record).await.unwrap();
    refuse(
        post_raw(&shop.base, Some(foreign), bytes(&good), &[]).await,
        404,
        "machine_not_found",
    );
    refuse(
        post_raw(
            &shop.base,
            Some(&token),
            bytes(&batch("mill-1", samples(1, 3))),
            &[],
        )
        .await,
        404,
        "machine_not_found",
    );
    let other = OrgId::new("other").unwrap();
    let their_mill = MachineId::new("mill-1").unwrap();
    let theirs = shop
        .store
        .last_forwarded(&other, &their_mill)
        .await
        .unwrap();
    assert_eq!(
        theirs, None,
        "nothing was forwarded into the other organization"
    );

    // A machine whose driver runs on the server is not fed by an edge.
    let driven = json!({ "id": "driven", "driver": "simulator" });
    send(
        Method::POST,
        &format!("{}/api/v1/machines", shop.base),
        Some(&driven),
    )
    .await;
    refuse(
        post_raw(
            &shop.base,
            Some(&token),
            bytes(&batch("driven", samples(1, 3))),
            &[],
        )
        .await,
        409,
        "machine_not_edge",
    );

    // Malformed JSON, a wrong shape, a bad stream id.
    refuse(
        post_raw(
            &shop.base,
            Some(&token),
            b"{\"machine\": \"edge-1\",".to_vec(),
            &[],
        )
        .await,
        400,
        "invalid_body",
    );
    refuse(
        post_raw(
            &shop.base,
            Some(&token),
            bytes(&json!({ "machine": "edge-1" })),
            &[],
        )
        .await,
        400,
        "invalid_body",
    );
    let mut bad_stream = good.clone();
    bad_stream["stream"] = json!("../../etc");
    refuse(
        post_raw(&shop.base, Some(&token), bytes(&bad_stream), &[]).await,
        422,
        "invalid_body",
    );

    // Too many observations; too many bytes.
    refuse(
        post_raw(
            &shop.base,
            Some(&token),
            bytes(&batch("edge-1", samples(1, 10_001))),
            &[],
        )
        .await,
        413,
        "batch_too_large",
    );
    let mut huge = good.clone();
    huge["observations"][0]["data_item"] = json!("x".repeat(17 * 1024 * 1024));
    refuse(
        post_raw(&shop.base, Some(&token), bytes(&huge), &[]).await,
        413,
        "batch_too_large",
    );

    assert_eq!(stored(&shop).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_sending_too_fast_is_told_when_to_retry() {
    let (shop, token) = edge_shop(ShopSetup {
        ingest_rate: Some((100, 10_000)),
        ..ShopSetup::default()
    })
    .await;
    let (status, _) = post(&shop.base, &token, &batch("edge-1", samples(1, 10_000))).await;
    assert_eq!(status, 200);
    let body = serde_json::to_vec(&batch("edge-1", samples(10_001, 500))).unwrap();
    let (status, answer, retry) = post_raw(&shop.base, Some(&token), body, &[]).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "rate_limited");
    assert_eq!(retry.as_deref(), Some("5"));
    assert_eq!(stored(&shop).await, 10_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_days_are_the_organizations_days() {
    let (shop, token) = edge_shop(ShopSetup {
        time_zone: Some("America/Chicago"),
        ..ShopSetup::default()
    })
    .await;
    let exec = |sequence: u64, timestamp: &str, state: &str| {
        json!({ "sequence": sequence, "data_item": "exec", "timestamp": timestamp,
                "value": { "type": "event", "value": state } })
    };
    let body = json!({
        "machine": "edge-1",
        "stream": "edge-a",
        "data_items": [{ "id": "exec", "category": "event", "kind": "EXECUTION" }],
        // Running from 23:00 on the 27th to 01:00 on the 28th, Chicago time.
        "observations": [
            exec(1, "2026-11-28T04:00:00Z", "READY"),
            exec(2, "2026-11-28T05:00:00Z", "ACTIVE"),
            exec(3, "2026-11-28T07:00:00Z", "READY"),
        ],
    });
    let (status, answer) = post(&shop.base, &token, &body).await;
    assert_eq!(status, 200, "{answer}");
    let url = format!(
        "{}/api/v1/summary?from=2026-11-27&to=2026-11-28T12:00:00-06:00&bucket=day",
        shop.base
    );
    let (status, summary) = get(&url).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["range"]["time_zone"], "America/Chicago");
    let machine = summary["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "edge-1")
        .unwrap();
    let buckets = machine["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2, "{machine}");
    assert_eq!(buckets[0]["start"], "2026-11-27T06:00:00Z");
    assert_eq!(buckets[1]["start"], "2026-11-28T06:00:00Z");
    assert_eq!(
        buckets[0]["totals"]["seconds"]["running"], 3600.0,
        "{machine}"
    );
    assert_eq!(
        buckets[1]["totals"]["seconds"]["running"], 3600.0,
        "{machine}"
    );
    // Before the first observation the machine was offline (no data).
    assert_eq!(
        buckets[0]["totals"]["seconds"]["offline"],
        22.0 * 3600.0,
        "{machine}"
    );
    assert_eq!(machine["totals"]["seconds"]["running"], 7200.0);

    let (status, error) = get(&format!("{}/api/v1/summary?from=yesterday", shop.base)).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "invalid_range");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("from:"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_observations_are_paged_by_data_item() {
    let (shop, token) = edge_shop(ShopSetup::default()).await;
    let mut items = samples(1, 6);
    for i in [1, 3, 4] {
        items[i]["data_item"] = json!("exec");
        items[i]["value"] = json!({ "type": "event", "value": "ACTIVE" });
    }
    let (status, _) = post(&shop.base, &token, &batch("edge-1", items)).await;
    assert_eq!(status, 200);
    let url = |after: u64| {
        format!(
            "{}/api/v1/machines/edge-1/observations?data_item=exec&limit=2&after={after}",
            shop.base
        )
    };
    let (_, first) = get(&url(0)).await;
    let sequences = |page: &Value| -> Vec<u64> {
        page["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["sequence"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(sequences(&first), [2, 4], "{first}");
    assert_eq!(first["next_after"], 4);
    let (_, second) = get(&url(4)).await;
    assert_eq!(sequences(&second), [5], "{second}");
    let (_, both) = get(&format!(
        "{}/api/v1/machines/edge-1/observations?data_item=x,exec",
        shop.base
    ))
    .await;
    assert_eq!(sequences(&both).len(), 6);
}
