//! Device tokens: how a device that is not a person proves which organization it serves — an
//! edge connector sending data, or a wall display showing the organization's machines.

use serde::{Deserialize, Serialize};

use crate::OrgId;

/// A device token's record. The token itself is shown once, when it is created; only its
/// SHA-256 is kept, so a copy of the store does not let anyone send data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceToken {
    /// Its public id, shown in lists and logs (the token's first characters after the prefix).
    pub id: String,
    /// The one organization it may send data for.
    pub org: OrgId,
    /// What it is for (`Chatterbox bay 2`).
    pub name: String,
    /// What the device may do.
    #[serde(default)]
    pub kind: DeviceKind,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was revoked; a revoked token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

/// What a device token lets its device do. Each kind reaches only its own routes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// An edge connector: sends observations.
    #[default]
    Edge,
    /// A wall display: shows the organization's machines, read-only.
    Display,
}

impl DeviceKind {
    /// Its name in the API (`edge`, `display`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Edge => "edge",
            DeviceKind::Display => "display",
        }
    }
}
