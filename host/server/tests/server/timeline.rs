//! Derived data from real production logs: the NIST Mazak day and the Hurco plate cycle are
//! replayed over SHDR into a running server, and the timeline's time per state, the cycles and
//! the parts the API reports — and the utilization report's figures — equal what this test
//! computes straight from the log text, line by line, without the server's code.

use crate::common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{ShopSetup, get, send};
use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay};
use reqwest::Method;
use serde_json::{Value, json};

/// Which log keys carry the signals, as a person reading the log and its Devices.xml would say.
struct Keys {
    avail: Option<&'static str>,
    execution: &'static str,
    mode: Option<&'static str>,
    part_count: &'static str,
    program: &'static str,
}

/// What the log says the machine did, over its first to its last timestamp.
#[derive(Debug, Default)]
struct Reference {
    first: String,
    last: String,
    /// Nanoseconds per state.
    seconds: BTreeMap<&'static str, i64>,
    /// (start, end, program) of every cycle that ended.
    cycles: Vec<(i64, i64, Option<String>)>,
    /// Whether each of `cycles` ended by completing its program.
    completed: Vec<bool>,
    parts: u64,
}

/// The signals' values while walking the log.
#[derive(Default)]
struct Machine {
    avail: Option<String>,
    execution: Option<String>,
    mode: Option<String>,
    program: Option<String>,
    /// Active (condition key, native code) → whether it reached FAULT.
    alarms: HashMap<(String, String), bool>,
    part_count: Option<u64>,
    cycle: Option<(i64, Option<String>)>,
}

impl Machine {
    fn offline(&self) -> bool {
        let unavailable = |v: &Option<String>| v.as_deref().is_none_or(|v| v == "UNAVAILABLE");
        match &self.avail {
            Some(avail) => avail == "UNAVAILABLE",
            None => unavailable(&self.execution),
        }
    }

    fn status(&self) -> &'static str {
        let execution = self.execution.as_deref().unwrap_or_default();
        let mode = self.mode.as_deref().unwrap_or_default();
        if self.offline() {
            "offline"
        } else if self.alarms.values().any(|&fault| fault) {
            "alarm"
        } else if execution == "ACTIVE" {
            "running"
        } else if [
            "FEED_HOLD",
            "INTERRUPTED",
            "OPTIONAL_STOP",
            "PROGRAM_STOPPED",
        ]
        .contains(&execution)
        {
            "paused"
        } else if ["MANUAL", "MANUAL_DATA_INPUT", "MDI"].contains(&mode) {
            "setup"
        } else {
            "idle"
        }
    }

    fn condition(&mut self, key: &str, fields: &[&str]) {
        let level = fields[0].to_ascii_uppercase();
        let code = fields.get(1).copied().unwrap_or_default().to_owned();
        match level.as_str() {
            "WARNING" | "FAULT" => {
                let fault = self.alarms.entry((key.to_owned(), code)).or_default();
                *fault |= level == "FAULT";
            }
            "NORMAL" if !code.is_empty() => {
                self.alarms.remove(&(key.to_owned(), code));
            }
            _ => self.alarms.retain(|(k, _), _| k != key),
        }
    }

    /// Follows cycles after the values of one line changed.
    fn cycles(&mut self, at: i64, reference: &mut Reference) {
        let execution = self.execution.clone().unwrap_or_default();
        if let Some((start, program)) = &self.cycle {
            let ends = self.offline()
                || ["PROGRAM_COMPLETED", "READY", "STOPPED"].contains(&execution.as_str());
            if ends {
                reference.cycles.push((*start, at, program.clone()));
                reference.completed.push(
                    !self.offline() && ["PROGRAM_COMPLETED", "READY"].contains(&execution.as_str()),
                );
                self.cycle = None;
            }
        }
        if self.cycle.is_none() && execution == "ACTIVE" && !self.offline() {
            self.cycle = Some((at, self.program.clone()));
        }
    }
}

