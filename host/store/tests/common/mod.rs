//! Fixtures shared by the specification tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chatter_model::{
    Category, DataItem, Machine, MachineId, Observation, OrgId, Organization, PluginId, Value,
};
use chatter_store::{PluginInstall, SledStore, Store};
use sha2::{Digest, Sha256};

pub fn org_id(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

pub fn machine_id(id: &str) -> MachineId {
    MachineId::new(id).unwrap()
}

pub fn organization(id: &str) -> Organization {
    Organization::new(org_id(id), format!("{id} machining"))
}

pub fn machine(org: &str, id: &str) -> Machine {
    Machine {
        org: org_id(org),
        id: machine_id(id),
        name: format!("{id} in {org}"),
        driver: PluginId::new("simulator").unwrap(),
        config: BTreeMap::from([("mode".to_owned(), "demo".to_owned())]),
        endpoints: Vec::new(),
        poll_interval_ms: 1000,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    }
}

pub fn sample(data_item: &str, timestamp: i64, value: f64) -> Observation {
    Observation {
        data_item: data_item.into(),
        timestamp,
        value: Value::Sample(value),
    }
}

pub fn event(data_item: &str, timestamp: i64, text: &str) -> Observation {
    Observation {
        data_item: data_item.into(),
        timestamp,
        value: Value::Event(text.into()),
    }
}

pub fn data_item(id: &str, kind: &str) -> DataItem {
    DataItem {
        id: id.into(),
        category: Category::Event,
        kind: kind.into(),
        units: None,
        name: None,
    }
}

/// A batch of `n` samples of data item `x`, with timestamps from `from`.
pub fn samples(from: i64, n: usize) -> Vec<Observation> {
    (from..).take(n).map(|t| sample("x", t, t as f64)).collect()
}

/// Creates the organizations and machines named `org/machine`.
pub async fn populate(store: &dyn Store, machines: &[&str]) {
    for path in machines {
        let (org, id) = path.split_once('/').unwrap();
        store.put_organization(&organization(org)).await.unwrap();
        store.put_machine(&machine(org, id)).await.unwrap();
    }
}

/// A temporary store holding the machines named `org/machine`, used through the trait object.
pub async fn store_with(machines: &[&str]) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(SledStore::temporary().unwrap());
    populate(store.as_ref(), machines).await;
    store
}

/// Opens the store's sled database directly, once the store is closed, to inspect or damage it.
/// sled may hold its lock a moment after a database is dropped.
pub fn open_raw(path: &Path) -> sled::Db {
    for _ in 0..100 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sled::open(path).unwrap()
}

pub fn install(id: &str, version: &str, component: &[u8]) -> PluginInstall {
    PluginInstall {
        id: PluginId::new(id).unwrap(),
        version: version.into(),
        kind: "driver".into(),
        api_version: "0.1".into(),
        description: format!("the {id} driver"),
        component_sha256: hex::encode(Sha256::digest(component)),
        manifest_toml: format!("id = \"{id}\"\nversion = \"{version}\"\n"),
        installed_at_ms: 1_700_000_000_000,
    }
}
