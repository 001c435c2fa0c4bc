//! Organizations and machines: tenancy is absolute, and removing a machine removes everything.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use chatter_store::StoreError;
use common::*;

#[tokio::test]
async fn organizations_are_listed_by_id_and_replaced_on_put() {
    let store = store_with(&[]).await;
    for id in ["zeta", "acme", "acme-east"] {
        store.put_organization(&organization(id)).await.unwrap();
    }
    let renamed = chatter_model::Organization::new(org_id("acme"), "Acme Inc.");
    store.put_organization(&renamed).await.unwrap();

    let ids: Vec<_> = store
        .organizations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(ids, [org_id("acme"), org_id("acme-east"), org_id("zeta")]);
    assert_eq!(
        store.organization(&org_id("acme")).await.unwrap(),
        Some(renamed)
    );
    assert_eq!(store.organization(&org_id("nobody")).await.unwrap(), None);
}

#[tokio::test]
async fn a_machine_needs_its_organization() {
    let store = store_with(&[]).await;
    let err = store
        .put_machine(&machine("ghost", "mill"))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::UnknownOrganization(org) if org.as_str() == "ghost"));
    assert_eq!(err.to_string(), "organization `ghost` does not exist");
}

#[tokio::test]
async fn machines_are_listed_by_id_and_replaced_on_put() {
    let store = store_with(&["acme/lathe", "acme/mill-2", "acme/mill-1"]).await;
    let mut renamed = machine("acme", "lathe");
    renamed.name = "Old lathe".into();
    store.put_machine(&renamed).await.unwrap();

    let machines = store.machines(&org_id("acme")).await.unwrap();
    let ids: Vec<_> = machines.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["lathe", "mill-1", "mill-2"]);
    assert_eq!(machines[0], renamed);
}

#[tokio::test]
async fn the_same_machine_id_in_two_organizations_is_two_independent_machines() {
    // `acme` is a prefix of `acme-east`: keys must not confuse them either.
    let store = store_with(&["acme/mill", "acme-east/mill"]).await;
    let (acme, east, mill) = (org_id("acme"), org_id("acme-east"), machine_id("mill"));

    store
        .append_observations(&acme, &mill, &samples(0, 3))
        .await
        .unwrap();
    store
        .append_observations(&east, &mill, &[event("exec", 7, "ACTIVE")])
        .await
        .unwrap();
    store
        .put_data_items(&acme, &mill, &[data_item("x", "POSITION")])
        .await
        .unwrap();
    let state = BTreeMap::from([("checkpoint".to_owned(), b"acme".to_vec())]);
    store.put_plugin_state(&acme, &mill, &state).await.unwrap();

    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 3);
    assert_eq!(store.last_sequence(&east, &mill).await.unwrap(), 1);
    let east_data = store.observations(&east, &mill, 0, 100).await.unwrap();
    assert_eq!(east_data.len(), 1);
    assert_eq!(east_data[0].observation, event("exec", 7, "ACTIVE"));
    let east_latest = store.latest_observations(&east, &mill).await.unwrap();
    assert_eq!(
        east_latest
            .iter()
            .map(|o| o.observation.data_item.as_str())
            .collect::<Vec<_>>(),
        ["exec"]
    );
    assert!(store.data_items(&east, &mill).await.unwrap().is_empty());
    assert!(store.plugin_state(&east, &mill).await.unwrap().is_empty());
    assert_eq!(store.machines(&acme).await.unwrap().len(), 1);
    assert_eq!(
        store.machine(&east, &mill).await.unwrap().unwrap().org,
        east
    );

    assert!(store.remove_machine(&east, &mill).await.unwrap());
    assert!(store.machine(&acme, &mill).await.unwrap().is_some());
    assert_eq!(
        store
            .observations(&acme, &mill, 0, 100)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(store.plugin_state(&acme, &mill).await.unwrap(), state);
}

