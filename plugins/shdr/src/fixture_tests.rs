//! The decoder on real adapter logs (the shared fixtures, never copied into the repository):
//! the observations `poll` would return for them.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use chatter_sdk::{ConditionLevel, Observation, Value};

use crate::{Decoder, DecoderOptions, DeviceModel};

/// `$CHATTER_FIXTURES`, else `<workspace root>/../shared/fixtures`.
fn fixtures_root() -> PathBuf {
    match std::env::var_os("CHATTER_FIXTURES") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

/// The text of `mtconnect/<relative>`, or `None` after printing why `test` is skipped.
fn fixture(test: &str, relative: &str) -> Option<String> {
    let path = fixtures_root().join("mtconnect").join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => {
            println!("skipping {test}: fixtures not found at {}", path.display());
            None
        }
    }
}

const ARRIVAL: i64 = 1;

/// Decodes `log` with `device` of `model`, delivered in reads of `chunk` bytes.
fn decode(
    test: &str,
    log: &str,
    model: &str,
    device: &str,
    chunk: usize,
) -> Option<(String, Vec<Observation>, Decoder)> {
    let text = fixture(test, log)?;
    let xml = fixture(test, model)?;
    let device = DeviceModel::parse(&xml)
        .unwrap()
        .device(device)
        .cloned()
        .unwrap();
    let mut decoder = Decoder::new(Some(device), DecoderOptions::default());
    let mut out = Vec::new();
    for bytes in text.as_bytes().chunks(chunk) {
        decoder.feed_at(bytes, ARRIVAL, &mut out);
    }
    decoder.finish_at(ARRIVAL, &mut out);
    Some((text, out, decoder))
}

