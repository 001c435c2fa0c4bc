//! What can go wrong in the store, said with enough context to find where.

use std::path::PathBuf;

use chatter_model::{MachineId, OrgId, PluginId, UserId};

/// An error of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database at `path` could not be opened.
    #[error("cannot open the store at `{}`: {source}", path.display())]
    Open {
        /// Where the database was looked for.
        path: PathBuf,
        /// Why it could not be opened.
        #[source]
        source: sled::Error,
    },
    /// Another process (or another store in this one) holds the database at `path`.
    #[error(
        "cannot open the store at `{}`: it is in use by another process (is another Chatter running?): {source}",
        path.display()
    )]
    Locked {
        /// Where the database was looked for.
        path: PathBuf,
        /// sled's report of the failed lock.
        #[source]
        source: sled::Error,
    },
    /// The storage engine failed while doing `context`.
    #[error("storage failed while {context}: {source}")]
    Sled {
        /// What the store was doing.
        context: String,
        /// The storage engine's error.
        #[source]
        source: sled::Error,
    },
    /// Syncing a file to disk failed, so writes could not be made durable. The store refuses
    /// every later write too.
    #[error("cannot make writes durable: syncing `{}` failed: {source}", path.display())]
    Sync {
        /// The file or directory that could not be synced.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded: the data on disk is corrupt or of another version.
    #[error("cannot decode the value of key `{key}` in tree `{tree}`: {source}")]
    Decode {
        /// The tree holding the value.
        tree: &'static str,
        /// The key, with non-printable bytes escaped.
        key: String,
        /// Why it could not be decoded.
        #[source]
        source: CodecError,
    },
    /// A value could not be encoded for storage.
    #[error("cannot encode {what} for storage: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it could not be encoded.
        #[source]
        source: CodecError,
    },
    /// The organization does not exist.
    #[error("organization `{0}` does not exist")]
    UnknownOrganization(OrgId),
    /// The machine does not exist in the organization.
    #[error("machine `{machine}` does not exist in organization `{org}`")]
    UnknownMachine {
        /// The organization that was searched.
        org: OrgId,
        /// The machine that was not found.
        machine: MachineId,
    },
    /// Another user has this e-mail address.
    #[error("another user has the e-mail address `{0}`")]
    EmailTaken(String),
    /// The user does not exist.
    #[error("user `{0}` does not exist")]
    UnknownUser(UserId),
    /// A plugin's component does not hash to the digest its install record declares.
    #[error(
        "component of plugin `{plugin}` has SHA-256 {actual}, but its install record declares {declared}"
    )]
    ComponentDigestMismatch {
        /// The plugin being installed.
        plugin: PluginId,
        /// The digest in the install record.
        declared: String,
        /// The digest of the bytes given.
        actual: String,
    },
    /// A plugin's install record names a component the store does not hold.
    #[error("plugin `{plugin}` is installed, but its component {sha256} is missing from the store")]
    MissingComponent {
        /// The plugin.
        plugin: PluginId,
        /// The digest its install record names.
        sha256: String,
    },
    /// A machine has used up all `u64` sequence numbers.
    #[error("machine `{machine}` of organization `{org}` has no sequence numbers left")]
    SequenceExhausted {
        /// The organization.
        org: OrgId,
        /// The machine.
        machine: MachineId,
    },
    /// Forwarded observations were not numbered one each, in strictly increasing order.
    #[error("forwarded observations of machine `{machine}` of `{org}`: {reason}")]
    Unordered {
        /// The organization.
        org: OrgId,
        /// The machine.
        machine: MachineId,
        /// What is wrong with the numbers.
        reason: String,
    },
    /// The operating system could not provide random bytes.
    #[error("cannot draw random bytes for {what}: {source}")]
    Random {
        /// What they were for.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: getrandom::Error,
    },
    /// The audit log has used up all `u64` record numbers (or its counter is corrupt).
    #[error("the audit log has no record numbers left after {0}")]
    AuditExhausted(u64),
    /// The thread that makes writes durable has stopped, so no write can be acknowledged.
    #[error("the store's commit thread has stopped; writes can no longer be made durable")]
    CommitterStopped,
}

/// Why bytes could not be turned into a value, or a value into bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// JSON (de)serialization failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// postcard (de)serialization failed.
    #[error("postcard: {0}")]
    Postcard(#[from] postcard::Error),
    /// A fixed-size value has the wrong size.
    #[error("expected {expected} bytes, found {actual}")]
    Length {
        /// The size it must have.
        expected: usize,
        /// The size it has.
        actual: usize,
    },
    /// A chunk of observations or a machine's latest values start with a format version this
    /// build does not read.
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    /// The value is empty where a record was expected.
    #[error("empty record")]
    Empty,
    /// Bytes follow the last record of a chunk: its header understates how many it holds.
    #[error("{0} bytes after the last record the chunk header announces")]
    Trailing(usize),
    /// A chunk's header has no valid mark of where one of its records begins.
    #[error("the chunk header marks no valid start of record {record}")]
    BadMark {
        /// The record's offset within the chunk.
        record: u64,
    },
    /// A record of a chunk refers to a data item the chunk's header does not list.
    #[error("a record refers to data item {0}, which the chunk header does not list")]
    UnknownItem(u32),
    /// A chunk's sequence numbers would run past the largest `u64`.
    #[error("a chunk of {len} observations cannot start at sequence number {first}")]
    SequenceOverflow {
        /// The sequence number in the chunk's key.
        first: u64,
        /// How many observations its header announces.
        len: u32,
    },
}

impl StoreError {
    /// Wraps a sled error with what the store was doing; `context` is only built on failure.
    pub(crate) fn sled(context: impl FnOnce() -> String) -> impl FnOnce(sled::Error) -> Self {
        move |source| StoreError::Sled {
            context: context(),
            source,
        }
    }

    /// Turns a failed sled transaction into the abort reason or a storage error.
    pub(crate) fn from_transaction(
        error: sled::transaction::TransactionError<StoreError>,
        context: impl FnOnce() -> String,
    ) -> Self {
        match error {
            sled::transaction::TransactionError::Abort(error) => error,
            sled::transaction::TransactionError::Storage(source) => StoreError::Sled {
                context: context(),
                source,
            },
        }
    }
}
