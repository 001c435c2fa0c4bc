//! Organizations and their machines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MachineId, OrgId, PluginId, Shift, SignalMapping};

/// A shop: the unit of tenancy. Nothing of one organization is visible to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its display name.
    pub name: String,
    /// Its IANA time zone (`Europe/Berlin`), in which days and shifts begin.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// How long its data is kept.
    #[serde(default)]
    pub retention: Retention,
    /// Its shift schedule, in its time zone: none until someone sets one. Only schedules that
    /// [`crate::shift::validate`] accepts are stored.
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

impl Organization {
    /// An organization in UTC with the default retention and no shifts.
    pub fn new(id: OrgId, name: impl Into<String>) -> Self {
        Organization {
            id,
            name: name.into(),
            time_zone: utc(),
            retention: Retention::default(),
            shifts: Vec::new(),
        }
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

/// How many days an organization's data is kept before a background task deletes it, counted
/// from the data's own timestamps. `None` keeps it forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Days raw observations are kept (default 90).
    pub raw_days: Option<u32>,
    /// Days derived data — timelines, parts, cycles, alarms — is kept (default 1,095: three
    /// years of reports).
    pub derived_days: Option<u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_days: Some(90),
            derived_days: Some(3 * 365),
        }
    }
}

impl Retention {
    /// Keeps everything forever.
    pub const FOREVER: Retention = Retention {
        raw_days: None,
        derived_days: None,
    };
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
    /// How its observations reach this host.
    #[serde(default)]
    pub feed: Feed,
    /// Which data items its derived state reads, where its driver's types do not say.
    #[serde(default, skip_serializing_if = "SignalMapping::is_empty")]
    pub signals: SignalMapping,
    /// The cell or department it stands in, by which dashboards filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// How many parts it should make a day (in the organization's time zone); dashboards show
    /// today's count against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_part_goal: Option<u64>,
}

/// How a machine's observations reach the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// Its driver runs here.
    #[default]
    Driver,
    /// An edge connector next to the machine runs its driver and forwards the observations
    /// through the ingest API; nothing runs here.
    Edge,
}

/// Machines saved before they could be stopped were all running.
fn running_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_saved_before_shifts_decode_without_any() {
        let saved = r#"{"id":"acme","name":"Acme","time_zone":"America/Chicago"}"#;
        let org: Organization = serde_json::from_str(saved).unwrap();
        assert!(org.shifts.is_empty());
        assert_eq!(org.time_zone, "America/Chicago");
        let with_shifts = serde_json::json!({
            "id": "acme",
            "name": "Acme",
            "shifts": [{ "name": "First", "days": ["mon"], "start": "06:00", "end": "14:00" }],
        });
        let org: Organization = serde_json::from_value(with_shifts).unwrap();
        assert_eq!(org.shifts.len(), 1);
        assert_eq!(org.shifts[0].days, [crate::Weekday::Monday]);
    }
}
