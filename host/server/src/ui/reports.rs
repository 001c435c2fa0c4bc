//! The reports pages: run a report now (period, machines, its parameters), the archive of runs,
//! and one run with its recommendations, its documents and its HTML shown in the page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use chatter_model::{MachineId, PluginId, ReportRun, RunStatus, RunTrigger, Severity};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Frame, Section};
use super::page::{Failure, Message, When, render};
use crate::api::data::org_zone;
use crate::api::reports::{Disposition, document_response};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::reports::RunRequest;
use crate::time;

/// Runs the archive page lists.
const ARCHIVE_LENGTH: usize = 100;

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    frame: Frame,
    org_name: String,
    can_run: bool,
    kinds: Vec<KindView>,
    machines: Vec<(String, String)>,
    from: String,
    to: String,
    runs: Vec<RunRow>,
}

struct KindView {
    plugin: String,
    description: String,
    parameters: Vec<ParameterInput>,
}

struct ParameterInput {
    name: String,
    description: String,
    value: String,
    input_type: &'static str,
}

struct RunRow {
    id: String,
    title: String,
    period: String,
    status: &'static str,
    created: When,
    recommendations: usize,
}

fn status_name(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed { .. } => "failed",
    }
}

/// The period as local dates: `2016-05-10 – 2016-05-11`.
fn period_text(run: &ReportRun, zone: &jiff::tz::TimeZone) -> String {
    let date = |at| time::to_zoned(at, zone).map_or_else(|_| "?".into(), |z| z.date().to_string());
    // The end is exclusive: a period ending at midnight ends the day before.
    format!("{} – {}", date(run.period.0), date(run.period.1 - 1))
}

