//! Device tokens: how an edge connector proves which organization it sends data for.

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
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was revoked; a revoked token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}
