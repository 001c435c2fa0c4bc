//! The storage interface of alerts: an organization's alert rules, the events they fired and
//! resolved (with how each was delivered), and its members' mutes of rules.

use chatter_model::{AlertEvent, AlertRule, OrgId, UserId, UserMute};

use crate::error::StoreError;

/// Durable storage of alert rules, events and mutes, every call scoped by organization.
///
/// Writes are durable when they return, like [`Store`](crate::Store)'s. Writes for an
/// organization that does not exist fail with [`StoreError::UnknownOrganization`].
#[async_trait::async_trait]
pub trait Alerts: Send + Sync + 'static {
    /// Stores a rule, replacing the one with its id.
    async fn put_alert_rule(&self, rule: &AlertRule) -> Result<(), StoreError>;

    /// The organization's rule `id`.
    async fn alert_rule(&self, org: &OrgId, id: &str) -> Result<Option<AlertRule>, StoreError>;

    /// The organization's rules, by id.
    async fn alert_rules(&self, org: &OrgId) -> Result<Vec<AlertRule>, StoreError>;

    /// Removes the organization's rule `id` with its members' mutes of it; its events stay in
    /// the history. Returns whether it existed.
    async fn remove_alert_rule(&self, org: &OrgId, id: &str) -> Result<bool, StoreError>;

    /// Stores an event, replacing the one with its id (as its deliveries progress).
    async fn put_alert_event(&self, event: &AlertEvent) -> Result<(), StoreError>;

    /// The organization's event `id`.
    async fn alert_event(&self, org: &OrgId, id: &str) -> Result<Option<AlertEvent>, StoreError>;

    /// The organization's `limit` most recent events, newest first.
    async fn alert_events(&self, org: &OrgId, limit: usize) -> Result<Vec<AlertEvent>, StoreError>;

    /// Stores a member's mute of a rule of the organization, replacing theirs of that rule.
    async fn put_user_mute(&self, org: &OrgId, mute: &UserMute) -> Result<(), StoreError>;

    /// Removes `user`'s mute of the organization's rule `rule`; returns whether there was one.
    async fn remove_user_mute(
        &self,
        org: &OrgId,
        rule: &str,
        user: &UserId,
    ) -> Result<bool, StoreError>;

    /// Every member's mutes of the organization's rules, expired ones included.
    async fn user_mutes(&self, org: &OrgId) -> Result<Vec<UserMute>, StoreError>;
}
