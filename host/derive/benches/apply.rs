//! What derivation adds to ingest per observation, against the least any ingest step does with
//! an observation — looking its data item up in a map — measured in the same run.
//!
//! The batch is the common case: values that change nothing (repeated execution and program,
//! samples of items the rules do not read).
//!
//! `cargo bench -p chatter-derive`

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chatter_derive::{Derived, Deriver, DeriverState};
use chatter_model::{Category, DataItem, Observation, SignalMapping, StoredObservation, Value};

const OBSERVATIONS: u64 = 1_000_000;
const RUNS: usize = 7;

fn item(id: &str, kind: &str) -> DataItem {
    DataItem {
        id: id.into(),
        category: Category::Event,
        kind: kind.into(),
        units: None,
        name: None,
    }
}

fn batch() -> Vec<StoredObservation> {
    (1..=OBSERVATIONS)
        .map(|sequence| {
            let (data_item, value) = match sequence % 4 {
                0 => ("exec", Value::Event("ACTIVE".into())),
                1 => ("Xload", Value::Sample(1.0)),
                2 => ("prog", Value::Event("O1000".into())),
                _ => ("spindle_speed", Value::Sample(1200.0)),
            };
            StoredObservation {
                sequence,
                backwards: false,
                observation: Observation {
                    data_item: data_item.into(),
                    timestamp: sequence as i64 * 1_000_000,
                    value,
                },
            }
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let items = vec![
        item("avail", "AVAILABILITY"),
        item("exec", "EXECUTION"),
        item("prog", "PROGRAM"),
        item("Xload", "LOAD"),
        item("spindle_speed", "ROTARY_VELOCITY"),
    ];
    let batch = batch();
    let lookup: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.clone(), i))
        .collect();

    let mut derive_times = Vec::new();
    let mut lookup_times = Vec::new();
    for _ in 0..RUNS {
        let mut deriver = Deriver::new(&items, &SignalMapping::default(), DeriverState::default());
        let mut out = Derived::default();
        let started = Instant::now();
        deriver.apply(black_box(&batch), &mut out);
        derive_times.push(started.elapsed());
        black_box(&out);

        let started = Instant::now();
        let mut found = 0;
        for stored in black_box(&batch) {
            found += lookup
                .get(stored.observation.data_item.as_str())
                .copied()
                .unwrap_or(0);
        }
        lookup_times.push(started.elapsed());
        black_box(found);
    }
    let per = |d: Duration| d.as_nanos() as f64 / OBSERVATIONS as f64;
    let (derive, lookup) = (per(median(derive_times)), per(median(lookup_times)));
    println!(
        "derive {derive:.1} ns per observation; a map lookup alone {lookup:.1} ns ({:.1}x)",
        derive / lookup
    );
}