#[tokio::test]
async fn removing_a_machine_removes_its_data_but_its_sequence_numbers_are_never_reused() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    store
        .append_observations(&acme, &mill, &samples(0, 5))
        .await
        .unwrap();
    store
        .put_data_items(&acme, &mill, &[data_item("x", "POSITION")])
        .await
        .unwrap();
    let state = BTreeMap::from([("k".to_owned(), vec![1])]);
    store.put_plugin_state(&acme, &mill, &state).await.unwrap();

    assert!(store.remove_machine(&acme, &mill).await.unwrap());
    assert!(
        !store.remove_machine(&acme, &mill).await.unwrap(),
        "already removed"
    );
    assert_eq!(store.machine(&acme, &mill).await.unwrap(), None);
    assert!(
        store
            .observations(&acme, &mill, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .latest_observations(&acme, &mill)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.data_items(&acme, &mill).await.unwrap().is_empty());
    assert!(store.plugin_state(&acme, &mill).await.unwrap().is_empty());

    // Re-created, it sees none of the old data, and continues after sequence 5 so that a
    // consumer holding the cursor `after = 5` does not skip the new machine's first observation.
    store.put_machine(&machine("acme", "mill")).await.unwrap();
    assert!(
        store
            .observations(&acme, &mill, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.data_items(&acme, &mill).await.unwrap().is_empty());
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 5);
    let appended = store
        .append_observations(&acme, &mill, &samples(100, 2))
        .await
        .unwrap();
    assert_eq!(appended.sequences, 6..8);
    let after_cursor = store.observations(&acme, &mill, 5, 100).await.unwrap();
    assert_eq!(
        after_cursor.iter().map(|o| o.sequence).collect::<Vec<_>>(),
        [6, 7]
    );
}

#[tokio::test]
async fn data_items_are_replaced_as_a_whole() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    let first = [
        data_item("exec", "EXECUTION"),
        data_item("avail", "AVAILABILITY"),
    ];
    store.put_data_items(&acme, &mill, &first).await.unwrap();
    assert_eq!(
        store.data_items(&acme, &mill).await.unwrap(),
        first,
        "in declared order"
    );
    store
        .put_data_items(&acme, &mill, &first[1..])
        .await
        .unwrap();
    assert_eq!(store.data_items(&acme, &mill).await.unwrap(), &first[1..]);
}

#[tokio::test]
async fn plugin_state_is_replaced_as_a_whole() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, mill) = (org_id("acme"), machine_id("mill"));
    assert!(store.plugin_state(&acme, &mill).await.unwrap().is_empty());
    let first = BTreeMap::from([("a".to_owned(), vec![1, 2]), ("b".to_owned(), vec![])]);
    store.put_plugin_state(&acme, &mill, &first).await.unwrap();
    assert_eq!(store.plugin_state(&acme, &mill).await.unwrap(), first);
    let second = BTreeMap::from([("c".to_owned(), vec![0; 300])]);
    store.put_plugin_state(&acme, &mill, &second).await.unwrap();
    assert_eq!(store.plugin_state(&acme, &mill).await.unwrap(), second);
}

#[tokio::test]
async fn records_of_a_machine_need_the_machine() {
    let store = store_with(&["acme/mill"]).await;
    let (acme, lathe) = (org_id("acme"), machine_id("lathe"));
    let expected = "machine `lathe` does not exist in organization `acme`";

    let err = store.put_data_items(&acme, &lathe, &[]).await.unwrap_err();
    assert_eq!(err.to_string(), expected);
    let err = store
        .put_plugin_state(&acme, &lathe, &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), expected);
    let err = store
        .append_observations(&acme, &lathe, &samples(0, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownMachine { .. }));
    assert_eq!(err.to_string(), expected);

    // Another organization's machine of the same id is not a substitute.
    let err = store
        .put_data_items(&org_id("other"), &machine_id("mill"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "machine `mill` does not exist in organization `other`"
    );
}
