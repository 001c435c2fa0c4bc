//! Accounts: users and their unique e-mail addresses, memberships, sessions, API tokens,
//! invitations, one-time e-mail links, the audit log and the server's secret (layout in `keys`).
//!
//! Records that are listed by owner have an index tree of `owner 0 key` → nothing, written with
//! the records in one sled transaction so the two never disagree. sled 0.34 runs transactions one
//! at a time, under a process-wide lock that also orders them against every other write, so a
//! transaction that reads and then writes is atomic: that is what keeps e-mail addresses unique
//! and the audit chain free of forks. For the same reason transactions stay small, and the scans
//! that find what to remove run before them.
//!
//! Removals (of a user, a membership, an organization) revoke access first and data after, and
//! every step is safe to repeat, so a crash in the middle never leaves access without its owner.

use chatter_model::audit::{AuditEntry, AuditRecord, GENESIS_HASH};
use chatter_model::{ApiToken, EmailLink, Invitation, Membership, OrgId, Session, User, UserId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree, abort};
use sled::{IVec, Transactional};

use super::{SledStore, Table, abort_on, read_count};
use crate::accounts::{Accounts, AuditFilter};
use crate::codec;
use crate::error::{CodecError, StoreError};
use crate::keys::{self, meta, tree};

/// The value of an index entry: the key says it all.
const EMPTY: &[u8] = &[];

/// How often touching a token retries when the token changes under it before dropping the hint.
const TOUCH_ATTEMPTS: usize = 4;

/// The key pairs of memberships: `org 0 user` in the memberships, `user 0 org` in their index.
type MembershipKeys = Vec<(Vec<u8>, Vec<u8>)>;

/// Records keyed by the hash of their secret and indexed by their owner (a user or an
/// organization) as `owner 0 hash`.
struct Indexed<'s, T> {
    records: &'s Table,
    index: &'s Table,
    /// What a record is, for errors.
    what: &'static str,
    owner_of: fn(&T) -> &str,
}

