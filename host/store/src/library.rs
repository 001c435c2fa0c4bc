//! The storage interface of integrations: organizations' provider connections and the library
//! their syncs fill.

use chatter_model::{Connection, LibraryEntry, OrgId};

use crate::error::StoreError;

/// Durable storage of connections and library entries, every call scoped by organization.
///
/// Writes are durable when they return, like [`Store`](crate::Store)'s.
#[async_trait::async_trait]
pub trait Library: Send + Sync + 'static {
    /// Stores a connection, replacing the one with its id. Fails with
    /// [`StoreError::UnknownOrganization`] when its organization does not exist.
    async fn put_connection(&self, connection: &Connection) -> Result<(), StoreError>;

    /// The organization's connection `id`.
    async fn connection(&self, org: &OrgId, id: &str) -> Result<Option<Connection>, StoreError>;

    /// Removes the organization's connection `id` (its library entries stay); returns whether
    /// it was there.
    async fn remove_connection(&self, org: &OrgId, id: &str) -> Result<bool, StoreError>;

    /// The organization's connections, by id.
    async fn connections(&self, org: &OrgId) -> Result<Vec<Connection>, StoreError>;

    /// Stores a library entry, replacing the one with its id, and remembers its version so
    /// that [`Library::library_has_version`] finds it.
    async fn put_library_entry(&self, entry: &LibraryEntry) -> Result<(), StoreError>;

    /// The organization's library entry `id`.
    async fn library_entry(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<LibraryEntry>, StoreError>;

    /// The organization's library, by id.
    async fn library_entries(&self, org: &OrgId) -> Result<Vec<LibraryEntry>, StoreError>;

    /// Whether `connection` of `org` has ever imported the version `source_id`.
    async fn library_has_version(
        &self,
        org: &OrgId,
        connection: &str,
        source_id: &str,
    ) -> Result<bool, StoreError>;
}
