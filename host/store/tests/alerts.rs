//! Alerts: rules, events and mutes are kept per organization, events come back newest first,
//! removing a rule takes its mutes but leaves its history, and removing an organization takes
//! all three.
#![allow(clippy::unwrap_used)]

mod common;

use chatter_model::alert::{Channels, Condition, EventKind};
use chatter_model::{AlertEvent, AlertRule, UserId, UserMute};
use chatter_store::{Alerts, SledStore, Store, StoreError};
use common::*;

fn rule(org: &str, id: &str) -> AlertRule {
    AlertRule {
        id: id.to_owned(),
        org: org_id(org),
        name: format!("{id} of {org}"),
        condition: Condition::Offline { minutes: 5 },
        machines: vec![machine_id("mill-1")],
        channels: Channels {
            email: vec![UserId::new("u1").unwrap()],
            webhook: None,
            in_app: true,
        },
        enabled: true,
        muted_until_ms: None,
        created_by: UserId::new("u1").unwrap(),
        created_ms: 1,
    }
}

fn event(org: &str, id: &str, rule: &str) -> AlertEvent {
    AlertEvent {
        id: id.to_owned(),
        org: org_id(org),
        rule: rule.to_owned(),
        rule_name: "r".into(),
        machine: machine_id("mill-1"),
        machine_name: "Mill 1".into(),
        kind: EventKind::Fired,
        at: 1,
        since: Some(0),
        message: format!("event {id}"),
        alarm: None,
        resolves: None,
        muted: false,
        deliveries: Vec::new(),
        created_ms: 1,
    }
}

fn mute(user: &str, rule: &str) -> UserMute {
    UserMute {
        user: UserId::new(user).unwrap(),
        rule: rule.to_owned(),
        until_ms: None,
    }
}

async fn two_orgs() -> SledStore {
    let store = SledStore::temporary().unwrap();
    for org in ["acme", "acme-east"] {
        store.put_organization(&organization(org)).await.unwrap();
    }
    store
}

#[tokio::test]
async fn rules_events_and_mutes_stay_in_their_organization() {
    let store = two_orgs().await;
    store.put_alert_rule(&rule("acme", "r1")).await.unwrap();
    store
        .put_alert_rule(&rule("acme-east", "r1"))
        .await
        .unwrap();
    let acme = org_id("acme");
    assert_eq!(
        store.alert_rules(&acme).await.unwrap(),
        [rule("acme", "r1")]
    );
    assert_eq!(
        store.alert_rule(&org_id("acme-east"), "r1").await.unwrap(),
        Some(rule("acme-east", "r1"))
    );
    store.put_user_mute(&acme, &mute("u1", "r1")).await.unwrap();
    assert_eq!(store.user_mutes(&acme).await.unwrap(), [mute("u1", "r1")]);
    assert!(
        store
            .user_mutes(&org_id("acme-east"))
            .await
            .unwrap()
            .is_empty()
    );
    store
        .put_alert_event(&event("acme", "e1", "r1"))
        .await
        .unwrap();
    assert!(
        store
            .alert_events(&org_id("acme-east"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.alert_event(&org_id("acme-east"), "e1").await.unwrap(),
        None
    );

    let ghost = rule("ghost", "r1");
    assert!(matches!(
        store.put_alert_rule(&ghost).await,
        Err(StoreError::UnknownOrganization(_))
    ));
}

#[tokio::test]
async fn events_come_back_newest_first_and_as_many_as_asked() {
    let store = two_orgs().await;
    for id in ["0001", "0003", "0002"] {
        store
            .put_alert_event(&event("acme", id, "r1"))
            .await
            .unwrap();
    }
    store
        .put_alert_event(&event("acme-east", "0009", "r1"))
        .await
        .unwrap();
    let acme = org_id("acme");
    let ids = |events: Vec<AlertEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.alert_events(&acme, 10).await.unwrap()),
        ["0003", "0002", "0001"]
    );
    assert_eq!(
        ids(store.alert_events(&acme, 2).await.unwrap()),
        ["0003", "0002"]
    );
    // Replacing an event (its deliveries progressed) keeps one record.
    let mut updated = event("acme", "0002", "r1");
    updated.muted = true;
    store.put_alert_event(&updated).await.unwrap();
    assert_eq!(store.alert_events(&acme, 10).await.unwrap().len(), 3);
    assert_eq!(
        store.alert_event(&acme, "0002").await.unwrap(),
        Some(updated)
    );
}

#[tokio::test]
async fn removing_a_rule_takes_its_mutes_and_keeps_its_history() {
    let store = two_orgs().await;
    let acme = org_id("acme");
    store.put_alert_rule(&rule("acme", "r1")).await.unwrap();
    store.put_alert_rule(&rule("acme", "r2")).await.unwrap();
    store.put_user_mute(&acme, &mute("u1", "r1")).await.unwrap();
    store.put_user_mute(&acme, &mute("u2", "r1")).await.unwrap();
    store.put_user_mute(&acme, &mute("u1", "r2")).await.unwrap();
    store
        .put_alert_event(&event("acme", "e1", "r1"))
        .await
        .unwrap();
    assert!(store.remove_alert_rule(&acme, "r1").await.unwrap());
    assert!(!store.remove_alert_rule(&acme, "r1").await.unwrap());
    assert_eq!(store.user_mutes(&acme).await.unwrap(), [mute("u1", "r2")]);
    assert_eq!(store.alert_events(&acme, 10).await.unwrap().len(), 1);
    assert!(
        store
            .remove_user_mute(&acme, "r2", &UserId::new("u1").unwrap())
            .await
            .unwrap()
    );
    assert!(store.user_mutes(&acme).await.unwrap().is_empty());
}

#[tokio::test]
async fn removing_the_organization_removes_its_alerts_only() {
    let store = two_orgs().await;
    for org in ["acme", "acme-east"] {
        store.put_alert_rule(&rule(org, "r1")).await.unwrap();
        store
            .put_alert_event(&event(org, "e1", "r1"))
            .await
            .unwrap();
        store
            .put_user_mute(&org_id(org), &mute("u1", "r1"))
            .await
            .unwrap();
    }
    let acme = org_id("acme");
    assert!(store.remove_organization(&acme).await.unwrap());
    assert!(store.alert_rules(&acme).await.unwrap().is_empty());
    assert!(store.alert_events(&acme, 10).await.unwrap().is_empty());
    assert!(store.user_mutes(&acme).await.unwrap().is_empty());
    let east = org_id("acme-east");
    assert_eq!(store.alert_rules(&east).await.unwrap().len(), 1);
    assert_eq!(store.alert_events(&east, 10).await.unwrap().len(), 1);
    assert_eq!(store.user_mutes(&east).await.unwrap().len(), 1);
}
