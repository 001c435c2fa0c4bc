//! Report schedules: an organization's reports that run by themselves and are e-mailed to some
//! of its members.
//!
//! [`Reports::run_schedules`] runs for the life of the server: it sleeps until the next
//! schedule is due (or a schedule changes), runs what is due, and goes back to sleep — runs
//! missed while the server was down are not made up. A due schedule's run that fails is run
//! again after a delay, a few times; whatever the outcome, the run is archived and e-mailed
//! (a failed one as failed), so no run is dropped silently.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chatter_model::{
    Cadence, MachineId, OrgId, PluginId, ReportRun, ReportSchedule, RunStatus, RunTrigger,
    SchedulePeriod, Timestamp, UserId, now_ms,
};
use chatter_store::Store;
use serde::Deserialize;

use super::cadence::{self, next_run};
use super::{ReportError, Reports, RunRequest, delivery};
use crate::api::data::now;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::time;

/// How long the scheduler sleeps at most before looking at the schedules again.
const LONGEST_SLEEP: Duration = Duration::from_secs(3_600);
/// Most schedules an organization may have.
pub const MAX_SCHEDULES: usize = 50;

/// How a scheduled run is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs of the plugin at most, the first included.
    pub attempts: u32,
    /// The wait between two.
    pub delay: Duration,
}

/// A schedule as a member asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// Its name.
    pub name: String,
    /// The report plugin.
    pub plugin: PluginId,
    /// When it runs.
    pub cadence: Cadence,
    /// What each run covers.
    pub period: SchedulePeriod,
    /// The machines; all when empty.
    #[serde(default)]
    pub machines: Vec<MachineId>,
    /// The report's parameters, as text.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Members the report goes to.
    #[serde(default)]
    pub recipients: Vec<UserId>,
}

