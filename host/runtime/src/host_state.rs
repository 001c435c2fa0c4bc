//! The data each plugin instance's [`wasmtime::Store`] holds: who the instance is, what it was
//! granted, its limits, and the empty WASI context that std guests link against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chatter_model::{Endpoint, MachineId, OrgId, PluginId};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::artifacts::ArtifactLibrary;
use crate::capabilities::authorized_http::ProviderGateway;
use crate::capabilities::machine_data::MachineData;
use crate::capabilities::machine_network::NetworkPolicy;
use crate::capabilities::report_output::ReportProduct;
use crate::limits::{EffectiveLimits, MemoryLimiter};
use crate::manifest::Capability;

/// Who an instance runs for, and what the organization gave it. The runtime attributes every
/// fault and log line of the instance to this.
#[derive(Clone)]
pub struct InstanceContext {
    /// The organization the instance works for.
    pub org: OrgId,
    /// The machine a driver instance serves.
    pub machine: Option<MachineId>,
    /// The capabilities granted to the instance; everything else is refused.
    pub grants: BTreeSet<Capability>,
    /// The organization's configuration, already resolved against the manifest's schema.
    pub config: BTreeMap<String, String>,
    /// Carries an integration's `authorized-http` requests to its provider (integrations only).
    pub gateway: Option<Arc<dyn ProviderGateway>>,
    /// Where an integration's `artifacts` go (integrations only).
    pub library: Option<Arc<dyn ArtifactLibrary>>,
    /// What a report run may read (reports only).
    pub machine_data: Option<Arc<dyn MachineData>>,
    /// Endpoints of the machine (drivers only).
    pub endpoints: Vec<Endpoint>,
    /// Private state that outlives the instance: a restarted driver sees what it saved.
    pub state: SharedState,
    /// What the operator lets network capabilities reach.
    pub network: NetworkPolicy,
    /// The plugin's diagnostic counters; shared so they survive restarts of the instance.
    pub counters: SharedCounters,
}

impl std::fmt::Debug for InstanceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceContext")
            .field("org", &self.org)
            .field("machine", &self.machine)
            .field("grants", &self.grants)
            .field("config", &self.config)
            .field("gateway", &self.gateway.is_some())
            .field("library", &self.library.is_some())
            .field("machine_data", &self.machine_data.is_some())
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl InstanceContext {
    /// The context of an instance working for `org` as a whole (integrations, reports).
    pub fn for_org(org: OrgId) -> Self {
        InstanceContext {
            org,
            machine: None,
            grants: BTreeSet::new(),
            config: BTreeMap::new(),
            gateway: None,
            library: None,
            machine_data: None,
            endpoints: Vec::new(),
            state: SharedState::default(),
            network: NetworkPolicy::default(),
            counters: SharedCounters::default(),
        }
    }

    /// The context of a driver instance serving `machine` of `org`.
    pub fn for_machine(org: OrgId, machine: MachineId) -> Self {
        InstanceContext {
            machine: Some(machine),
            ..InstanceContext::for_org(org)
        }
    }
}

/// An instance's private key-value state, shared with the supervisor so it survives restarts.
pub type SharedState = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// A plugin's diagnostic counters by name, shared with the supervisor.
pub type SharedCounters = Arc<Mutex<BTreeMap<String, u64>>>;

/// Identity of a running instance, for attribution.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub plugin: PluginId,
    pub version: String,
    pub org: OrgId,
    pub machine: Option<MachineId>,
}

/// Everything a plugin's store holds.
pub(crate) struct HostState {
    pub identity: Identity,
    pub context: InstanceContext,
    pub limits: EffectiveLimits,
    pub memory: MemoryLimiter,
    /// The deadline the call in progress was given, for naming it when it is hit.
    pub call_timeout: std::time::Duration,
    /// When the call in progress must end; checked on every epoch tick.
    pub deadline: Instant,
    /// Set when the epoch callback interrupted the guest for its deadline.
    pub deadline_hit: bool,
    /// Connections the instance holds open through `machine-network`.
    pub open_connections: usize,
    /// What a report has handed over so far.
    pub report: ReportProduct,
    pub table: ResourceTable,
    wasi: WasiCtx,
}

impl HostState {
    pub(crate) fn new(
        identity: Identity,
        context: InstanceContext,
        limits: EffectiveLimits,
    ) -> Self {
        HostState {
            identity,
            context,
            memory: MemoryLimiter::new(limits.memory_bytes),
            call_timeout: limits.call_timeout,
            limits,
            deadline: Instant::now(),
            deadline_hit: false,
            open_connections: 0,
            report: ReportProduct::default(),
            table: ResourceTable::new(),
            // Empty on purpose: no arguments, environment, stdio, directories or sockets.
            wasi: WasiCtx::builder().build(),
        }
    }
}

impl HostState {
    /// How long a host function may still wait before the call in progress reaches its
    /// deadline. Host waits are capped by it: the epoch deadline only fires in guest code.
    pub(crate) fn remaining(&self, asked: std::time::Duration) -> std::time::Duration {
        asked.min(self.deadline.saturating_duration_since(Instant::now()))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