fn events_of<'o>(out: &'o [Observation], item: &str) -> Vec<&'o str> {
    out.iter()
        .filter(|o| o.data_item == item)
        .filter_map(|o| match &o.value {
            Value::Event(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The values written after `|key|` in `text`, in order.
fn written(text: &str, key: &str) -> Vec<String> {
    let pattern = format!("|{key}|");
    text.lines()
        .flat_map(|line| line.match_indices(&pattern).map(move |(at, _)| &line[at..]))
        .map(|rest| rest[pattern.len()..].split('|').next().unwrap().to_owned())
        .collect()
}

#[test]
fn okuma_capture_decodes_the_same_whatever_the_reads() {
    let test = "okuma_capture_decodes_the_same_whatever_the_reads";
    let args = ("cppagent/okuma.txt", "cppagent/demo-Devices.xml", "OKUMA");
    let Some((text, out, decoder)) = decode(test, args.0, args.1, args.2, 65_536) else {
        return;
    };
    let stats = decoder.stats();
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.last_bad);
    for chunk in [1_000, 4_093] {
        let (_, again, _) = decode(test, args.0, args.1, args.2, chunk).unwrap();
        assert_eq!(
            format!("{again:?}"),
            format!("{out:?}"),
            "reads of {chunk} bytes"
        );
    }

    // The demo model names the Okuma's part count `ppartcount`, id `Lppartcount`.
    assert_eq!(events_of(&out, "Lppartcount"), written(&text, "ppartcount"));
    let executions = events_of(&out, "Lpexecution");
    assert_eq!(executions, written(&text, "pexecution"));
    assert!(
        executions
            .iter()
            .all(|e| e.chars().all(|c| !c.is_ascii_lowercase()))
    );

    // Assets: the demo model has no ASSET_CHANGED item, so the fallback items are used.
    let added = events_of(&out, "asset_changed");
    assert_eq!(added.len(), text.matches("|@ASSET@|").count());
    assert_eq!(added.len(), 118);
    let removed = events_of(&out, "asset_removed");
    let remove_all = text.matches("|@REMOVE_ALL_ASSETS@").count();
    assert_eq!(removed.iter().filter(|r| **r == "*").count(), remove_all);
    assert_eq!(
        removed.len() - remove_all,
        text.matches("|@REMOVE_ASSET@|").count()
    );
    assert_eq!(stats.assets as usize, added.len() + removed.len());

    // Every observation of a sample item is a number, unavailable, or a vector as text.
    let device = decoder.data_items();
    for observation in &out {
        let Some(item) = device.iter().find(|d| d.id == observation.data_item) else {
            continue;
        };
        if item.category == chatter_sdk::Category::Sample
            && let Value::Event(text) = &observation.value
        {
            assert!(text.contains(' '), "{}: {text:?}", item.id);
        }
    }
    // Timestamps are the lines', so none is the arrival time.
    assert!(out.iter().all(|o| o.timestamp != ARRIVAL));
}

#[test]
fn nist_mazak_day_reports_execution_and_conditions() {
    let test = "nist_mazak_day_reports_execution_and_conditions";
    let Some((text, out, decoder)) = decode(
        test,
        "nist-smstestbed/Mazak03-20160510-20160511.txt",
        "nist-smstestbed/Devices.xml",
        "Mazak03",
        8_192,
    ) else {
        return;
    };
    assert_eq!(decoder.stats().bad_lines, 0);
    let model = decoder.data_items();
    let execution = model.iter().find(|d| d.kind == "EXECUTION").unwrap();
    let values: Vec<&Observation> = out.iter().filter(|o| o.data_item == execution.id).collect();
    let lines = written(&text, "execution");
    assert_eq!(values.len(), lines.len());
    assert_eq!(values.len(), 169);
    for (observation, line) in values.iter().zip(&lines) {
        match &observation.value {
            Value::Unavailable => assert_eq!(line, "UNAVAILABLE"),
            Value::Event(value) => assert_eq!(value, line),
            other => panic!("{other:?}"),
        }
    }
    let warnings = out
        .iter()
        .filter(|o| {
            matches!(&o.value, Value::Condition(c)
                if c.level == ConditionLevel::Warning && c.native_code.is_some())
        })
        .count();
    assert_eq!(warnings, text.matches("|Warning|").count());
}

#[test]
fn mazak_agent_log_reads_mixed_case_conditions_and_empty_values() {
    let test = "mazak_agent_log_reads_mixed_case_conditions_and_empty_values";
    let Some((text, out, decoder)) = decode(
        test,
        "mtconnect-agent/Mazak03.log",
        "mtconnect-agent/Mazak03.xml",
        "Mazak03",
        777,
    ) else {
        return;
    };
    assert_eq!(decoder.stats().bad_lines, 0);
    let normal = out
        .iter()
        .filter(|o| matches!(&o.value, Value::Condition(c) if c.level == ConditionLevel::Normal))
        .count();
    assert_eq!(normal, text.matches("|Normal||||").count());
    // `Zabs|` is a position sample without a number: unavailable, not an error.
    let zabs = decoder
        .data_items()
        .into_iter()
        .find(|d| d.name.as_deref() == Some("Zabs"));
    if let Some(zabs) = zabs
        && text.contains("|Zabs|\n")
    {
        let last = out.iter().rev().find(|o| o.data_item == zabs.id).unwrap();
        assert!(matches!(last.value, Value::Unavailable | Value::Sample(_)));
    }
}

#[test]
fn hurco_cycle_reports_part_count_and_program_status_as_the_model_says() {
    let test = "hurco_cycle_reports_part_count_and_program_status_as_the_model_says";
    let Some((text, out, decoder)) = decode(
        test,
        "nist-smstestbed/Plate-Op2-Hurco04-01of20.txt",
        "nist-smstestbed/Devices.xml",
        "Hurco04",
        512,
    ) else {
        return;
    };
    assert_eq!(decoder.stats().bad_lines, 0);
    let items = decoder.data_items();
    let id_of = |kind: &str| items.iter().find(|d| d.kind == kind).unwrap().id.clone();
    assert_eq!(
        events_of(&out, &id_of("PART_COUNT")),
        written(&text, "Part_Count")
    );
    assert_eq!(events_of(&out, &id_of("PART_COUNT")), ["1089"]);
    let statuses = events_of(&out, &id_of("EXECUTION"));
    assert_eq!(statuses, written(&text, "Program_Status"));
    assert_eq!(statuses.last().copied(), Some("PROGRAM_COMPLETED"));
}

#[test]
fn hurco_raw_capture_reports_its_broken_lines() {
    let test = "hurco_raw_capture_reports_its_broken_lines";
    let Some((text, _, mut decoder)) = decode(
        test,
        "nist-smstestbed/2-17-2017-Hurco04.txt",
        "nist-smstestbed/Devices.xml",
        "Hurco04",
        80,
    ) else {
        return;
    };
    let stats = decoder.stats().clone();
    // Each continuation of a wrapped line starts mid-token, without a timestamp.
    let continuations = text
        .lines()
        .filter(|line| {
            let first = line.trim().split('|').next().unwrap_or_default();
            !first.is_empty() && chatter_mtconnect::time::parse_timestamp(first).is_none()
        })
        .count();
    assert!(stats.bad_lines as usize >= continuations, "{stats:?}");
    let logged = decoder.take_rejections();
    assert_eq!(logged.len(), crate::LOGGED_REJECTIONS);
    assert!(logged.iter().all(|r| r.line >= 1));
}
