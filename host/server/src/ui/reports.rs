//! The reports pages: run a report now (period, machines, its parameters), the archive of runs,
//! and one run with its recommendations, its documents and its HTML shown in the page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use chatter_model::{
    Cadence, MachineId, PluginId, ReportRun, RunStatus, RunTrigger, SchedulePeriod, Severity,
    ShiftTime, UserId, Weekday,
};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Frame, Section};
use super::page::{Failure, Message, When, render};
use crate::accounts::RequestContext;
use crate::api::data::org_zone;
use crate::api::reports::audit;
use crate::api::reports::{Disposition, document_response};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::reports::schedules::NewSchedule;
use crate::reports::{RunRequest, cadence};
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
    schedules: Vec<ScheduleRow>,
    members: Vec<(String, String)>,
}

struct ScheduleRow {
    id: String,
    name: String,
    plugin: String,
    cadence: String,
    period: &'static str,
    next_run: String,
    recipients: usize,
    last_run: Option<String>,
}

fn cadence_text(cadence: &Cadence) -> String {
    match cadence {
        Cadence::Day { at } => format!("every day at {at}"),
        Cadence::Week { day, at } => format!("every {} at {at}", day.full_name()),
        Cadence::Cron { expression } => format!("cron `{expression}`"),
    }
}

fn period_name(period: SchedulePeriod) -> &'static str {
    match period {
        SchedulePeriod::PreviousDay => "the day before",
        SchedulePeriod::PreviousWeek => "the week before",
        SchedulePeriod::PreviousMonth => "the month before",
    }
}

async fn schedule_rows(
    tenant: &Tenant,
    zone: &jiff::tz::TimeZone,
) -> Result<Vec<ScheduleRow>, Failure> {
    let schedules = tenant.store().report_schedules().await?;
    Ok(schedules
        .into_iter()
        .map(|s| ScheduleRow {
            next_run: cadence::next_run(&s.cadence, zone, crate::api::data::now())
                .ok()
                .and_then(|at| time::to_zoned(at, zone).ok())
                .map_or_else(
                    || "never".into(),
                    |z| z.strftime("%Y-%m-%d %H:%M").to_string(),
                ),
            cadence: cadence_text(&s.cadence),
            period: period_name(s.period),
            recipients: s.recipients.len(),
            last_run: s.last_run,
            plugin: s.plugin.to_string(),
            name: s.name,
            id: s.id,
        })
        .collect())
}

async fn member_choices(app: &AppState, tenant: &Tenant) -> Result<Vec<(String, String)>, Failure> {
    let mut members = Vec::new();
    for membership in tenant.store().members().await? {
        if let Some(user) = app.data.accounts().user(&membership.user).await? {
            members.push((
                user.id.to_string(),
                format!("{} <{}>", user.name, user.email),
            ));
        }
    }
    Ok(members)
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
    let schedules = schedule_rows(&tenant, &zone.zone).await?;
    let members = member_choices(&app, &tenant).await?;
    let page = ReportsPage {
        schedules,
        members,
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

/// The schedule form.
#[derive(Deserialize)]
pub(crate) struct ScheduleForm {
    name: String,
    plugin: String,
    every: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    expression: String,
    period: String,
    #[serde(default)]
    recipient: Vec<String>,
}

impl ScheduleForm {
    fn cadence(&self) -> Result<Cadence, String> {
        let at = || {
            self.at
                .parse::<ShiftTime>()
                .map_err(|e| format!("the time: {e}"))
        };
        match self.every.as_str() {
            "day" => Ok(Cadence::Day { at: at()? }),
            "week" => Ok(Cadence::Week {
                day: self
                    .day
                    .parse::<Weekday>()
                    .map_err(|e| format!("the day: {e}"))?,
                at: at()?,
            }),
            "cron" => Ok(Cadence::Cron {
                expression: self.expression.trim().to_owned(),
            }),
            other => Err(format!("`{other}` is not day, week or cron")),
        }
    }

    fn period(&self) -> Result<SchedulePeriod, String> {
        match self.period.as_str() {
            "previous_day" => Ok(SchedulePeriod::PreviousDay),
            "previous_week" => Ok(SchedulePeriod::PreviousWeek),
            "previous_month" => Ok(SchedulePeriod::PreviousMonth),
            other => Err(format!("`{other}` is not a period")),
        }
    }

    fn into_new(self) -> Result<NewSchedule, String> {
        Ok(NewSchedule {
            cadence: self.cadence()?,
            period: self.period()?,
            plugin: PluginId::new(self.plugin.clone()).map_err(|e| e.to_string())?,
            recipients: self
                .recipient
                .iter()
                .map(|id| UserId::new(id.clone()).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
            name: self.name,
            machines: Vec::new(),
            parameters: Default::default(),
        })
    }
}

/// `POST /reports/schedules`
pub(crate) async fn create_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, Failure> {
    let new = form.into_new().map_err(|e| refused_schedule(&e))?;
    let schedule = app
        .reports
        .create_schedule(&tenant, new)
        .await
        .map_err(|e| refused_schedule(&e.to_string()))?;
    audit(
        &app,
        &context,
        &tenant,
        "report.schedule_create",
        &schedule.id,
    )
    .await
    .map_err(|_| Failure::internal("recording the schedule in the audit log failed"))?;
    Ok(cookies::done("/reports", "schedule_saved"))
}

/// `POST /reports/schedules/{id}/delete`
pub(crate) async fn delete_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let removed = app
        .reports
        .remove_schedule(&tenant, &id)
        .await
        .map_err(Failure::internal)?;
    if !removed {
        return Err(not_found());
    }
    audit(&app, &context, &tenant, "report.schedule_delete", &id)
        .await
        .map_err(|_| Failure::internal("recording the deletion in the audit log failed"))?;
    Ok(cookies::done("/reports", "schedule_deleted"))
}

/// `POST /reports/schedules/{id}/run`: runs it now, then shows the run.
pub(crate) async fn run_schedule(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let schedule = tenant
        .store()
        .report_schedule(&id)
        .await?
        .ok_or_else(not_found)?;
    let run = app
        .reports
        .run_schedule(&app, &schedule, crate::api::data::now())
        .await
        .map_err(|e| refused(&e.to_string()))?;
    Ok(cookies::done(
        &format!("/reports/runs/{}", run.id),
        "report_ran",
    ))
}

fn refused_schedule(text: &str) -> Failure {
    Failure::answer(
        Message::new(
            "schedule-refused",
            "The schedule was not saved",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .text(text)
        .link("/reports", "Back to reports"),
    )
}
