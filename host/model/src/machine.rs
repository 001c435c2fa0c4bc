//! Organizations and their machines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MachineId, OrgId, PluginId};

/// A shop: the unit of tenancy. Nothing of one organization is visible to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its display name.
    pub name: String,
}

/// A network address of a machine that its driver may connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// What the endpoint is for (`agent`, `adapter`, `mdc`, …).
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A machine of an organization, and the driver that reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The organization it belongs to.
    pub org: OrgId,
    /// Its id within the organization.
    pub id: MachineId,
    /// Its display name.
    pub name: String,
    /// The driver plugin that reads it.
    pub driver: PluginId,
    /// The driver's configuration for this machine, validated against the plugin's schema.
    pub config: BTreeMap<String, String>,
    /// Where the machine can be reached.
    pub endpoints: Vec<Endpoint>,
    /// How often the driver is polled, in milliseconds.
    pub poll_interval_ms: u32,
    /// Whether the driver runs. A stopped machine keeps its configuration and its data.
    #[serde(default = "running_by_default")]
    pub enabled: bool,
}

/// Machines saved before they could be stopped were all running.
fn running_by_default() -> bool {
    true
}
