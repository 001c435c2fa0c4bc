//! The retention task: each organization's raw and derived data older than its periods goes,
//! the rest stays, and an organization that keeps everything loses nothing.

use chatter_model::{
    Interval, Machine, MachineId, MachineStatus, Observation, OrgId, Organization, PluginId,
    Retention, Value,
};
use chatter_store::{DerivedRecords, SledStore, Store};

const DAY: i64 = 86_400_000_000_000;
const NOW: i64 = 20_000 * DAY;

async fn org_with_history(store: &SledStore, id: &str, retention: Retention) -> (OrgId, MachineId) {
    let org = OrgId::new(id).unwrap();
    let mut organization = Organization::new(org.clone(), id);
    organization.retention = retention;
    store.put_organization(&organization).await.unwrap();
    let machine = Machine {
        org: org.clone(),
        id: MachineId::new("mill").unwrap(),
        name: "Mill".into(),
        driver: PluginId::new("simulator").unwrap(),
        config: Default::default(),
        endpoints: Vec::new(),
        poll_interval_ms: 1_000,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    };
    store.put_machine(&machine).await.unwrap();
    // One batch a day for ten days, and a day-long interval each day.
    for day in (1..=10).rev() {
        let at = NOW - day * DAY;
        let batch: Vec<_> = (0..100)
            .map(|i| Observation {
                data_item: "x".into(),
                timestamp: at + i,
                value: Value::Sample(1.0),
            })
            .collect();
        store
            .append_observations(&org, &machine.id, &batch)
            .await
            .unwrap();
    }
    let intervals: Vec<_> = (1..=10)
        .rev()
        .map(|day| Interval {
            status: MachineStatus::Idle,
            start: NOW - day * DAY,
            end: NOW - (day - 1) * DAY,
        })
        .collect();
    let records = DerivedRecords {
        intervals: &intervals,
        parts: &[],
        cycles: &[],
        alarms: &[],
        snapshot: b"{}",
    };
    store.put_derived(&org, &machine.id, records).await.unwrap();
    (org, machine.id)
}

#[tokio::test]
async fn old_data_goes_by_each_organizations_periods() {
    let store = SledStore::temporary().unwrap();
    let short = Retention {
        raw_days: Some(3),
        derived_days: Some(5),
    };
    let (brief, mill) = org_with_history(&store, "brief", short).await;
    let (keeper, _) = org_with_history(&store, "keeper", Retention::FOREVER).await;

    let expired = chatter_server::retention::pass(&store, NOW).await.unwrap();
    assert!(
        expired.observations > 0 && expired.derived > 0,
        "{expired:?}"
    );

    let raw = store.observations(&brief, &mill, 0, 10_000).await.unwrap();
    let oldest = raw.first().unwrap().observation.timestamp;
    assert!(
        oldest >= NOW - 3 * DAY,
        "kept raw data from {} days ago",
        (NOW - oldest) / DAY
    );
    assert_eq!(raw.len(), 300);
    let intervals = store.intervals(&brief, &mill, 0, NOW).await.unwrap();
    assert_eq!(intervals.first().unwrap().start, NOW - 5 * DAY);
    assert_eq!(intervals.len(), 5);
    // The roll-ups went with the intervals.
    let totals = store.totals(&brief, &mill, 0, NOW).await.unwrap();
    assert_eq!(totals.idle, 5 * DAY);

    let kept = store.observations(&keeper, &mill, 0, 10_000).await.unwrap();
    assert_eq!(kept.len(), 1_000);
    assert_eq!(
        store.totals(&keeper, &mill, 0, NOW).await.unwrap().idle,
        10 * DAY
    );

    // A second pass finds nothing more.
    let again = chatter_server::retention::pass(&store, NOW).await.unwrap();
    assert_eq!((again.observations, again.derived), (0, 0));
}
