//! The agent stand-in over real HTTP, replaying recorded SHDR logs against their device models.
//! Expectations come from the fixtures themselves, read with the SHDR parser and the device
//! model directly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use chatter_mtconnect::devices::DeviceModel;
use chatter_mtconnect::shdr::{self, Parser, Record};
use chatter_mtconnect::streams::{
    self, Category, ConditionLevel, ErrorCode, StreamsDocument, StreamsError, Value,
};
use chatter_replay::agent::{AgentEmulator, Feed, Options};

fn fixtures() -> PathBuf {
    std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    )
}

/// The texts of fixture files `paths`, or `None` (printing why) when the fixtures are absent.
fn fixtures_of<const N: usize>(test: &str, paths: [&str; N]) -> Option<[String; N]> {
    let folder = fixtures();
    if !folder.is_dir() {
        println!(
            "skipping {test}: fixtures not found at {}",
            folder.display()
        );
        return None;
    }
    Some(paths.map(|path| std::fs::read_to_string(folder.join(path)).unwrap()))
}

const OKUMA_LOG: &str = "mtconnect/cppagent/okuma.txt";
const OKUMA_DEVICES: &str = "mtconnect/cppagent/demo-Devices.xml";
const MAZAK_LOG: &str = "mtconnect/nist-smstestbed/Mazak03-20160510-20160511.txt";
const NIST_DEVICES: &str = "mtconnect/nist-smstestbed/Devices.xml";

/// A value in words both sides can be compared in.
fn shdr_words(value: &shdr::Value) -> String {
    match value {
        shdr::Value::Text(text) => text.to_string(),
        shdr::Value::Unavailable => "UNAVAILABLE".to_owned(),
        shdr::Value::Condition(condition) if condition.level == shdr::Level::Unavailable => {
            "UNAVAILABLE".to_owned()
        }
        shdr::Value::Condition(condition) => format!(
            "{}:{}:{}",
            format!("{:?}", condition.level).to_ascii_uppercase(),
            condition.native_code.trim(),
            condition.text.trim()
        ),
        shdr::Value::Message { text, .. } => text.to_string(),
        shdr::Value::Alarm(alarm) => alarm.text.to_string(),
        shdr::Value::TimeSeries { values, .. } => values.to_string(),
    }
}

fn stream_words(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
        Value::Condition(condition) if condition.level == ConditionLevel::Unavailable => {
            "UNAVAILABLE".to_owned()
        }
        Value::Condition(condition) => format!(
            "{}:{}:{}",
            format!("{:?}", condition.level).to_ascii_uppercase(),
            condition.native_code.as_deref().unwrap_or_default(),
            condition.text.as_deref().unwrap_or_default()
        ),
    }
}

/// What the log says, per line: (data item id, value in words) of every key the model knows,
/// and how many keys it does not know.
fn expected(log: &str, devices_xml: &str, device: &str) -> (Vec<Vec<(String, String)>>, u64) {
    let model = DeviceModel::parse(devices_xml).unwrap();
    let mut parser = Parser::new(Some(model.device(device).unwrap().clone()));
    let mut lines = Vec::new();
    for line in log.split_inclusive('\n') {
        let mut values = Vec::new();
        parser.feed(line.as_bytes(), &mut |record| {
            if let Record::Observation(observation) = record
                && let Some(item) = observation.item
            {
                values.push((item.id.clone(), shdr_words(&observation.value)));
            }
        });
        lines.push(values);
    }
    parser.finish(&mut |_| {});
    (lines, parser.stats().unknown_keys)
}

fn data_item_count(devices_xml: &str) -> usize {
    let model = DeviceModel::parse(devices_xml).unwrap();
    model.devices.iter().map(|d| d.data_items.len()).sum()
}

