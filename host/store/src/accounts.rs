//! The storage interface of accounts: users, memberships, sessions, API tokens, invitations,
//! one-time e-mail links, the audit log and the server's secret.

use chatter_model::audit::{AuditEntry, AuditRecord};
use chatter_model::{ApiToken, EmailLink, Invitation, Membership, OrgId, Session, User, UserId};

use crate::error::StoreError;

/// Which audit records [`Accounts::audit_records`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFilter {
    /// Every record, for verification and the operator.
    All,
    /// Records of one organization, for its admins.
    Org(OrgId),
    /// Records whose actor or subject is the user, for their data export.
    User(UserId),
}

/// Durable storage of accounts. Records keyed by a secret's hash are passed the lower-case hex
/// SHA-256 of the secret, never the secret.
///
/// Writes are durable when they return, like [`Store`](crate::Store)'s.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync + 'static {
    /// Creates a user. Fails with [`StoreError::EmailTaken`] if another user has the address,
    /// and stores nothing then; two concurrent sign-ups with one address cannot both succeed.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;

    /// Replaces an existing user's record, moving the e-mail index if the address changed.
    /// Fails with [`StoreError::EmailTaken`] if the new address is another user's, or
    /// [`StoreError::UnknownUser`] if the user does not exist.
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user, if they exist.
    async fn user(&self, user: &UserId) -> Result<Option<User>, StoreError>;

    /// The user with this (lower-cased) address, if any.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// Removes a user with everything personal: their record, e-mail index, memberships,
    /// sessions, API tokens and e-mail links. Audit records stay (they hold only ids).
    /// Returns whether the user existed.
    async fn remove_user(&self, user: &UserId) -> Result<bool, StoreError>;

    /// Creates or replaces a membership. Fails with [`StoreError::UnknownOrganization`] or
    /// [`StoreError::UnknownUser`] if either does not exist.
    async fn put_membership(&self, membership: &Membership) -> Result<(), StoreError>;

    /// The user's membership of the organization, if any.
    async fn membership(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<Membership>, StoreError>;

    /// The organization's members, sorted by user id.
    async fn members(&self, org: &OrgId) -> Result<Vec<Membership>, StoreError>;

    /// The user's memberships, sorted by organization id.
    async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError>;

    /// Removes a membership and the user's API tokens for that organization. Returns whether it
    /// existed.
    async fn remove_membership(&self, org: &OrgId, user: &UserId) -> Result<bool, StoreError>;

    /// Creates or replaces a session.
    async fn put_session(&self, hash: &str, session: &Session) -> Result<(), StoreError>;

    /// The session, if it exists (expired ones too: the caller checks).
    async fn session(&self, hash: &str) -> Result<Option<Session>, StoreError>;

    /// The user's sessions with their hashes, sorted by creation.
    async fn sessions_of(&self, user: &UserId) -> Result<Vec<(String, Session)>, StoreError>;

    /// Removes a session. Returns whether it existed.
    async fn remove_session(&self, hash: &str) -> Result<bool, StoreError>;

    /// Removes every session of the user; returns how many there were.
    async fn remove_sessions_of(&self, user: &UserId) -> Result<usize, StoreError>;

    /// Creates or replaces an API token (revoking one is replacing it with `revoked_at_ms` set).
    async fn put_api_token(&self, hash: &str, token: &ApiToken) -> Result<(), StoreError>;

    /// The token whose hash this is, if any.
    async fn api_token(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// The user's API tokens with their hashes, sorted by creation.
    async fn api_tokens_of(&self, user: &UserId) -> Result<Vec<(String, ApiToken)>, StoreError>;

    /// Records that a token was used at `at_ms`. Not made durable before returning (it is a
    /// hint, written on every request); does nothing if the token does not exist.
    async fn touch_api_token(&self, hash: &str, at_ms: i64) -> Result<(), StoreError>;

    /// Creates or replaces an invitation. Fails with [`StoreError::UnknownOrganization`] if its
    /// organization does not exist.
    async fn put_invitation(&self, hash: &str, invitation: &Invitation) -> Result<(), StoreError>;

    /// The invitation whose hash this is, if any.
    async fn invitation(&self, hash: &str) -> Result<Option<Invitation>, StoreError>;

    /// The organization's invitations with their hashes, newest first.
    async fn invitations(&self, org: &OrgId) -> Result<Vec<(String, Invitation)>, StoreError>;

    /// Stores a one-time e-mail link.
    async fn put_email_link(&self, hash: &str, link: &EmailLink) -> Result<(), StoreError>;

    /// Removes and returns the link whose hash this is, atomically: of two concurrent uses of
    /// one link, only one gets it.
    async fn take_email_link(&self, hash: &str) -> Result<Option<EmailLink>, StoreError>;

    /// Appends an entry to the audit log: numbers it after the last record, chains it to that
    /// record's hash, and stores it durably. Appends are serialized, so the chain has no forks.
    async fn append_audit(&self, entry: AuditEntry) -> Result<AuditRecord, StoreError>;

    /// Up to `limit` audit records matching `filter` with numbers above `after`, ascending.
    async fn audit_records(
        &self,
        filter: &AuditFilter,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Up to `limit` audit records matching `filter` with numbers below `before`, newest
    /// first (pass `u64::MAX` for the newest).
    async fn audit_records_back(
        &self,
        filter: &AuditFilter,
        before: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// How many audit records were ever appended (kept apart from the records, so removing the
    /// last ones is detectable).
    async fn audit_written(&self) -> Result<u64, StoreError>;

    /// The installation's 32-byte secret, for signing links: created at random on first use and
    /// kept.
    async fn server_secret(&self) -> Result<[u8; 32], StoreError>;
}