impl Reports {
    /// Checks `new` and stores it as a schedule of the tenant's organization.
    pub async fn create_schedule(
        &self,
        tenant: &Tenant,
        new: NewSchedule,
    ) -> Result<ReportSchedule, ReportError> {
        let invalid = |message: String| ReportError::Invalid(message);
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(invalid("a schedule's name has 1 to 100 characters".into()));
        }
        let existing = tenant.store().report_schedules().await?;
        if existing.len() >= MAX_SCHEDULES {
            return Err(invalid(format!(
                "an organization has at most {MAX_SCHEDULES} schedules"
            )));
        }
        let zone = org_zone(tenant).await?;
        next_run(&new.cadence, &zone, now()).map_err(|e| invalid(e.to_string()))?;
        let plugin = self
            .plugin(&new.plugin)
            .await
            .map_err(|error| match error {
                // Here the plugin is a field of the schedule, not the resource asked for.
                ReportError::UnknownReport(_) => invalid(error.to_string()),
                other => other,
            })?;
        plugin
            .manifest
            .resolve_config(&new.parameters)
            .map_err(|e| invalid(e.to_string()))?;
        super::run_machines(tenant, &new.machines).await?;
        let recipients = members_only(tenant, new.recipients).await?;
        let user = tenant
            .user()
            .cloned()
            .ok_or_else(|| invalid("only members make schedules".into()))?;
        let schedule = ReportSchedule {
            id: super::new_run_id()?,
            org: tenant.org().clone(),
            name,
            plugin: new.plugin,
            parameters: new.parameters,
            machines: new.machines,
            cadence: new.cadence,
            period: new.period,
            recipients,
            created_by: user,
            created_ms: now_ms(),
            last_run: None,
        };
        tenant.store().put_report_schedule(&schedule).await?;
        self.schedules_changed.notify_one();
        Ok(schedule)
    }

    /// Removes the tenant's schedule `id`; returns whether it was there.
    pub async fn remove_schedule(&self, tenant: &Tenant, id: &str) -> Result<bool, ReportError> {
        let removed = tenant.store().remove_report_schedule(id).await?;
        self.schedules_changed.notify_one();
        Ok(removed)
    }

    /// Runs `schedule` as if it were due at `at`: the period before `at`, retried while it
    /// fails, archived, and e-mailed to its recipients.
    #[tracing::instrument(name = "reports.scheduled", skip_all, fields(org = %schedule.org, schedule = %schedule.id))]
    pub async fn run_schedule(
        &self,
        app: &AppState,
        schedule: &ReportSchedule,
        at: Timestamp,
    ) -> Result<ReportRun, ReportError> {
        let tenant = app
            .data
            .for_service(schedule.org.clone(), "report schedule");
        let zone = org_zone(&tenant).await?;
        let request = RunRequest {
            plugin: schedule.plugin.clone(),
            period: cadence::period_of(schedule.period, &zone, at).map_err(ReportError::Invalid)?,
            machines: schedule.machines.clone(),
            parameters: schedule.parameters.clone(),
            trigger: RunTrigger::Schedule {
                schedule: schedule.id.clone(),
            },
        };
        let outcome = self
            .run_with_retries(
                app,
                &tenant,
                request.clone(),
                Some(schedule.name.clone()),
                self.retry.attempts,
                self.retry.delay,
            )
            .await;
        let run = match outcome {
            Ok(run) => run,
            // A schedule that can no longer run (its plugin or a machine is gone) still
            // leaves a failed run in the archive, and its recipients hear of it.
            Err(error @ (ReportError::Store(_) | ReportError::NoRandomness(_))) => {
                return Err(error);
            }
            Err(refused) => self.refused_run(schedule, &request, &refused).await?,
        };
        let mut updated = schedule.clone();
        updated.last_run = Some(run.id.clone());
        if tenant
            .store()
            .report_schedule(&schedule.id)
            .await?
            .is_some()
        {
            self.store.put_report_schedule(&updated).await?;
        }
        delivery::send(app, &tenant, schedule, &run).await?;
        Ok(run)
    }

    async fn refused_run(
        &self,
        schedule: &ReportSchedule,
        request: &RunRequest,
        refused: &ReportError,
    ) -> Result<ReportRun, ReportError> {
        let run = ReportRun {
            id: super::new_run_id()?,
            org: schedule.org.clone(),
            plugin: schedule.plugin.clone(),
            plugin_version: String::new(),
            title: schedule.name.clone(),
            period: request.period,
            machines: schedule.machines.clone(),
            parameters: schedule.parameters.clone(),
            trigger: request.trigger.clone(),
            created_ms: now_ms(),
            finished_ms: Some(now_ms()),
            attempts: 0,
            status: RunStatus::Failed {
                kind: "refused".into(),
                message: refused.to_string(),
            },
            documents: Vec::new(),
            recommendations: Vec::new(),
        };
        self.store.put_report_run(&run).await?;
        tracing::warn!(run = %run.id, error = %refused, "a scheduled report could not run");
        Ok(run)
    }

    /// Runs every organization's schedules when they are due, for as long as the server runs.
    pub async fn run_schedules(self: Arc<Self>, app: AppState) {
        let started = now();
        // The due time last handled per schedule, so that each is run once.
        let mut handled: HashMap<(OrgId, String), Timestamp> = HashMap::new();
        loop {
            let wait = match self.run_due(&app, started, &mut handled).await {
                Ok(next) => next.map_or(LONGEST_SLEEP, |at| {
                    let nanos = u64::try_from(at.saturating_sub(now())).unwrap_or(0);
                    Duration::from_nanos(nanos).min(LONGEST_SLEEP)
                }),
                Err(error) => {
                    tracing::error!(%error, "reading report schedules failed");
                    Duration::from_secs(60)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.schedules_changed.notified() => {}
            }
        }
    }

    /// Starts the runs that are due; returns when the next one is.
    async fn run_due(
        self: &Arc<Self>,
        app: &AppState,
        started: Timestamp,
        handled: &mut HashMap<(OrgId, String), Timestamp>,
    ) -> Result<Option<Timestamp>, ReportError> {
        let now = now();
        let mut earliest: Option<Timestamp> = None;
        let mut zones = HashMap::new();
        for schedule in self.store.all_report_schedules().await? {
            let zone = match zones.get(&schedule.org) {
                Some(zone) => zone,
                None => {
                    let zone = zone_of(self.store.as_ref(), &schedule.org).await?;
                    zones.entry(schedule.org.clone()).or_insert(zone)
                }
            };
            let key = (schedule.org.clone(), schedule.id.clone());
            let after = handled
                .get(&key)
                .copied()
                .unwrap_or(started.max(schedule.created_ms.saturating_mul(1_000_000)));
            let due = match next_run(&schedule.cadence, zone, after) {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(schedule = %schedule.id, %error, "a schedule never runs");
                    continue;
                }
            };
            if due > now {
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
                continue;
            }
            handled.insert(key, due);
            let (reports, app) = (self.clone(), app.clone());
            tokio::spawn(async move {
                if let Err(error) = reports.run_schedule(&app, &schedule, due).await {
                    tracing::error!(schedule = %schedule.id, %error, "a scheduled report failed to run");
                }
            });
            // Look again at once: the schedule's next run may be due too.
            earliest = Some(now);
        }
        Ok(earliest)
    }
}

/// The recipients, refusing anyone who is not a member of the tenant's organization.
async fn members_only(
    tenant: &Tenant,
    recipients: Vec<UserId>,
) -> Result<Vec<UserId>, ReportError> {
    let mut checked = Vec::with_capacity(recipients.len());
    for user in recipients {
        if tenant.store().membership(&user).await?.is_none() {
            return Err(ReportError::Invalid(format!(
                "`{user}` is not a member of the organization"
            )));
        }
        if !checked.contains(&user) {
            checked.push(user);
        }
    }
    Ok(checked)
}

async fn org_zone(tenant: &Tenant) -> Result<jiff::tz::TimeZone, ReportError> {
    let name = tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| "UTC".to_owned(), |org| org.time_zone);
    Ok(time::zone(&name))
}

async fn zone_of(store: &dyn Store, org: &OrgId) -> Result<jiff::tz::TimeZone, ReportError> {
    let name = store
        .organization(org)
        .await?
        .map_or_else(|| "UTC".to_owned(), |org| org.time_zone);
    Ok(time::zone(&name))
}
