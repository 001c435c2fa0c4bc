//! Alert rules, events and mutes: JSON records under `org 0 …` keys, like report runs.

use chatter_model::{AlertEvent, AlertRule, OrgId, UserId, UserMute};

use super::SledStore;
use crate::alerts::Alerts;
use crate::codec;
use crate::error::StoreError;
use crate::keys;

impl SledStore {
    /// Removes every alert rule, event and mute of `org`.
    pub(super) fn purge_org_alerts(&self, org: &OrgId) -> Result<(), StoreError> {
        let prefix = keys::org_prefix(org);
        self.trees.alert_rules.remove_prefix(&prefix)?;
        self.trees.alert_events.remove_prefix(&prefix)?;
        self.trees.alert_mutes.remove_prefix(&prefix)?;
        Ok(())
    }
}

/// `org 0 id`, for rules and events alike.
fn record_key(org: &OrgId, id: &str) -> Vec<u8> {
    let mut key = keys::org_prefix(org);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `org 0 rule 0`: the prefix of a rule's mutes.
fn mutes_prefix(org: &OrgId, rule: &str) -> Vec<u8> {
    let mut key = record_key(org, rule);
    key.push(0);
    key
}

fn mute_key(org: &OrgId, rule: &str, user: &UserId) -> Vec<u8> {
    let mut key = mutes_prefix(org, rule);
    key.extend_from_slice(user.as_str().as_bytes());
    key
}

#[async_trait::async_trait]
impl Alerts for SledStore {
    async fn put_alert_rule(&self, rule: &AlertRule) -> Result<(), StoreError> {
        let value = codec::to_json("an alert rule", rule)?;
        let key = record_key(&rule.org, &rule.id);
        self.insert_for_org(&self.trees.alert_rules, &rule.org, &key, &value)?;
        self.committer.commit().await
    }

    async fn alert_rule(&self, org: &OrgId, id: &str) -> Result<Option<AlertRule>, StoreError> {
        self.trees.alert_rules.get_json(&record_key(org, id))
    }

    async fn alert_rules(&self, org: &OrgId) -> Result<Vec<AlertRule>, StoreError> {
        self.trees.alert_rules.scan_json(&keys::org_prefix(org))
    }

    async fn remove_alert_rule(&self, org: &OrgId, id: &str) -> Result<bool, StoreError> {
        let existed = self.trees.alert_rules.remove(&record_key(org, id))?;
        self.trees
            .alert_mutes
            .remove_prefix(&mutes_prefix(org, id))?;
        self.committer.commit().await?;
        Ok(existed)
    }

    async fn put_alert_event(&self, event: &AlertEvent) -> Result<(), StoreError> {
        let value = codec::to_json("an alert event", event)?;
        let key = record_key(&event.org, &event.id);
        self.insert_for_org(&self.trees.alert_events, &event.org, &key, &value)?;
        self.committer.commit().await
    }

    async fn alert_event(&self, org: &OrgId, id: &str) -> Result<Option<AlertEvent>, StoreError> {
        self.trees.alert_events.get_json(&record_key(org, id))
    }

    async fn alert_events(&self, org: &OrgId, limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
        // Event ids sort by creation: the newest are the last keys, read backwards so that a
        // long history costs only what is asked for.
        self.trees
            .alert_events
            .scan_json_back(&keys::org_prefix(org), limit)
    }

    async fn put_user_mute(&self, org: &OrgId, mute: &UserMute) -> Result<(), StoreError> {
        let value = codec::to_json("a mute", mute)?;
        let key = mute_key(org, &mute.rule, &mute.user);
        self.insert_for_org(&self.trees.alert_mutes, org, &key, &value)?;
        self.committer.commit().await
    }

    async fn remove_user_mute(
        &self,
        org: &OrgId,
        rule: &str,
        user: &UserId,
    ) -> Result<bool, StoreError> {
        let existed = self.trees.alert_mutes.remove(&mute_key(org, rule, user))?;
        if existed {
            self.committer.commit().await?;
        }
        Ok(existed)
    }

    async fn user_mutes(&self, org: &OrgId) -> Result<Vec<UserMute>, StoreError> {
        self.trees.alert_mutes.scan_json(&keys::org_prefix(org))
    }
}
