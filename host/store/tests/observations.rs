//! Observations: sequence numbers, paging, latest values, and group commit under concurrency.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chatter_model::{Observation, StoredObservation};
use chatter_store::Appended;
use common::*;

#[tokio::test]
async fn sequence_numbers_start_at_one_and_are_contiguous() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 0);

    assert_eq!(
        store
            .append_observations(&acme, &mill, &samples(0, 3))
            .await
            .unwrap()
            .sequences,
        1..4
    );
    assert_eq!(
        store
            .append_observations(&acme, &mill, &samples(3, 2))
            .await
            .unwrap()
            .sequences,
        4..6
    );
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 5);

    let stored = store.observations(&acme, &mill, 0, 100).await.unwrap();
    let expected: Vec<_> = (1..)
        .zip(samples(0, 5))
        .map(|(sequence, observation)| StoredObservation {
            sequence,
            backwards: false,
            observation,
        })
        .collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn an_empty_batch_stores_nothing_and_returns_the_next_sequence_number() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert_eq!(
        store.append_observations(&acme, &mill, &[]).await.unwrap(),
        Appended {
            sequences: 1..1,
            backwards: Vec::new()
        }
    );
    store
        .append_observations(&acme, &mill, &samples(0, 2))
        .await
        .unwrap();
    assert_eq!(
        store
            .append_observations(&acme, &mill, &[])
            .await
            .unwrap()
            .sequences,
        3..3
    );
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 2);
    let err = store
        .append_observations(&acme, &machine_id("nope"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "machine `nope` does not exist in organization `acme`"
    );
}

