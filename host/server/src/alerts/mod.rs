//! Alerts: rules an organization sets on its machines — an alarm that lasts, idle time in a
//! shift, a machine offline or silent, a day's part count reached — evaluated as machine data
//! arrives, and delivered by e-mail, signed webhook and in the app, with a resolved message
//! when the condition ends.
//!
//! - [`Alerts`] is the service in [`AppState`]: it checks and stores rules (audited), keeps
//!   members' mutes, lists the history, and runs the evaluation.
//! - [`engine`] is the state machine, fed from the live broadcast ([`crate::live`]) — never
//!   by reading the store back — and from a timer for live machines whose data stops while a
//!   condition runs on.
//! - Each (rule, machine) has a delivery queue, so that its events go out in order (a resolved
//!   webhook never overtakes the fired one still being retried); `deliver` records each
//!   delivery's state on the stored event as it goes.
//! - [`webhook`] says where webhooks may point and signs them; `message` writes what they
//!   say.
//!
//! # Restart
//!
//! Rules are read from the store at start, with the open alerts of each rule (fired, not yet
//! resolved, in the history's latest 1,000 events) and the days part counts already fired for;
//! everything else the engine knows restarts empty and is rebuilt from the next changes. A
//! condition that began before the restart counts from when its machine's state says it began;
//! a delivery that was being retried when the server stopped is not taken up again (its state
//! stays pending in the history).

mod deliver;
pub(crate) mod engine;
pub(crate) mod message;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatter_model::alert::{self, Channels, Condition, RuleError, Webhook};
use chatter_model::{AlertEvent, AlertRule, MachineId, OrgId, UserId, UserMute, now_ns};
use chatter_store::{Store, StoreError};
use tokio::sync::{Notify, broadcast, mpsc};

use crate::accounts::{Audit, RequestContext};
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::live::{LiveEvent, LiveState};
use crate::mail::Mailer;
use crate::time;
use engine::{Calendar, Engine, Transition};
use webhook::{AddressPolicy, WebhookError};

/// Events of each organization read at start to find its open alerts.
const RESTORE_EVENTS: usize = 1_000;
/// The longest wait between two webhook attempts, however the backoff grows.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Attempts to send one alert e-mail.
const EMAIL_ATTEMPTS: u32 = 3;

/// How alerts are delivered, from the configuration.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Retries of a webhook after its first attempt fails.
    pub webhook_retries: u32,
    /// The wait before the first retry; doubled after each, up to 5 minutes.
    pub webhook_backoff: Duration,
    /// Which addresses webhooks may reach.
    pub addresses: AddressPolicy,
    /// The site's address, for links (without a trailing slash).
    pub public_url: String,
}

impl AlertSettings {
    /// The settings `config` gives.
    pub fn from_config(config: &crate::ServerConfig) -> Self {
        AlertSettings {
            webhook_retries: config.alerts.webhook_retries,
            webhook_backoff: Duration::from_millis(config.alerts.webhook_backoff_ms),
            addresses: AddressPolicy {
                loopback: config.network.allow_loopback,
                link_local: config.network.allow_link_local,
                private: config.alerts.webhook_allow_private,
            },
            public_url: config.public_url(),
        }
    }

    /// The wait before retry `retry` (1 for the first).
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(20));
        self.webhook_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// Why an alert operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The rule is not acceptable; the error names the field.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// The organization has no such rule.
    #[error("no alert rule `{0}`")]
    NotFound(String),
    /// Only a user may do this (not a device).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The server failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server failed otherwise.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<AlertError> for ApiError {
    fn from(error: AlertError) -> Self {
        match error {
            AlertError::Invalid(error) => {
                ApiError::unprocessable("invalid_rule", error.to_string())
            }
            error @ AlertError::NotFound(_) => {
                ApiError::not_found("rule_not_found", error.to_string())
            }
            AlertError::Forbidden(message) => {
                ApiError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", message)
            }
            AlertError::Store(error) => ApiError::internal(error),
            AlertError::Internal(error) => ApiError::internal(format!("{error:#}")),
        }
    }
}

