//! Reports: running report plugins for an organization and keeping what they produce.
//!
//! - [`Reports::run`] checks a request (an installed report plugin, machines of the
//!   organization, a period, parameters against the plugin's schema), resolves the period's
//!   days and shifts in the organization's time zone, runs the plugin under its limits with
//!   read access to those machines only ([`data`]), and archives the run: its documents,
//!   recommendations, and how it ended. A run that fails keeps what it produced.
//! - [`Reports::catalog`] lists the installed report plugins with their parameters.

pub mod cadence;
pub(crate) mod data;
mod delivery;
pub mod schedules;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatter_model::{MachineId, PluginId, ReportRun, RunStatus, RunTrigger, Timestamp, now_ms};
use chatter_runtime::capabilities::machine_data::RunMachine;
use chatter_runtime::manifest::ConfigField;
use chatter_runtime::{
    Day, Fault, InstanceContext, LoadedPlugin, PluginKind, ReportInstance, ReportRequest, Runtime,
    ShiftPeriod,
};
use chatter_store::{Store, StoreError};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::plugins::{self, PluginError};
use crate::{shifts, time};

/// The longest period one report may cover.
pub const MAX_PERIOD_DAYS: i64 = 400;

const DAY: i64 = 86_400 * time::SECOND;

/// Why a report could not be run. A run that starts and then fails is not an error: it is
/// archived as failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No installed report plugin has that id.
    #[error("no report `{0}` is installed")]
    UnknownReport(PluginId),
    /// The request is wrong; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// The plugin could not be loaded.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system gave no randomness for a new id.
    #[error("no randomness for a new id: {0}")]
    NoRandomness(String),
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The report plugin.
    pub plugin: PluginId,
    /// `[from, to)`.
    pub period: (Timestamp, Timestamp),
    /// The machines; all of the organization's when empty.
    pub machines: Vec<MachineId>,
    /// Parameters, checked against the plugin's `[config]` schema.
    pub parameters: BTreeMap<String, String>,
    /// Who asked.
    pub trigger: RunTrigger,
}

/// A report users can run, with its parameters.
#[derive(Debug, Clone)]
pub struct ReportKind {
    /// The plugin.
    pub plugin: PluginId,
    /// Its version.
    pub version: String,
    /// What it reports, in its author's words.
    pub description: String,
    /// Its parameters, by name.
    pub parameters: BTreeMap<String, ConfigField>,
}

/// Report runs, with the compiled report plugins kept between runs, and schedules.
pub struct Reports {
    store: Arc<dyn Store>,
    runtime: Arc<Runtime>,
    timeout: Duration,
    retry: schedules::RetryPolicy,
    /// Wakes the scheduler when a schedule is added or removed.
    schedules_changed: tokio::sync::Notify,
    /// Compiled plugins by id, with the digest of the component they were compiled from.
    loaded: Mutex<HashMap<PluginId, (String, Arc<LoadedPlugin>)>>,
}

