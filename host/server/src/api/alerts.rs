//! `/api/v1/alerts`: the organization's alert rules, each member's own mute of a rule, and the
//! history of events. The rules' checks and the evaluation are [`crate::alerts`]'.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chatter_model::alert::{self, Condition, Delivery, EventKind};
use chatter_model::{AlertEvent, AlertRule, MachineId, UserId, UserMute};
use serde::{Deserialize, Serialize};

use super::machines::invalid_body;
use crate::accounts::RequestContext;
use crate::alerts::{RuleDraft, WebhookDraft};
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::time;

/// Most events a list returns.
const MAX_EVENTS: usize = 1_000;

/// A webhook as a rule's body gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookBody {
    url: String,
    /// Left out on a `PUT`: the saved secret stays.
    #[serde(default)]
    secret: Option<String>,
}

/// Channels as a rule's body gives them.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(super) struct ChannelsBody {
    email: Vec<UserId>,
    webhook: Option<WebhookBody>,
    in_app: bool,
}

/// The body of a `POST` or `PUT`: the whole rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    name: String,
    condition: Condition,
    #[serde(default)]
    machines: Vec<MachineId>,
    #[serde(default)]
    channels: ChannelsBody,
    #[serde(default = "yes")]
    enabled: bool,
    /// RFC 3339, or `"forever"`; `null` or absent: not muted.
    #[serde(default)]
    muted_until: Option<String>,
}

fn yes() -> bool {
    true
}

/// Reads `forever` or an RFC 3339 time as milliseconds since the Unix epoch.
fn until_ms(field: &str, text: &str) -> Result<i64, ApiError> {
    if text.trim().eq_ignore_ascii_case("forever") {
        return Ok(alert::MUTED_FOR_GOOD);
    }
    time::parse(text)
        .map(|at| at.div_euclid(1_000_000))
        .map_err(|message| ApiError::unprocessable("invalid_rule", format!("{field}: {message}")))
}

fn until_text(ms: i64) -> String {
    if ms == alert::MUTED_FOR_GOOD {
        "forever".to_owned()
    } else {
        time::format(ms.saturating_mul(1_000_000))
    }
}

impl RuleBody {
    fn draft(self) -> Result<RuleDraft, ApiError> {
        let muted_until_ms = self
            .muted_until
            .as_deref()
            .map(|text| until_ms("muted_until", text))
            .transpose()?;
        Ok(RuleDraft {
            name: self.name,
            condition: self.condition,
            machines: self.machines,
            email: self.channels.email,
            webhook: self.channels.webhook.map(|hook| WebhookDraft {
                url: hook.url,
                secret: hook.secret,
            }),
            in_app: self.channels.in_app,
            enabled: self.enabled,
            muted_until_ms,
        })
    }
}

/// A webhook as the API shows it: never its secret.
#[derive(Serialize)]
struct WebhookView {
    url: String,
    secret_set: bool,
}

#[derive(Serialize)]
struct ChannelsView {
    email: Vec<UserId>,
    webhook: Option<WebhookView>,
    in_app: bool,
}

/// A rule as the API shows it.
#[derive(Serialize)]
pub(super) struct RuleView {
    id: String,
    name: String,
    condition: Condition,
    /// The condition in words.
    description: String,
    machines: Vec<MachineId>,
    channels: ChannelsView,
    enabled: bool,
    muted_until: Option<String>,
    /// The caller's own mute, if it holds: until when (`forever` until they unmute).
    muted_for_me: Option<String>,
    created_by: UserId,
    created_at: String,
}

impl RuleView {
    fn new(rule: AlertRule, mine: Option<&UserMute>) -> Self {
        let now = chatter_model::now_ms();
        RuleView {
            description: rule.condition.to_string(),
            muted_until: rule
                .muted_until_ms
                .filter(|until| *until > now)
                .map(until_text),
            muted_for_me: mine
                .map(|mute| mute.until_ms.map_or_else(|| "forever".into(), until_text)),
            created_at: time::format(rule.created_ms.saturating_mul(1_000_000)),
            channels: ChannelsView {
                email: rule.channels.email,
                webhook: rule.channels.webhook.map(|hook| WebhookView {
                    url: hook.url,
                    secret_set: !hook.secret.is_empty(),
                }),
                in_app: rule.channels.in_app,
            },
            id: rule.id,
            name: rule.name,
            condition: rule.condition,
            machines: rule.machines,
            enabled: rule.enabled,
            created_by: rule.created_by,
        }
    }
}

/// `GET /api/v1/alerts/rules`: the organization's rules, oldest first.
pub(super) async fn list_rules(
    State(app): State<AppState>,
    tenant: Tenant,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    let rules = app.alerts.rules(&tenant).await?;
    let mine = app.alerts.my_mutes(&tenant).await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|rule| {
                let mute = mine.get(&rule.id);
                RuleView::new(rule, mute)
            })
            .collect(),
    ))
}