fn nanos(timestamp: &str) -> i64 {
    let instant: jiff::Timestamp = timestamp.parse().unwrap();
    i64::try_from(instant.as_nanosecond()).unwrap()
}

/// Walks the log: each line's key/value groups (conditions take five fields), then the state
/// the machine was in until the next line's timestamp.
fn reference(log: &str, keys: &Keys, conditions: &HashSet<String>) -> Reference {
    let mut reference = Reference::default();
    let mut machine = Machine::default();
    let mut previous: Option<(i64, &'static str)> = None;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.trim_end_matches('\r').split('|').collect();
        let at = nanos(fields[0]);
        if let Some((since, status)) = previous {
            *reference.seconds.entry(status).or_default() += at - since;
        } else {
            reference.first = fields[0].to_owned();
        }
        reference.last = fields[0].to_owned();
        let mut i = 1;
        while i < fields.len() {
            let key = fields[i];
            if conditions.contains(key) {
                machine.condition(key, &fields[i + 1..(i + 6).min(fields.len())]);
                i += 6;
                continue;
            }
            let value = fields.get(i + 1).copied().unwrap_or_default().trim();
            let upper = value.to_ascii_uppercase();
            if Some(key) == keys.avail {
                machine.avail = Some(upper);
            } else if key == keys.execution {
                machine.execution = Some(upper);
            } else if Some(key) == keys.mode {
                machine.mode = Some(upper);
            } else if key == keys.program && value != "UNAVAILABLE" {
                machine.program = (!value.is_empty()).then(|| value.to_owned());
                if let Some((_, program @ None)) = &mut machine.cycle {
                    program.clone_from(&machine.program);
                }
            } else if key == keys.part_count
                && let Ok(count) = value.parse::<u64>()
            {
                if let Some(before) = machine.part_count {
                    reference.parts += if count >= before {
                        count - before
                    } else {
                        count
                    };
                }
                machine.part_count = Some(count);
            }
            i += 2;
        }
        machine.cycles(at, &mut reference);
        previous = Some((at, machine.status()));
    }
    reference
}

/// The keys of the device's condition data items, from its Devices.xml.
fn condition_keys(devices_xml: &str, device: &str) -> HashSet<String> {
    let document = roxmltree::Document::parse(devices_xml).unwrap();
    let device = document
        .descendants()
        .find(|n| n.tag_name().name() == "Device" && n.attribute("name") == Some(device))
        .unwrap();
    device
        .descendants()
        .filter(|n| n.tag_name().name() == "DataItem")
        .filter(|n| n.attribute("category") == Some("CONDITION"))
        .flat_map(|n| [n.attribute("id"), n.attribute("name")])
        .flatten()
        .map(str::to_owned)
        .collect()
}