impl Reports {
    /// Runs reports with `runtime`, each for at most `timeout`; scheduled runs that fail are
    /// retried as `retry` says.
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<Runtime>,
        timeout: Duration,
        retry: schedules::RetryPolicy,
    ) -> Self {
        Reports {
            store,
            runtime,
            timeout,
            retry,
            schedules_changed: tokio::sync::Notify::new(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The installed report plugins, by id.
    pub async fn catalog(&self) -> Result<Vec<ReportKind>, ReportError> {
        let mut kinds = Vec::new();
        for install in self.store.plugins().await? {
            if install.kind != PluginKind::Report.as_str() {
                continue;
            }
            let label = std::path::PathBuf::from(format!("<installed>/{}/plugin.toml", install.id));
            let manifest = chatter_runtime::Manifest::parse(&install.manifest_toml, &label)
                .map_err(PluginError::from)?;
            kinds.push(ReportKind {
                plugin: install.id,
                version: install.version,
                description: install.description,
                parameters: manifest.config,
            });
        }
        Ok(kinds)
    }

    /// The compiled plugin `id`, compiling it again only when its component changed.
    async fn plugin(&self, id: &PluginId) -> Result<Arc<LoadedPlugin>, ReportError> {
        let install = self
            .store
            .plugin(id)
            .await?
            .filter(|install| install.kind == PluginKind::Report.as_str())
            .ok_or_else(|| ReportError::UnknownReport(id.clone()))?;
        if let Some((digest, plugin)) = self.cached(id)
            && digest == install.component_sha256
        {
            return Ok(plugin);
        }
        let plugin = plugins::load_installed(self.store.as_ref(), &self.runtime, id).await?;
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(id.clone(), (plugin.sha256.clone(), plugin.clone()));
        }
        Ok(plugin)
    }

    fn cached(&self, id: &PluginId) -> Option<(String, Arc<LoadedPlugin>)> {
        self.loaded.lock().ok()?.get(id).cloned()
    }

    /// Runs `request` for the tenant's organization once and archives the run, whether the
    /// plugin succeeds or fails. Fails only when the request is refused before anything ran.
    #[tracing::instrument(name = "reports.run", skip_all, fields(org = %tenant.org(), plugin = %request.plugin))]
    pub async fn run(
        &self,
        app: &AppState,
        tenant: &Tenant,
        request: RunRequest,
    ) -> Result<ReportRun, ReportError> {
        self.run_with_retries(app, tenant, request, None, 1, Duration::ZERO)
            .await
    }

    /// Runs `request` like [`Reports::run`], running the plugin again after `delay` while it
    /// fails, `attempts` times at most; the archived run counts the attempts. `title` names
    /// the run instead of the plugin's description.
    pub(crate) async fn run_with_retries(
        &self,
        app: &AppState,
        tenant: &Tenant,
        request: RunRequest,
        title: Option<String>,
        attempts: u32,
        delay: Duration,
    ) -> Result<ReportRun, ReportError> {
        let plugin = self.plugin(&request.plugin).await?;
        let prepared = prepare(tenant, &plugin, &request).await?;
        let mut run = self.new_run(tenant, &plugin, &prepared, &request, title)?;
        self.store.put_report_run(&run).await?;
        loop {
            self.attempt(app, tenant, &plugin, prepared.clone(), &mut run)
                .await?;
            if !matches!(run.status, RunStatus::Failed { .. }) || run.attempts >= attempts {
                return Ok(run);
            }
            tracing::info!(run = %run.id, attempt = run.attempts, "report run failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    fn new_run(
        &self,
        tenant: &Tenant,
        plugin: &LoadedPlugin,
        prepared: &Prepared,
        request: &RunRequest,
        title: Option<String>,
    ) -> Result<ReportRun, ReportError> {
        Ok(ReportRun {
            id: new_run_id()?,
            org: tenant.org().clone(),
            plugin: request.plugin.clone(),
            plugin_version: plugin.manifest.version.clone(),
            title: title.unwrap_or_else(|| format!("{} report", plugin.manifest.id)),
            period: prepared.request.period,
            machines: prepared.machines.iter().map(|m| m.id.clone()).collect(),
            parameters: prepared.parameters.clone(),
            trigger: request.trigger.clone(),
            created_ms: now_ms(),
            finished_ms: None,
            attempts: 0,
            status: RunStatus::Running,
            documents: Vec::new(),
            recommendations: Vec::new(),
        })
    }

    /// Runs the plugin once more for `run` and records the outcome in it and the archive.
    async fn attempt(
        &self,
        app: &AppState,
        tenant: &Tenant,
        plugin: &Arc<LoadedPlugin>,
        prepared: Prepared,
        run: &mut ReportRun,
    ) -> Result<(), ReportError> {
        run.attempts += 1;
        let mut context = InstanceContext::for_org(tenant.org().clone());
        // Installing a plugin is the operator's approval of the capabilities it asks for.
        context.grants = plugin.manifest.capabilities.keys().copied().collect();
        context.config = prepared.parameters.clone();
        context.machine_data = Some(Arc::new(data::TenantMachineData::new(
            app.clone(),
            tenant.clone(),
            prepared.machines,
            prepared.request.time_zone.clone(),
        )));
        let (product, result) =
            match ReportInstance::start(&self.runtime, plugin.clone(), context).await {
                Ok(instance) => {
                    let outcome = instance.generate(prepared.request, self.timeout).await;
                    (outcome.product, outcome.result)
                }
                Err(fault) => (Default::default(), Err(fault)),
            };
        for document in &product.documents {
            self.store
                .put_report_document(&run.org, &run.id, document)
                .await?;
        }
        run.documents = product.documents.iter().map(Into::into).collect();
        run.recommendations = product.recommendations;
        run.status = match result {
            Ok(()) => RunStatus::Succeeded,
            Err(fault) => failed(&fault),
        };
        run.finished_ms = Some(now_ms());
        self.store.put_report_run(run).await?;
        match &run.status {
            RunStatus::Failed { kind, message } => {
                tracing::warn!(run = %run.id, kind, message, "report run failed");
            }
            _ => tracing::info!(run = %run.id, documents = run.documents.len(), "report run done"),
        }
        Ok(())
    }
}

fn failed(fault: &Fault) -> RunStatus {
    RunStatus::Failed {
        kind: fault.kind().to_owned(),
        message: format!("the report {fault}"),
    }
}

/// A request checked and resolved, ready to hand to the plugin.
#[derive(Clone)]
struct Prepared {
    machines: Vec<RunMachine>,
    parameters: BTreeMap<String, String>,
    request: ReportRequest,
}

async fn prepare(
    tenant: &Tenant,
    plugin: &LoadedPlugin,
    request: &RunRequest,
) -> Result<Prepared, ReportError> {
    let (from, to) = request.period;
    if from >= to {
        return Err(ReportError::Invalid(
            "the period must end after it starts".into(),
        ));
    }
    // Nothing has happened after now: a period running into the future ends now, so the time
    // to come counts neither as scheduled nor as missing data.
    let now = crate::api::data::now();
    if from >= now {
        return Err(ReportError::Invalid("the period has not begun yet".into()));
    }
    let to = to.min(now);
    if to - from > MAX_PERIOD_DAYS * DAY {
        return Err(ReportError::Invalid(format!(
            "a report covers at most {MAX_PERIOD_DAYS} days"
        )));
    }
    let organization = tenant
        .store()
        .organization()
        .await?
        .ok_or_else(|| ReportError::Invalid("the organization no longer exists".into()))?;
    let machines = run_machines(tenant, &request.machines).await?;
    let parameters = plugin
        .manifest
        .resolve_config(&request.parameters)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let zone = time::zone(&organization.time_zone);
    let request = ReportRequest {
        organization: organization.name.clone(),
        machines: machines.iter().map(|m| m.id.to_string()).collect(),
        period: (from, to),
        time_zone: organization.time_zone.clone(),
        days: shifts::days(&zone, from, to)
            .into_iter()
            .map(|day| Day {
                date: day.date.to_string(),
                range: (day.start, day.end),
            })
            .collect(),
        shifts: shifts::shift_periods(&organization.shifts, &zone, from, to)
            .into_iter()
            .map(|period| ShiftPeriod {
                shift: period.shift,
                date: period.date.to_string(),
                range: (period.start, period.end),
            })
            .collect(),
        parameters: parameters.clone(),
    };
    Ok(Prepared {
        machines,
        parameters,
        request,
    })
}

/// The machines asked for, all of the organization's when none are; refuses any the
/// organization does not have.
pub(crate) async fn run_machines(
    tenant: &Tenant,
    asked: &[MachineId],
) -> Result<Vec<RunMachine>, ReportError> {
    let all = tenant.store().machines().await?;
    if asked.is_empty() {
        return Ok(all
            .into_iter()
            .map(|m| RunMachine {
                id: m.id,
                name: m.name,
            })
            .collect());
    }
    asked
        .iter()
        .map(|id| {
            all.iter()
                .find(|m| &m.id == id)
                .map(|m| RunMachine {
                    id: m.id.clone(),
                    name: m.name.clone(),
                })
                .ok_or_else(|| {
                    ReportError::Invalid(format!("the organization has no machine `{id}`"))
                })
        })
        .collect()
}

/// A run id that sorts by creation: milliseconds, then randomness against collisions.
pub(crate) fn new_run_id() -> Result<String, ReportError> {
    let random = crate::auth::secret::random_hex::<4>()
        .map_err(|e| ReportError::NoRandomness(e.to_string()))?;
    Ok(format!("{:013}-{random}", now_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_creation() {
        let first = new_run_id().unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let second = new_run_id().unwrap();
        assert!(first < second, "{first} < {second}");
        assert_eq!(first.len(), 22);
    }
}
