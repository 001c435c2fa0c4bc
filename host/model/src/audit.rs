//! The audit log's records and their hash chain.
//!
//! Every record carries the hash of the one before it, and its own hash covers its content and
//! that link, so editing, removing or reordering a stored record breaks the chain at that point
//! ([`verify_chain`]). Records hold ids, never e-mail addresses or names, so they can be kept
//! when a user's personal data is deleted.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{OrgId, UserId};

/// The hash the first record links to: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before the store numbers and chains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What, as `area.verb` (`session.sign_in`, `token.revoke`, `member.role_change`, …).
    pub action: String,
    /// The organization it happened in, if any: its admins see it.
    pub org: Option<OrgId>,
    /// Who did it, if a signed-in user did.
    pub actor: Option<UserId>,
    /// Whom it concerns, if a user other than or as well as the actor: they get it in their data
    /// export.
    pub subject: Option<UserId>,
    /// The network address the request came from.
    pub ip: Option<String>,
    /// Details, as short key–value pairs (`token_id`, `role`, `machine`, …), sorted by key.
    pub details: Vec<(String, String)>,
}

/// A stored audit record: an [`AuditEntry`] numbered and chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its number: 1 for the first record, one more for each after.
    pub seq: u64,
    /// The hash of the record before it ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// The hash of this record: see [`AuditRecord::compute_hash`].
    pub hash: String,
    /// What happened.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    /// Numbers and chains `entry` after a record with number `seq - 1` and hash `prev_hash`.
    pub fn chain(seq: u64, prev_hash: &str, entry: AuditEntry) -> Self {
        let hash = Self::compute_hash(seq, prev_hash, &entry);
        Self {
            seq,
            prev_hash: prev_hash.to_owned(),
            hash,
            entry,
        }
    }

    /// Lower-case hex SHA-256 over the number, the previous hash and the entry's canonical JSON
    /// (fields in declaration order), each length-prefixed so no two records share an input.
    pub fn compute_hash(seq: u64, prev_hash: &str, entry: &AuditEntry) -> String {
        // Serializing a struct of strings and options cannot fail.
        let body = serde_json::to_vec(entry).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(seq.to_be_bytes());
        hasher.update((prev_hash.len() as u64).to_be_bytes());
        hasher.update(prev_hash.as_bytes());
        hasher.update((body.len() as u64).to_be_bytes());
        hasher.update(&body);
        hex::encode(hasher.finalize())
    }
}

/// Where a chain of audit records is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A record's number is not one more than the one before it: a record was removed or
    /// records were reordered.
    #[error("record {found} follows record {previous}: a record is missing or out of order")]
    Gap {
        /// The number of the record before.
        previous: u64,
        /// The number found.
        found: u64,
    },
    /// A record does not link to the hash of the record before it.
    #[error(
        "record {seq} does not link to the record before it: a record was removed, replaced or reordered"
    )]
    BrokenLink {
        /// The record's number.
        seq: u64,
    },
    /// A record's content does not match its hash: it was edited.
    #[error("record {seq} was altered: its content does not match its hash")]
    Altered {
        /// The record's number.
        seq: u64,
    },
    /// The chain is shorter than the store's count of records: records at the end were removed.
    #[error(
        "the log ends at record {last} but {expected} records were written: the last ones were removed"
    )]
    Truncated {
        /// The last record found.
        last: u64,
        /// How many were written.
        expected: u64,
    },
}

/// Checks a chain record by record, in stored order, so a long log need not be held in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    previous: u64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            previous: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next record.
    pub fn check(&mut self, record: &AuditRecord) -> Result<(), ChainError> {
        if record.seq != self.previous + 1 {
            return Err(ChainError::Gap {
                previous: self.previous,
                found: record.seq,
            });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainError::BrokenLink { seq: record.seq });
        }
        if AuditRecord::compute_hash(record.seq, &record.prev_hash, &record.entry) != record.hash {
            return Err(ChainError::Altered { seq: record.seq });
        }
        self.previous = record.seq;
        self.prev_hash.clone_from(&record.hash);
        Ok(())
    }

    /// Ends the check against the number of records the store says it wrote; returns how many
    /// records were checked and the hash of the last (to keep elsewhere, as proof of the log's
    /// state at this time).
    pub fn finish(self, written: u64) -> Result<(u64, String), ChainError> {
        if self.previous != written {
            return Err(ChainError::Truncated {
                last: self.previous,
                expected: written,
            });
        }
        Ok((self.previous, self.prev_hash))
    }
}

/// Checks a whole chain, in stored order, against the number of records the store says it
/// wrote (see [`ChainVerifier`]).
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    written: u64,
) -> Result<(u64, String), ChainError> {
    let mut verifier = ChainVerifier::default();
    for record in records {
        verifier.check(record)?;
    }
    verifier.finish(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at_ms: 1,
            action: action.to_owned(),
            org: None,
            actor: None,
            subject: None,
            ip: Some("127.0.0.1".to_owned()),
            details: vec![("k".to_owned(), "v".to_owned())],
        }
    }

    fn chain(actions: &[&str]) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for (index, action) in actions.iter().enumerate() {
            let prev = records
                .last()
                .map_or(GENESIS_HASH, |r| r.hash.as_str())
                .to_owned();
            records.push(AuditRecord::chain(index as u64 + 1, &prev, entry(action)));
        }
        records
    }

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(&["a", "b", "c"]);
        let (count, head) = verify_chain(&records, 3).unwrap();
        assert_eq!((count, head), (3, records[2].hash.clone()));
    }

    #[test]
    fn an_edited_record_is_found() {
        let mut records = chain(&["a", "b", "c"]);
        records[1].entry.action = "z".to_owned();
        assert_eq!(
            verify_chain(&records, 3),
            Err(ChainError::Altered { seq: 2 })
        );
    }

    #[test]
    fn a_removed_record_is_found() {
        let mut records = chain(&["a", "b", "c"]);
        records.remove(1);
        assert_eq!(
            verify_chain(&records, 3),
            Err(ChainError::Gap {
                previous: 1,
                found: 3
            })
        );
        records.truncate(1);
        assert_eq!(
            verify_chain(&records, 3),
            Err(ChainError::Truncated {
                last: 1,
                expected: 3
            })
        );
    }

    #[test]
    fn reordered_records_are_found() {
        let mut records = chain(&["a", "b", "c"]);
        records.swap(1, 2);
        assert!(verify_chain(&records, 3).is_err());
        // Renumbering them to hide the swap breaks the links instead.
        records[1].seq = 2;
        records[2].seq = 3;
        assert_eq!(
            verify_chain(&records, 3),
            Err(ChainError::BrokenLink { seq: 2 })
        );
    }
}
