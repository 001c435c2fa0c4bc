//! The `shdr` driver against every recorded SHDR log of the fixtures, replayed over real TCP
//! into a running server: the store receives exactly the observations an independent count of
//! each log gives, bad lines are counted and reported, and the raw Hurco capture yields what its
//! clean twin does except for the lines a terminal broke.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{ShopSetup, get, send};
use chatter_model::{MachineId, OrgId, StoredObservation};
use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay};
use chatter_store::Store;
use reqwest::Method;
use serde_json::json;

/// A recorded log, the device model it goes with, and what the machine is called.
struct Recording {
    machine: &'static str,
    log: &'static str,
    devices: Option<(&'static str, &'static str)>,
    scenario: bool,
    /// A terminal capture: its broken-off tails (`|Feed_Rate|0`) must not pass for lines whose
    /// adapter left the timestamp to the agent.
    captured: bool,
}

const RECORDINGS: &[Recording] = &[
    Recording {
        machine: "okuma",
        log: "cppagent/okuma.txt",
        devices: Some(("cppagent/demo-Devices.xml", "OKUMA")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "mazak-01",
        log: "mtconnect-agent/Mazak01.log",
        devices: Some(("mtconnect-agent/Mazak01.xml", "Mazak01")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "mazak-03",
        log: "mtconnect-agent/Mazak03.log",
        devices: Some(("mtconnect-agent/Mazak03.xml", "Mazak03")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "nist-mazak-day",
        log: "nist-smstestbed/Mazak03-20160510-20160511.txt",
        devices: Some(("nist-smstestbed/Devices.xml", "Mazak03")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "hurco-plate",
        log: "nist-smstestbed/Plate-Op2-Hurco04-01of20.txt",
        devices: Some(("nist-smstestbed/Devices.xml", "Hurco04")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "hurco-clean",
        log: "nist-smstestbed/2-17-2017-Hurco04-Clean.txt",
        devices: Some(("nist-smstestbed/Devices.xml", "Hurco04")),
        scenario: false,
        captured: false,
    },
    Recording {
        machine: "hurco-raw",
        log: "nist-smstestbed/2-17-2017-Hurco04.txt",
        devices: Some(("nist-smstestbed/Devices.xml", "Hurco04")),
        scenario: false,
        captured: true,
    },
    Recording {
        machine: "scenario",
        log: "cppagent/simple_scenario_1.txt",
        devices: None,
        scenario: true,
        captured: false,
    },
];
/// How many fields follow each key of a device model, and which keys it knows, read straight
/// from the Devices.xml — independent of the driver's own parser.
struct FieldCounts {
    by_key: HashMap<String, usize>,
}

impl FieldCounts {
    fn none() -> Self {
        FieldCounts {
            by_key: HashMap::new(),
        }
    }

    fn of(devices_xml: &str, device: &str) -> Self {
        let document = roxmltree::Document::parse(devices_xml).unwrap();
        let device = document
            .descendants()
            .find(|n| n.tag_name().name() == "Device" && n.attribute("name") == Some(device))
            .unwrap();
        let mut by_key = HashMap::new();
        for item in device
            .descendants()
            .filter(|n| n.tag_name().name() == "DataItem")
        {
            let kind = item.attribute("type").unwrap_or_default();
            let fields = match (item.attribute("category"), kind) {
                (Some("CONDITION"), _) => 5,
                (_, "MESSAGE") => 2,
                (_, "ALARM") => 5,
                _ if item.attribute("representation") == Some("TIME_SERIES") => 3,
                _ => 1,
            };
            // The reference agent matches a key against names first, then ids.
            if let Some(id) = item.attribute("id") {
                by_key.entry(id.to_owned()).or_insert(fields);
            }
            if let Some(name) = item.attribute("name") {
                by_key.insert(name.to_owned(), fields);
            }
        }
        FieldCounts { by_key }
    }

    fn after(&self, key: &str) -> usize {
        self.by_key.get(key).copied().unwrap_or(1)
    }
}

/// What a correct SHDR driver must make of a log: observations and rejected lines.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    observations: u64,
    bad_lines: u64,
}

fn looks_like_timestamp(field: &str) -> bool {
    let bytes = field.as_bytes();
    bytes.len() >= 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19]
            .into_iter()
            .all(|r| bytes[r].iter().all(u8::is_ascii_digit))
}

/// Counts the log's observations line by line: each key/value group is one observation, each
/// asset change or removal one, commands none; a line that does not start with a timestamp,
/// has nothing after it, or ends inside a group is rejected whole.
fn reference_count(log: &str, fields: &FieldCounts, scenario: bool) -> Expected {
    let mut expected = Expected::default();
    let mut in_asset: Option<String> = None;
    for line in log.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(token) = &in_asset {
            if line == token {
                in_asset = None;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('*') {
            continue;
        }
        // A terminal capture starts some records mid-line, after blanks.
        let parts: Vec<&str> = line.trim_start().split('|').collect();
        // A scenario's first field is a delay; the replay turns it into a timestamp.
        if !scenario && !looks_like_timestamp(parts[0]) {
            expected.bad_lines += 1;
            continue;
        }
        match parts.get(1).copied() {
            Some("@ASSET@") | Some("@UPDATE_ASSET@") => {
                if let Some(body) = parts.get(4)
                    && let Some(token) = body.strip_prefix("--multiline--")
                {
                    in_asset = Some(format!("--multiline--{token}"));
                }
                expected.observations += 1;
                continue;
            }
            Some("@REMOVE_ASSET@") | Some("@REMOVE_ALL_ASSETS@") => {
                expected.observations += 1;
                continue;
            }
            _ => {}
        }
        let mut at = 1;
        let mut groups = 0;
        let mut complete = true;
        while at < parts.len() {
            let needed = fields.after(parts[at]);
            if at + needed >= parts.len() {
                complete = false;
                break;
            }
            groups += 1;
            at += 1 + needed;
        }
        // A timestamp alone says nothing: as broken as a cut-off group.
        if complete && groups > 0 {
            expected.observations += groups;
        } else {
            expected.bad_lines += 1;
        }
    }
    expected
}

fn acme() -> OrgId {
    OrgId::new("acme").unwrap()
}

/// Adds a machine served by the `shdr` driver reading the replay at `port`.
async fn add_machine(base: &str, fixtures: &Path, recording: &Recording, port: u16) {
    let mut config = json!({});
    if let Some((devices, device)) = recording.devices {
        config["devices-xml"] = json!(std::fs::read_to_string(fixtures.join(devices)).unwrap());
        config["device"] = json!(device);
    }
    if recording.captured {
        config["accept-empty-timestamps"] = json!(false);
    }
    let body = json!({
        "id": recording.machine,
        "driver": "shdr",
        "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": port }],
        "config": config,
        "poll_interval_ms": 10,
    });
    let (status, answer) = send(
        Method::POST,
        &format!("{base}/api/v1/machines"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

/// Waits until the machine's stored sequence reaches `expected`, or stops moving for a while.
async fn stored_count(store: &dyn Store, machine: &str, expected: u64) -> u64 {
    let id = MachineId::new(machine).unwrap();
    let mut last = (0, Instant::now());
    loop {
        let now = store.last_sequence(&acme(), &id).await.unwrap();
        if now != last.0 {
            last = (now, Instant::now());
        }
        if now >= expected || last.1.elapsed() > Duration::from_secs(10) {
            // Anything beyond `expected` would be a duplicate: give it a moment to show.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return store.last_sequence(&acme(), &id).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stored(store: &dyn Store, machine: &str) -> Vec<StoredObservation> {
    let id = MachineId::new(machine).unwrap();
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |o: &StoredObservation| o.sequence);
        let page = store
            .observations(&acme(), &id, after, 10_000)
            .await
            .unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// An observation as comparable text: data item, timestamp, value.
fn key(observation: &StoredObservation) -> String {
    let o = &observation.observation;
    format!(
        "{}@{}={}",
        o.data_item,
        o.timestamp,
        serde_json::to_string(&o.value).unwrap()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_log_arrives_complete() {
    let Some(fixtures) = common::fixtures("mtconnect") else {
        return;
    };
    let shop = common::serve(ShopSetup {
        plugins: &["shdr"],
        allow_loopback: true,
        ..ShopSetup::default()
    })
    .await;

    let mut replays = Vec::new();
    for recording in RECORDINGS {
        let log = ShdrLog::read(&fixtures.join(recording.log)).unwrap();
        let replay = ShdrReplay::start(log, ReplayOptions::default())
            .await
            .unwrap();
        add_machine(&shop.base, &fixtures, recording, replay.local_addr().port()).await;
        replays.push(replay);
    }

    for recording in RECORDINGS {
        let text = String::from_utf8_lossy(&std::fs::read(fixtures.join(recording.log)).unwrap())
            .into_owned();
        let fields = match recording.devices {
            Some((devices, device)) => FieldCounts::of(
                &std::fs::read_to_string(fixtures.join(devices)).unwrap(),
                device,
            ),
            None => FieldCounts::none(),
        };
        let expected = reference_count(&text, &fields, recording.scenario);
        let count = stored_count(
            shop.store.as_ref(),
            recording.machine,
            expected.observations,
        )
        .await;
        assert_eq!(
            count, expected.observations,
            "{}: stored observations vs the reference count",
            recording.log
        );
        let url = format!("{}/api/v1/machines/{}", shop.base, recording.machine);
        let (_, machine) = get(&url).await;
        let counters = &machine["driver_health"]["counters"];
        assert_eq!(
            counters["bad-lines"].as_u64().unwrap_or(0),
            expected.bad_lines,
            "{}: bad lines reported: {counters}",
            recording.log
        );
        assert_eq!(
            machine["driver_health"]["open_connections"], 1,
            "{}: {machine}",
            recording.log
        );
    }

    // The okuma log joins three captures: its clock goes back, and those observations say so.
    let okuma = stored(shop.store.as_ref(), "okuma").await;
    let backwards = okuma.iter().filter(|o| o.backwards).count();
    assert!(backwards >= 2, "okuma: {backwards} backwards observations");
    assert!(okuma.windows(2).all(|w| w[1].sequence == w[0].sequence + 1));

    // Raw vs clean Hurco: every record the terminal left whole gives what the clean one gives;
    // anything else the raw capture yields comes from a record the terminal broke.
    let clean_text =
        std::fs::read_to_string(fixtures.join("nist-smstestbed/2-17-2017-Hurco04-Clean.txt"))
            .unwrap();
    let raw_text =
        std::fs::read_to_string(fixtures.join("nist-smstestbed/2-17-2017-Hurco04.txt")).unwrap();
    let whole: std::collections::HashSet<&str> = raw_text.lines().map(str::trim_start).collect();
    let broken_times: std::collections::HashSet<i64> = clean_text
        .lines()
        .filter(|line| !whole.contains(line))
        .filter_map(|line| line.split('|').next())
        .map(|stamp| chatter_mtconnect::time::parse_timestamp(stamp).unwrap())
        .collect();
    let clean = stored(shop.store.as_ref(), "hurco-clean").await;
    let raw = stored(shop.store.as_ref(), "hurco-raw").await;
    let mut raw_keys: HashMap<String, i64> = HashMap::new();
    for o in &raw {
        *raw_keys.entry(key(o)).or_default() += 1;
    }
    let mut intact = 0;
    for o in clean
        .iter()
        .filter(|o| !broken_times.contains(&o.observation.timestamp))
    {
        let left = raw_keys.entry(key(o)).or_default();
        assert!(*left > 0, "raw Hurco lost {}", key(o));
        *left -= 1;
        intact += 1;
    }
    for o in &raw {
        if raw_keys.get(&key(o)).is_some_and(|n| *n > 0) {
            assert!(
                broken_times.contains(&o.observation.timestamp),
                "raw Hurco invented {}",
                key(o)
            );
        }
    }
    assert!(
        intact > 0 && intact < clean.len(),
        "{intact} of {}",
        clean.len()
    );
}
