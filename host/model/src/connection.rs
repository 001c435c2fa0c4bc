//! Connections: an organization's authorization to a third-party provider (Autodesk), held by
//! the host for an integration plugin, and the library entries its syncs import.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::library::ArtifactKind;
use crate::{MachineId, OrgId, PluginId, UserId};

/// A secret as the store keeps it: sealed by the host's vault. Shown in logs only by the
/// fingerprint of the key that sealed it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The fingerprint of the key that sealed it.
    pub key: String,
    /// The nonce, in hex.
    pub nonce: String,
    /// The ciphertext with its tag, in hex.
    pub ciphertext: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// An organization's connection to a provider's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Its id: random lower-case hex, unique in the organization.
    pub id: String,
    /// The organization it imports into.
    pub org: OrgId,
    /// The operator's name for the provider (`autodesk`).
    pub provider: String,
    /// The integration plugin that syncs it.
    pub plugin: PluginId,
    /// The provider's account, as the plugin reported it.
    pub account: Option<Account>,
    /// The scopes the provider granted.
    pub scopes: Vec<String>,
    /// Whether it works.
    pub status: ConnectionStatus,
    /// The member who connected it; deleting their account disconnects it.
    pub created_by: UserId,
    /// When it was connected, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The last sync, finished or failed.
    #[serde(default)]
    pub last_sync: Option<SyncRecord>,
    /// The provider's tokens, sealed; none once disconnected.
    #[serde(default)]
    pub tokens: Option<Sealed>,
}

/// The provider's account behind a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The provider's id of the account.
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// Whether a connection can be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Its tokens work.
    Connected,
    /// The provider refused to refresh its tokens: a member must connect again.
    NeedsReauthorization {
        /// What the provider said, for the member.
        reason: String,
    },
    /// A member disconnected it; its tokens were revoked and dropped.
    Disconnected {
        /// When, in milliseconds since the Unix epoch.
        at_ms: i64,
    },
}

impl ConnectionStatus {
    /// The status's name in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::NeedsReauthorization { .. } => "needs_reauthorization",
            ConnectionStatus::Disconnected { .. } => "disconnected",
        }
    }
}

/// What one sync of a connection did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// When it ended.
    pub finished_at_ms: i64,
    /// Artifacts imported.
    pub imported: u32,
    /// Items already in the library.
    pub skipped: u32,
    /// Items that failed, with why.
    pub failures: Vec<SyncFailure>,
    /// Why the whole sync failed, when it did.
    pub error: Option<String>,
}

/// An item a sync could not import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFailure {
    /// The item's name.
    pub item: String,
    /// Why.
    pub message: String,
}

/// An artifact in an organization's library: the newest imported version of one provider item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Its id in the library: stable across versions of the item.
    pub id: String,
    /// The organization it belongs to.
    pub org: OrgId,
    /// The connection that imported it.
    pub connection: String,
    /// The provider's id of the item.
    pub item_id: String,
    /// The provider's id of the imported version.
    pub source_id: String,
    /// The version as the provider shows it.
    pub version: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// Its file name.
    pub name: String,
    /// Where it lives at the provider.
    pub location: String,
    /// When the provider last modified it, in milliseconds since the Unix epoch.
    pub modified_at_ms: i64,
    /// When it was imported.
    pub imported_at_ms: i64,
    /// The document: JSON for tool libraries and templates, text for NC programs.
    pub content: String,
    /// The machine an NC program is meant for.
    #[serde(default)]
    pub machine: Option<MachineId>,
}
