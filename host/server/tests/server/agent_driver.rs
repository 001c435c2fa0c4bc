//! The `mtconnect` driver against an agent (the replay agent over real HTTP) through a running
//! server: it collects a whole log with the agent restarted and the driver restarted in the
//! middle — no gaps, no duplicates — and when the agent's buffer moved past what the driver had
//! read, the gap is recorded, not hidden.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{Shop, ShopSetup, get, send};
use chatter_model::{MachineId, OrgId, StoredObservation, Value};
use chatter_replay::agent::{AgentEmulator, Feed, Options};
use chatter_store::Store;
use reqwest::Method;
use serde_json::json;

/// The Okuma log behind a replay agent that feeds only when told to.
async fn okuma_agent(buffer_size: usize) -> Option<AgentEmulator> {
    let fixtures = common::fixtures("mtconnect/cppagent")?;
    let log = std::fs::read_to_string(fixtures.join("okuma.txt")).unwrap();
    let devices = std::fs::read_to_string(fixtures.join("demo-Devices.xml")).unwrap();
    let options = Options {
        device: Some("OKUMA".into()),
        buffer_size,
        feed: Feed::Manual,
    };
    Some(AgentEmulator::start(&log, &devices, options).await.unwrap())
}

async fn agent_shop() -> Shop {
    common::serve(ShopSetup {
        plugins: &["mtconnect"],
        allow_loopback: true,
        ..ShopSetup::default()
    })
    .await
}

async fn add_okuma(shop: &Shop, agent: &AgentEmulator) {
    let body = json!({
        "id": "okuma",
        "driver": "mtconnect",
        "endpoints": [{ "name": "agent", "host": "127.0.0.1", "port": agent.local_addr().port() }],
        "config": { "device": "OKUMA", "count": 5000 },
        "poll_interval_ms": 10,
    });
    let url = format!("{}/api/v1/machines", shop.base);
    let (status, answer) = send(Method::POST, &url, Some(&body)).await;
    assert_eq!(status, 201, "{answer}");
}

fn okuma() -> MachineId {
    MachineId::new("okuma").unwrap()
}

fn acme() -> OrgId {
    OrgId::new("acme").unwrap()
}

/// One observation of the agent's buffer as any client reads it: data item and time.
#[derive(Debug, Clone, PartialEq)]
struct Buffered {
    data_item: String,
    timestamp: String,
}

/// Everything the agent buffers now, read straight from `/sample` (not through the driver).
async fn agent_buffer(agent: &AgentEmulator) -> Vec<Buffered> {
    let url = format!(
        "http://{}/OKUMA/sample?from={}&count={}",
        agent.local_addr(),
        agent.window().first_sequence,
        agent.window().next_sequence - agent.window().first_sequence
    );
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let document = roxmltree::Document::parse(&body).unwrap();
    let mut buffered: Vec<(u64, Buffered)> = document
        .descendants()
        .filter_map(|node| {
            Some((
                node.attribute("sequence")?.parse().ok()?,
                Buffered {
                    data_item: node.attribute("dataItemId")?.to_owned(),
                    timestamp: node.attribute("timestamp")?.to_owned(),
                },
            ))
        })
        .collect();
    buffered.sort_by_key(|(sequence, _)| *sequence);
    buffered.into_iter().map(|(_, b)| b).collect()
}

/// Waits until the store holds `count` observations of the machine (or stops growing).
/// Waits until the driver stored `count` observations (or stopped storing); returns how many.
async fn wait_for_stored(store: &dyn Store, count: u64) -> u64 {
    let mut last = (u64::MAX, Instant::now());
    loop {
        let now = stored(store).await.len() as u64;
        if now != last.0 {
            last = (now, Instant::now());
        }
        if now >= count || last.1.elapsed() > Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return stored(store).await.len() as u64;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the driver stored: every observation but the server's own marks of when it stopped
/// reading the machine.
async fn stored(store: &dyn Store) -> Vec<StoredObservation> {
    let mut all: Vec<StoredObservation> = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .observations(&acme(), &okuma(), after, 10_000)
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return all;
        };
        after = last.sequence;
        all.extend(
            page.into_iter()
                .filter(|o| o.observation.data_item != chatter_model::COLLECTION_STOPPED),
        );
    }
}

fn as_buffered(observation: &StoredObservation) -> Buffered {
    Buffered {
        data_item: observation.observation.data_item.clone(),
        timestamp: chatter_mtconnect::time::format_timestamp(observation.observation.timestamp),
    }
}