#[tokio::test]
async fn observations_are_paged_by_after_and_limit() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    store
        .append_observations(&acme, &mill, &samples(0, 300))
        .await
        .unwrap();

    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page = store.observations(&acme, &mill, after, 128).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.sequence;
        pages.push(page.iter().map(|o| o.sequence).collect::<Vec<_>>());
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [128, 128, 44]
    );
    assert_eq!(pages.concat(), (1..=300).collect::<Vec<u64>>());

    // Sequence numbers above 255 exercise big-endian ordering across a byte boundary.
    let tail = store.observations(&acme, &mill, 255, 2).await.unwrap();
    assert_eq!(
        tail.iter().map(|o| o.sequence).collect::<Vec<_>>(),
        [256, 257]
    );
    assert!(
        store
            .observations(&acme, &mill, 0, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .observations(&acme, &mill, 300, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .observations(&acme, &mill, u64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .observations(&acme, &machine_id("nope"), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pages_cross_chunks_and_batches_at_any_point() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    // Batches far larger than a chunk, and tiny ones, so that chunks have many sizes.
    let sizes = [10_000, 1, 3, 2_500, 1, 700];
    let mut expected = Vec::new();
    for size in sizes {
        let batch = samples(expected.len() as i64, size);
        store
            .append_observations(&acme, &mill, &batch)
            .await
            .unwrap();
        expected.extend(batch);
    }
    let total = expected.len() as u64;

    for limit in [7, 333, 4096] {
        let mut after = 0;
        let mut read = Vec::new();
        loop {
            let page = store
                .observations(&acme, &mill, after, limit)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            assert!(page.len() <= limit);
            assert_eq!(page[0].sequence, after + 1);
            after = last.sequence;
            read.extend(page.into_iter().map(|o| o.observation));
        }
        assert_eq!(read, expected, "limit {limit}");
    }
    // Every starting point, around the batch boundaries and inside chunks.
    for after in [
        0,
        1,
        9_999,
        10_000,
        10_001,
        10_003,
        10_004,
        12_504,
        total - 1,
    ] {
        let page = store.observations(&acme, &mill, after, 3).await.unwrap();
        let sequences: Vec<u64> = page.iter().map(|o| o.sequence).collect();
        let want: Vec<u64> = (after + 1..=total).take(3).collect();
        assert_eq!(sequences, want, "after {after}");
        for stored in page {
            assert_eq!(stored.observation, expected[stored.sequence as usize - 1]);
        }
    }
    assert!(
        store
            .observations(&acme, &mill, total, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_latest_value_of_each_data_item_is_kept_sorted_by_data_item() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert!(
        store
            .latest_observations(&acme, &mill)
            .await
            .unwrap()
            .is_empty()
    );

    let batch = [
        event("exec", 1, "READY"),
        sample("load", 1, 0.5),
        event("exec", 2, "ACTIVE"),
    ];
    store
        .append_observations(&acme, &mill, &batch)
        .await
        .unwrap();
    store
        .append_observations(&acme, &mill, &[sample("load", 3, 0.75)])
        .await
        .unwrap();

    let latest = store.latest_observations(&acme, &mill).await.unwrap();
    assert_eq!(
        latest,
        [
            StoredObservation {
                sequence: 3,
                backwards: false,
                observation: event("exec", 2, "ACTIVE")
            },
            StoredObservation {
                sequence: 4,
                backwards: false,
                observation: sample("load", 3, 0.75)
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_to_one_machine_get_contiguous_gap_free_sequences() {
    const WRITERS: usize = 48;
    const APPENDS: usize = 10;
    let store = store_with(&["acme/mill"]).await;

    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let (acme, mill) = (org_id("acme"), machine_id("mill"));
                let mut given = Vec::new();
                for append in 0..APPENDS {
                    // Batch sizes differ so that a mix-up of ranges would show.
                    let size = 1 + (writer + append) % 4;
                    let batch: Vec<Observation> = (0..size)
                        .map(|i| event(&format!("w{writer}"), (append * 10 + i) as i64, "x"))
                        .collect();
                    let range = store
                        .append_observations(&acme, &mill, &batch)
                        .await
                        .unwrap()
                        .sequences;
                    assert_eq!(range.end - range.start, size as u64);
                    given.push((range, batch));
                }
                given
            })
        })
        .collect();
    let mut given = Vec::new();
    for task in tasks {
        given.extend(task.await.unwrap());
    }

    given.sort_by_key(|(range, _)| range.start);
    let mut next = 1;
    for (range, _) in &given {
        assert_eq!(
            range.start, next,
            "ranges are contiguous and do not overlap"
        );
        next = range.end;
    }
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), next - 1);

    // Each writer's observations are stored under exactly the range it was told.
    let stored = store
        .observations(&acme, &mill, 0, usize::MAX)
        .await
        .unwrap();
    let by_sequence: BTreeMap<u64, Observation> = stored
        .into_iter()
        .map(|o| (o.sequence, o.observation))
        .collect();
    for (range, batch) in given {
        let found: Vec<_> = range.map(|s| by_sequence[&s].clone()).collect();
        assert_eq!(found, batch);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_many_machines_each_keep_their_own_sequence() {
    let machines: Vec<String> = (0..16).map(|i| format!("acme/m{i}")).collect();
    let paths: Vec<&str> = machines.iter().map(String::as_str).collect();
    let store = store_with(&paths).await;

    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let id = machine_id(&format!("m{i}"));
                for round in 0..20 {
                    store
                        .append_observations(&org_id("acme"), &id, &samples(round * 3, 3))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for i in 0..16 {
        let id = machine_id(&format!("m{i}"));
        assert_eq!(store.last_sequence(&org_id("acme"), &id).await.unwrap(), 60);
        let stored = store
            .observations(&org_id("acme"), &id, 0, usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|o| o.observation.clone())
                .collect::<Vec<_>>(),
            samples(0, 60)
        );
    }
}

#[test]
fn the_store_works_across_runtimes() {
    // Created on one runtime, written from a second after the first is gone: the commit thread
    // belongs to no runtime.
    let first = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = first.block_on(store_with(&["acme/mill"]));
    drop(first);
    let second = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let appended = second
        .block_on(store.append_observations(&org_id("acme"), &machine_id("mill"), &samples(0, 2)))
        .unwrap();
    assert_eq!(appended.sequences, 1..3);
}
