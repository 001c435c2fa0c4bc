//! Delivering an event: recording it, then e-mailing the rule's members who have not muted it
//! and posting to its webhook, retrying each with backoff, and recording every delivery's
//! state on the event as it changes. Nothing is sent while the rule is muted; the event is
//! recorded all the same.

use std::sync::Arc;

use chatter_model::alert::{Delivery, DeliveryChannel, DeliveryState, Webhook};
use chatter_model::{AlertEvent, AlertRule, UserId};
use chatter_store::StoreError;
use tokio::sync::{Mutex, mpsc};
use tracing::Instrument as _;

use super::message::{self, Context};
use super::{Alerts, EMAIL_ATTEMPTS, Job, webhook};
use crate::time;

/// An event being delivered: its record, saved again as each delivery progresses.
struct Progress {
    event: Mutex<AlertEvent>,
}

impl Alerts {
    /// Delivers the jobs of one (rule, machine), one after the other.
    pub(super) async fn deliver_queue(self: Arc<Self>, mut jobs: mpsc::UnboundedReceiver<Job>) {
        while let Some(job) = jobs.recv().await {
            let transition = &job.transition;
            let span = tracing::info_span!(
                "alerts.deliver",
                org = %transition.rule.org,
                rule = %transition.rule.id,
                machine = %transition.machine,
                event = %transition.id,
                kind = transition.kind.as_str(),
            );
            self.deliver(job).instrument(span).await;
        }
    }

    /// Records the job's event and delivers it on every channel at once.
    async fn deliver(&self, job: Job) {
        let Job { transition, alarm } = job;
        let org = transition.rule.org.clone();
        // The rule as it is now: muted or given other recipients since it fired.
        let rule = match self.store.alert_rule(&org, &transition.rule.id).await {
            Ok(Some(rule)) => rule,
            Ok(None) => transition.rule.clone(),
            Err(error) => {
                tracing::error!(%error, "could not read the rule; delivering as it was");
                transition.rule.clone()
            }
        };
        let organization = match self.store.organization(&org).await {
            Ok(Some(organization)) => organization,
            Ok(None) => {
                // Deleted meanwhile: nothing of it may be stored again.
                self.engine().remove_org(&org);
                return;
            }
            Err(error) => {
                tracing::error!(%error, "could not read the organization; the event is lost");
                return;
            }
        };
        let machine_name = match self.store.machine(&org, &transition.machine).await {
            Ok(Some(machine)) => machine.name,
            _ => transition.machine.to_string(),
        };
        let now = chatter_model::now_ms();
        let muted = rule.is_muted(now);
        let recipients = if muted {
            Vec::new()
        } else {
            self.recipients(&rule, now).await
        };
        let mut deliveries: Vec<Delivery> = recipients
            .iter()
            .map(|user| Delivery {
                channel: DeliveryChannel::Email { user: user.clone() },
                state: DeliveryState::Pending,
                attempts: 0,
            })
            .collect();
        let hook = rule.channels.webhook.clone().filter(|_| !muted);
        if hook.is_some() {
            deliveries.push(Delivery {
                channel: DeliveryChannel::Webhook,
                state: DeliveryState::Pending,
                attempts: 0,
            });
        }
        if rule.channels.in_app && !muted {
            // Recording the event is the in-app delivery: the alerts page shows it.
            deliveries.push(Delivery {
                channel: DeliveryChannel::InApp,
                state: DeliveryState::Delivered,
                attempts: 1,
            });
        }
        let event = AlertEvent {
            id: transition.id.clone(),
            org: org.clone(),
            rule: rule.id.clone(),
            rule_name: rule.name.clone(),
            machine: transition.machine.clone(),
            message: message::line(
                &machine_name,
                transition.kind,
                transition.cause,
                transition.since,
                transition.at,
            ),
            machine_name,
            kind: transition.kind,
            at: transition.at,
            since: transition.since,
            alarm,
            resolves: transition.resolves.clone(),
            muted,
            deliveries,
            created_ms: now,
        };
        if let Err(error) = self.store.put_alert_event(&event).await {
            if matches!(error, StoreError::UnknownOrganization(_)) {
                self.engine().remove_org(&org);
            }
            tracing::error!(%error, "could not record the alert event; nothing is sent");
            return;
        }
        tracing::info!(message = %event.message, muted, "alert event recorded");
        let zone = time::zone(&organization.time_zone);
        let context = Context {
            rule: &rule,
            org_name: &organization.name,
            zone: &zone,
            public_url: &self.settings.public_url,
        };
        let progress = Progress {
            event: Mutex::new(event.clone()),
        };
        let emails = recipients
            .iter()
            .map(|user| self.email(&progress, &context, &event, user));
        let emails = futures::future::join_all(emails);
        let posted = async {
            if let Some(hook) = &hook {
                self.post(&progress, &context, &event, hook).await;
            }
        };
        futures::join!(emails, posted);
    }

