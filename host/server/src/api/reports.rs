//! `/api/v1/reports`: the report plugins an organization can run, running one now, and the
//! archive of runs with their documents.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chatter_model::{Document, MachineId, PluginId, ReportRun, ReportSchedule, RunTrigger};
use serde::{Deserialize, Serialize};

use crate::accounts::{Audit, RequestContext};
use crate::api::data::{now, org_zone};
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::reports::cadence;
use crate::reports::schedules::NewSchedule;
use crate::reports::{ReportError, ReportKind, RunRequest};
use crate::time;

/// Most runs a list returns.
const MAX_RUNS: usize = 500;

/// What a refused run answers.
pub(crate) fn api_error(error: ReportError) -> ApiError {
    match error {
        error @ ReportError::UnknownReport(_) => {
            ApiError::not_found("report_not_found", error.to_string())
        }
        ReportError::Invalid(message) => ApiError::unprocessable("invalid_report_request", message),
        ReportError::Plugin(error) => {
            ApiError::unprocessable("report_unavailable", error.to_string())
        }
        ReportError::Store(error) => ApiError::internal(error),
        error @ ReportError::NoRandomness(_) => ApiError::internal(error),
    }
}

#[derive(Serialize)]
struct ParameterView {
    #[serde(rename = "type")]
    kind: String,
    description: String,
    default: Option<serde_json::Value>,
    required: bool,
}

#[derive(Serialize)]
struct ReportKindView {
    plugin: PluginId,
    version: String,
    description: String,
    parameters: BTreeMap<String, ParameterView>,
}

impl From<ReportKind> for ReportKindView {
    fn from(kind: ReportKind) -> Self {
        ReportKindView {
            plugin: kind.plugin,
            version: kind.version,
            description: kind.description,
            parameters: kind
                .parameters
                .into_iter()
                .map(|(name, field)| {
                    let view = ParameterView {
                        kind: field.kind.to_string(),
                        description: field.description,
                        default: field
                            .default
                            .and_then(|value| serde_json::to_value(value).ok()),
                        required: field.required,
                    };
                    (name, view)
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/reports`: the installed report plugins with their parameters.
pub(super) async fn catalog(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let kinds = app.reports.catalog().await.map_err(api_error)?;
    Ok(Json(
        kinds
            .into_iter()
            .map(ReportKindView::from)
            .collect::<Vec<_>>(),
    ))
}

/// The body of `POST /api/v1/reports/runs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunBody {
    plugin: PluginId,
    /// RFC 3339, or a date meaning local midnight.
    from: String,
    to: String,
    #[serde(default)]
    machines: Vec<MachineId>,
    #[serde(default)]
    parameters: BTreeMap<String, serde_json::Value>,
}

/// Parameter values as the plugin's `config` hands them over: text, numbers and booleans in
/// their TOML spelling.
pub(crate) fn parameter_text(
    parameters: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    parameters
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_parameter",
                        format!("parameter `{name}` must be a string, a number or a boolean"),
                    ));
                }
            };
            Ok((name, text))
        })
        .collect()
}

/// `POST /api/v1/reports/runs`: runs a report now and answers with the archived run, which
/// may have failed (`status.state = "failed"`, with what it produced before).
pub(super) async fn run(
    State(app): State<AppState>,
    tenant: Tenant,
    Json(body): Json<RunBody>,
) -> Result<impl IntoResponse, ApiError> {
    let zone = org_zone(&tenant).await?;
    let bound = |text: &str| {
        time::parse_bound(text, &zone.zone)
            .map_err(|message| ApiError::bad_request("invalid_range", message))
    };
    let user = tenant
        .user()
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "forbidden", "users run reports"))?;
    let request = RunRequest {
        plugin: body.plugin,
        period: (bound(&body.from)?, bound(&body.to)?),
        machines: body.machines,
        parameters: parameter_text(body.parameters)?,
        trigger: RunTrigger::User { user },
    };
    let run = app
        .reports
        .run(&app, &tenant, request)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(RunView::from(run))))
}

/// A run as the API shows it.
#[derive(Serialize)]
pub(crate) struct RunView {
    #[serde(flatten)]
    run: ReportRun,
    from: String,
    to: String,
}

