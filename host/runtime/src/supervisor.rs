//! Driver supervision: one long-lived instance per machine, polled on the machine's schedule,
//! restarted with exponential backoff after a fault, and quarantined when it keeps faulting.
//!
//! Errors a driver *reports* (machine unreachable, protocol errors) are not faults of the
//! plugin: the same instance is retried with backoff and never quarantined. Traps and limit
//! hits kill the instance; each one counts against the restart budget.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{DataItem, Machine, Observation};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::engine::Runtime;
use crate::fault::Fault;
use crate::host_state::InstanceContext;
use crate::instance::DriverInstance;
use crate::package::LoadedPlugin;

/// How a driver is supervised.
#[derive(Debug, Clone)]
pub struct SupervisionPolicy {
    /// Time between polls.
    pub poll_interval: Duration,
    /// Wait before the first restart or retry; doubles with each consecutive one.
    pub backoff_initial: Duration,
    /// The longest wait between restarts or retries.
    pub backoff_max: Duration,
    /// Restarts allowed within `budget_window` before the driver is quarantined.
    pub restart_budget: u32,
    /// The window the restart budget counts over.
    pub budget_window: Duration,
}

impl Default for SupervisionPolicy {
    fn default() -> Self {
        SupervisionPolicy {
            poll_interval: Duration::from_secs(1),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            restart_budget: 5,
            budget_window: Duration::from_secs(600),
        }
    }
}

/// Where a driver's output goes. The server implements it: it stores, sequences and
/// broadcasts. A batch counts as delivered only when `deliver` returns `Ok`; until then the
/// supervisor keeps it and retries, and does not poll again.
pub trait ObservationSink: Send + Sync + 'static {
    /// The driver (re)declared the machine's data items.
    fn declare(&self, items: Vec<DataItem>) -> impl Future<Output = Result<(), String>> + Send;

    /// A batch of observations, oldest first.
    fn deliver(&self, batch: Vec<Observation>) -> impl Future<Output = Result<(), String>> + Send;

    /// The driver's health changed.
    fn health_changed(&self, _health: &DriverHealth) {}
}

/// What a supervised driver is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DriverStatus {
    /// Instantiating and opening.
    Starting,
    /// Polling normally.
    Running,
    /// The driver reported an error (e.g. the machine is unreachable); retrying.
    Retrying {
        /// The driver's error.
        error: String,
    },
    /// The instance faulted and will be restarted.
    Restarting {
        /// Restarts in the current budget window.
        attempt: u32,
    },
    /// The driver faulted too often and is stopped until an operator intervenes.
    Quarantined {
        /// The last fault.
        reason: String,
    },
}

/// A fault, attributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRecord {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The plugin.
    pub plugin: String,
    /// Its version.
    pub version: String,
    /// The organization it ran for.
    pub org: String,
    /// The machine it served.
    pub machine: String,
    /// What happened.
    pub fault: Fault,
    /// The fault as a sentence.
    pub message: String,
}

/// A supervised driver's health, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverHealth {
    /// What it is doing.
    pub status: DriverStatus,
    /// Restarts since supervision began.
    pub restarts: u32,
    /// Successful polls since supervision began.
    pub polls: u64,
    /// Observations delivered since supervision began.
    pub observations: u64,
    /// When the last successful poll ended, in milliseconds since the Unix epoch.
    pub last_poll_ms: Option<i64>,
    /// When a poll last returned observations, in milliseconds since the Unix epoch.
    pub last_data_ms: Option<i64>,
    /// Connections to the machine the instance held open after its last poll.
    pub open_connections: usize,
    /// The last error the driver reported (machine unreachable, protocol error), and when.
    pub last_error: Option<ReportedError>,
    /// The most recent fault.
    pub last_fault: Option<FaultRecord>,
    /// The driver's own diagnostic counters (bad lines, reconnections, gaps, …).
    pub counters: BTreeMap<String, u64>,
}

/// An error a driver reported, as opposed to a fault of the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedError {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The error as a sentence.
    pub message: String,
}