/// `GET /reports`
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Reports", Section::Reports).await?;
    let zone = org_zone(&tenant).await?;
    let kinds = app.reports.catalog().await.map_err(Failure::internal)?;
    let runs = tenant.store().report_runs(ARCHIVE_LENGTH).await?;
    let machines = tenant.store().machines().await?;
    let today = jiff::Zoned::now().with_time_zone(zone.zone.clone()).date();
    let page = ReportsPage {
        frame,
        org_name: org_name(&tenant).await?,
        can_run: tenant.can(Permission::RunReports),
        kinds: kinds
            .into_iter()
            .map(|kind| KindView {
                plugin: kind.plugin.to_string(),
                description: kind.description,
                parameters: kind
                    .parameters
                    .into_iter()
                    .map(|(name, field)| ParameterInput {
                        input_type: match field.kind {
                            chatter_runtime::manifest::ConfigType::Integer
                            | chatter_runtime::manifest::ConfigType::Number => "number",
                            _ => "text",
                        },
                        value: field
                            .default
                            .map(|value| match value {
                                toml::Value::String(text) => text,
                                other => other.to_string(),
                            })
                            .unwrap_or_default(),
                        description: field.description,
                        name,
                    })
                    .collect(),
            })
            .collect(),
        machines: machines
            .into_iter()
            .map(|m| (m.id.to_string(), m.name))
            .collect(),
        from: today
            .yesterday()
            .map_or_else(|_| today.to_string(), |d| d.to_string()),
        to: today.to_string(),
        runs: runs
            .iter()
            .map(|run| RunRow {
                id: run.id.clone(),
                title: run.title.clone(),
                period: period_text(run, &zone.zone),
                status: status_name(&run.status),
                created: When::at(run.created_ms),
                recommendations: run.recommendations.len(),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The run form. Parameters come as `param.NAME` fields, machines as repeated `machine`
/// fields (none: all).
#[derive(Deserialize)]
pub(crate) struct RunForm {
    plugin: String,
    from: String,
    to: String,
    #[serde(default)]
    machine: Vec<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

fn refused(text: &str) -> Failure {
    Failure::answer(
        Message::new(
            "report-refused",
            "The report was not run",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .text(text)
        .link("/reports", "Back to reports"),
    )
}

/// `POST /reports/run`: runs the report now, then shows the run (failed or not).
pub(crate) async fn run(
    State(app): State<AppState>,
    tenant: Tenant,
    Form(form): Form<RunForm>,
) -> Result<Response, Failure> {
    let zone = org_zone(&tenant).await?;
    let plugin = PluginId::new(form.plugin.clone()).map_err(|e| refused(&e.to_string()))?;
    let from = time::parse_bound(&form.from, &zone.zone).map_err(|e| refused(&e))?;
    // The form's "to" is the last day included.
    let to = time::parse_bound(&form.to, &zone.zone)
        .and_then(|to| time::start_of_day_after(to, 1, &zone.zone))
        .map_err(|e| refused(&e))?;
    let machines = form
        .machine
        .into_iter()
        .map(MachineId::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refused(&e.to_string()))?;
    let prefix = format!("{plugin}.");
    let parameters = form
        .rest
        .into_iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix(&prefix)?.to_owned();
            (!value.trim().is_empty()).then(|| (name, value.trim().to_owned()))
        })
        .collect();
    let user = tenant
        .user()
        .cloned()
        .ok_or_else(|| refused("Only members run reports."))?;
    let request = RunRequest {
        plugin,
        period: (from, to),
        machines,
        parameters,
        trigger: RunTrigger::User { user },
    };
    match app.reports.run(&app, &tenant, request).await {
        Ok(run) => Ok(cookies::done(
            &format!("/reports/runs/{}", run.id),
            "report_ran",
        )),
        Err(error) => Err(refused(&error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "report_run.html")]
struct RunPage {
    frame: Frame,
    id: String,
    title: String,
    plugin: String,
    period: String,
    status: &'static str,
    failure: Option<String>,
    created: When,
    attempts: u32,
    machines: String,
    recommendations: Vec<RecommendationView>,
    documents: Vec<DocumentView>,
    html: Option<String>,
}

struct RecommendationView {
    severity: &'static str,
    machine: Option<String>,
    text: String,
    evidence: Vec<(String, String)>,
}

struct DocumentView {
    name: String,
    media_type: String,
    size: String,
}

fn size_text(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn not_found() -> Failure {
    Failure::answer(
        Message::new("no-run", "No such report run", StatusCode::NOT_FOUND)
            .link("/reports", "Back to reports"),
    )
}

/// `GET /reports/runs/{id}`
pub(crate) async fn show_run(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let run = tenant
        .store()
        .report_run(&id)
        .await?
        .ok_or_else(not_found)?;
    let zone = org_zone(&tenant).await?;
    let frame = Frame::signed_in(&app, &caller, &run.title, Section::Reports).await?;
    let mut recommendations = run.recommendations.clone();
    recommendations.sort_by_key(|r| std::cmp::Reverse(r.severity));
    let page = RunPage {
        frame,
        id: run.id.clone(),
        title: run.title.clone(),
        plugin: format!("{} {}", run.plugin, run.plugin_version),
        period: period_text(&run, &zone.zone),
        status: status_name(&run.status),
        failure: match &run.status {
            RunStatus::Failed { message, .. } => Some(message.clone()),
            _ => None,
        },
        created: When::at(run.created_ms),
        attempts: run.attempts,
        machines: run
            .machines
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        recommendations: recommendations
            .into_iter()
            .map(|r| RecommendationView {
                severity: match r.severity {
                    Severity::Info => "info",
                    Severity::Warning => "warning",
                    Severity::Critical => "critical",
                },
                machine: r.machine.map(|m| m.to_string()),
                text: r.text,
                evidence: r.evidence.into_iter().map(|e| (e.label, e.value)).collect(),
            })
            .collect(),
        html: run
            .documents
            .iter()
            .find(|d| d.media_type == "text/html")
            .map(|d| d.name.clone()),
        documents: run
            .documents
            .iter()
            .map(|d| DocumentView {
                name: d.name.clone(),
                media_type: d.media_type.clone(),
                size: size_text(d.bytes),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /reports/runs/{id}/view/{name}`: a document shown inside the run's page, sandboxed.
pub(crate) async fn view_document(
    tenant: Tenant,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let document = tenant
        .store()
        .report_document(&id, &name)
        .await?
        .ok_or_else(not_found)?;
    Ok(document_response(document, Disposition::Inline))
}