    /// The rule's recipients who are still members and have not muted it.
    async fn recipients(&self, rule: &AlertRule, now: i64) -> Vec<UserId> {
        let (members, mutes) = match (
            self.store.members(&rule.org).await,
            self.store.user_mutes(&rule.org).await,
        ) {
            (Ok(members), Ok(mutes)) => (members, mutes),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "could not read members and mutes; no e-mail is sent");
                return Vec::new();
            }
        };
        rule.channels
            .email
            .iter()
            .filter(|user| members.iter().any(|m| &m.user == *user))
            .filter(|user| {
                !mutes
                    .iter()
                    .any(|m| &m.user == *user && m.rule == rule.id && m.is_active(now))
            })
            .cloned()
            .collect()
    }

    /// E-mails the event to `user`, up to [`EMAIL_ATTEMPTS`] times.
    async fn email(
        &self,
        progress: &Progress,
        context: &Context<'_>,
        event: &AlertEvent,
        user: &UserId,
    ) {
        let channel = DeliveryChannel::Email { user: user.clone() };
        let address = match self.store.user(user).await {
            Ok(Some(account)) if account.email_verified => account.email,
            Ok(Some(_)) => {
                let reason = "the member has not confirmed their address".to_owned();
                self.record(progress, &channel, DeliveryState::Failed { reason }, 0)
                    .await;
                return;
            }
            Ok(None) => {
                let reason = "the member's account is gone".to_owned();
                self.record(progress, &channel, DeliveryState::Failed { reason }, 0)
                    .await;
                return;
            }
            Err(error) => {
                let reason = format!("could not read the member's address: {error}");
                self.record(progress, &channel, DeliveryState::Failed { reason }, 0)
                    .await;
                return;
            }
        };
        if !self.mailer.is_configured() {
            let reason = "e-mail is not configured on this server ([email] smtp-url)".to_owned();
            self.record(progress, &channel, DeliveryState::Failed { reason }, 0)
                .await;
            return;
        }
        let email = message::email(context, event, &address);
        for attempt in 1..=EMAIL_ATTEMPTS {
            match self.mailer.send(&email).await {
                Ok(()) => {
                    self.record(progress, &channel, DeliveryState::Delivered, attempt)
                        .await;
                    return;
                }
                Err(error) if attempt < EMAIL_ATTEMPTS => {
                    tracing::warn!(%user, attempt, %error, "alert e-mail failed; retrying");
                    self.record(progress, &channel, DeliveryState::Pending, attempt)
                        .await;
                    tokio::time::sleep(self.settings.backoff(attempt)).await;
                }
                Err(error) => {
                    tracing::warn!(%user, %error, "alert e-mail failed; giving up");
                    let reason = format!("the mail server refused it: {error}");
                    self.record(
                        progress,
                        &channel,
                        DeliveryState::Failed { reason },
                        attempt,
                    )
                    .await;
                }
            }
        }
    }

    /// Posts the event to the webhook, retrying failures and non-2xx answers with backoff;
    /// a refused address is not retried.
    async fn post(
        &self,
        progress: &Progress,
        context: &Context<'_>,
        event: &AlertEvent,
        hook: &Webhook,
    ) {
        let channel = DeliveryChannel::Webhook;
        let url = match webhook::parse(&hook.url) {
            Ok(url) => url,
            Err(error) => {
                let reason = error.to_string();
                self.record(progress, &channel, DeliveryState::Failed { reason }, 0)
                    .await;
                return;
            }
        };
        let body = message::webhook_body(context, event);
        let attempts = self.settings.webhook_retries.saturating_add(1);
        for attempt in 1..=attempts {
            let timestamp = chatter_model::now_ms() / 1000;
            let sent = webhook::post(
                &url,
                &hook.secret,
                &event.id,
                &body,
                timestamp,
                &self.settings.addresses,
            )
            .await;
            match sent {
                Ok(status) => {
                    tracing::info!(attempt, status, "webhook delivered");
                    self.record(progress, &channel, DeliveryState::Delivered, attempt)
                        .await;
                    return;
                }
                Err(webhook::WebhookError::Refused(reason)) => {
                    tracing::warn!(%reason, "webhook refused");
                    self.record(
                        progress,
                        &channel,
                        DeliveryState::Failed { reason },
                        attempt,
                    )
                    .await;
                    return;
                }
                Err(webhook::WebhookError::Failed(reason)) if attempt < attempts => {
                    tracing::warn!(attempt, %reason, "webhook failed; retrying");
                    self.record(progress, &channel, DeliveryState::Pending, attempt)
                        .await;
                    tokio::time::sleep(self.settings.backoff(attempt)).await;
                }
                Err(webhook::WebhookError::Failed(reason)) => {
                    tracing::warn!(attempt, %reason, "webhook failed; giving up");
                    self.record(
                        progress,
                        &channel,
                        DeliveryState::Failed { reason },
                        attempt,
                    )
                    .await;
                }
            }
        }
    }

    /// Sets the state of the event's delivery on `channel` and saves the event.
    async fn record(
        &self,
        progress: &Progress,
        channel: &DeliveryChannel,
        state: DeliveryState,
        attempts: u32,
    ) {
        let mut event = progress.event.lock().await;
        if let Some(delivery) = event.deliveries.iter_mut().find(|d| &d.channel == channel) {
            delivery.state = state;
            delivery.attempts = attempts;
        }
        if let Err(error) = self.store.put_alert_event(&event).await {
            tracing::error!(%error, "could not record a delivery's state");
        }
    }
}
