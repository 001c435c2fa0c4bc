//! The fleet: one supervised driver instance per machine, the sink that turns each batch a
//! driver returns into durable, sequenced observations and live updates, and connection tests
//! of a machine's setup before it is saved ([`Fleet::probe`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatter_model::{DataItem, Feed, Machine, MachineId, Observation, OrgId, PluginId};
use chatter_runtime::capabilities::machine_network::NetworkPolicy;
use chatter_runtime::manifest::ConfigError;
use chatter_runtime::{
    DriverHealth, DriverInstance, DriverStatus, Fault, InstanceContext, LoadedPlugin,
    ObservationSink, PluginKind, Runtime, SupervisedDriver, SupervisionPolicy, supervise_driver,
};
use chatter_store::{Store, StoreError};
use serde::Serialize;

use crate::ingest::Ingest;
use crate::live::LiveState;
use crate::plugins::{self, PluginError};

/// Why a machine's driver could not be started.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The machine's driver plugin is missing or invalid.
    #[error("machine `{machine}` of `{org}`: {source}")]
    Plugin {
        /// The organization.
        org: OrgId,
        /// The machine.
        machine: MachineId,
        /// What is wrong with its plugin.
        source: PluginError,
    },
    /// The machine names a plugin that is not a driver.
    #[error(
        "machine `{machine}` of `{org}`: plugin `{plugin}` has kind = \"{kind}\", not a driver"
    )]
    NotADriver {
        /// The organization.
        org: OrgId,
        /// The machine.
        machine: MachineId,
        /// The plugin.
        plugin: PluginId,
        /// Its kind.
        kind: PluginKind,
    },
    /// The machine's driver configuration does not fit the plugin's schema.
    #[error("machine `{machine}` of `{org}`: {source}")]
    Config {
        /// The organization.
        org: OrgId,
        /// The machine.
        machine: MachineId,
        /// The schema violation.
        source: ConfigError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a connection test may take from starting the driver to the end of its first poll.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most observations a connection test reports.
pub const PROBE_OBSERVATIONS: usize = 20;
/// Connection tests running at once; more wait for one to finish.
const PROBES_AT_ONCE: usize = 4;

/// What a connection test found: the data items the driver declared and its first
/// observations, or where and why it failed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    /// Whether the driver started, opened the machine and polled it without error.
    pub ok: bool,
    /// The data items the driver declared when it opened the machine.
    pub data_items: Vec<DataItem>,
    /// The first observations of its first poll (at most [`PROBE_OBSERVATIONS`]).
    pub observations: Vec<Observation>,
    /// How many observations the first poll returned.
    pub observations_total: usize,
    /// What went wrong, if anything.
    pub failure: Option<ProbeFailure>,
    /// How long the test took.
    pub elapsed_ms: u64,
}

/// Why a connection test failed.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeFailure {
    /// Which step failed.
    pub stage: ProbeStage,
    /// What kind of failure: the driver's error code (`unreachable`, `timeout`, `denied`,
    /// `invalid-config`, `protocol`, …), `timeout` when the test ran out of time, or the kind
    /// of fault when the plugin itself failed (`deadline`, `trap`, …).
    pub kind: String,
    /// What the driver or the host said.
    pub message: String,
}

impl ProbeFailure {
    fn of(stage: ProbeStage, fault: &Fault) -> Self {
        match fault {
            Fault::Plugin { code, message } => ProbeFailure {
                stage,
                kind: code.clone(),
                message: message.clone(),
            },
            other => ProbeFailure {
                stage,
                kind: other.kind().to_owned(),
                message: format!("the driver {other}"),
            },
        }
    }

    /// Whether the failure is about reaching the machine (rather than the driver or its
    /// settings), so that a form shows it beside the endpoint.
    pub fn is_connection(&self) -> bool {
        matches!(self.kind.as_str(), "unreachable" | "timeout" | "denied")
    }
}

