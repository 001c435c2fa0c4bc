//! The backwards flag: set exactly on an observation stamped earlier than the one stored just
//! before it for the same machine, wherever that one came from.
#![allow(clippy::unwrap_used)]

mod common;

use chatter_model::{MachineId, OrgId, StoredObservation};
use chatter_store::{SledStore, Store};
use common::*;

/// The stored observations of the machine as `(sequence, timestamp, backwards)`.
async fn flags(store: &dyn Store, org: &OrgId, machine: &MachineId) -> Vec<(u64, i64, bool)> {
    let stored = store
        .observations(org, machine, 0, usize::MAX)
        .await
        .unwrap();
    stored.iter().map(triple).collect()
}

fn triple(stored: &StoredObservation) -> (u64, i64, bool) {
    (
        stored.sequence,
        stored.observation.timestamp,
        stored.backwards,
    )
}

#[tokio::test]
async fn within_a_batch_only_a_step_back_is_flagged() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    // Equal timestamps are not backwards; a jump back is, the one after it is not.
    let batch = [
        sample("x", 10, 0.0),
        sample("x", 10, 0.0),
        sample("y", 5, 0.0),
        sample("x", 6, 0.0),
        sample("y", 3, 0.0),
    ];
    let appended = store
        .append_observations(&acme, &mill, &batch)
        .await
        .unwrap();
    assert_eq!(appended.backwards, [3, 5]);
    assert!(appended.is_backwards(3) && !appended.is_backwards(4));
    assert_eq!(
        flags(store.as_ref(), &acme, &mill).await,
        [
            (1, 10, false),
            (2, 10, false),
            (3, 5, true),
            (4, 6, false),
            (5, 3, true)
        ]
    );
}

#[tokio::test]
async fn across_batches_the_first_observation_is_compared_with_the_last_stored() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    let append = |batch: Vec<_>| {
        let store = store.clone();
        let (acme, mill) = (acme.clone(), mill.clone());
        async move {
            store
                .append_observations(&acme, &mill, &batch)
                .await
                .unwrap()
        }
    };
    // The last stored observation, not the newest of the data item, is the reference.
    append(vec![sample("x", 100, 0.0), event("exec", 50, "READY")]).await;
    assert!(append(vec![]).await.backwards.is_empty());
    let appended = append(vec![sample("x", 60, 0.0)]).await;
    assert!(appended.backwards.is_empty(), "60 is after 50");
    let appended = append(vec![event("exec", 59, "ACTIVE"), sample("x", 70, 0.0)]).await;
    assert_eq!(appended.backwards, [4]);

    assert_eq!(
        flags(store.as_ref(), &acme, &mill).await,
        [
            (1, 100, false),
            (2, 50, true),
            (3, 60, false),
            (4, 59, true),
            (5, 70, false)
        ]
    );
    // Latest values carry the flag they were stored with.
    let latest = store.latest_observations(&acme, &mill).await.unwrap();
    assert_eq!(
        latest.iter().map(triple).collect::<Vec<_>>(),
        [(4, 59, true), (5, 70, false)]
    );
}

#[tokio::test]
async fn machines_do_not_share_a_clock() {
    let store = store_with(&["acme/mill", "acme/lathe", "acme-east/mill"]).await;
    let (acme, east) = (org_id("acme"), org_id("acme-east"));
    let (mill, lathe) = (machine_id("mill"), machine_id("lathe"));
    store
        .append_observations(&acme, &mill, &samples(1000, 1))
        .await
        .unwrap();
    for (org, machine) in [(&acme, &lathe), (&east, &mill)] {
        let appended = store
            .append_observations(org, machine, &samples(0, 1))
            .await
            .unwrap();
        assert!(appended.backwards.is_empty(), "{org}/{machine}");
    }
}

#[tokio::test]
async fn the_reference_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    {
        let store = SledStore::open(dir.path()).unwrap();
        populate(&store, &["acme/mill"]).await;
        let appended = store
            .append_observations(&acme, &mill, &[sample("x", 10, 0.0), sample("x", 9, 0.0)])
            .await
            .unwrap();
        assert_eq!(appended.backwards, [2]);
    }
    let store = SledStore::open(dir.path()).unwrap();
    let appended = store
        .append_observations(&acme, &mill, &[sample("x", 8, 0.0), sample("x", 20, 0.0)])
        .await
        .unwrap();
    assert_eq!(appended.backwards, [3]);
    assert_eq!(
        flags(&store, &acme, &mill).await,
        [(1, 10, false), (2, 9, true), (3, 8, true), (4, 20, false)]
    );
}

#[tokio::test]
async fn a_machine_created_again_starts_a_fresh_clock() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    store
        .append_observations(&acme, &mill, &samples(1000, 3))
        .await
        .unwrap();
    assert!(store.remove_machine(&acme, &mill).await.unwrap());
    store.put_machine(&machine("acme", "mill")).await.unwrap();

    let appended = store
        .append_observations(&acme, &mill, &[sample("x", 5, 0.0), sample("x", 4, 0.0)])
        .await
        .unwrap();
    assert_eq!(appended.sequences, 4..6);
    assert_eq!(appended.backwards, [5]);
    assert_eq!(
        flags(store.as_ref(), &acme, &mill).await,
        [(4, 5, false), (5, 4, true)]
    );
}

#[tokio::test]
async fn flags_are_placed_right_in_a_batch_of_many_chunks() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    // A clock reset every 997 observations, in a batch far larger than a chunk.
    let batch: Vec<_> = (0..10_000)
        .map(|i| sample("x", i % 997, i as f64))
        .collect();
    let appended = store
        .append_observations(&acme, &mill, &batch)
        .await
        .unwrap();
    let expected: Vec<u64> = (1..10_000u64)
        .filter(|i| i % 997 == 0)
        .map(|i| i + 1)
        .collect();
    assert_eq!(appended.backwards, expected);
    let stored = store
        .observations(&acme, &mill, 0, usize::MAX)
        .await
        .unwrap();
    let flagged: Vec<u64> = stored
        .iter()
        .filter(|o| o.backwards)
        .map(|o| o.sequence)
        .collect();
    assert_eq!(flagged, expected);
    // A page starting on a flagged observation sees its flag.
    let page = store
        .observations(&acme, &mill, expected[3] - 1, 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|o| o.backwards).collect::<Vec<_>>(),
        [true, false]
    );
}