/// `POST /api/v1/alerts/rules`: answers 201 with the rule as saved.
pub(super) async fn create_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    body: Result<Json<RuleBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    let rule = app
        .alerts
        .create(&app, &context, &tenant, body.draft()?)
        .await?;
    Ok((StatusCode::CREATED, Json(RuleView::new(rule, None))))
}

/// `GET /api/v1/alerts/rules/{id}`
pub(super) async fn get_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    let rule = app.alerts.rule(&tenant, &id).await?;
    let mine = app.alerts.my_mutes(&tenant).await?;
    let mute = mine.get(&rule.id);
    Ok(Json(RuleView::new(rule, mute)))
}

/// `PUT /api/v1/alerts/rules/{id}`: replaces a rule that exists (it never creates one).
pub(super) async fn replace_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
    body: Result<Json<RuleBody>, JsonRejection>,
) -> Result<Json<RuleView>, ApiError> {
    // An unknown rule is a 404 before the body is judged.
    app.alerts.rule(&tenant, &id).await?;
    let Json(body) = body.map_err(invalid_body)?;
    let rule = app
        .alerts
        .replace(&app, &context, &tenant, &id, body.draft()?)
        .await?;
    let mine = app.alerts.my_mutes(&tenant).await?;
    let mute = mine.get(&rule.id);
    Ok(Json(RuleView::new(rule, mute)))
}

/// `DELETE /api/v1/alerts/rules/{id}`: 204; the rule's events stay in the history.
pub(super) async fn delete_rule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.alerts.remove(&app, &context, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST …/mute`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct MuteBody {
    /// RFC 3339; absent or `null`: until unmuted.
    #[serde(default)]
    until: Option<String>,
}

#[derive(Serialize)]
pub(super) struct MuteView {
    rule: String,
    user: UserId,
    until: String,
}

/// `POST /api/v1/alerts/rules/{id}/mute`: mutes the rule for the caller only.
pub(super) async fn mute(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    body: Option<Json<MuteBody>>,
) -> Result<Json<MuteView>, ApiError> {
    // The rule first: a mute of another organization's rule is a 404 whatever the body.
    app.alerts.rule(&tenant, &id).await?;
    let body = body.map(|Json(body)| body).unwrap_or_default();
    let until = match body.until.as_deref() {
        None => None,
        Some(text) => {
            let at = time::parse(text).map_err(|message| {
                ApiError::unprocessable("invalid_mute", format!("until: {message}"))
            })?;
            Some(at.div_euclid(1_000_000))
        }
    };
    let mute = app.alerts.mute_for_me(&tenant, &id, until).await?;
    Ok(Json(MuteView {
        until: mute.until_ms.map_or_else(|| "forever".into(), until_text),
        rule: mute.rule,
        user: mute.user,
    }))
}

/// `DELETE /api/v1/alerts/rules/{id}/mute`: ends the caller's mute; 204 either way.
pub(super) async fn unmute(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.alerts.unmute_for_me(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An event as the API shows it.
#[derive(Serialize)]
pub(super) struct EventView {
    id: String,
    rule: String,
    rule_name: String,
    machine: MachineId,
    machine_name: String,
    kind: EventKind,
    at: String,
    since: Option<String>,
    message: String,
    alarm: Option<alert::AlarmNote>,
    resolves: Option<String>,
    muted: bool,
    deliveries: Vec<Delivery>,
    created_at: String,
}

impl From<AlertEvent> for EventView {
    fn from(event: AlertEvent) -> Self {
        EventView {
            id: event.id,
            rule: event.rule,
            rule_name: event.rule_name,
            machine: event.machine,
            machine_name: event.machine_name,
            kind: event.kind,
            at: time::format(event.at),
            since: event.since.map(time::format),
            message: event.message,
            alarm: event.alarm,
            resolves: event.resolves,
            muted: event.muted,
            deliveries: event.deliveries,
            created_at: time::format(event.created_ms.saturating_mul(1_000_000)),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct EventsQuery {
    limit: Option<usize>,
}

/// The history and the alerts open now.
#[derive(Serialize)]
pub(super) struct EventsView {
    /// (rule, machine) of every alert fired and not resolved.
    open: Vec<OpenView>,
    /// The latest events, newest first.
    events: Vec<EventView>,
}

#[derive(Serialize)]
struct OpenView {
    rule: String,
    machine: MachineId,
}

/// `GET /api/v1/alerts/events?limit=`: the history, newest first, and the open alerts.
pub(super) async fn events(
    State(app): State<AppState>,
    tenant: Tenant,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventsView>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_EVENTS);
    let events = app.alerts.events(&tenant, limit).await?;
    let open = app
        .alerts
        .open_alerts(tenant.org())
        .into_iter()
        .map(|(rule, machine)| OpenView { rule, machine })
        .collect();
    Ok(Json(EventsView {
        open,
        events: events.into_iter().map(EventView::from).collect(),
    }))
}