/// A step of a connection test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStage {
    /// Instantiating the plugin.
    Start,
    /// Opening the machine (the driver reads its settings and declares its data items).
    Open,
    /// The first poll (the driver reads the machine).
    Poll,
}

impl ProbeStage {
    /// Its name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeStage::Start => "start",
            ProbeStage::Open => "open",
            ProbeStage::Poll => "poll",
        }
    }
}

/// How long a stopping driver may take to finish the poll in flight (a poll is bounded by the
/// plugin's call timeout; storing its batch normally takes milliseconds).
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Runs and tracks the drivers of every machine.
pub struct Fleet {
    runtime: Arc<Runtime>,
    store: Arc<dyn Store>,
    ingest: Arc<Ingest>,
    live: LiveState,
    network: NetworkPolicy,
    policy: SupervisionPolicy,
    plugins: Mutex<HashMap<PluginId, Arc<LoadedPlugin>>>,
    drivers: Mutex<HashMap<(OrgId, MachineId), (PluginId, SupervisedDriver)>>,
    probes: tokio::sync::Semaphore,
}

impl Fleet {
    /// A fleet with no drivers running yet.
    pub fn new(
        runtime: Arc<Runtime>,
        ingest: Arc<Ingest>,
        live: LiveState,
        network: NetworkPolicy,
        policy: SupervisionPolicy,
    ) -> Self {
        Fleet {
            runtime,
            store: ingest.store().clone(),
            ingest,
            live,
            network,
            policy,
            plugins: Mutex::default(),
            drivers: Mutex::default(),
            probes: tokio::sync::Semaphore::new(PROBES_AT_ONCE),
        }
    }

    /// Restores every machine's derived and live state from the store and starts the driver
    /// of each enabled machine that is not fed by an edge. A machine whose driver cannot start
    /// is logged and skipped; the others run.
    pub async fn start_all(&self) -> Result<Vec<FleetError>, StoreError> {
        let mut failures = Vec::new();
        for org in self.store.organizations().await? {
            for machine in self.store.machines(&org.id).await? {
                self.ingest.open(&machine).await?;
                if !machine.enabled || machine.feed == Feed::Edge {
                    continue;
                }
                if let Err(error) = self.start_machine(&machine).await {
                    tracing::error!(%error, "driver not started");
                    failures.push(error);
                }
            }
        }
        Ok(failures)
    }

    /// Checks that `machine` names an installed driver plugin and that its configuration fits
    /// the plugin's schema; returns the configuration with the schema's defaults applied.
    pub async fn validate(
        &self,
        machine: &Machine,
    ) -> Result<(Arc<LoadedPlugin>, BTreeMap<String, String>), FleetError> {
        let plugin = self.plugin(machine).await?;
        let config = plugin
            .manifest
            .resolve_config(&machine.config)
            .map_err(|source| FleetError::Config {
                org: machine.org.clone(),
                machine: machine.id.clone(),
                source,
            })?;
        Ok((plugin, config))
    }

    /// Starts (or restarts) supervising the driver of `machine`.
    pub async fn start_machine(&self, machine: &Machine) -> Result<(), FleetError> {
        let (plugin, config) = self.validate(machine).await?;
        // A restart must not run two instances of one machine side by side.
        self.stop_machine(&machine.org, &machine.id).await;
        let saved = self.store.plugin_state(&machine.org, &machine.id).await?;
        let context = self.context_for(machine, &plugin, config, saved.clone());

        let sink = MachineSink {
            org: machine.org.clone(),
            machine: machine.id.clone(),
            store: self.store.clone(),
            ingest: self.ingest.clone(),
            live: self.live.clone(),
            state: context.state.clone(),
            saved_state: Mutex::new(saved),
        };
        let mut policy = self.policy.clone();
        policy.poll_interval = Duration::from_millis(machine.poll_interval_ms.max(10).into());
        let driver = supervise_driver(
            self.runtime.clone(),
            plugin,
            machine.clone(),
            context,
            policy,
            sink,
        );
        let key = (machine.org.clone(), machine.id.clone());
        self.lock_drivers()
            .insert(key, (machine.driver.clone(), driver));
        Ok(())
    }

