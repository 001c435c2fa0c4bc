//! The alerts page: the organization's rules in words, with their machines, channels and
//! mutes; a form to add one; muting a rule for yourself or for everyone; the alerts open now
//! and the history of events with how each was delivered. Every operation is
//! [`crate::alerts::Alerts`]', as the API's are.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use chatter_model::alert::{
    self, AlarmLevel, Condition, DeliveryChannel, DeliveryState, EventKind,
};
use chatter_model::{AlertEvent, MachineId, UserId};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, Message, render};
use crate::accounts::RequestContext;
use crate::alerts::{AlertError, RuleDraft, WebhookDraft, message};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::time;

/// Events the history shows.
const HISTORY_LENGTH: usize = 200;

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    frame: Frame,
    org_name: String,
    time_zone: String,
    can_manage: bool,
    has_shifts: bool,
    rules: Vec<RuleRow>,
    machines: Vec<(String, String)>,
    members: Vec<(String, String)>,
    open: Vec<String>,
    events: Vec<EventRow>,
}

struct RuleRow {
    id: String,
    name: String,
    condition: String,
    machines: String,
    channels: String,
    enabled: bool,
    muted: Option<String>,
    muted_for_me: Option<String>,
    /// An idle-in-shift rule in an organization without shifts: it never fires.
    needs_shifts: bool,
}

struct EventRow {
    id: String,
    kind: &'static str,
    rule: String,
    machine: String,
    at: String,
    message: String,
    muted: bool,
    deliveries: Vec<String>,
}

/// Until when, as the page says it.
fn until_words(until_ms: Option<i64>, zone: &jiff::tz::TimeZone) -> String {
    match until_ms {
        None | Some(alert::MUTED_FOR_GOOD) => "until unmuted".to_owned(),
        Some(ms) => format!(
            "until {}",
            message::local_time(ms.saturating_mul(1_000_000), zone)
        ),
    }
}

/// A delivery in words: "E-mail to Ann: delivered", "Webhook: failed after 6 attempts (…)".
fn delivery_words(
    channel: &DeliveryChannel,
    state: &DeliveryState,
    attempts: u32,
    names: &HashMap<UserId, String>,
) -> String {
    let to = match channel {
        DeliveryChannel::Email { user } => format!(
            "E-mail to {}",
            names.get(user).map_or(user.as_str(), String::as_str)
        ),
        DeliveryChannel::Webhook => "Webhook".to_owned(),
        DeliveryChannel::InApp => "In app".to_owned(),
    };
    let tries = if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    };
    match state {
        DeliveryState::Pending => format!("{to}: pending{tries}"),
        DeliveryState::Delivered => format!("{to}: delivered{tries}"),
        DeliveryState::Failed { reason } => format!("{to}: failed{tries} ({reason})"),
    }
}