impl From<ReportRun> for RunView {
    fn from(run: ReportRun) -> Self {
        RunView {
            from: time::format(run.period.0),
            to: time::format(run.period.1),
            run,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/reports/runs`: the archive, newest first.
pub(super) async fn list_runs(
    tenant: Tenant,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_RUNS);
    let runs = tenant.store().report_runs(limit).await?;
    Ok(Json(
        runs.into_iter().map(RunView::from).collect::<Vec<_>>(),
    ))
}

fn run_not_found(id: &str) -> ApiError {
    ApiError::not_found("run_not_found", format!("no report run `{id}`"))
}

/// `GET /api/v1/reports/runs/{id}`
pub(super) async fn get_run(
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let run = tenant
        .store()
        .report_run(&id)
        .await?
        .ok_or_else(|| run_not_found(&id))?;
    Ok(Json(RunView::from(run)))
}

/// `GET /api/v1/reports/runs/{id}/documents/{name}`: the document, as a download.
pub(super) async fn document(
    tenant: Tenant,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let document = tenant
        .store()
        .report_document(&id, &name)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "document_not_found",
                format!("report run `{id}` has no document `{name}`"),
            )
        })?;
    Ok(document_response(document, Disposition::Attachment))
}

/// How a document is handed to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Saved as a file.
    Attachment,
    /// Shown in a frame of the report page.
    Inline,
}

/// The document's bytes with its type. Inline documents are sandboxed: whatever a plugin
/// wrote runs no script, loads nothing and cannot reach the page around it.
pub(crate) fn document_response(document: Document, disposition: Disposition) -> Response {
    let content_type = match document.media_type.as_str() {
        media @ ("text/html" | "text/csv" | "text/plain") => format!("{media}; charset=utf-8"),
        media => media.to_owned(),
    };
    let disposition_value = match disposition {
        Disposition::Attachment => format!("attachment; filename=\"{}\"", document.name),
        Disposition::Inline => format!("inline; filename=\"{}\"", document.name),
    };
    let mut response = document.content.into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &content_type);
    set(header::CONTENT_DISPOSITION, &disposition_value);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CACHE_CONTROL, "private, no-store");
    let (ancestors, framing) = match disposition {
        Disposition::Attachment => ("'none'", "DENY"),
        Disposition::Inline => ("'self'", "SAMEORIGIN"),
    };
    set(header::X_FRAME_OPTIONS, framing);
    set(
        header::CONTENT_SECURITY_POLICY,
        &format!(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
             frame-ancestors {ancestors}"
        ),
    );
    response
}

/// A schedule as the API shows it, with when it runs next.
#[derive(Serialize)]
pub(crate) struct ScheduleView {
    #[serde(flatten)]
    schedule: ReportSchedule,
    next_run: Option<String>,
}

async fn schedule_view(
    tenant: &Tenant,
    schedule: ReportSchedule,
) -> Result<ScheduleView, ApiError> {
    let zone = org_zone(tenant).await?;
    let next_run = cadence::next_run(&schedule.cadence, &zone.zone, now())
        .ok()
        .map(time::format);
    Ok(ScheduleView { schedule, next_run })
}

fn schedule_not_found(id: &str) -> ApiError {
    ApiError::not_found("schedule_not_found", format!("no report schedule `{id}`"))
}

async fn existing_schedule(tenant: &Tenant, id: &str) -> Result<ReportSchedule, ApiError> {
    tenant
        .store()
        .report_schedule(id)
        .await?
        .ok_or_else(|| schedule_not_found(id))
}

/// `GET /api/v1/reports/schedules`
pub(super) async fn list_schedules(tenant: Tenant) -> Result<impl IntoResponse, ApiError> {
    let mut views = Vec::new();
    for schedule in tenant.store().report_schedules().await? {
        views.push(schedule_view(&tenant, schedule).await?);
    }
    Ok(Json(views))
}

/// `POST /api/v1/reports/schedules`
pub(super) async fn create_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    body: Result<Json<NewSchedule>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(new) =
        body.map_err(|rejection| ApiError::unprocessable("invalid_body", rejection.body_text()))?;
    let schedule = app
        .reports
        .create_schedule(&tenant, new)
        .await
        .map_err(api_error)?;
    audit(
        &app,
        &context,
        &tenant,
        "report.schedule_create",
        &schedule.id,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(schedule_view(&tenant, schedule).await?),
    ))
}

/// `GET /api/v1/reports/schedules/{id}`
pub(super) async fn get_schedule(
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let schedule = existing_schedule(&tenant, &id).await?;
    Ok(Json(schedule_view(&tenant, schedule).await?))
}

/// `DELETE /api/v1/reports/schedules/{id}`
pub(super) async fn delete_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !app
        .reports
        .remove_schedule(&tenant, &id)
        .await
        .map_err(api_error)?
    {
        return Err(schedule_not_found(&id));
    }
    audit(&app, &context, &tenant, "report.schedule_delete", &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/reports/schedules/{id}/run`: runs the schedule now as if it were due now
/// (retried, archived and e-mailed) and answers with the run.
pub(super) async fn run_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let schedule = existing_schedule(&tenant, &id).await?;
    let run = app
        .reports
        .run_schedule(&app, &schedule, now())
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(RunView::from(run))))
}

/// Records a change of the organization's schedules in the audit log.
pub(crate) async fn audit(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    action: &str,
    schedule: &str,
) -> Result<(), ApiError> {
    let mut entry = Audit::new(action, context)
        .org(tenant.org())
        .detail("schedule", schedule);
    if let Some(user) = tenant.user() {
        entry = entry.actor(user);
    }
    entry.record(app).await.map_err(ApiError::internal)
}