impl<T: Serialize + DeserializeOwned> Indexed<'_, T> {
    /// Creates or replaces the record under `hash`, with its index entry.
    fn put(&self, hash: &str, record: &T) -> Result<(), StoreError> {
        let value = codec::to_json(self.what, record)?;
        let owner = (self.owner_of)(record);
        (&self.records.tree, &self.index.tree)
            .transaction(|(records, index)| self.put_in(records, index, hash, &value, owner))
            .map_err(|e| StoreError::from_transaction(e, || format!("storing {}", self.what)))
    }

    /// [`Indexed::put`] inside a transaction. A record replaced under `hash` may have had
    /// another owner: its index entry moves.
    fn put_in(
        &self,
        records: &TransactionalTree,
        index: &TransactionalTree,
        hash: &str,
        value: &[u8],
        owner: &str,
    ) -> ConflictableTransactionResult<(), StoreError> {
        let key = keys::hashed(hash);
        if let Some(previous) = records.insert(key.as_slice(), value)? {
            let previous: T = abort_on(codec::from_json(self.records.name, &key, &previous))?;
            let previous_owner = (self.owner_of)(&previous);
            if previous_owner != owner {
                index.remove(keys::owned(previous_owner, hash))?;
            }
        }
        index.insert(keys::owned(owner, hash), EMPTY)?;
        Ok(())
    }

    fn get(&self, hash: &str) -> Result<Option<T>, StoreError> {
        self.records.get_json(&keys::hashed(hash))
    }

    /// The hashes the owner's index lists.
    fn hashes_of(&self, owner: &str) -> Result<Vec<String>, StoreError> {
        let prefix = keys::owned(owner, "");
        self.index
            .scan(&prefix, |key, _| Ok(keys::owned_rest(key, prefix.len())))
    }

    /// The owner's records with their hashes, in hash order.
    fn list(&self, owner: &str) -> Result<Vec<(String, T)>, StoreError> {
        let mut found = Vec::new();
        for hash in self.hashes_of(owner)? {
            // One removed or given to another owner since the scan is not the owner's any more.
            if let Some(record) = self.get(&hash)?
                && (self.owner_of)(&record) == owner
            {
                found.push((hash, record));
            }
        }
        Ok(found)
    }

    /// Every record with its hash, in hash order.
    fn all(&self) -> Result<Vec<(String, T)>, StoreError> {
        let table = self.records;
        table.scan(&[], |key, value| {
            Ok((
                keys::owned_rest(key, 0),
                codec::from_json(table.name, key, value)?,
            ))
        })
    }

    /// Removes, in one transaction, those of the records under `hashes` that `doomed` says,
    /// with their index entries; returns how many went.
    fn remove(&self, hashes: &[String], doomed: impl Fn(&T) -> bool) -> Result<usize, StoreError> {
        if hashes.is_empty() {
            return Ok(0);
        }
        (&self.records.tree, &self.index.tree)
            .transaction(|(records, index)| {
                let mut removed = 0;
                for hash in hashes {
                    removed += usize::from(self.remove_in(records, index, hash, &doomed)?);
                }
                Ok(removed)
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!(
                        "removing {} records from tree `{}`",
                        hashes.len(),
                        self.records.name
                    )
                })
            })
    }

    fn remove_in(
        &self,
        records: &TransactionalTree,
        index: &TransactionalTree,
        hash: &str,
        doomed: &impl Fn(&T) -> bool,
    ) -> ConflictableTransactionResult<bool, StoreError> {
        let key = keys::hashed(hash);
        let Some(bytes) = records.get(key.as_slice())? else {
            return Ok(false);
        };
        let record: T = abort_on(codec::from_json(self.records.name, &key, &bytes))?;
        if !doomed(&record) {
            return Ok(false);
        }
        records.remove(key.as_slice())?;
        index.remove(keys::owned((self.owner_of)(&record), hash))?;
        Ok(true)
    }
}

fn session_owner(session: &Session) -> &str {
    session.user.as_str()
}

fn token_owner(token: &ApiToken) -> &str {
    token.user.as_str()
}

fn invitation_owner(invitation: &Invitation) -> &str {
    invitation.org.as_str()
}

impl SledStore {
    fn session_table(&self) -> Indexed<'_, Session> {
        Indexed {
            records: &self.trees.sessions,
            index: &self.trees.user_sessions,
            what: "a session",
            owner_of: session_owner,
        }
    }

    fn token_table(&self) -> Indexed<'_, ApiToken> {
        Indexed {
            records: &self.trees.api_tokens,
            index: &self.trees.user_api_tokens,
            what: "an API token",
            owner_of: token_owner,
        }
    }

    fn invitation_table(&self) -> Indexed<'_, Invitation> {
        Indexed {
            records: &self.trees.invitations,
            index: &self.trees.org_invitations,
            what: "an invitation",
            owner_of: invitation_owner,
        }
    }
}