/// `GET /alerts`
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Alerts", Section::Alerts)
        .await?
        .done(&done);
    let organization = tenant.store().organization().await?;
    let (time_zone, has_shifts) = organization
        .as_ref()
        .map_or(("UTC".to_owned(), false), |org| {
            (org.time_zone.clone(), !org.shifts.is_empty())
        });
    let zone = time::zone(&time_zone);
    let machines = tenant.store().machines().await?;
    let machine_names: HashMap<MachineId, String> = machines
        .iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    let mut member_names = HashMap::new();
    for membership in tenant.store().members().await? {
        if let Some(user) = app.data.accounts().user(&membership.user).await? {
            member_names.insert(user.id, user.name);
        }
    }
    let rules = app.alerts.rules(&tenant).await.map_err(internal)?;
    let mine = app.alerts.my_mutes(&tenant).await.map_err(internal)?;
    let now = chatter_model::now_ms();
    let rule_names: HashMap<String, String> = rules
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let name_of = |id: &MachineId| {
        machine_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let rows = rules
        .iter()
        .map(|rule| {
            let mut channels = Vec::new();
            if !rule.channels.email.is_empty() {
                let names: Vec<&str> = rule
                    .channels
                    .email
                    .iter()
                    .map(|u| member_names.get(u).map_or(u.as_str(), String::as_str))
                    .collect();
                channels.push(format!("E-mail: {}", names.join(", ")));
            }
            if let Some(hook) = &rule.channels.webhook {
                let host = crate::alerts::webhook::parse(&hook.url)
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_owned))
                    .unwrap_or_else(|| hook.url.clone());
                channels.push(format!("Webhook to {host}"));
            }
            if rule.channels.in_app {
                channels.push("In app".to_owned());
            }
            RuleRow {
                id: rule.id.clone(),
                name: rule.name.clone(),
                condition: rule.condition.to_string(),
                machines: if rule.machines.is_empty() {
                    "All machines".to_owned()
                } else {
                    rule.machines
                        .iter()
                        .map(name_of)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                channels: if channels.is_empty() {
                    "None".to_owned()
                } else {
                    channels.join(" · ")
                },
                enabled: rule.enabled,
                muted: rule
                    .is_muted(now)
                    .then(|| until_words(rule.muted_until_ms, &zone)),
                muted_for_me: mine.get(&rule.id).map(|m| until_words(m.until_ms, &zone)),
                needs_shifts: !has_shifts
                    && matches!(rule.condition, Condition::IdleDuringShift { .. }),
            }
        })
        .collect();
    let open = app
        .alerts
        .open_alerts(tenant.org())
        .into_iter()
        .map(|(rule, machine)| {
            let rule = rule_names.get(&rule).cloned().unwrap_or(rule);
            format!("{} — {rule}", name_of(&machine))
        })
        .collect();
    let events = app
        .alerts
        .events(&tenant, HISTORY_LENGTH)
        .await
        .map_err(internal)?;
    let page = AlertsPage {
        frame,
        org_name: org_name(&tenant).await?,
        time_zone,
        can_manage: tenant.can(Permission::ManageAlerts),
        has_shifts,
        rules: rows,
        machines: machines
            .into_iter()
            .map(|m| (m.id.to_string(), m.name))
            .collect(),
        members: {
            let mut members: Vec<(String, String)> = member_names
                .iter()
                .map(|(id, name)| (id.to_string(), name.clone()))
                .collect();
            members.sort_by(|a, b| a.1.cmp(&b.1));
            members
        },
        open,
        events: events
            .iter()
            .map(|event| event_row(event, &zone, &member_names))
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

fn event_row(
    event: &AlertEvent,
    zone: &jiff::tz::TimeZone,
    names: &HashMap<UserId, String>,
) -> EventRow {
    EventRow {
        id: event.id.clone(),
        kind: match event.kind {
            EventKind::Fired => "fired",
            EventKind::Resolved => "resolved",
        },
        rule: event.rule_name.clone(),
        machine: event.machine_name.clone(),
        at: message::local_time(event.at, zone),
        message: event.message.clone(),
        muted: event.muted,
        deliveries: event
            .deliveries
            .iter()
            .map(|d| delivery_words(&d.channel, &d.state, d.attempts, names))
            .collect(),
    }
}

fn internal(error: AlertError) -> Failure {
    match error {
        AlertError::NotFound(_) => Failure::answer(
            Message::new("no-rule", "No such alert rule", StatusCode::NOT_FOUND)
                .link("/alerts", "Back to alerts"),
        ),
        other => Failure::internal(other),
    }
}

/// A refusal, as a page: what is wrong with the rule, and the way back.
fn refused(error: AlertError) -> Failure {
    match error {
        AlertError::Invalid(error) => Failure::answer(
            Message::new(
                "alert-rule-refused",
                "The rule was not saved",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .text(&error.to_string())
            .link("/alerts", "Back to alerts"),
        ),
        AlertError::Forbidden(message) => Failure::answer(
            Message::new("refused", "You cannot do this here", StatusCode::FORBIDDEN)
                .text(message)
                .link("/alerts", "Back to alerts"),
        ),
        other => internal(other),
    }
}

/// The form to add a rule. Machines and recipients come as repeated fields (no machine: all).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RuleForm {
    name: String,
    /// `in_alarm`, `in_alarm_warning`, `idle_during_shift`, `offline` or `part_count`.
    condition: String,
    minutes: String,
    parts: String,
    machine: Vec<String>,
    recipient: Vec<String>,
    webhook_url: String,
    webhook_secret: String,
    in_app: Option<String>,
}

fn invalid(field: &'static str, message: &str) -> AlertError {
    AlertError::Invalid(alert::RuleError::new(field, message))
}

impl RuleForm {
    fn draft(self) -> Result<RuleDraft, AlertError> {
        let number = |field: &'static str, text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| invalid(field, "enter a whole number"))
        };
        let minutes = |text: &str| {
            number("condition.minutes", text).and_then(|m| {
                u32::try_from(m).map_err(|_| invalid("condition.minutes", "too many minutes"))
            })
        };
        let condition = match self.condition.as_str() {
            "in_alarm" => Condition::InAlarm {
                minutes: minutes(&self.minutes)?,
                level: AlarmLevel::Fault,
            },
            "in_alarm_warning" => Condition::InAlarm {
                minutes: minutes(&self.minutes)?,
                level: AlarmLevel::Warning,
            },
            "idle_during_shift" => Condition::IdleDuringShift {
                minutes: minutes(&self.minutes)?,
            },
            "offline" => Condition::Offline {
                minutes: minutes(&self.minutes)?,
            },
            "part_count" => Condition::PartCount {
                parts: number("condition.parts", &self.parts)?,
            },
            _ => return Err(invalid("condition", "choose what the rule watches for")),
        };
        let machines = self
            .machine
            .into_iter()
            .map(MachineId::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("machines", &e.to_string()))?;
        let email = self
            .recipient
            .into_iter()
            .map(UserId::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("channels.email", &e.to_string()))?;
        let webhook = (!self.webhook_url.trim().is_empty()).then_some(WebhookDraft {
            url: self.webhook_url,
            secret: Some(self.webhook_secret),
        });
        Ok(RuleDraft {
            name: self.name,
            condition,
            machines,
            email,
            webhook,
            in_app: self.in_app.is_some(),
            enabled: true,
            muted_until_ms: None,
        })
    }
}