/// Replays `log` into a new machine `id` set up with `config` and `signals`, and waits until
/// everything is stored.
async fn replay_into(
    base: &str,
    store: &dyn chatter_store::Store,
    log: &Path,
    id: &str,
    config: Value,
    signals: Value,
) -> ShdrReplay {
    let replay = ShdrReplay::start(ShdrLog::read(log).unwrap(), ReplayOptions::default())
        .await
        .unwrap();
    let body = json!({
        "id": id,
        "driver": "shdr",
        "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": replay.local_addr().port() }],
        "config": config,
        "signals": signals,
        "poll_interval_ms": 10,
    });
    let (status, answer) = send(
        Method::POST,
        &format!("{base}/api/v1/machines"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // Stored once the sequence stops moving.
    let org = chatter_model::OrgId::new("acme").unwrap();
    let machine = chatter_model::MachineId::new(id).unwrap();
    let mut last = (0, Instant::now());
    loop {
        let now = store.last_sequence(&org, &machine).await.unwrap();
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_secs(2) {
            return replay;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the API's timeline, cycles and parts against the reference.
async fn check(base: &str, id: &str, expected: &Reference) {
    let range = format!("from={}&to={}", expected.first, expected.last);
    let (status, timeline) = get(&format!("{base}/api/v1/machines/{id}/timeline?{range}")).await;
    assert_eq!(status, 200, "{timeline}");
    let seconds = &timeline["totals"]["seconds"];
    for state in ["offline", "alarm", "running", "paused", "setup", "idle"] {
        let want = expected.seconds.get(state).copied().unwrap_or_default() as f64 / 1e9;
        let got = seconds[state]
            .as_f64()
            .unwrap_or_else(|| panic!("{timeline}"));
        assert!(
            (got - want).abs() < 1e-6,
            "{id}: {state}: API {got} s, log {want} s"
        );
    }
    // The intervals tile the range.
    let intervals = timeline["intervals"].as_array().unwrap();
    let total: f64 = intervals
        .iter()
        .map(|i| i["seconds"].as_f64().unwrap())
        .sum();
    let span = (nanos(&expected.last) - nanos(&expected.first)) as f64 / 1e9;
    assert!(
        (total - span).abs() < 1e-6,
        "{id}: intervals cover {total} of {span} s"
    );

    // Cycles ending up to a day after the log are the log's.
    let to =
        jiff::Timestamp::from_nanosecond(i128::from(nanos(&expected.last)) + 86_400_000_000_000)
            .unwrap();
    let url = format!(
        "{base}/api/v1/machines/{id}/cycles?from={}&to={to}",
        expected.first
    );
    let (_, cycles) = get(&url).await;
    let got: Vec<(i64, i64, Option<String>)> = cycles["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let start = nanos(c["start"].as_str().unwrap());
            let end = nanos(c["end"].as_str().unwrap());
            (start, end, c["program"].as_str().map(str::to_owned))
        })
        .collect();
    assert_eq!(got, expected.cycles, "{id}: cycles");

    let url = format!(
        "{base}/api/v1/machines/{id}/parts?from={}&to={to}",
        expected.first
    );
    let (_, parts) = get(&url).await;
    assert_eq!(parts["total"], json!(expected.parts), "{id}: parts");
}

/// Runs the utilization report for machine `id` over the log's span (and the nanosecond of its
/// last line, when its last parts are counted) and checks its CSV against the reference.
async fn check_report(base: &str, id: &str, expected: &Reference) {
    let to = jiff::Timestamp::from_nanosecond(i128::from(nanos(&expected.last)) + 1).unwrap();
    let body = json!({
        "plugin": "utilization",
        "from": expected.first,
        "to": to.to_string(),
        "machines": [id],
    });
    let (status, run) = send(
        Method::POST,
        &format!("{base}/api/v1/reports/runs"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"]["state"], "succeeded", "{run}");
    let run_id = run["id"].as_str().unwrap();
    let csv = common::get_text(&format!(
        "{base}/api/v1/reports/runs/{run_id}/documents/utilization.csv"
    ))
    .await;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let all: HashMap<&str, &str> = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[2] == "all")
        .map(|row| header.iter().copied().zip(row).collect())
        .unwrap_or_else(|| panic!("no `all` row in {csv}"));
    let seconds = |field: &str| -> f64 {
        all[field]
            .parse()
            .unwrap_or_else(|_| panic!("{field} = {:?}", all[field]))
    };
    let span = (nanos(&expected.last) + 1 - nanos(&expected.first)) as f64 / 1e9;
    assert!((seconds("scheduled_s") - span).abs() < 1e-3, "{id}: {csv}");
    for state in ["offline", "alarm", "running", "paused", "setup", "idle"] {
        let want = expected.seconds.get(state).copied().unwrap_or_default() as f64 / 1e9;
        let got = seconds(&format!("{state}_s"));
        assert!(
            (got - want).abs() < 2e-3,
            "{id}: report {state} {got} s, log {want} s"
        );
    }
    let running = expected.seconds.get("running").copied().unwrap_or_default() as f64 / 1e9;
    assert!(
        (seconds("utilization_pct") - 100.0 * running / span).abs() < 0.006,
        "{id}: {csv}"
    );
    assert_eq!(all["parts"], expected.parts.to_string(), "{id}: parts");
    let completed: Vec<i64> = expected
        .cycles
        .iter()
        .zip(&expected.completed)
        .filter(|(_, done)| **done)
        .map(|((start, end, _), _)| end - start)
        .collect();
    assert_eq!(
        all["cycles"],
        completed.len().to_string(),
        "{id}: cycles {:?} {:?}\n{csv}",
        expected.cycles,
        expected.completed
    );
    if let Some(best) = completed.iter().min() {
        let average = completed.iter().sum::<i64>() as f64 / completed.len() as f64;
        assert!(
            (seconds("best_cycle_s") - *best as f64 / 1e9).abs() < 1e-3,
            "{id}: {csv}"
        );
        assert!(
            (seconds("avg_cycle_s") - average / 1e9).abs() < 1e-3,
            "{id}: {csv}"
        );
    } else {
        assert_eq!((all["avg_cycle_s"], all["best_cycle_s"]), ("", ""), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn timelines_cycles_parts_and_the_utilization_report_match_the_logs() {
    let Some(fixtures) = common::fixtures("mtconnect/nist-smstestbed") else {
        return;
    };
    let shop = common::serve(ShopSetup {
        plugins: &["shdr", "utilization"],
        allow_loopback: true,
        ..ShopSetup::default()
    })
    .await;
    let devices = std::fs::read_to_string(fixtures.join("Devices.xml")).unwrap();

    // The Mazak day, typed by its Devices.xml.
    let mazak_log = fixtures.join("Mazak03-20160510-20160511.txt");
    let _mazak = replay_into(
        &shop.base,
        shop.store.as_ref(),
        &mazak_log,
        "mazak",
        json!({ "devices-xml": devices, "device": "Mazak03" }),
        json!({}),
    )
    .await;
    let mazak = reference(
        &std::fs::read_to_string(&mazak_log).unwrap(),
        &Keys {
            avail: Some("avail"),
            execution: "execution",
            mode: Some("mode"),
            part_count: "PartCountAct",
            program: "program",
        },
        &condition_keys(&devices, "Mazak03"),
    );
    assert!(
        mazak.seconds.len() >= 4,
        "the day has several states: {mazak:?}"
    );
    check(&shop.base, "mazak", &mazak).await;
    check_report(&shop.base, "mazak", &mazak).await;

    // The Hurco cycle, without a device model: the mapping says which key is which.
    let hurco_log = fixtures.join("Plate-Op2-Hurco04-01of20.txt");
    let _hurco = replay_into(
        &shop.base,
        shop.store.as_ref(),
        &hurco_log,
        "hurco",
        json!({}),
        json!({
            "execution": ["Program_Status"],
            "part_count": ["Part_Count"],
            "program": ["Program_Name_Running"],
        }),
    )
    .await;
    let hurco = reference(
        &std::fs::read_to_string(&hurco_log).unwrap(),
        &Keys {
            avail: None,
            execution: "Program_Status",
            mode: None,
            part_count: "Part_Count",
            program: "Program_Name_Running",
        },
        &HashSet::new(),
    );
    assert_eq!(hurco.cycles.len(), 1, "{hurco:?}");
    check(&shop.base, "hurco", &hurco).await;
    check_report(&shop.base, "hurco", &hurco).await;

    // The organization's summary adds up the two machines.
    let url = format!(
        "{}/api/v1/summary?from={}&to={}",
        shop.base, mazak.first, hurco.last
    );
    let (status, summary) = get(&url).await;
    assert_eq!(status, 200, "{summary}");
    let machines = summary["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 2);
    let running: f64 = machines
        .iter()
        .map(|m| m["totals"]["seconds"]["running"].as_f64().unwrap())
        .sum();
    let all = summary["totals"]["seconds"]["running"].as_f64().unwrap();
    assert!((running - all).abs() < 1e-6);
}