/// Users and their e-mail index.
impl SledStore {
    fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let record = codec::to_json("a user", user)?;
        let key = keys::user(&user.id);
        let t = &self.trees;
        (&t.users.tree, &t.user_emails.tree)
            .transaction(|(users, emails)| {
                if emails.get(user.email.as_bytes())?.is_some() {
                    return abort(StoreError::EmailTaken(user.email.clone()));
                }
                // A record already under the id gives up its address for the new one.
                if let Some(previous) = users.insert(key.as_slice(), record.as_slice())? {
                    release_email(emails, &key, &previous)?;
                }
                emails.insert(user.email.as_bytes(), key.as_slice())?;
                Ok(())
            })
            .map_err(|e| StoreError::from_transaction(e, || format!("creating user `{}`", user.id)))
    }

    fn replace_user(&self, user: &User) -> Result<(), StoreError> {
        let record = codec::to_json("a user", user)?;
        let key = keys::user(&user.id);
        let t = &self.trees;
        (&t.users.tree, &t.user_emails.tree)
            .transaction(|(users, emails)| {
                if let Some(owner) = emails.get(user.email.as_bytes())?
                    && owner != key.as_slice()
                {
                    return abort(StoreError::EmailTaken(user.email.clone()));
                }
                let Some(previous) = users.insert(key.as_slice(), record.as_slice())? else {
                    return abort(StoreError::UnknownUser(user.id.clone()));
                };
                release_email(emails, &key, &previous)?;
                emails.insert(user.email.as_bytes(), key.as_slice())?;
                Ok(())
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || format!("replacing user `{}`", user.id))
            })
    }

    fn read_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let Some(id) = self.trees.user_emails.get(email.as_bytes())? else {
            return Ok(None);
        };
        let user: Option<User> = self.trees.users.get_json(&id)?;
        // The address may have moved between the two reads.
        Ok(user.filter(|user| user.email == email))
    }

    /// Removes the user and everything personal. The record goes first, so that from then on
    /// nothing of theirs signs anyone in; the rest is removed even if the record was already
    /// gone, finishing a removal a crash cut short.
    fn delete_user(&self, user: &UserId) -> Result<bool, StoreError> {
        let existed = self.remove_user_record(user)?;
        self.remove_memberships(&self.membership_keys_of(user)?)?;
        let sessions = self.session_table();
        sessions.remove(&sessions.hashes_of(user.as_str())?, |s| s.user == *user)?;
        let tokens = self.token_table();
        tokens.remove(&tokens.hashes_of(user.as_str())?, |t| t.user == *user)?;
        self.remove_links_of(user)?;
        if existed {
            tracing::info!(%user, "removed user");
        }
        Ok(existed)
    }

    fn remove_user_record(&self, user: &UserId) -> Result<bool, StoreError> {
        let key = keys::user(user);
        let t = &self.trees;
        (&t.users.tree, &t.user_emails.tree)
            .transaction(|(users, emails)| {
                let Some(previous) = users.remove(key.as_slice())? else {
                    return Ok(false);
                };
                release_email(emails, &key, &previous)?;
                Ok(true)
            })
            .map_err(|e| StoreError::from_transaction(e, || format!("removing user `{user}`")))
    }

    /// Removes the user's e-mail links. Links are few and short-lived, so a scan of them all
    /// is cheaper than an index to keep.
    fn remove_links_of(&self, user: &UserId) -> Result<(), StoreError> {
        let table = &self.trees.email_links;
        let owned = table.scan(&[], |key, value| {
            let link: EmailLink = codec::from_json(table.name, key, value)?;
            Ok((link.user == *user).then(|| key.to_vec()))
        })?;
        let mut batch = sled::Batch::default();
        for key in owned.into_iter().flatten() {
            batch.remove(key);
        }
        table.apply(batch, &[])
    }
}

/// Removes the e-mail index entry of the user record `previous`, stored under `user_key`, if the
/// address is still that user's.
fn release_email(
    emails: &TransactionalTree,
    user_key: &[u8],
    previous: &IVec,
) -> ConflictableTransactionResult<(), StoreError> {
    let previous: User = abort_on(codec::from_json(tree::USERS, user_key, previous))?;
    if emails
        .get(previous.email.as_bytes())?
        .is_some_and(|owner| owner == user_key)
    {
        emails.remove(previous.email.as_bytes())?;
    }
    Ok(())
}

