//! Plugin installs: record and component are stored together, components once per digest.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use chatter_model::PluginId;
use chatter_store::{SledStore, Store, StoreError};
use common::*;

fn plugin_id(id: &str) -> PluginId {
    PluginId::new(id).unwrap()
}

/// The number of components on disk, read with sled directly once the store is closed.
fn components_on_disk(path: &Path) -> usize {
    let db = open_raw(path);
    db.open_tree("components").unwrap().len()
}

#[tokio::test]
async fn an_installed_plugin_has_its_record_and_component() {
    let store = store_with(&[]).await;
    let simulator = install("simulator", "1.0.0", b"\0asm simulator");
    store
        .put_plugin(&simulator, b"\0asm simulator")
        .await
        .unwrap();
    store
        .put_plugin(&install("fanuc", "0.3.0", b"\0asm fanuc"), b"\0asm fanuc")
        .await
        .unwrap();

    assert_eq!(
        store.plugin(&plugin_id("simulator")).await.unwrap(),
        Some(simulator)
    );
    let component = store
        .plugin_component(&plugin_id("simulator"))
        .await
        .unwrap();
    assert_eq!(component.as_deref(), Some(&b"\0asm simulator"[..]));
    let ids: Vec<_> = store
        .plugins()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [plugin_id("fanuc"), plugin_id("simulator")]);
    assert_eq!(store.plugin(&plugin_id("okuma")).await.unwrap(), None);
    assert_eq!(
        store.plugin_component(&plugin_id("okuma")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_component_that_does_not_match_its_digest_is_refused_and_nothing_is_stored() {
    let store = store_with(&[]).await;
    let record = install("simulator", "1.0.0", b"the real component");
    let err = store
        .put_plugin(&record, b"something else")
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::ComponentDigestMismatch { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with("component of plugin `simulator` has SHA-256 "),
        "{message}"
    );
    assert!(message.ends_with(&format!(
        "but its install record declares {}",
        record.component_sha256
    )));
    assert!(store.plugins().await.unwrap().is_empty());
    assert_eq!(
        store
            .plugin_component(&plugin_id("simulator"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn upgrading_a_plugin_replaces_its_component_and_drops_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store
            .put_plugin(&install("simulator", "1.0.0", b"v1"), b"v1")
            .await
            .unwrap();
        let upgrade = install("simulator", "1.1.0", b"v2");
        store.put_plugin(&upgrade, b"v2").await.unwrap();

        assert_eq!(
            store.plugin(&plugin_id("simulator")).await.unwrap(),
            Some(upgrade)
        );
        let component = store
            .plugin_component(&plugin_id("simulator"))
            .await
            .unwrap();
        assert_eq!(component.as_deref(), Some(&b"v2"[..]));
        // Installing the same component again changes nothing.
        store
            .put_plugin(&install("simulator", "1.1.0", b"v2"), b"v2")
            .await
            .unwrap();
    }
    assert_eq!(components_on_disk(dir.path()), 1);
}

#[tokio::test]
async fn a_component_shared_by_two_installs_lives_until_the_last_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store
            .put_plugin(&install("a", "1.0.0", b"same"), b"same")
            .await
            .unwrap();
        store
            .put_plugin(&install("b", "1.0.0", b"same"), b"same")
            .await
            .unwrap();

        assert!(store.remove_plugin(&plugin_id("a")).await.unwrap());
        assert!(
            !store.remove_plugin(&plugin_id("a")).await.unwrap(),
            "already removed"
        );
        assert_eq!(store.plugin(&plugin_id("a")).await.unwrap(), None);
        let component = store.plugin_component(&plugin_id("b")).await.unwrap();
        assert_eq!(component.as_deref(), Some(&b"same"[..]));
    }
    assert_eq!(components_on_disk(dir.path()), 1);
    {
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.remove_plugin(&plugin_id("b")).await.unwrap());
        assert!(store.plugins().await.unwrap().is_empty());
    }
    assert_eq!(components_on_disk(dir.path()), 0);
}

#[tokio::test]
async fn a_component_of_several_hundred_kilobytes_survives_reopening() {
    // sled keeps values this large in separate files, which the store syncs itself.
    let component: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store
            .put_plugin(&install("fanuc", "2.0.0", &component), &component)
            .await
            .unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    let stored = store.plugin_component(&plugin_id("fanuc")).await.unwrap();
    assert_eq!(stored.as_deref(), Some(component.as_slice()));
}
