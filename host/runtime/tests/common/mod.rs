//! Helpers shared by the runtime's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chatter_model::{Machine, MachineId, OrgId, PluginId};
use chatter_runtime::manifest::Capability;
use chatter_runtime::{InstanceContext, LoadedPlugin, PluginPackage, Runtime, RuntimeConfig};

/// A runtime sized for tests: a small pool, no cache.
pub fn runtime() -> Arc<Runtime> {
    let config = RuntimeConfig {
        max_instances: 32,
        ..RuntimeConfig::default()
    };
    Arc::new(Runtime::new(config).unwrap())
}

/// The package of a guest built by chatter-guest-builds.
pub fn package(name: &str) -> PluginPackage {
    let guest = chatter_guest_builds::guest(name);
    PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path())).unwrap()
}

/// The package of a guest with its manifest text edited by `edit`.
pub fn package_with_manifest(
    name: &str,
    edit: impl FnOnce(String) -> String,
) -> Result<PluginPackage, String> {
    let guest = chatter_guest_builds::guest(name);
    let text = edit(std::fs::read_to_string(guest.manifest_path()).unwrap());
    let manifest = chatter_runtime::Manifest::parse(&text, guest.manifest_path())
        .map_err(|e| e.to_string())?;
    Ok(PluginPackage::new(
        manifest,
        std::fs::read(guest.wasm_path()).unwrap(),
        PathBuf::from(guest.wasm),
    ))
}

/// Loads a built guest.
pub fn load(runtime: &Runtime, name: &str) -> Arc<LoadedPlugin> {
    Arc::new(runtime.load(&package(name)).unwrap())
}

/// The organization of every test.
pub fn org() -> OrgId {
    OrgId::new("acme").unwrap()
}

/// A machine of the test organization served by `driver`.
pub fn machine(id: &str, driver: &str) -> Machine {
    Machine {
        org: org(),
        id: MachineId::new(id).unwrap(),
        name: format!("Machine {id}"),
        driver: PluginId::new(driver).unwrap(),
        config: BTreeMap::new(),
        endpoints: Vec::new(),
        poll_interval_ms: 10,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    }
}

/// The context of `machine` for `plugin`, with the given config and every capability the
/// manifest asks for granted.
pub fn context(
    plugin: &LoadedPlugin,
    machine: &Machine,
    config: &[(&str, &str)],
) -> InstanceContext {
    let given: BTreeMap<String, String> = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut context = InstanceContext::for_machine(machine.org.clone(), machine.id.clone());
    context.config = plugin.manifest.resolve_config(&given).unwrap();
    context.grants = plugin
        .manifest
        .capabilities
        .keys()
        .copied()
        .collect::<BTreeSet<Capability>>();
    context
}