/// Memberships, stored by organization and indexed by user.
impl SledStore {
    fn insert_membership(&self, membership: &Membership) -> Result<(), StoreError> {
        let (org, user) = (&membership.org, &membership.user);
        let value = codec::to_json("a membership", membership)?;
        let (org_key, user_key) = (keys::org(org), keys::user(user));
        let (member, of) = (keys::member(org, user), keys::membership_of(user, org));
        let t = &self.trees;
        let tables = (
            &t.organizations.tree,
            &t.users.tree,
            &t.memberships.tree,
            &t.user_memberships.tree,
        );
        tables
            .transaction(|(organizations, users, members, index)| {
                if organizations.get(org_key.as_slice())?.is_none() {
                    return abort(StoreError::UnknownOrganization(org.clone()));
                }
                if users.get(user_key.as_slice())?.is_none() {
                    return abort(StoreError::UnknownUser(user.clone()));
                }
                members.insert(member.as_slice(), value.as_slice())?;
                index.insert(of.as_slice(), EMPTY)?;
                Ok(())
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || {
                    format!("storing membership of `{user}` in `{org}`")
                })
            })
    }

    fn read_memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        let mut found = Vec::new();
        for (member, _) in self.membership_keys_of(user)? {
            if let Some(membership) = self.trees.memberships.get_json(&member)? {
                found.push(membership);
            }
        }
        Ok(found)
    }

    /// Removes the membership, after the user's API tokens for the organization: a crash in
    /// between leaves a member without tokens, never tokens without a member.
    fn delete_membership(&self, org: &OrgId, user: &UserId) -> Result<bool, StoreError> {
        let tokens = self.token_table();
        tokens.remove(&tokens.hashes_of(user.as_str())?, |t| t.org == *org)?;
        let pair = (keys::member(org, user), keys::membership_of(user, org));
        Ok(self.remove_memberships(&[pair])? > 0)
    }

    /// The keys of the user's memberships, in organization order.
    fn membership_keys_of(&self, user: &UserId) -> Result<MembershipKeys, StoreError> {
        let prefix = keys::user_prefix(user);
        self.trees.user_memberships.scan(&prefix, |key, _| {
            let org = keys::owned_rest(key, prefix.len());
            Ok((keys::owned(&org, user.as_str()), key.to_vec()))
        })
    }

    /// The keys of the organization's memberships.
    fn member_keys(&self, org: &OrgId) -> Result<MembershipKeys, StoreError> {
        let prefix = keys::org_prefix(org);
        self.trees.memberships.scan(&prefix, |key, _| {
            let user = keys::owned_rest(key, prefix.len());
            Ok((key.to_vec(), keys::owned(&user, org.as_str())))
        })
    }

    /// Removes memberships with their index entries in one transaction; returns how many
    /// there were.
    fn remove_memberships(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<usize, StoreError> {
        if pairs.is_empty() {
            return Ok(0);
        }
        let t = &self.trees;
        (&t.memberships.tree, &t.user_memberships.tree)
            .transaction(|(members, index)| {
                let mut removed = 0;
                for (member, of) in pairs {
                    removed += usize::from(members.remove(member.as_slice())?.is_some());
                    index.remove(of.as_slice())?;
                }
                Ok(removed)
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || format!("removing {} memberships", pairs.len()))
            })
    }

    /// Removes the organization's API tokens, invitations and memberships, tokens first.
    pub(super) fn purge_org_accounts(&self, org: &OrgId) -> Result<(), StoreError> {
        let tokens = self.token_table();
        // Tokens are indexed by user only; removing an organization is rare enough to scan.
        let of_org: Vec<String> = tokens
            .all()?
            .into_iter()
            .filter_map(|(hash, token)| (token.org == *org).then_some(hash))
            .collect();
        tokens.remove(&of_org, |t| t.org == *org)?;
        let invitations = self.invitation_table();
        invitations.remove(&invitations.hashes_of(org.as_str())?, |i| i.org == *org)?;
        self.remove_memberships(&self.member_keys(org)?)?;
        Ok(())
    }
}