impl DriverHealth {
    fn new() -> Self {
        DriverHealth {
            status: DriverStatus::Starting,
            restarts: 0,
            polls: 0,
            observations: 0,
            last_poll_ms: None,
            last_data_ms: None,
            open_connections: 0,
            last_error: None,
            last_fault: None,
            counters: BTreeMap::new(),
        }
    }
}

/// A driver under supervision. Dropping it aborts the driver wherever it is; [`stop`] lets
/// it finish the batch in flight first.
///
/// [`stop`]: SupervisedDriver::stop
pub struct SupervisedDriver {
    health: watch::Receiver<DriverHealth>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SupervisedDriver {
    /// The driver's current health.
    pub fn health(&self) -> DriverHealth {
        self.health.borrow().clone()
    }

    /// A receiver that sees every health change.
    pub fn watch(&self) -> watch::Receiver<DriverHealth> {
        self.health.clone()
    }

    /// Whether supervision has ended (after quarantine or a stop).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the driver at its next pause between polls, so a batch being stored is stored and
    /// the driver's state saved with it; aborts it if that takes longer than `grace`.
    pub async fn stop(mut self, grace: Duration) {
        // No receiver left means supervision already ended.
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("driver did not stop in time; aborted");
            self.task.abort();
        }
    }
}

impl Drop for SupervisedDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts supervising `plugin` for `machine` on the current tokio runtime.
pub fn supervise_driver<S: ObservationSink>(
    runtime: Arc<Runtime>,
    plugin: Arc<LoadedPlugin>,
    machine: Machine,
    context: InstanceContext,
    policy: SupervisionPolicy,
    sink: S,
) -> SupervisedDriver {
    let (health_tx, health) = watch::channel(DriverHealth::new());
    let (stop, stop_requested) = watch::channel(false);
    let span = tracing::info_span!(
        "driver",
        plugin = %plugin.manifest.id,
        version = %plugin.manifest.version,
        org = %machine.org,
        machine = %machine.id,
    );
    let supervisor = Supervisor {
        runtime,
        plugin,
        machine,
        context,
        policy,
        sink,
        health: health_tx,
        stop_requested,
    };
    let task = tokio::spawn(supervisor.run().instrument(span));
    SupervisedDriver { health, stop, task }
}

struct Supervisor<S> {
    runtime: Arc<Runtime>,
    plugin: Arc<LoadedPlugin>,
    machine: Machine,
    context: InstanceContext,
    policy: SupervisionPolicy,
    sink: S,
    health: watch::Sender<DriverHealth>,
    stop_requested: watch::Receiver<bool>,
}

/// Supervision was asked to stop.
struct Stopped;

impl<S: ObservationSink> Supervisor<S> {
    async fn run(self) {
        let mut recent_restarts: VecDeque<Instant> = VecDeque::new();
        loop {
            self.update(|h| h.status = DriverStatus::Starting);
            let ended = match self.start().await {
                Ok(instance) => self.serve(instance).await,
                Err(stopped_or_fault) => stopped_or_fault,
            };
            let fault = match ended {
                Ok(fault) => fault,
                Err(Stopped) => return,
            };
            self.record(&fault);

            let now = Instant::now();
            recent_restarts.retain(|at| now.duration_since(*at) < self.policy.budget_window);
            recent_restarts.push_back(now);
            let attempt = u32::try_from(recent_restarts.len()).unwrap_or(u32::MAX);
            if attempt > self.policy.restart_budget {
                tracing::error!(%fault, restarts = attempt - 1, "driver quarantined");
                self.update(|h| {
                    h.status = DriverStatus::Quarantined {
                        reason: fault.to_string(),
                    }
                });
                return;
            }
            self.update(|h| {
                h.status = DriverStatus::Restarting { attempt };
                h.restarts += 1;
            });
            if self.pause(self.backoff(attempt)).await.is_err() {
                return;
            }
        }
    }