/// A webhook as a rule's author gives it: the secret may be left out to keep the saved one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDraft {
    /// Where to post.
    pub url: String,
    /// The signing secret; `None` keeps the rule's current one.
    pub secret: Option<String>,
}

/// A rule as its author gives it, before it is checked and saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDraft {
    /// Its name.
    pub name: String,
    /// What it watches for.
    pub condition: Condition,
    /// The machines it watches; all when empty.
    pub machines: Vec<MachineId>,
    /// Members e-mailed.
    pub email: Vec<UserId>,
    /// A webhook, if any.
    pub webhook: Option<WebhookDraft>,
    /// Whether the app shows its alerts.
    pub in_app: bool,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// Muted for everyone until then (milliseconds since the Unix epoch); `None`: not muted.
    pub muted_until_ms: Option<i64>,
}

/// A delivery job: an event to record and send, in its (rule, machine)'s order.
struct Job {
    transition: Transition,
    alarm: Option<alert::AlarmNote>,
}

type QueueKey = (OrgId, String, MachineId);

/// The alerts of every organization.
pub struct Alerts {
    store: Arc<dyn Store>,
    live: LiveState,
    mailer: Arc<Mailer>,
    settings: AlertSettings,
    engine: Mutex<Engine>,
    /// Wakes the evaluation loop when a rule change may have armed an earlier timer.
    wake: Notify,
    queues: Mutex<HashMap<QueueKey, mpsc::UnboundedSender<Job>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Alerts {
    /// Loads every organization's rules and open alerts, and starts evaluating the changes
    /// `live` broadcasts from now on.
    pub async fn start(
        store: Arc<dyn Store>,
        live: LiveState,
        mailer: Arc<Mailer>,
        settings: AlertSettings,
    ) -> anyhow::Result<Arc<Alerts>> {
        // Subscribed first, so that no change between loading and running is missed.
        let changes = live.subscribe();
        let alerts = Arc::new(Alerts {
            store,
            live,
            mailer,
            settings,
            engine: Mutex::new(Engine::default()),
            wake: Notify::new(),
            queues: Mutex::new(HashMap::new()),
            task: Mutex::new(None),
        });
        let mut rules = 0;
        for organization in alerts.store.organizations().await? {
            let org = &organization.id;
            let org_rules = alerts.store.alert_rules(org).await?;
            if org_rules.is_empty() {
                continue;
            }
            rules += org_rules.len();
            let history = alerts.store.alert_events(org, RESTORE_EVENTS).await?;
            let calendar = Calendar::new(
                time::zone(&organization.time_zone),
                organization.shifts.clone(),
            );
            let mut engine = alerts.engine();
            engine.set_org(org, org_rules, calendar, now_ns());
            engine.restore(org, &history);
        }
        tracing::info!(rules, "alert rules loaded");
        let task = tokio::spawn(alerts.clone().run(changes));
        if let Ok(mut slot) = alerts.task.lock() {
            *slot = Some(task);
        }
        Ok(alerts)
    }

    /// Stops evaluating (at shutdown); deliveries under way are dropped with the runtime.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut slot| slot.take()) {
            task.abort();
        }
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The evaluation loop: every change of every machine, and the timers of live ones.
    async fn run(self: Arc<Self>, mut changes: broadcast::Receiver<LiveEvent>) {
        loop {
            let deadline = self.engine().next_deadline();
            let timer = async {
                match deadline {
                    Some(at) => {
                        let wait = u64::try_from(at - now_ns()).unwrap_or(0);
                        tokio::time::sleep(Duration::from_nanos(wait)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(change) => self.take(change).await,
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        // The next change of each machine carries its whole state; what a
                        // skipped one alone showed (a short stretch) is lost.
                        tracing::warn!(skipped, "alerts fell behind the machines' changes");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = timer => {
                    let due = self.engine().due(now_ns());
                    self.dispatch(due);
                }
                () = self.wake.notified() => {}
            }
        }
    }

    /// Takes in one change.
    async fn take(self: &Arc<Self>, change: LiveEvent) {
        let needs = self.engine().needs_day_count(&change);
        if let Some((day, upto)) = needs {
            match self
                .store
                .totals(&change.org, &change.machine, day.0, upto)
                .await
            {
                Ok(totals) => {
                    self.engine()
                        .set_day_count(&change.org, &change.machine, day, totals.parts);
                }
                Err(error) => {
                    tracing::warn!(org = %change.org, machine = %change.machine, %error, "could not count the day's parts; counting from now");
                }
            }
        }
        let transitions = self.engine().observe(&change, now_ns());
        self.dispatch(transitions);
    }

    /// Queues each transition for delivery, behind the earlier ones of its rule and machine.
    fn dispatch(self: &Arc<Self>, transitions: Vec<Transition>) {
        for transition in transitions {
            let alarm = self.alarm_note(&transition);
            let key = (
                transition.rule.org.clone(),
                transition.rule.id.clone(),
                transition.machine.clone(),
            );
            let mut queues = self
                .queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let queue = queues.entry(key).or_insert_with(|| {
                let (sender, jobs) = mpsc::unbounded_channel();
                tokio::spawn(self.clone().deliver_queue(jobs));
                sender
            });
            if queue.send(Job { transition, alarm }).is_err() {
                tracing::error!("an alert delivery queue stopped; the event is lost");
            }
        }
    }

    /// The alarm the machine is in, for an alarm rule that fired: read at once, while the
    /// live state still shows it.
    fn alarm_note(&self, transition: &Transition) -> Option<alert::AlarmNote> {
        let engine::Cause::Alarm(level) = transition.cause else {
            return None;
        };
        if transition.kind != alert::EventKind::Fired {
            return None;
        }
        let fault = chatter_model::ConditionLevel::Fault;
        self.live
            .read(&transition.rule.org, &transition.machine, |live| {
                let alarms = live.current.as_ref()?.alarms.clone();
                let chosen = match level {
                    alert::AlarmLevel::Fault => alarms.iter().find(|a| a.level == fault),
                    alert::AlarmLevel::Warning => alarms.first(),
                }?;
                Some(alert::AlarmNote {
                    code: chosen.native_code.clone(),
                    text: chosen.text.clone(),
                    level: if chosen.level == fault {
                        "fault".into()
                    } else {
                        "warning".into()
                    },
                })
            })
            .flatten()
    }

    /// Reads an organization's rules and calendar again, after they changed.
    pub async fn reload(self: &Arc<Self>, org: &OrgId) -> Result<(), StoreError> {
        let Some(organization) = self.store.organization(org).await? else {
            self.engine().remove_org(org);
            return Ok(());
        };
        let rules = self.store.alert_rules(org).await?;
        let calendar = Calendar::new(time::zone(&organization.time_zone), organization.shifts);
        let transitions = self.engine().set_org(org, rules, calendar, now_ns());
        self.dispatch(transitions);
        self.wake.notify_one();
        Ok(())
    }

    /// The organization's rules, oldest first.
    pub async fn rules(&self, tenant: &Tenant) -> Result<Vec<AlertRule>, AlertError> {
        let mut rules = self.store.alert_rules(tenant.org()).await?;
        rules.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(rules)
    }

    /// One of the organization's rules.
    pub async fn rule(&self, tenant: &Tenant, id: &str) -> Result<AlertRule, AlertError> {
        self.store
            .alert_rule(tenant.org(), id)
            .await?
            .ok_or_else(|| AlertError::NotFound(id.to_owned()))
    }

    /// Checks and saves a new rule, audited as `alert.rule_create`.
    pub async fn create(
        self: &Arc<Self>,
        app: &AppState,
        context: &RequestContext,
        tenant: &Tenant,
        draft: RuleDraft,
    ) -> Result<AlertRule, AlertError> {
        let user = tenant
            .user()
            .cloned()
            .ok_or(AlertError::Forbidden("only members manage alert rules"))?;
        let id = crate::auth::secret::random_hex::<8>()
            .map_err(|e| anyhow::anyhow!("no randomness for a rule id: {e}"))?;
        let rule = self
            .checked(tenant, id, user, chatter_model::now_ms(), None, draft)
            .await?;
        self.store.put_alert_rule(&rule).await?;
        self.audit(app, context, tenant, "alert.rule_create", &rule)
            .await?;
        self.reload(tenant.org()).await?;
        Ok(rule)
    }

    /// Checks and saves a rule in place of rule `id`, audited as `alert.rule_update`.
    pub async fn replace(
        self: &Arc<Self>,
        app: &AppState,
        context: &RequestContext,
        tenant: &Tenant,
        id: &str,
        draft: RuleDraft,
    ) -> Result<AlertRule, AlertError> {
        let old = self.rule(tenant, id).await?;
        let rule = self
            .checked(
                tenant,
                old.id.clone(),
                old.created_by.clone(),
                old.created_ms,
                old.channels.webhook.as_ref(),
                draft,
            )
            .await?;
        self.store.put_alert_rule(&rule).await?;
        self.audit(app, context, tenant, "alert.rule_update", &rule)
            .await?;
        self.reload(tenant.org()).await?;
        Ok(rule)
    }

    /// Removes rule `id` with its members' mutes, audited as `alert.rule_delete`; its events
    /// stay in the history.
    pub async fn remove(
        self: &Arc<Self>,
        app: &AppState,
        context: &RequestContext,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), AlertError> {
        let rule = self.rule(tenant, id).await?;
        self.store.remove_alert_rule(tenant.org(), id).await?;
        self.audit(app, context, tenant, "alert.rule_delete", &rule)
            .await?;
        self.reload(tenant.org()).await?;
        Ok(())
    }

    /// Mutes rule `id` for everyone until `until_ms` ([`alert::MUTED_FOR_GOOD`]: until
    /// unmuted), or unmutes it (`None`); audited as `alert.rule_mute`.
    pub async fn mute_rule(
        self: &Arc<Self>,
        app: &AppState,
        context: &RequestContext,
        tenant: &Tenant,
        id: &str,
        until_ms: Option<i64>,
    ) -> Result<AlertRule, AlertError> {
        let mut rule = self.rule(tenant, id).await?;
        rule.muted_until_ms = until_ms;
        self.store.put_alert_rule(&rule).await?;
        let mut audit = Audit::new("alert.rule_mute", context)
            .org(tenant.org())
            .detail("rule", &rule.id)
            .detail("muted", until_ms.is_some());
        if let Some(user) = tenant.user() {
            audit = audit.actor(user);
        }
        audit
            .record(app)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.reload(tenant.org()).await?;
        Ok(rule)
    }

    /// Mutes rule `id` for the calling member until `until_ms` (`None`: until they unmute it).
    pub async fn mute_for_me(
        &self,
        tenant: &Tenant,
        id: &str,
        until_ms: Option<i64>,
    ) -> Result<UserMute, AlertError> {
        let user = tenant
            .user()
            .cloned()
            .ok_or(AlertError::Forbidden("only members mute alert rules"))?;
        let rule = self.rule(tenant, id).await?;
        let mute = UserMute {
            user,
            rule: rule.id,
            until_ms,
        };
        self.store.put_user_mute(tenant.org(), &mute).await?;
        Ok(mute)
    }

    /// Ends the calling member's mute of rule `id`; whether there was one.
    pub async fn unmute_for_me(&self, tenant: &Tenant, id: &str) -> Result<bool, AlertError> {
        let user = tenant
            .user()
            .ok_or(AlertError::Forbidden("only members mute alert rules"))?;
        let rule = self.rule(tenant, id).await?;
        Ok(self
            .store
            .remove_user_mute(tenant.org(), &rule.id, user)
            .await?)
    }

    /// The calling member's mutes that still hold, by rule.
    pub async fn my_mutes(&self, tenant: &Tenant) -> Result<HashMap<String, UserMute>, AlertError> {
        let Some(user) = tenant.user() else {
            return Ok(HashMap::new());
        };
        let now = chatter_model::now_ms();
        Ok(self
            .store
            .user_mutes(tenant.org())
            .await?
            .into_iter()
            .filter(|mute| &mute.user == user && mute.is_active(now))
            .map(|mute| (mute.rule.clone(), mute))
            .collect())
    }

    /// The organization's `limit` latest events, newest first.
    pub async fn events(
        &self,
        tenant: &Tenant,
        limit: usize,
    ) -> Result<Vec<AlertEvent>, AlertError> {
        Ok(self.store.alert_events(tenant.org(), limit).await?)
    }

    /// The open alerts of the organization: (rule, machine) of each fired and not resolved.
    pub fn open_alerts(&self, org: &OrgId) -> Vec<(String, MachineId)> {
        self.engine().open(org)
    }

    /// How many open alerts `user` sees in the navigation: those of rules shown in the app,
    /// muted neither for everyone nor by them.
    pub async fn open_count(&self, org: &OrgId, user: &UserId) -> Result<usize, StoreError> {
        let open = self.engine().open(org);
        if open.is_empty() {
            return Ok(0);
        }
        let now = chatter_model::now_ms();
        let rules = self.store.alert_rules(org).await?;
        let mutes = self.store.user_mutes(org).await?;
        let shown = |rule_id: &str| {
            rules
                .iter()
                .any(|rule| rule.id == rule_id && rule.channels.in_app && !rule.is_muted(now))
                && !mutes
                    .iter()
                    .any(|mute| mute.rule == rule_id && &mute.user == user && mute.is_active(now))
        };
        Ok(open.iter().filter(|(rule, _)| shown(rule)).count())
    }

    /// The rule `draft` describes, checked: on its own, then its machines (the
    /// organization's), recipients (members) and webhook (an allowed address).
    async fn checked(
        &self,
        tenant: &Tenant,
        id: String,
        created_by: UserId,
        created_ms: i64,
        saved_webhook: Option<&Webhook>,
        draft: RuleDraft,
    ) -> Result<AlertRule, AlertError> {
        let webhook = match draft.webhook {
            None => None,
            Some(WebhookDraft { url, secret }) => {
                let secret = match (secret, saved_webhook) {
                    (Some(secret), _) => secret,
                    (None, Some(saved)) => saved.secret.clone(),
                    (None, None) => {
                        return Err(RuleError::new(
                            "channels.webhook.secret",
                            "give the webhook a secret to sign its requests with",
                        )
                        .into());
                    }
                };
                Some(Webhook {
                    url: url.trim().to_owned(),
                    secret,
                })
            }
        };
        let rule = AlertRule {
            id,
            org: tenant.org().clone(),
            name: draft.name.trim().to_owned(),
            condition: draft.condition,
            machines: draft.machines,
            channels: Channels {
                email: draft.email,
                webhook,
                in_app: draft.in_app,
            },
            enabled: draft.enabled,
            muted_until_ms: draft.muted_until_ms,
            created_by,
            created_ms,
        };
        rule.validate()?;
        let org = tenant.org();
        let machines = self.store.machines(org).await?;
        if let Some(unknown) = rule
            .machines
            .iter()
            .find(|id| !machines.iter().any(|m| &m.id == *id))
        {
            return Err(RuleError::new(
                "machines",
                format!("the organization has no machine `{unknown}`"),
            )
            .into());
        }
        for user in &rule.channels.email {
            if self.store.membership(org, user).await?.is_none() {
                return Err(RuleError::new(
                    "channels.email",
                    format!("`{user}` is not a member of the organization"),
                )
                .into());
            }
        }
        if let Some(hook) = &rule.channels.webhook {
            let refused = |e: WebhookError| RuleError::new("channels.webhook.url", e.to_string());
            let url = webhook::parse(&hook.url).map_err(refused)?;
            webhook::resolve(&url, &self.settings.addresses)
                .await
                .map_err(refused)?;
        }
        Ok(rule)
    }

    /// Records a change of `rule` in the audit log: its id and condition, never its name or
    /// webhook, which are the organization's own words and secrets.
    async fn audit(
        &self,
        app: &AppState,
        context: &RequestContext,
        tenant: &Tenant,
        action: &str,
        rule: &AlertRule,
    ) -> Result<(), AlertError> {
        let mut audit = Audit::new(action, context)
            .org(tenant.org())
            .detail("rule", &rule.id)
            .detail("condition", rule.condition.kind());
        if let Some(user) = tenant.user() {
            audit = audit.actor(user);
        }
        audit
            .record(app)
            .await
            .map_err(|e| AlertError::Internal(anyhow::anyhow!("{e}")))
    }
}