/// Invitations, API tokens and e-mail links.
impl SledStore {
    fn insert_invitation(&self, hash: &str, invitation: &Invitation) -> Result<(), StoreError> {
        let table = self.invitation_table();
        let value = codec::to_json(table.what, invitation)?;
        let org = &invitation.org;
        let org_key = keys::org(org);
        let tables = (
            &self.trees.organizations.tree,
            &table.records.tree,
            &table.index.tree,
        );
        tables
            .transaction(|(organizations, records, index)| {
                if organizations.get(org_key.as_slice())?.is_none() {
                    return abort(StoreError::UnknownOrganization(org.clone()));
                }
                table.put_in(records, index, hash, &value, org.as_str())
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || format!("storing an invitation to `{org}`"))
            })
    }

    /// Sets the token's last use, unless a later one is recorded. Compare-and-swap rather than
    /// a plain write, so that a concurrent revocation is never overwritten with the record read
    /// before it; after a few lost races the hint is dropped.
    fn touch_token(&self, hash: &str, at_ms: i64) -> Result<(), StoreError> {
        let table = &self.trees.api_tokens;
        let key = keys::hashed(hash);
        for _ in 0..TOUCH_ATTEMPTS {
            let Some(current) = table.get(&key)? else {
                return Ok(());
            };
            let mut token: ApiToken = codec::from_json(table.name, &key, &current)?;
            if token.last_used_ms.is_some_and(|last| last >= at_ms) {
                return Ok(());
            }
            token.last_used_ms = Some(at_ms);
            let value = codec::to_json("an API token", &token)?;
            let swapped = table
                .tree
                .compare_and_swap(&key, Some(&current), Some(value))
                .map_err(table.failed("writing", &key))?;
            if swapped.is_ok() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Removes the link and returns it: sled's remove hands the old value to one caller only.
    fn remove_link(&self, hash: &str) -> Result<Option<EmailLink>, StoreError> {
        let table = &self.trees.email_links;
        let key = keys::hashed(hash);
        let removed = table
            .tree
            .remove(&key)
            .map_err(table.failed("removing", &key))?;
        removed
            .map(|bytes| codec::from_json(table.name, &key, &bytes))
            .transpose()
    }
}

/// The audit log and the server's secret.
impl SledStore {
    /// Numbers, chains and stores the entry, with the count and the head hash, in one
    /// transaction: transactions run one at a time, so appends are serialized.
    fn write_audit(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        let t = &self.trees;
        (&t.audit.tree, &t.meta.tree)
            .transaction(|(audit, counters)| {
                let written = read_count(counters, tree::META, meta::AUDIT_WRITTEN)?;
                let Some(seq) = written.checked_add(1) else {
                    return abort(StoreError::AuditExhausted(written));
                };
                let record = AuditRecord::chain(seq, &read_head(counters)?, entry.clone());
                let value = abort_on(codec::to_json("an audit record", &record))?;
                let head = abort_on(codec::to_json("the audit head", &record.hash))?;
                audit.insert(&keys::audit(seq), value)?;
                counters.insert(meta::AUDIT_WRITTEN, &seq.to_be_bytes())?;
                counters.insert(meta::AUDIT_HEAD, head)?;
                Ok(record)
            })
            .map_err(|e| StoreError::from_transaction(e, || "appending to the audit log".into()))
    }

    /// Up to `limit` records of `entries` (a range of the audit tree, in either direction)
    /// that match `filter`.
    ///
    /// A linear scan that skips records of others: fine while the log is small. Indexes by
    /// organization and by user (`org 0 seq`, `user 0 seq`) will be needed once it is not.
    fn read_audit(
        &self,
        filter: &AuditFilter,
        entries: impl Iterator<Item = sled::Result<(IVec, IVec)>>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let table = &self.trees.audit;
        let mut found = Vec::new();
        for entry in entries {
            if found.len() >= limit {
                break;
            }
            let (key, value) = entry.map_err(table.failed("scanning", &[]))?;
            let record: AuditRecord = codec::from_json(table.name, &key, &value)?;
            if matches(filter, &record.entry) {
                found.push(record);
            }
        }
        Ok(found)
    }

    fn read_audit_written(&self) -> Result<u64, StoreError> {
        let key = meta::AUDIT_WRITTEN;
        match self.trees.meta.get(key)? {
            None => Ok(0),
            Some(bytes) => codec::decode_u64(tree::META, key, &bytes),
        }
    }

    fn stored_secret(&self) -> Result<Option<[u8; 32]>, StoreError> {
        let stored = self.trees.meta.get(meta::SERVER_SECRET)?;
        stored.map(|bytes| decode_secret(&bytes)).transpose()
    }

    /// Draws a secret and stores it unless one is there; returns the one stored. Of concurrent
    /// first uses, one compare-and-swap wins and the others get its secret.
    fn create_secret(&self) -> Result<[u8; 32], StoreError> {
        let mut fresh = [0; 32];
        getrandom::fill(&mut fresh).map_err(|source| StoreError::Random {
            what: "the server secret",
            source,
        })?;
        let table = &self.trees.meta;
        let key = meta::SERVER_SECRET;
        let swapped = table
            .tree
            .compare_and_swap(key, None::<&[u8]>, Some(&fresh[..]))
            .map_err(table.failed("creating", key))?;
        match swapped {
            Ok(()) => Ok(fresh),
            Err(lost) => match lost.current {
                Some(current) => decode_secret(&current),
                // Nothing removes the secret, so the swap only fails when one is there.
                None => self.create_secret(),
            },
        }
    }
}

/// Reads the hash of the last audit record inside a transaction; none yet means the genesis.
fn read_head(counters: &TransactionalTree) -> ConflictableTransactionResult<String, StoreError> {
    match counters.get(meta::AUDIT_HEAD)? {
        None => Ok(GENESIS_HASH.to_owned()),
        Some(bytes) => abort_on(codec::from_json(tree::META, meta::AUDIT_HEAD, &bytes)),
    }
}

fn decode_secret(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| {
        codec::decode_error(tree::META, meta::SERVER_SECRET)(CodecError::Length {
            expected: 32,
            actual: bytes.len(),
        })
    })
}

