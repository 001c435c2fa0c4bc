//! Connections and the library.

use chatter_model::{Connection, LibraryEntry, OrgId};
use sha2::{Digest as _, Sha256};

use super::SledStore;
use crate::codec;
use crate::error::StoreError;
use crate::keys;
use crate::library::Library;

impl SledStore {
    /// Removes every connection and library entry of `org`.
    pub(super) fn purge_org_library(&self, org: &OrgId) -> Result<(), StoreError> {
        let prefix = keys::org_prefix(org);
        self.trees.connections.remove_prefix(&prefix)?;
        self.trees.library.remove_prefix(&prefix)?;
        self.trees.library_versions.remove_prefix(&prefix)?;
        Ok(())
    }
}

/// `org 0 connection 0 sha256(source_id)`: version ids are the provider's free text.
fn version_key(org: &OrgId, connection: &str, source_id: &str) -> Vec<u8> {
    let mut key = keys::org_prefix(org);
    key.extend_from_slice(connection.as_bytes());
    key.push(0);
    key.extend_from_slice(&Sha256::digest(source_id.as_bytes()));
    key
}

fn record_key(org: &OrgId, id: &str) -> Vec<u8> {
    let mut key = keys::org_prefix(org);
    key.extend_from_slice(id.as_bytes());
    key
}

#[async_trait::async_trait]
impl Library for SledStore {
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError> {
        let value = codec::to_json("a connection", connection)?;
        let key = record_key(&connection.org, &connection.id);
        self.insert_for_org(&self.trees.connections, &connection.org, &key, &value)?;
        self.committer.commit().await
    }

    async fn connection(&self, org: &OrgId, id: &str) -> Result<Option<Connection>, StoreError> {
        self.trees.connections.get_json(&record_key(org, id))
    }

    async fn remove_connection(&self, org: &OrgId, id: &str) -> Result<bool, StoreError> {
        let removed = self.trees.connections.remove(&record_key(org, id))?;
        self.committer.commit().await?;
        Ok(removed)
    }

    async fn connections(&self, org: &OrgId) -> Result<Vec<Connection>, StoreError> {
        self.trees.connections.scan_json(&keys::org_prefix(org))
    }

    async fn put_library_entry(&self, entry: &LibraryEntry) -> Result<(), StoreError> {
        let value = codec::to_json("a library entry", entry)?;
        let key = record_key(&entry.org, &entry.id);
        // The entry first: a crash between the two writes leaves a version that is imported
        // again, never one remembered but missing.
        self.insert_for_org(&self.trees.library, &entry.org, &key, &value)?;
        let version = version_key(&entry.org, &entry.connection, &entry.source_id);
        self.insert_for_org(
            &self.trees.library_versions,
            &entry.org,
            &version,
            entry.id.as_bytes(),
        )?;
        self.committer.commit().await
    }

    async fn library_entry(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<LibraryEntry>, StoreError> {
        self.trees.library.get_json(&record_key(org, id))
    }

    async fn library_entries(&self, org: &OrgId) -> Result<Vec<LibraryEntry>, StoreError> {
        self.trees.library.scan_json(&keys::org_prefix(org))
    }

    async fn library_has_version(
        &self,
        org: &OrgId,
        connection: &str,
        source_id: &str,
    ) -> Result<bool, StoreError> {
        self.trees
            .library_versions
            .contains(&version_key(org, connection, source_id))
    }
}