/// `POST /alerts/rules`
pub(crate) async fn create(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<RuleForm>,
) -> Result<Response, Failure> {
    let draft = form.draft().map_err(refused)?;
    app.alerts
        .create(&app, &context, &tenant, draft)
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_rule_added"))
}

/// `POST /alerts/rules/{id}/delete`
pub(crate) async fn delete(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    app.alerts
        .remove(&app, &context, &tenant, &id)
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_rule_deleted"))
}

/// How long a mute form asks for: `1`, `8` (hours) or `forever`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MuteForm {
    hours: Option<String>,
}

impl MuteForm {
    /// Until when, in milliseconds; `None` for "until unmuted".
    fn until_ms(&self) -> Result<Option<i64>, Failure> {
        match self.hours.as_deref().map(str::trim) {
            None | Some("forever") => Ok(None),
            Some(hours) => {
                let hours: i64 = hours
                    .parse()
                    .ok()
                    .filter(|h| (1..=24 * 7).contains(h))
                    .ok_or_else(|| {
                        refused(invalid(
                            "hours",
                            "mute for 1 to 168 hours, or until unmuted",
                        ))
                    })?;
                Ok(Some(chatter_model::now_ms() + hours * 3_600_000))
            }
        }
    }
}

/// `POST /alerts/rules/{id}/mute`: mutes the rule for the caller.
pub(crate) async fn mute_for_me(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    Form(form): Form<MuteForm>,
) -> Result<Response, Failure> {
    app.alerts.rule(&tenant, &id).await.map_err(refused)?;
    let until = form.until_ms()?;
    app.alerts
        .mute_for_me(&tenant, &id, until)
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_muted_for_me"))
}

/// `POST /alerts/rules/{id}/unmute`: ends the caller's mute.
pub(crate) async fn unmute_for_me(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    app.alerts
        .unmute_for_me(&tenant, &id)
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_unmuted_for_me"))
}

/// `POST /alerts/rules/{id}/mute-rule`: mutes the rule for everyone.
pub(crate) async fn mute_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
    Form(form): Form<MuteForm>,
) -> Result<Response, Failure> {
    app.alerts.rule(&tenant, &id).await.map_err(refused)?;
    let until = form.until_ms()?.unwrap_or(alert::MUTED_FOR_GOOD);
    app.alerts
        .mute_rule(&app, &context, &tenant, &id, Some(until))
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_rule_muted"))
}

/// `POST /alerts/rules/{id}/unmute-rule`
pub(crate) async fn unmute_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    app.alerts
        .mute_rule(&app, &context, &tenant, &id, None)
        .await
        .map_err(refused)?;
    Ok(cookies::done("/alerts", "alert_rule_unmuted"))
}
