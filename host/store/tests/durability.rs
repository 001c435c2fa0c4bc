//! Durability: what a write acknowledged survives, and what the store says when the disk is bad.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chatter_store::{SledStore, Store, StoreError};
use common::*;

#[tokio::test]
async fn everything_written_is_read_back_after_reopening_and_sequences_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    let state = BTreeMap::from([("checkpoint".to_owned(), b"line 42".to_vec())]);
    let plugin = install("simulator", "1.0.0", b"component");
    {
        let store = SledStore::open(dir.path()).unwrap();
        populate(&store, &["acme/mill"]).await;
        store
            .append_observations(&acme, &mill, &samples(0, 10))
            .await
            .unwrap();
        store
            .put_data_items(&acme, &mill, &[data_item("x", "POSITION")])
            .await
            .unwrap();
        store.put_plugin_state(&acme, &mill, &state).await.unwrap();
        store.put_plugin(&plugin, b"component").await.unwrap();
    }
    // Dropping the store released the database: it opens again at once.
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        store.machine(&acme, &mill).await.unwrap(),
        Some(machine("acme", "mill"))
    );
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 10);
    let stored = store.observations(&acme, &mill, 0, 100).await.unwrap();
    assert_eq!(
        stored
            .into_iter()
            .map(|o| o.observation)
            .collect::<Vec<_>>(),
        samples(0, 10)
    );
    assert_eq!(
        store.latest_observations(&acme, &mill).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.data_items(&acme, &mill).await.unwrap(),
        [data_item("x", "POSITION")]
    );
    assert_eq!(store.plugin_state(&acme, &mill).await.unwrap(), state);
    assert_eq!(
        store.plugin(&plugin.id).await.unwrap(),
        Some(plugin.clone())
    );
    let component = store.plugin_component(&plugin.id).await.unwrap();
    assert_eq!(component.as_deref(), Some(&b"component"[..]));

    assert_eq!(
        store
            .append_observations(&acme, &mill, &samples(10, 2))
            .await
            .unwrap()
            .sequences,
        11..13
    );
}

const CRASH_DIR: &str = "CHATTER_STORE_CRASH_DIR";

/// Run as a child process by the test below: writes, then dies without closing anything.
#[tokio::test]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = SledStore::open(&dir).unwrap();
    populate(&store, &["acme/mill"]).await;
    // Batches of several chunks each.
    for round in 0..5 {
        store
            .append_observations(
                &org_id("acme"),
                &machine_id("mill"),
                &samples(round * 1000, 1000),
            )
            .await
            .unwrap();
    }
    std::process::abort();
}

#[tokio::test]
async fn an_acknowledged_append_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--test-threads=1"])
        .env(CRASH_DIR, dir.path())
        .output()
        .unwrap();
    assert!(
        !child.status.success(),
        "the child aborts after its last acknowledged append"
    );

    let store = SledStore::open(dir.path()).unwrap();
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 5000);
    let stored = store.observations(&acme, &mill, 0, 10_000).await.unwrap();
    assert_eq!(
        stored
            .into_iter()
            .map(|o| o.observation)
            .collect::<Vec<_>>(),
        samples(0, 5000)
    );
    let latest = store.latest_observations(&acme, &mill).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].sequence, 5000);
}

#[test]
fn a_store_in_use_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::open(dir.path()).unwrap();
    let Err(err) = SledStore::open(dir.path()) else {
        panic!("opened a store twice")
    };
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let message = err.to_string();
    let expected = format!(
        "cannot open the store at `{}`: it is in use",
        dir.path().display()
    );
    assert!(message.starts_with(&expected), "{message}");
}

#[test]
fn a_path_that_cannot_hold_a_store_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let Err(err) = SledStore::open(&file) else {
        panic!("opened a store in a file")
    };
    let message = err.to_string();
    let expected = format!("cannot open the store at `{}`: ", file.display());
    assert!(message.starts_with(&expected), "{message}");
}

/// Overwrites the first value of `tree` with bytes no decoder accepts (the current format byte of
/// observation records, then garbage), the store being closed.
fn corrupt_first_value(path: &Path, tree: &str) -> Vec<u8> {
    let db = open_raw(path);
    let tree = db.open_tree(tree).unwrap();
    let (key, _) = tree.first().unwrap().unwrap();
    tree.insert(&key, &b"\x02\xff\xff\xff"[..]).unwrap();
    db.flush().unwrap();
    key.to_vec()
}

#[tokio::test]
async fn a_corrupt_value_is_a_decode_error_naming_tree_and_key_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    {
        let store = SledStore::open(dir.path()).unwrap();
        populate(&store, &["acme/mill"]).await;
        // Two batches, so two chunks: the first, corrupted, holds sequence 1.
        store
            .append_observations(&acme, &mill, &samples(0, 1))
            .await
            .unwrap();
        store
            .append_observations(&acme, &mill, &samples(1, 2))
            .await
            .unwrap();
    }
    for tree in ["observations", "latest", "machines", "sequences"] {
        corrupt_first_value(dir.path(), tree);
    }
    let store = SledStore::open(dir.path()).unwrap();

    let err = store.observations(&acme, &mill, 0, 10).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Decode {
                tree: "observations",
                ..
            }
        ),
        "{err:?}"
    );
    let expected = "cannot decode the value of key \
                    `acme\\x00mill\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01` in tree `observations`: postcard: ";
    assert!(err.to_string().starts_with(expected), "{err}");
    // Reading past the corrupt chunk still works.
    assert_eq!(
        store.observations(&acme, &mill, 1, 10).await.unwrap().len(),
        2
    );

    let err = store.latest_observations(&acme, &mill).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Decode { tree: "latest", .. }),
        "{err:?}"
    );
    let err = store.machines(&acme).await.unwrap_err();
    let expected = "cannot decode the value of key `acme\\x00mill` in tree `machines`: JSON: ";
    assert!(err.to_string().starts_with(expected), "{err}");
    let err = store.last_sequence(&acme, &mill).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot decode the value of key `acme\\x00mill` in tree `sequences`: expected 8 bytes, found 4"
    );
    // An append must not guess a sequence number from a corrupt counter.
    let err = store
        .append_observations(&acme, &mill, &samples(3, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Decode {
                tree: "sequences",
                ..
            }
        ),
        "{err:?}"
    );
}
