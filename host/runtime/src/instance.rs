//! One running instance of a driver plugin for one machine: instantiation, the limits armed
//! around every call, and the translation of traps into [`Fault`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model as model;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::driver::Driver;
use crate::bindings::driver::chatter::plugin::types as wit;
use crate::bindings::driver::chatter::plugin::types::Endpoint as WitEndpoint;
use crate::bindings::driver::exports::chatter::plugin::machine_driver::Machine as WitMachine;
use crate::engine::Runtime;
use crate::fault::Fault;
use crate::host_state::{HostState, Identity, InstanceContext};
use crate::limits::EffectiveLimits;
use crate::package::{KindPre, LoadedPlugin};

/// A live driver instance.
pub struct DriverInstance {
    store: Store<HostState>,
    bindings: Driver,
    plugin: Arc<LoadedPlugin>,
    meter_fuel: bool,
}

impl DriverInstance {
    /// Instantiates `plugin` for the machine and organization in `context`.
    pub async fn start(
        runtime: &Runtime,
        plugin: Arc<LoadedPlugin>,
        context: InstanceContext,
    ) -> Result<Self, Fault> {
        let KindPre::Driver(pre) = &plugin.pre else {
            return Err(Fault::Instantiate {
                message: format!("`{}` is not a driver", plugin.id()),
            });
        };
        let mut store = new_store(runtime, &plugin, context);
        let meter_fuel = runtime.config.fuel_metering;
        arm(&mut store, meter_fuel);
        let bindings = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| classify(&store, e))?;
        Ok(DriverInstance {
            store,
            bindings,
            plugin,
            meter_fuel,
        })
    }

    /// The plugin this instance runs.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Connections the instance holds open through `machine-network`.
    pub fn open_connections(&self) -> usize {
        self.store.data().open_connections
    }

    /// Opens the machine; returns the data items the driver declares.
    #[tracing::instrument(name = "plugin.open", level = "debug", skip_all)]
    pub async fn open(&mut self, machine: &model::Machine) -> Result<Vec<model::DataItem>, Fault> {
        let machine = WitMachine {
            id: machine.id.to_string(),
            name: machine.name.clone(),
            endpoints: machine
                .endpoints
                .iter()
                .map(|e| WitEndpoint {
                    name: e.name.clone(),
                    host: e.host.clone(),
                    port: e.port,
                })
                .collect(),
        };
        arm(&mut self.store, self.meter_fuel);
        let driver = self.bindings.chatter_plugin_machine_driver();
        let outcome = driver.call_open(&mut self.store, &machine).await;
        let model = self.finish(outcome)?;
        let items: Vec<model::DataItem> = model.data_items.into_iter().map(data_item).collect();
        let bytes: usize = items.iter().map(|i| i.id.len() + i.kind.len()).sum();
        self.check_output(items.len(), bytes)?;
        Ok(items)
    }

    /// Polls the driver for the observations made since the previous poll.
    #[tracing::instrument(name = "plugin.poll", level = "trace", skip_all)]
    pub async fn poll(&mut self) -> Result<Vec<model::Observation>, Fault> {
        arm(&mut self.store, self.meter_fuel);
        let driver = self.bindings.chatter_plugin_machine_driver();
        let outcome = driver.call_poll(&mut self.store).await;
        let batch = self.finish(outcome)?;
        let batch: Vec<model::Observation> = batch.into_iter().map(observation).collect();
        let bytes: usize = batch.iter().map(model::Observation::payload_len).sum();
        self.check_output(batch.len(), bytes)?;
        Ok(batch)
    }

    /// Turns the outcome of a call into a value or a classified fault.
    fn finish<T>(&self, outcome: wasmtime::Result<Result<T, wit::Error>>) -> Result<T, Fault> {
        finish(&self.store, outcome)
    }

    fn check_output(&self, items: usize, bytes: usize) -> Result<(), Fault> {
        let cap_bytes = self.store.data().limits.host_call_bytes;
        if bytes > cap_bytes {
            return Err(Fault::OutputTooLarge {
                items,
                bytes,
                cap_bytes,
            });
        }
        Ok(())
    }
}

