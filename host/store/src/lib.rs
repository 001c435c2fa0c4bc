//! Chatter's storage: the one place organizations, machines, installed plugins, driver state and
//! observations are kept durably.
//!
//! Everything goes through the object-safe [`Store`] trait, shared as `Arc<dyn Store>`, so a
//! PostgreSQL backend can replace the embedded [`SledStore`] without touching its callers. Every
//! method that touches an organization's data takes its [`OrgId`](chatter_model::OrgId): there is
//! no way to read one organization's data through another's id.
//!
//! A write is acknowledged only once it is durable. [`SledStore`] makes that affordable under many
//! concurrent writers with group commit (see [`CommitMode`]).

mod accounts;
mod alerts;
mod codec;
mod commit;
mod disk_sync;
mod error;
mod keys;
mod library;
mod locks;
mod reports;
mod sled_store;
mod store;

pub use accounts::{Accounts, AuditFilter};
pub use alerts::Alerts;
pub use commit::CommitMode;
pub use error::{CodecError, StoreError};
pub use library::Library;
pub use reports::Reports;
pub use sled_store::SledStore;
pub use store::{Appended, DerivedRecords, Expired, Expiry, Forwarded, PluginInstall, Store};