fn matches(filter: &AuditFilter, entry: &AuditEntry) -> bool {
    match filter {
        AuditFilter::All => true,
        AuditFilter::Org(org) => entry.org.as_ref() == Some(org),
        AuditFilter::User(user) => {
            entry.actor.as_ref() == Some(user) || entry.subject.as_ref() == Some(user)
        }
    }
}

#[async_trait::async_trait]
impl Accounts for SledStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.insert_user(user)?;
        self.committer.commit().await
    }

    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.replace_user(user)?;
        self.committer.commit().await
    }

    async fn user(&self, user: &UserId) -> Result<Option<User>, StoreError> {
        self.trees.users.get_json(&keys::user(user))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.read_user_by_email(email)
    }

    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError> {
        let existed = self.delete_user(user)?;
        // Always: leftovers of an interrupted removal may have gone even if the user had.
        self.committer.commit().await?;
        Ok(existed)
    }

    async fn put_membership(&self, membership: &Membership) -> Result<(), StoreError> {
        self.insert_membership(membership)?;
        self.committer.commit().await
    }

    async fn membership(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<Membership>, StoreError> {
        self.trees.memberships.get_json(&keys::member(org, user))
    }

    async fn members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError> {
        self.trees.memberships.scan_json(&keys::org_prefix(org))
    }

    async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        self.read_memberships_of(user)
    }

    async fn remove_membership(&self, org: &OrgId, user: &UserId) -> Result<bool, StoreError> {
        let existed = self.delete_membership(org, user)?;
        // Always: the user's tokens for the organization may have gone even without it.
        self.committer.commit().await?;
        Ok(existed)
    }

    async fn put_session(&self, hash: &str, session: &Session) -> Result<(), StoreError> {
        self.session_table().put(hash, session)?;
        self.committer.commit().await
    }

    async fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.session_table().get(hash)
    }

    async fn sessions_of(&self, user: &UserId) -> Result<Vec<(String, Session)>, StoreError> {
        let mut sessions = self.session_table().list(user.as_str())?;
        sessions.sort_by_key(|(_, s)| s.created_at_ms);
        Ok(sessions)
    }

    async fn remove_session(&self, hash: &str) -> Result<bool, StoreError> {
        let removed = self.session_table().remove(&[hash.to_owned()], |_| true)?;
        if removed > 0 {
            self.committer.commit().await?;
        }
        Ok(removed > 0)
    }

    async fn remove_sessions_of(&self, user: &UserId) -> Result<usize, StoreError> {
        let sessions = self.session_table();
        let hashes = sessions.hashes_of(user.as_str())?;
        let removed = sessions.remove(&hashes, |s| s.user == *user)?;
        if removed > 0 {
            self.committer.commit().await?;
        }
        Ok(removed)
    }

    async fn put_api_token(&self, hash: &str, token: &ApiToken) -> Result<(), StoreError> {
        self.token_table().put(hash, token)?;
        self.committer.commit().await
    }

    async fn api_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.token_table().get(hash)
    }

    async fn api_tokens_of(&self, user: &UserId) -> Result<Vec<(String, ApiToken)>, StoreError> {
        let mut tokens = self.token_table().list(user.as_str())?;
        tokens.sort_by_key(|(_, t)| t.created_at_ms);
        Ok(tokens)
    }

    async fn touch_api_token(&self, hash: &str, at_ms: i64) -> Result<(), StoreError> {
        // Not committed: the next durable write, or sled's flush every 500 ms, takes it along.
        self.touch_token(hash, at_ms)
    }

    async fn put_invitation(&self, hash: &str, invitation: &Invitation) -> Result<(), StoreError> {
        self.insert_invitation(hash, invitation)?;
        self.committer.commit().await
    }

    async fn invitation(&self, hash: &str) -> Result<Option<Invitation>, StoreError> {
        self.invitation_table().get(hash)
    }

    async fn invitations(&self, org: &OrgId) -> Result<Vec<(String, Invitation)>, StoreError> {
        let mut invitations = self.invitation_table().list(org.as_str())?;
        invitations.sort_by_key(|(_, i)| std::cmp::Reverse(i.created_at_ms));
        Ok(invitations)
    }

    async fn put_email_link(&self, hash: &str, link: &EmailLink) -> Result<(), StoreError> {
        let value = codec::to_json("an e-mail link", link)?;
        self.trees.email_links.insert(&keys::hashed(hash), value)?;
        self.committer.commit().await
    }

    async fn take_email_link(&self, hash: &str) -> Result<Option<EmailLink>, StoreError> {
        let link = self.remove_link(hash)?;
        if link.is_some() {
            // Durable before the caller acts on it: a link used once stays used after a crash.
            self.committer.commit().await?;
        }
        Ok(link)
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<AuditRecord, StoreError> {
        let record = self.write_audit(&entry)?;
        self.committer.commit().await?;
        Ok(record)
    }

    async fn audit_records(
        &self,
        filter: &AuditFilter,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let entries = self.trees.audit.tree.range(keys::audit(first)..);
        self.read_audit(filter, entries, limit)
    }

    async fn audit_records_back(
        &self,
        filter: &AuditFilter,
        before: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let entries = self.trees.audit.tree.range(..keys::audit(before)).rev();
        self.read_audit(filter, entries, limit)
    }

    async fn audit_written(&self) -> Result<u64, StoreError> {
        self.read_audit_written()
    }

    async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        if let Some(secret) = self.stored_secret()? {
            return Ok(secret);
        }
        let secret = self.create_secret()?;
        self.committer.commit().await?;
        Ok(secret)
    }
}