/// A store for an instance of `plugin` working in `context`, with its limits armed: the memory
/// cap, and the epoch callback that interrupts a call at its deadline.
fn new_store(
    runtime: &Runtime,
    plugin: &LoadedPlugin,
    context: InstanceContext,
) -> Store<HostState> {
    let limits = EffectiveLimits::resolve(&plugin.manifest.limits, &runtime.config.limits);
    let identity = Identity {
        plugin: plugin.manifest.id.clone(),
        version: plugin.manifest.version.clone(),
        org: context.org.clone(),
        machine: context.machine.clone(),
    };
    let mut store = Store::new(&runtime.engine, HostState::new(identity, context, limits));
    store.limiter(|state| &mut state.memory);
    store.epoch_deadline_callback(|mut context| {
        let state = context.data_mut();
        if Instant::now() >= state.deadline {
            state.deadline_hit = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            // Let other tasks run between ticks of a long computation.
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Instantiates a pre-instantiated component of an organization-wide kind (integration,
/// report) under the instance's call limits; returns its store and instance.
pub(crate) async fn instantiate_for_org(
    runtime: &Runtime,
    plugin: &LoadedPlugin,
    pre: &wasmtime::component::InstancePre<HostState>,
    context: InstanceContext,
) -> Result<(Store<HostState>, wasmtime::component::Instance, bool), Fault> {
    let mut store = new_store(runtime, plugin, context);
    let meter_fuel = runtime.config.fuel_metering;
    let timeout = store.data().limits.call_timeout;
    arm_with(&mut store, meter_fuel, timeout);
    let instance = pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| classify(&store, e))?;
    Ok((store, instance, meter_fuel))
}

/// Arms the per-call limits: a fresh deadline, a fresh fuel budget, a clean memory flag.
fn arm(store: &mut Store<HostState>, meter_fuel: bool) {
    let timeout = store.data().limits.call_timeout;
    arm_with(store, meter_fuel, timeout);
}

/// Arms the per-call limits with a deadline of `timeout` instead of the usual call timeout.
pub(crate) fn arm_with(store: &mut Store<HostState>, meter_fuel: bool, timeout: Duration) {
    let state = store.data_mut();
    state.call_timeout = timeout;
    state.deadline = Instant::now() + timeout;
    state.deadline_hit = false;
    state.memory.reset();
    let fuel = state.limits.fuel;
    store.set_epoch_deadline(1);
    if meter_fuel {
        // Fails only when the engine does not meter fuel; then there is nothing to arm.
        let _ = store.set_fuel(fuel.unwrap_or(u64::MAX));
    }
}

/// Turns the outcome of a call into a value or a classified fault.
pub(crate) fn finish<T>(
    store: &Store<HostState>,
    outcome: wasmtime::Result<Result<T, wit::Error>>,
) -> Result<T, Fault> {
    match outcome {
        Err(trap) => Err(classify(store, trap)),
        Ok(Err(error)) => Err(Fault::Plugin {
            code: code_name(error.code).to_owned(),
            message: error.message,
        }),
        Ok(Ok(value)) => Ok(value),
    }
}

/// Names the limit behind a trap, using what the store recorded while the guest ran.
fn classify(store: &Store<HostState>, error: wasmtime::Error) -> Fault {
    let state = store.data();
    if state.memory.was_hit() {
        return Fault::MemoryLimit {
            cap_bytes: state.memory.cap(),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) if state.deadline_hit => Fault::Deadline {
            timeout: state.call_timeout,
        },
        Some(Trap::OutOfFuel) => Fault::FuelExhausted {
            budget: state.limits.fuel.unwrap_or(0),
        },
        _ => Fault::Trap {
            message: trap_message(&error),
        },
    }
}

/// The trap's own line plus the innermost cause, without the multi-line wasm backtrace.
fn trap_message(error: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .map(|text| text.lines().next().unwrap_or_default().to_owned())
        .filter(|line| {
            !line.is_empty() && !line.starts_with("error while executing at wasm backtrace")
        })
        .collect();
    parts.dedup();
    parts.join(": ")
}

/// The WIT spelling of an error code.
pub(crate) fn code_name(code: wit::ErrorCode) -> &'static str {
    match code {
        wit::ErrorCode::InvalidConfig => "invalid-config",
        wit::ErrorCode::Unreachable => "unreachable",
        wit::ErrorCode::Protocol => "protocol",
        wit::ErrorCode::Timeout => "timeout",
        wit::ErrorCode::Denied => "denied",
        wit::ErrorCode::NotFound => "not-found",
        wit::ErrorCode::Internal => "internal",
    }
}

fn data_item(item: wit::DataItem) -> model::DataItem {
    model::DataItem {
        id: item.id,
        category: match item.category {
            wit::Category::Sample => model::Category::Sample,
            wit::Category::Event => model::Category::Event,
            wit::Category::Condition => model::Category::Condition,
        },
        kind: item.kind,
        units: item.units,
        name: item.name,
    }
}

fn observation(observation: wit::Observation) -> model::Observation {
    model::Observation {
        data_item: observation.data_item,
        timestamp: observation.timestamp,
        value: value(observation.value),
    }
}

fn value(value: wit::Value) -> model::Value {
    match value {
        wit::Value::Sample(number) => model::Value::Sample(number),
        wit::Value::Event(text) => model::Value::Event(text),
        wit::Value::Unavailable => model::Value::Unavailable,
        wit::Value::Condition(c) => model::Value::Condition(model::Condition {
            level: match c.level {
                wit::ConditionLevel::Normal => model::ConditionLevel::Normal,
                wit::ConditionLevel::Warning => model::ConditionLevel::Warning,
                wit::ConditionLevel::Fault => model::ConditionLevel::Fault,
                wit::ConditionLevel::Unavailable => model::ConditionLevel::Unavailable,
            },
            native_code: c.native_code,
            native_severity: c.native_severity,
            qualifier: c.qualifier,
            text: c.text,
        }),
    }
}

/// A stored observation as a report reads it.
pub(crate) fn to_wit_observation(observation: model::Observation) -> wit::Observation {
    wit::Observation {
        data_item: observation.data_item,
        timestamp: observation.timestamp,
        value: match observation.value {
            model::Value::Sample(number) => wit::Value::Sample(number),
            model::Value::Event(text) => wit::Value::Event(text),
            model::Value::Unavailable => wit::Value::Unavailable,
            model::Value::Condition(c) => wit::Value::Condition(wit::Condition {
                level: to_wit_level(c.level),
                native_code: c.native_code,
                native_severity: c.native_severity,
                qualifier: c.qualifier,
                text: c.text,
            }),
        },
    }
}

pub(crate) fn to_wit_level(level: model::ConditionLevel) -> wit::ConditionLevel {
    match level {
        model::ConditionLevel::Normal => wit::ConditionLevel::Normal,
        model::ConditionLevel::Warning => wit::ConditionLevel::Warning,
        model::ConditionLevel::Fault => wit::ConditionLevel::Fault,
        model::ConditionLevel::Unavailable => wit::ConditionLevel::Unavailable,
    }
}