    /// The context a driver instance of `machine` runs in: its resolved configuration, the
    /// capabilities its plugin asks for, its endpoints, the operator's network policy and the
    /// private state it starts from.
    fn context_for(
        &self,
        machine: &Machine,
        plugin: &LoadedPlugin,
        config: BTreeMap<String, String>,
        state: BTreeMap<String, Vec<u8>>,
    ) -> InstanceContext {
        let mut context = InstanceContext::for_machine(machine.org.clone(), machine.id.clone());
        context.config = config;
        // Installing a plugin is the operator's approval of the capabilities it asks for.
        context.grants = plugin.manifest.capabilities.keys().copied().collect();
        context.endpoints = machine.endpoints.clone();
        context.network = self.network.clone();
        *context
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = state;
        context
    }

    /// Tries `machine`'s setup without saving anything: starts an instance of its driver as
    /// [`start_machine`](Self::start_machine) would (same grants, network policy and
    /// configuration, but no saved state), opens the machine and polls it once, within
    /// [`PROBE_TIMEOUT`]. The report holds the data items the driver declared, its first
    /// observations, or what went wrong; the instance is dropped and nothing is stored.
    ///
    /// Fails only when the setup cannot be tried at all (no such driver, a configuration that
    /// does not fit its schema).
    #[tracing::instrument(
        name = "fleet.probe",
        skip_all,
        fields(org = %machine.org, machine = %machine.id, driver = %machine.driver)
    )]
    pub async fn probe(&self, machine: &Machine) -> Result<ProbeReport, FleetError> {
        let (plugin, config) = self.validate(machine).await?;
        let context = self.context_for(machine, &plugin, config, BTreeMap::new());
        // A few at a time: each holds an instance and, maybe, a connection.
        let _permit = self.probes.acquire().await;
        let started = std::time::Instant::now();
        let mut report = ProbeReport::default();
        let mut stage = ProbeStage::Start;
        let attempt = async {
            let mut instance = DriverInstance::start(&self.runtime, plugin, context)
                .await
                .map_err(|fault| ProbeFailure::of(ProbeStage::Start, &fault))?;
            stage = ProbeStage::Open;
            report.data_items = instance
                .open(machine)
                .await
                .map_err(|fault| ProbeFailure::of(ProbeStage::Open, &fault))?;
            stage = ProbeStage::Poll;
            let batch = instance
                .poll()
                .await
                .map_err(|fault| ProbeFailure::of(ProbeStage::Poll, &fault))?;
            report.observations_total = batch.len();
            report.observations = batch.into_iter().take(PROBE_OBSERVATIONS).collect();
            Ok(())
        };
        let outcome = tokio::time::timeout(PROBE_TIMEOUT, attempt).await;
        report.failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(failure)) => Some(failure),
            Err(_) => Some(ProbeFailure {
                stage,
                kind: "timeout".to_owned(),
                message: format!(
                    "the driver did not answer within {} seconds",
                    PROBE_TIMEOUT.as_secs()
                ),
            }),
        };
        report.ok = report.failure.is_none();
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &report.failure {
            None => tracing::info!(
                data_items = report.data_items.len(),
                observations = report.observations_total,
                "connection test passed"
            ),
            Some(failure) => tracing::info!(
                stage = failure.stage.as_str(),
                kind = %failure.kind,
                message = %failure.message,
                "connection test failed"
            ),
        }
        Ok(report)
    }

    /// Stops the driver of a machine, if it runs, letting the batch in flight be stored first.
    /// Returns whether it ran.
    pub async fn stop_machine(&self, org: &OrgId, machine: &MachineId) -> bool {
        let removed = self.lock_drivers().remove(&(org.clone(), machine.clone()));
        let Some((_, driver)) = removed else {
            return false;
        };
        driver.stop(STOP_GRACE).await;
        self.live.clear_driver_health(org, machine);
        if let Err(error) = self.ingest.mark_unread(org, machine).await {
            tracing::warn!(%org, %machine, %error, "could not record that the machine is not read");
        }
        true
    }

    /// Stops every driver, each letting its batch in flight be stored first, as the server
    /// shuts down.
    pub async fn stop_all(&self) {
        let running: Vec<(OrgId, MachineId)> = self.lock_drivers().keys().cloned().collect();
        let stops = running
            .iter()
            .map(|(org, machine)| self.stop_machine(org, machine));
        futures::future::join_all(stops).await;
    }

    /// Whether the driver of a machine is running (or starting, retrying, quarantined).
    pub fn is_supervised(&self, org: &OrgId, machine: &MachineId) -> bool {
        self.lock_drivers()
            .contains_key(&(org.clone(), machine.clone()))
    }

    /// The health of the driver instances of `plugin` that serve `org`'s machines.
    pub fn health_of(&self, org: &OrgId, plugin: &PluginId) -> Vec<DriverHealth> {
        let drivers = self.lock_drivers();
        drivers
            .iter()
            .filter(|((owner, _), (id, _))| owner == org && id == plugin)
            .map(|(_, (_, driver))| driver.health())
            .collect()
    }

    async fn plugin(&self, machine: &Machine) -> Result<Arc<LoadedPlugin>, FleetError> {
        if let Some(loaded) = self.lock_plugins().get(&machine.driver) {
            return Ok(loaded.clone());
        }
        let loaded = plugins::load_installed(self.store.as_ref(), &self.runtime, &machine.driver)
            .await
            .map_err(|source| FleetError::Plugin {
                org: machine.org.clone(),
                machine: machine.id.clone(),
                source,
            })?;
        if loaded.kind() != PluginKind::Driver {
            return Err(FleetError::NotADriver {
                org: machine.org.clone(),
                machine: machine.id.clone(),
                plugin: machine.driver.clone(),
                kind: loaded.kind(),
            });
        }
        self.lock_plugins()
            .insert(machine.driver.clone(), loaded.clone());
        Ok(loaded)
    }

    fn lock_plugins(&self) -> std::sync::MutexGuard<'_, HashMap<PluginId, Arc<LoadedPlugin>>> {
        self.plugins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_drivers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(OrgId, MachineId), (PluginId, SupervisedDriver)>> {
        self.drivers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where one machine's driver output goes: the store first (durable, sequenced), then the
/// live state.
struct MachineSink {
    org: OrgId,
    machine: MachineId,
    store: Arc<dyn Store>,
    ingest: Arc<Ingest>,
    live: LiveState,
    state: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    saved_state: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MachineSink {
    /// Persists the driver's private state when it changed since the last save.
    async fn save_state(&self) -> Result<(), String> {
        let current = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let changed = *self
            .saved_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            != current;
        if changed {
            self.store
                .put_plugin_state(&self.org, &self.machine, &current)
                .await
                .map_err(|e| e.to_string())?;
            *self
                .saved_state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = current;
        }
        Ok(())
    }
}

impl ObservationSink for MachineSink {
    async fn declare(&self, items: Vec<DataItem>) -> Result<(), String> {
        self.ingest
            .declare(&self.org, &self.machine, items)
            .await
            .map_err(|e| e.to_string())
    }

    async fn deliver(&self, batch: Vec<Observation>) -> Result<(), String> {
        if !batch.is_empty() {
            self.ingest
                .append(&self.org, &self.machine, batch)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.save_state().await
    }

    fn health_changed(&self, health: &DriverHealth) {
        self.live
            .set_driver_health(&self.org, &self.machine, health.clone());
        if matches!(health.status, DriverStatus::Quarantined { .. }) {
            let (ingest, org, machine) =
                (self.ingest.clone(), self.org.clone(), self.machine.clone());
            tokio::spawn(async move {
                if let Err(error) = ingest.mark_unread(&org, &machine).await {
                    tracing::warn!(%org, %machine, %error, "could not record that the machine is not read");
                }
            });
        }
    }
}