async fn get(agent: &AgentEmulator, target: &str, json: bool) -> (u16, String) {
    let accept = if json {
        "application/json"
    } else {
        "application/xml"
    };
    let response = reqwest::Client::new()
        .get(format!("http://{}{target}", agent.local_addr()))
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn document(agent: &AgentEmulator, target: &str) -> StreamsDocument {
    let (status, body) = get(agent, target, false).await;
    assert_eq!(status, 200, "{target}: {body}");
    streams::parse(&body).unwrap()
}

/// Every buffered observation, read with `/sample` in requests of `count`.
async fn everything(agent: &AgentEmulator, count: u64) -> Vec<streams::Observation> {
    let mut all = Vec::new();
    let mut target = format!("/sample?count={count}");
    loop {
        let document = document(agent, &target).await;
        all.extend(document.observations);
        let header = document.header;
        if header.next_sequence > header.last_sequence {
            return all;
        }
        target = format!("/sample?from={}&count={count}", header.next_sequence);
    }
}

fn words(observations: &[streams::Observation]) -> Vec<(String, String)> {
    observations
        .iter()
        .map(|o| (o.data_item_id.clone(), stream_words(&o.value)))
        .collect()
}

fn options(feed: Feed, buffer_size: usize) -> Options {
    Options {
        device: None,
        buffer_size,
        feed,
    }
}

#[tokio::test]
async fn the_okuma_log_is_buffered_whole_in_sequence_after_the_initial_unavailables() {
    let test = "the_okuma_log_is_buffered_whole_in_sequence_after_the_initial_unavailables";
    let Some([log, devices]) = fixtures_of(test, [OKUMA_LOG, OKUMA_DEVICES]) else {
        return;
    };
    let agent = AgentEmulator::start(&log, &devices, options(Feed::AllAtOnce, 1 << 20))
        .await
        .unwrap();
    assert!(agent.is_done());
    assert_eq!(agent.fed_lines(), log.split_inclusive('\n').count());

    let all = everything(&agent, 5_000).await;
    let sequences: Vec<u64> = all.iter().map(|o| o.sequence).collect();
    assert_eq!(sequences, (1..=all.len() as u64).collect::<Vec<_>>());

    let items = data_item_count(&devices);
    assert!(all[..items].iter().all(|o| o.is_unavailable()));
    let (lines, unknown) = expected(&log, &devices, "OKUMA");
    let fed: Vec<(String, String)> = lines.into_iter().flatten().collect();
    assert_eq!(words(&all[items..]), fed);
    assert_eq!(agent.log_stats().skipped_keys as u64, unknown);
    assert_eq!(agent.log_stats().observations, fed.len());

    let window = agent.window();
    assert_eq!(window.first_sequence, 1);
    assert_eq!(window.next_sequence, all.len() as u64 + 1);
}

#[tokio::test]
async fn current_shows_the_latest_value_of_every_data_item() {
    let test = "current_shows_the_latest_value_of_every_data_item";
    let Some([log, devices]) = fixtures_of(test, [OKUMA_LOG, OKUMA_DEVICES]) else {
        return;
    };
    let agent = AgentEmulator::start(&log, &devices, options(Feed::AllAtOnce, 1 << 20))
        .await
        .unwrap();
    let all = everything(&agent, 20_000).await;
    let mut latest: HashMap<String, String> = HashMap::new();
    for (id, value) in words(&all) {
        latest.insert(id, value);
    }
    let current = document(&agent, "/current").await;
    assert_eq!(current.observations.len(), data_item_count(&devices));
    let shown: HashMap<String, String> = words(&current.observations).into_iter().collect();
    assert_eq!(shown, latest);
    assert_eq!(current.header.next_sequence, agent.window().next_sequence);
}

#[tokio::test]
async fn json_answers_carry_the_same_observations_as_xml() {
    let test = "json_answers_carry_the_same_observations_as_xml";
    let Some([log, devices]) = fixtures_of(test, [OKUMA_LOG, OKUMA_DEVICES]) else {
        return;
    };
    let agent = AgentEmulator::start(&log, &devices, options(Feed::Manual, 10_000))
        .await
        .unwrap();
    agent.feed(300);
    for target in [
        "/current",
        "/sample?from=200&count=500",
        "/OKUMA/sample?count=50",
    ] {
        let (status, xml) = get(&agent, target, false).await;
        assert_eq!(status, 200);
        let (status, json) = get(&agent, target, true).await;
        assert_eq!(status, 200);
        assert!(json.starts_with('{'), "{json}");
        let xml = streams::parse(&xml).unwrap();
        let json = streams::parse(&json).unwrap();
        assert_eq!(xml.observations, json.observations, "{target}");
        assert_eq!(xml.header.next_sequence, json.header.next_sequence);
    }
}

#[tokio::test]
async fn a_from_older_than_the_buffer_is_refused_with_out_of_range() {
    let test = "a_from_older_than_the_buffer_is_refused_with_out_of_range";
    let Some([log, devices]) = fixtures_of(test, [OKUMA_LOG, OKUMA_DEVICES]) else {
        return;
    };
    let buffer_size = 500;
    let agent = AgentEmulator::start(&log, &devices, options(Feed::Manual, buffer_size))
        .await
        .unwrap();
    agent.feed(2_000);
    let window = agent.window();
    assert_eq!(
        window.next_sequence - window.first_sequence,
        buffer_size as u64
    );

    for json in [false, true] {
        let (status, body) = get(&agent, "/sample?from=1", json).await;
        assert_eq!(status, 400);
        let Err(StreamsError::Agent(error)) = streams::parse(&body) else {
            panic!("an error document: {body}");
        };
        assert!(error.has(&ErrorCode::OutOfRange));
        assert_eq!(error.instance_id, Some(window.instance_id));
        assert_eq!(
            error.errors[0].message,
            format!("'from' must be greater than {}", window.first_sequence - 1)
        );
    }

    let oldest = document(
        &agent,
        &format!("/sample?from={}&count=10", window.first_sequence),
    )
    .await;
    assert_eq!(oldest.header.first_sequence, window.first_sequence);
    assert_eq!(oldest.observations[0].sequence, window.first_sequence);

    for (target, code) in [
        (
            format!("/sample?from={}", window.next_sequence + 1),
            ErrorCode::OutOfRange,
        ),
        ("/sample?count=0".to_owned(), ErrorCode::OutOfRange),
        (
            format!("/sample?count={}", buffer_size + 1),
            ErrorCode::OutOfRange,
        ),
        ("/current?at=1".to_owned(), ErrorCode::OutOfRange),
        ("/sample?from=abc".to_owned(), ErrorCode::QueryError),
    ] {
        let (status, body) = get(&agent, &target, false).await;
        assert_eq!(status, 400, "{target}");
        let Err(StreamsError::Agent(error)) = streams::parse(&body) else {
            panic!("{target}: an error document: {body}");
        };
        assert!(error.has(&code), "{target}: {error}");
    }
}

#[tokio::test]
async fn a_restart_gives_a_new_instance_numbered_from_one_and_feeding_goes_on() {
    let test = "a_restart_gives_a_new_instance_numbered_from_one_and_feeding_goes_on";
    let Some([log, devices]) = fixtures_of(test, [OKUMA_LOG, OKUMA_DEVICES]) else {
        return;
    };
    let agent = AgentEmulator::start(&log, &devices, options(Feed::Manual, 100_000))
        .await
        .unwrap();
    assert_eq!(agent.feed(40), 40);
    let before = agent.window();

    agent.restart();
    let after = agent.window();
    assert!(after.instance_id > before.instance_id);
    assert_eq!(after.first_sequence, 1);
    let items = data_item_count(&devices);
    assert_eq!(after.next_sequence, items as u64 + 1);
    let current = document(&agent, "/current").await;
    assert_eq!(current.header.instance_id, after.instance_id);
    assert!(current.observations.iter().all(|o| o.is_unavailable()));

    assert_eq!(agent.feed(10), 10);
    assert_eq!(agent.fed_lines(), 50);
    let all = everything(&agent, 10_000).await;
    let (lines, _) = expected(&log, &devices, "OKUMA");
    let lines_41_to_50: Vec<(String, String)> = lines[40..50].iter().flatten().cloned().collect();
    assert_eq!(words(&all[items..]), lines_41_to_50);
}

#[tokio::test]
async fn the_nist_mazak_log_feeds_its_device_and_unknown_keys_are_skipped() {
    let test = "the_nist_mazak_log_feeds_its_device_and_unknown_keys_are_skipped";
    let Some([log, devices]) = fixtures_of(test, [MAZAK_LOG, NIST_DEVICES]) else {
        return;
    };
    let mazak = Options {
        device: Some("Mazak03".to_owned()),
        buffer_size: 1 << 20,
        feed: Feed::AllAtOnce,
    };
    let agent = AgentEmulator::start(&log, &devices, mazak).await.unwrap();
    let (lines, unknown) = expected(&log, &devices, "Mazak03");
    assert_eq!(agent.log_stats().skipped_keys as u64, unknown);

    let model = DeviceModel::parse(&devices).unwrap();
    let mazak_uuid = model.device("Mazak03").unwrap().uuid.clone().unwrap();
    let mazak_items = model.device("Mazak03").unwrap().data_items.len();
    let mut all = Vec::new();
    let mut target = "/Mazak03/sample?count=20000".to_owned();
    loop {
        let document = document(&agent, &target).await;
        all.extend(document.observations);
        if document.header.next_sequence > document.header.last_sequence {
            break;
        }
        target = format!(
            "/Mazak03/sample?from={}&count=20000",
            document.header.next_sequence
        );
    }
    assert!(all.iter().all(|o| o.component.device_uuid == mazak_uuid));
    let fed: Vec<(String, String)> = lines.into_iter().flatten().collect();
    assert_eq!(all.len(), mazak_items + fed.len());
    assert_eq!(words(&all[mazak_items..]), fed);

    let other = document(&agent, "/GFAgie01/current").await;
    assert!(!other.observations.is_empty());
    assert!(other.observations.iter().all(|o| o.is_unavailable()));

    let (status, body) = get(&agent, "/Mazak03/probe", false).await;
    assert_eq!(status, 200);
    let probed = DeviceModel::parse(&body).unwrap();
    let names: Vec<&str> = probed.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Mazak03"]);
    assert!(body.contains(&format!("instanceId=\"{}\"", agent.window().instance_id)));

    let (status, body) = get(&agent, "/Nope/sample", false).await;
    assert_eq!(status, 404);
    assert!(
        matches!(streams::parse(&body), Err(StreamsError::Agent(e)) if e.has(&ErrorCode::NoDevice))
    );
    let (status, body) = get(&agent, "/Mazak03/assets/x", false).await;
    assert_eq!(status, 404);
    assert!(
        matches!(streams::parse(&body), Err(StreamsError::Agent(e)) if e.has(&ErrorCode::InvalidUri))
    );
}

#[tokio::test]
async fn paced_feeding_replays_the_whole_log() {
    let test = "paced_feeding_replays_the_whole_log";
    let Some([log, devices]) = fixtures_of(test, [MAZAK_LOG, NIST_DEVICES]) else {
        return;
    };
    // The first 300 lines of a production day, compressed a million times.
    let head: String = log.split_inclusive('\n').take(300).collect();
    let paced = Options {
        device: Some("Mazak03".to_owned()),
        buffer_size: 10_000,
        feed: Feed::Paced {
            speed: 1e6,
            max_wait: Duration::from_millis(5),
        },
    };
    let agent = AgentEmulator::start(&head, &devices, paced).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), agent.wait_until_done())
        .await
        .unwrap();
    assert!(agent.is_done());
    assert_eq!(agent.fed_lines(), 300);
    let samples = document(&agent, "/Mazak03/current").await;
    assert!(
        samples
            .observations
            .iter()
            .any(|o| o.category == Category::Sample)
    );
}

#[tokio::test]
async fn a_bad_setup_is_refused_with_its_reason() {
    let test = "a_bad_setup_is_refused_with_its_reason";
    let Some([devices]) = fixtures_of(test, [NIST_DEVICES]) else {
        return;
    };
    let unknown = Options {
        device: Some("Lathe9".to_owned()),
        ..Options::default()
    };
    let Err(error) = AgentEmulator::start("", &devices, unknown).await else {
        panic!("no such device");
    };
    assert!(
        error
            .to_string()
            .starts_with("the device model has no device `Lathe9` (it has: GFAgie01, Mazak01"),
        "{error}"
    );
    let Err(error) = AgentEmulator::start("", "<MTConnectStreams/>", Options::default()).await
    else {
        panic!("not a device model");
    };
    assert!(
        error
            .to_string()
            .starts_with("the device model cannot be read"),
        "{error}"
    );
}