    /// Waits for `duration`, or less when a stop is requested.
    async fn pause(&self, duration: Duration) -> Result<(), Stopped> {
        let mut stop = self.stop_requested.clone();
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            _ = stop.wait_for(|stop| *stop) => Err(Stopped),
        }
    }

    /// Instantiates and opens, retrying reported errors with backoff. Fails with the fault
    /// that killed the instance (`Err(Ok(fault))`) or because a stop was requested.
    async fn start(&self) -> Result<DriverInstance, Result<Fault, Stopped>> {
        let mut failures = 0;
        loop {
            let mut instance =
                DriverInstance::start(&self.runtime, self.plugin.clone(), self.context.clone())
                    .await
                    .map_err(Ok)?;
            match instance.open(&self.machine).await {
                Ok(items) => {
                    self.declare(items).await;
                    return Ok(instance);
                }
                Err(fault) if !fault.kills_instance() => {
                    failures += 1;
                    self.retry_later(&fault, failures).await.map_err(Err)?;
                }
                Err(fault) => return Err(Ok(fault)),
            }
        }
    }

    /// Polls until the instance faults. State a failed poll changed is rolled back, so a
    /// driver's checkpoint never runs ahead of the observations the store accepted.
    async fn serve(&self, mut instance: DriverInstance) -> Result<Fault, Stopped> {
        self.update(|h| h.status = DriverStatus::Running);
        let mut ticks = tokio::time::interval(self.policy.poll_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop = self.stop_requested.clone();
        let mut failures = 0;
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return Err(Stopped),
                _ = ticks.tick() => {}
            }
            let checkpoint = self.state_snapshot();
            let polled = instance.poll().await;
            let connections = instance.open_connections();
            self.update(|h| h.open_connections = connections);
            match polled {
                Ok(batch) => {
                    failures = 0;
                    self.deliver(batch).await;
                }
                Err(fault) => {
                    self.restore_state(checkpoint);
                    if fault.kills_instance() {
                        return Ok(fault);
                    }
                    failures += 1;
                    self.retry_later(&fault, failures).await?;
                }
            }
        }
    }

    fn state_snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.context
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn restore_state(&self, checkpoint: BTreeMap<String, Vec<u8>>) {
        *self
            .context
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = checkpoint;
    }

    async fn declare(&self, items: Vec<DataItem>) {
        let mut failures = 0;
        while let Err(error) = self.sink.declare(items.clone()).await {
            failures += 1;
            tracing::error!(%error, "could not store the driver's data items; retrying");
            tokio::time::sleep(self.backoff(failures)).await;
        }
    }

    /// Hands a batch to the sink, retrying until it is accepted: a batch is never dropped.
    async fn deliver(&self, batch: Vec<Observation>) {
        let count = batch.len() as u64;
        let mut failures = 0;
        while let Err(error) = self.sink.deliver(batch.clone()).await {
            failures += 1;
            tracing::error!(%error, "could not store a batch of observations; retrying");
            tokio::time::sleep(self.backoff(failures)).await;
        }
        let now = chatter_model::now_ms();
        self.update(|h| {
            h.status = DriverStatus::Running;
            h.polls += 1;
            h.observations += count;
            h.last_poll_ms = Some(now);
            if count > 0 {
                h.last_data_ms = Some(now);
            }
        });
    }

    async fn retry_later(&self, fault: &Fault, failures: u32) -> Result<(), Stopped> {
        tracing::warn!(%fault, failures, "driver reported an error");
        self.update(|h| {
            h.status = DriverStatus::Retrying {
                error: fault.to_string(),
            };
            h.last_error = Some(ReportedError {
                at_ms: chatter_model::now_ms(),
                message: fault.to_string(),
            });
        });
        self.pause(self.backoff(failures)).await
    }

    fn record(&self, fault: &Fault) {
        let manifest = &self.plugin.manifest;
        tracing::warn!(kind = fault.kind(), %fault, "driver fault");
        let record = FaultRecord {
            at_ms: chatter_model::now_ms(),
            plugin: manifest.id.to_string(),
            version: manifest.version.clone(),
            org: self.machine.org.to_string(),
            machine: self.machine.id.to_string(),
            message: fault.to_string(),
            fault: fault.clone(),
        };
        self.update(|h| h.last_fault = Some(record));
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.policy
            .backoff_initial
            .saturating_mul(factor)
            .min(self.policy.backoff_max)
    }

    fn update(&self, change: impl FnOnce(&mut DriverHealth)) {
        let counters = self
            .context
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        self.health.send_modify(|health| {
            change(health);
            health.counters = counters;
        });
        self.sink.health_changed(&self.health.borrow());
    }
}