async fn restart_driver(shop: &Shop) {
    let url = format!("{}/api/v1/machines/okuma", shop.base);
    let (status, answer) = send(Method::POST, &format!("{url}/stop"), None).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = send(Method::POST, &format!("{url}/start"), None).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_log_arrives_once_across_agent_and_driver_restarts() {
    let Some(agent) = okuma_agent(200_000).await else {
        return;
    };
    let shop = agent_shop().await;
    let lines = agent.total_lines();
    let mut expected = Vec::new();

    agent.feed(lines / 3);
    add_okuma(&shop, &agent).await;
    let first_third = agent_buffer(&agent).await;
    let got = wait_for_stored(shop.store.as_ref(), first_third.len() as u64).await;
    assert_eq!(got, first_third.len() as u64, "first third");

    // The driver restarts from its saved checkpoint while the agent goes on.
    restart_driver(&shop).await;
    agent.feed(lines / 3);
    let before_agent_restart = agent_buffer(&agent).await;
    let got = wait_for_stored(shop.store.as_ref(), before_agent_restart.len() as u64).await;
    assert_eq!(got, before_agent_restart.len() as u64, "second third");
    expected.extend(before_agent_restart);

    // The agent restarts: a new instance, sequences from 1 again, the rest of the log.
    agent.restart();
    agent.feed(lines);
    assert!(agent.is_done());
    let after_agent_restart = agent_buffer(&agent).await;
    expected.extend(after_agent_restart);
    let got = wait_for_stored(shop.store.as_ref(), expected.len() as u64).await;
    assert_eq!(got, expected.len() as u64, "after the agent's restart");

    let stored = stored(shop.store.as_ref()).await;
    let stored: Vec<Buffered> = stored.iter().map(as_buffered).collect();
    assert_eq!(stored.len(), expected.len());
    if let Some(at) = stored.iter().zip(&expected).position(|(s, e)| s != e) {
        panic!(
            "observation {} differs: stored {:?}, the agent had {:?}",
            at + 1,
            stored[at],
            expected[at]
        );
    }
    let (_, machine) = get(&format!("{}/api/v1/machines/okuma", shop.base)).await;
    let counters = &machine["driver_health"]["counters"];
    assert_eq!(counters["agent-restarts"], 1, "{counters}");
    assert_eq!(counters["gaps"].as_u64().unwrap_or(0), 0, "{counters}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_in_the_agent_buffer_is_recorded() {
    let Some(agent) = okuma_agent(2_000).await else {
        return;
    };
    let shop = agent_shop().await;
    agent.feed(100);
    add_okuma(&shop, &agent).await;
    // The buffer also holds the agent device's own observations, which the driver (reading
    // /OKUMA/sample) never sees: count what it can see.
    let seen = agent_buffer(&agent).await.len() as u64;
    assert_eq!(wait_for_stored(shop.store.as_ref(), seen).await, seen);
    let next_to_read = agent.window().next_sequence;

    // The driver is paused while the agent's small buffer wraps.
    let url = format!("{}/api/v1/machines/okuma", shop.base);
    send(Method::POST, &format!("{url}/stop"), None).await;
    agent.feed(3_000);
    let window = agent.window();
    assert!(window.first_sequence > next_to_read, "{window:?}");
    let lost = window.first_sequence - next_to_read;
    send(Method::POST, &format!("{url}/start"), None).await;
    // What it had, one gap record, and the buffer as it is now.
    let total = seen + 1 + agent_buffer(&agent).await.len() as u64;
    assert_eq!(wait_for_stored(shop.store.as_ref(), total).await, total);

    let stored = stored(shop.store.as_ref()).await;
    let gap = &stored[seen as usize];
    assert_eq!(gap.observation.data_item, "data_gap", "{gap:?}");
    let Value::Event(text) = &gap.observation.value else {
        panic!("{gap:?}")
    };
    let range = format!("{next_to_read}–{}", window.first_sequence - 1);
    assert!(text.contains(&range), "`{range}` not in {text:?}");
    assert!(
        text.contains(&format!("{lost} observations lost")),
        "{text}"
    );
    let (_, machine) = get(&url).await;
    let counters = &machine["driver_health"]["counters"];
    assert_eq!(counters["gaps"], 1, "{counters}");
    assert_eq!(counters["lost-observations"], lost, "{counters}");
}
