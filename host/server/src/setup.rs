//! Machine setup — adding, changing, disabling, enabling and removing an organization's
//! machines, and testing a machine's connection before it is saved — as operations shared by
//! the JSON API and the web pages.
//!
//! Validation names the field at fault in each [`SetupError`], so the API prefixes its message
//! with the field (`endpoints[0].port: 70000 is not a TCP port (1–65535)`) and a form puts it
//! beside the input. Nothing is saved when any check fails. Every change is recorded in the
//! audit log (`machine.create`, `machine.update`, `machine.disable`, `machine.enable`,
//! `machine.delete`) with ids only, never configuration values.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::RangeInclusive;

use axum::http::StatusCode;
use chatter_model::{Endpoint, Feed, Machine, MachineId, PluginId, SignalMapping};
use chatter_runtime::Manifest;
use chatter_runtime::manifest::{Capability, ConfigError, ConfigType};
use serde::Deserialize;

use crate::accounts::{AccountError, Audit, RequestContext};
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::fleet::{FleetError, ProbeReport};
use crate::plugins::PluginError;

/// Shortest and longest poll interval a machine may ask for, in milliseconds.
pub const POLL_INTERVAL_MS: RangeInclusive<u32> = 10..=3_600_000;
/// Poll interval of a machine that does not say.
pub const DEFAULT_POLL_INTERVAL_MS: u32 = 1_000;
/// Longest machine name, in characters.
pub const MAX_NAME: usize = 100;
/// Longest group name, in characters.
pub const MAX_GROUP: usize = 64;
/// Most parts a day a goal may name.
pub const MAX_DAILY_GOAL: u64 = 1_000_000;
/// Ids no new machine may take: the web pages' own addresses (`/machines/new`,
/// `/machines/test`) would hide its pages.
pub const RESERVED_IDS: [&str; 2] = ["new", "test"];
/// The id a connection test runs under when its machine has none yet.
const PROBE_ID: &str = "connection-test";

/// A machine as a client describes it to add, replace or test it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineInput {
    /// Its id (in the path when it is replaced).
    pub id: Option<String>,
    /// Its name; the id when blank.
    pub name: Option<String>,
    /// The driver plugin that reads it.
    pub driver: String,
    /// Where it is reached.
    #[serde(default)]
    pub endpoints: Vec<EndpointInput>,
    /// The driver's settings: strings, numbers or booleans.
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// How often it is polled (default 1,000 ms).
    pub poll_interval_ms: Option<u32>,
    /// Whether its driver runs (default true).
    pub enabled: Option<bool>,
    /// How its observations arrive (default: its driver runs here).
    pub feed: Option<Feed>,
    /// Its data item mapping.
    pub signals: Option<SignalMapping>,
    /// Its cell or department; blank for none.
    pub group: Option<String>,
    /// Parts a day it should make.
    pub daily_part_goal: Option<u64>,
    /// Errors found while reading the input, such as a form's text that is not a number: they
    /// are reported with the others, and no other error is reported for their fields.
    #[serde(skip)]
    pub refused: Vec<SetupError>,
}

/// An endpoint as a client describes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// What it is for, as the driver names it (`adapter`, `agent`, `mdc`).
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u64,
}

/// What is wrong with one field of a machine's setup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SetupError {
    /// The API's error code: `invalid_machine`, `invalid_config`, `unknown_driver`,
    /// `not_a_driver` or `machine_exists`.
    pub code: &'static str,
    /// The field, as the API's body names it: `id`, `driver`, `endpoints[0].host`,
    /// `config.speed`, `endpoints` (none of them is the one the driver reads), …
    pub field: String,
    /// What is wrong, without the field's name.
    pub message: String,
}

impl SetupError {
    fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        SetupError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// An error about the machine's own fields (`invalid_machine`).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("invalid_machine", field, message)
    }

    /// The status the API answers it with.
    pub fn status(&self) -> StatusCode {
        if self.code == "machine_exists" {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// Why a setup operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// The setup was refused: every field at fault (at least one), one error per field, in
    /// the order they were checked. Nothing was saved.
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<SetupError>),
    /// The organization has no machine with this id.
    #[error("no machine `{0}` in this organization")]
    NotFound(String),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<chatter_store::StoreError> for MachineError {
    fn from(error: chatter_store::StoreError) -> Self {
        MachineError::Internal(error.into())
    }
}

impl From<AccountError> for MachineError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Internal(error) => MachineError::Internal(error),
            other => MachineError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<MachineError> for ApiError {
    fn from(error: MachineError) -> Self {
        match error {
            MachineError::Invalid(errors) => match errors.into_iter().next() {
                Some(first) => ApiError::new(first.status(), first.code, first.to_string()),
                None => ApiError::internal("a setup was refused without a reason"),
            },
            MachineError::NotFound(id) => ApiError::not_found(
                "machine_not_found",
                format!("no machine `{id}` in this organization"),
            ),
            MachineError::Internal(error) => ApiError::internal(format!("{error:#}")),
        }
    }
}

/// The errors found so far, one per field.
#[derive(Default)]
struct Found(Vec<SetupError>);

impl Found {
    fn add(&mut self, error: SetupError) {
        if !self.0.iter().any(|known| known.field == error.field) {
            self.0.push(error);
        }
    }

    fn has(&self, field_prefix: &str) -> bool {
        self.0
            .iter()
            .any(|error| error.field.starts_with(field_prefix))
    }
}

/// The machine `id` of the tenant's organization.
pub async fn existing(tenant: &Tenant, id: &str) -> Result<Machine, MachineError> {
    let unknown = || MachineError::NotFound(id.to_owned());
    let machine_id = MachineId::new(id).map_err(|_| unknown())?;
    tenant
        .store()
        .machine(&machine_id)
        .await?
        .ok_or_else(unknown)
}

/// The installed driver plugins' manifests, by id: what a machine's `driver` may name, with
/// the settings each takes. A plugin whose stored manifest no longer parses is left out.
pub async fn drivers(app: &AppState) -> Result<Vec<Manifest>, MachineError> {
    let mut drivers = Vec::new();
    for install in app.data.plugins().await? {
        if install.kind != "driver" {
            continue;
        }
        let label = format!("<installed>/{}/plugin.toml", install.id);
        match Manifest::parse(&install.manifest_toml, std::path::Path::new(&label)) {
            Ok(manifest) => drivers.push(manifest),
            Err(error) => tracing::warn!(plugin = %install.id, %error, "unreadable manifest"),
        }
    }
    drivers.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(drivers)
}

/// The endpoints a driver reads, as `(setting, default name)`: its settings called `endpoint`
/// or `…-endpoint`, which is how drivers name the endpoint they connect to, when it asks for
/// `machine-network`. A driver without that capability reaches no endpoint.
pub fn endpoint_settings(manifest: &Manifest) -> Vec<(&str, String)> {
    if !manifest.requests(Capability::MachineNetwork) {
        return Vec::new();
    }
    manifest
        .config
        .iter()
        .filter(|(key, field)| {
            field.kind == ConfigType::String && (*key == "endpoint" || key.ends_with("-endpoint"))
        })
        .map(|(key, field)| {
            let default = match &field.default {
                Some(toml::Value::String(name)) => name.clone(),
                _ => String::new(),
            };
            (key.as_str(), default)
        })
        .collect()
}

/// Checks `input`, the setup of machine `id` of the tenant's organization — its own fields, its
/// driver plugin, the settings against the plugin's schema, and that it has the endpoints the
/// driver reads — and returns the machine it describes. Other machines are not looked at.
pub async fn validate(
    app: &AppState,
    tenant: &Tenant,
    id: &str,
    mut input: MachineInput,
) -> Result<Machine, MachineError> {
    let mut found = Found::default();
    for error in std::mem::take(&mut input.refused) {
        found.add(error);
    }
    let id = if id.trim().is_empty() {
        found.add(SetupError::invalid("id", "a machine needs an id"));
        None
    } else {
        MachineId::new(id)
            .map_err(|e| found.add(SetupError::invalid("id", e.to_string())))
            .ok()
    };
    let driver = if input.driver.trim().is_empty() {
        found.add(SetupError::invalid(
            "driver",
            "choose the driver that reads the machine",
        ));
        None
    } else {
        PluginId::new(input.driver.trim())
            .map_err(|e| found.add(SetupError::invalid("driver", e.to_string())))
            .ok()
    };
    let poll_interval_ms = input.poll_interval_ms.unwrap_or(DEFAULT_POLL_INTERVAL_MS);
    if !POLL_INTERVAL_MS.contains(&poll_interval_ms) {
        found.add(SetupError::invalid(
            "poll_interval_ms",
            format!(
                "{poll_interval_ms} is outside {}–{}",
                POLL_INTERVAL_MS.start(),
                POLL_INTERVAL_MS.end()
            ),
        ));
    }
    let config = config_from(input.config, &mut found);
    let endpoints = endpoints_from(input.endpoints, &mut found);
    let group = group_from(input.group, &mut found);
    let daily_part_goal = goal_from(input.daily_part_goal, &mut found);
    let name = name_from(input.name, &mut found);

    let placeholder = || MachineId::new(PROBE_ID).unwrap_or_else(|_| unreachable!("a valid id"));
    let machine = Machine {
        org: tenant.org().clone(),
        name: name.unwrap_or_else(|| id.as_ref().map(ToString::to_string).unwrap_or_default()),
        id: id.clone().unwrap_or_else(placeholder),
        driver: driver
            .clone()
            .unwrap_or_else(|| PluginId::new("unknown").unwrap_or_else(|_| unreachable!())),
        config,
        endpoints,
        poll_interval_ms,
        enabled: input.enabled.unwrap_or(true),
        feed: input.feed.unwrap_or_default(),
        signals: input.signals.unwrap_or_default(),
        group,
        daily_part_goal,
    };
    // A machine an edge feeds runs no driver here: its driver and settings are the edge's.
    if driver.is_some() && machine.feed == Feed::Driver {
        match app.fleet.validate(&machine).await {
            Ok((plugin, resolved)) => {
                if !found.has("endpoints") {
                    check_endpoints(&plugin.manifest, &resolved, &machine.endpoints, &mut found);
                }
            }
            Err(error) => found.add(setup_error(error)?),
        }
    }
    if found.0.is_empty() {
        Ok(machine)
    } else {
        Err(MachineError::Invalid(found.0))
    }
}

/// Adds the machine `input` describes and starts its driver (unless it is disabled or fed by
/// an edge). Its id must be new in the organization.
pub async fn create(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    input: MachineInput,
) -> Result<Machine, MachineError> {
    let id = input.id.clone().unwrap_or_default();
    let unused = check_new_id(tenant, &id).await?;
    let machine = merge(validate(app, tenant, &id, input).await, unused)?;
    let machine = save_and_run(app, tenant, machine).await?;
    record(app, context, tenant, "machine.create", &machine).await?;
    Ok(machine)
}

/// Replaces the setup of machine `id` (adding it if the organization has none by that id) and
/// restarts its driver.
pub async fn replace(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    id: &str,
    input: MachineInput,
) -> Result<Machine, MachineError> {
    let existed = match MachineId::new(id) {
        Ok(machine) => tenant.store().machine(&machine).await?.is_some(),
        Err(_) => false,
    };
    let mut path_errors = Vec::new();
    if let Some(given) = &input.id
        && given != id
    {
        path_errors.push(SetupError::invalid(
            "id",
            format!("`{given}` differs from the machine in the path, `{id}`"),
        ));
    }
    if !existed && RESERVED_IDS.contains(&id) {
        path_errors.push(reserved(id));
    }
    let machine = merge(validate(app, tenant, id, input).await, path_errors)?;
    let machine = save_and_run(app, tenant, machine).await?;
    let action = if existed {
        "machine.update"
    } else {
        "machine.create"
    };
    record(app, context, tenant, action, &machine).await?;
    Ok(machine)
}

/// Starts (`enabled`) or stops the driver of machine `id`, keeping its setup and data; the
/// choice is saved and survives restarts.
pub async fn set_enabled(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    id: &str,
    enabled: bool,
) -> Result<Machine, MachineError> {
    let mut machine = existing(tenant, id).await?;
    machine.enabled = enabled;
    let machine = if enabled {
        save_and_run(app, tenant, machine).await?
    } else {
        let machine = tenant.store().put_machine(machine).await?;
        app.fleet.stop_machine(tenant.org(), &machine.id).await;
        tracing::info!(machine = %machine.id, "machine stopped");
        machine
    };
    let action = if enabled {
        "machine.enable"
    } else {
        "machine.disable"
    };
    record(app, context, tenant, action, &machine).await?;
    Ok(machine)
}

/// Stops the driver of machine `id` and removes the machine with everything stored about it:
/// its observations and latest values, data items, driver state, timeline, parts, cycles,
/// alarms and hourly and daily totals. Returns what it was.
pub async fn remove(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    id: &str,
) -> Result<Machine, MachineError> {
    let machine = existing(tenant, id).await?;
    app.fleet.stop_machine(tenant.org(), &machine.id).await;
    tenant.store().remove_machine(&machine.id).await?;
    app.ingest.forget(tenant.org(), &machine.id);
    tracing::info!(machine = %machine.id, "machine removed");
    record(app, context, tenant, "machine.delete", &machine).await?;
    Ok(machine)
}

/// Tests the setup `input` describes without saving anything: checks it as [`validate`] does
/// (the id may be left out), then starts its driver, opens the machine and polls it once
/// ([`Fleet::probe`](crate::fleet::Fleet::probe)).
pub async fn probe(
    app: &AppState,
    tenant: &Tenant,
    input: MachineInput,
) -> Result<ProbeReport, MachineError> {
    let id = input
        .id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| PROBE_ID.to_owned());
    let machine = validate(app, tenant, &id, input).await?;
    match app.fleet.probe(&machine).await {
        Ok(report) => Ok(report),
        Err(error) => Err(MachineError::Invalid(vec![setup_error(error)?])),
    }
}

/// The refusal of `id` for a new machine, if it is reserved or taken.
async fn check_new_id(tenant: &Tenant, id: &str) -> Result<Vec<SetupError>, MachineError> {
    let id = id.trim();
    if RESERVED_IDS.contains(&id) {
        return Ok(vec![reserved(id)]);
    }
    let Ok(machine) = MachineId::new(id) else {
        return Ok(Vec::new());
    };
    if tenant.store().machine(&machine).await?.is_some() {
        return Ok(vec![SetupError::new(
            "machine_exists",
            "id",
            format!("a machine `{id}` already exists in this organization"),
        )]);
    }
    Ok(Vec::new())
}

fn reserved(id: &str) -> SetupError {
    SetupError::invalid(
        "id",
        format!("`{id}` is reserved for the web pages' addresses: choose another id"),
    )
}

/// The checked machine, unless `more` errors were found besides (reported after the others).
fn merge(
    checked: Result<Machine, MachineError>,
    more: Vec<SetupError>,
) -> Result<Machine, MachineError> {
    match checked {
        Ok(machine) if more.is_empty() => Ok(machine),
        Ok(_) => Err(MachineError::Invalid(more)),
        Err(MachineError::Invalid(errors)) => {
            let mut found = Found(errors);
            for error in more {
                found.add(error);
            }
            Err(MachineError::Invalid(found.0))
        }
        Err(other) => Err(other),
    }
}

/// Saves the checked `machine` and starts or stops its driver to match `enabled` (a machine an
/// edge feeds has no driver here).
async fn save_and_run(
    app: &AppState,
    tenant: &Tenant,
    machine: Machine,
) -> Result<Machine, MachineError> {
    let runs_here = machine.feed == Feed::Driver;
    if runs_here && let Err(error) = app.fleet.validate(&machine).await {
        return Err(MachineError::Invalid(vec![setup_error(error)?]));
    }
    let machine = tenant.store().put_machine(machine).await?;
    app.ingest.remap(&machine).await?;
    if machine.enabled && runs_here {
        if let Err(error) = app.fleet.start_machine(&machine).await {
            return Err(MachineError::Invalid(vec![setup_error(error)?]));
        }
        tracing::info!(machine = %machine.id, driver = %machine.driver, "machine started");
    } else {
        app.fleet.stop_machine(tenant.org(), &machine.id).await;
    }
    Ok(machine)
}

/// Records a change of `machine` in the audit log: the machine and driver ids, nothing of its
/// configuration.
async fn record(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    action: &str,
    machine: &Machine,
) -> Result<(), MachineError> {
    let mut audit = Audit::new(action, context)
        .org(tenant.org())
        .detail("machine", &machine.id)
        .detail("driver", &machine.driver);
    if let Some(user) = tenant.user() {
        audit = audit.actor(user);
    }
    audit.record(app).await?;
    Ok(())
}

/// The field at fault when the fleet refuses a machine; a store failure is the server's.
fn setup_error(error: FleetError) -> Result<SetupError, MachineError> {
    Ok(match error {
        FleetError::Plugin {
            source: PluginError::Store(error),
            ..
        }
        | FleetError::Store(error) => return Err(error.into()),
        FleetError::Plugin { source, .. } => {
            SetupError::new("unknown_driver", "driver", source.to_string())
        }
        FleetError::NotADriver { plugin, kind, .. } => SetupError::new(
            "not_a_driver",
            "driver",
            format!("plugin `{plugin}` is a {kind} plugin, not a driver"),
        ),
        FleetError::Config { source, .. } => config_error(source),
    })
}

/// A configuration that does not fit the driver's schema, named by its key.
fn config_error(error: ConfigError) -> SetupError {
    let (key, message) = match error {
        ConfigError::UnknownKey { plugin, key, known } => {
            let message = format!(
                "the `{plugin}` driver has no setting `{key}` (it takes: {})",
                known.join(", ")
            );
            (key, message)
        }
        ConfigError::Missing { plugin, key } => {
            let message = format!("the `{plugin}` driver needs a value here: it has no default");
            (key, message)
        }
        ConfigError::WrongType {
            key,
            value,
            expected,
            ..
        } => {
            let message = match expected {
                ConfigType::Integer => format!("`{value}` is not a whole number"),
                ConfigType::Number => format!("`{value}` is not a number"),
                ConfigType::Boolean => format!("`{value}` is not true or false"),
                ConfigType::String => format!("`{value}` is not text"),
            };
            (key, message)
        }
    };
    SetupError::new("invalid_config", format!("config.{key}"), message)
}

/// Checks that the machine has each endpoint the driver reads (by its `endpoint` settings).
fn check_endpoints(
    manifest: &Manifest,
    config: &BTreeMap<String, String>,
    endpoints: &[Endpoint],
    found: &mut Found,
) {
    for (key, _) in endpoint_settings(manifest) {
        let Some(name) = config.get(key).filter(|name| !name.is_empty()) else {
            continue;
        };
        if !endpoints.iter().any(|endpoint| endpoint.name == *name) {
            found.add(SetupError::invalid(
                "endpoints",
                format!(
                    "the driver reads the endpoint named `{name}` (its `{key}` setting): add an endpoint of that name with the machine's host and port"
                ),
            ));
        }
    }
}

fn name_from(name: Option<String>, found: &mut Found) -> Option<String> {
    let name = name.map(|name| name.trim().to_owned())?;
    if name.is_empty() {
        return None;
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        found.add(SetupError::invalid(
            "name",
            format!("a name has at most {MAX_NAME} characters and no control characters"),
        ));
        return None;
    }
    Some(name)
}

/// A group name, trimmed; blank means none.
fn group_from(group: Option<String>, found: &mut Found) -> Option<String> {
    let group = group.map(|group| group.trim().to_owned())?;
    if group.is_empty() {
        return None;
    }
    if group.chars().count() > MAX_GROUP || group.chars().any(char::is_control) {
        found.add(SetupError::invalid(
            "group",
            format!(
                "`{group}` is not a group name (at most {MAX_GROUP} characters, no control characters)"
            ),
        ));
        return None;
    }
    Some(group)
}

fn goal_from(goal: Option<u64>, found: &mut Found) -> Option<u64> {
    match goal {
        Some(goal) if goal == 0 || goal > MAX_DAILY_GOAL => {
            found.add(SetupError::invalid(
                "daily_part_goal",
                format!("{goal} is outside 1–{MAX_DAILY_GOAL}"),
            ));
            None
        }
        goal => goal,
    }
}

/// Configuration values as the plugin schema reads them: text, with numbers and booleans in
/// their usual spelling.
fn config_from(
    config: BTreeMap<String, serde_json::Value>,
    found: &mut Found,
) -> BTreeMap<String, String> {
    config
        .into_iter()
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                other => {
                    found.add(SetupError::invalid(
                        format!("config.{key}"),
                        format!("{other} is not a string, number or boolean"),
                    ));
                    return None;
                }
            };
            Some((key, text))
        })
        .collect()
}

fn endpoints_from(endpoints: Vec<EndpointInput>, found: &mut Found) -> Vec<Endpoint> {
    let mut names = BTreeSet::new();
    let mut valid = Vec::new();
    for (index, endpoint) in endpoints.into_iter().enumerate() {
        let at = format!("endpoints[{index}]");
        let errors = found.0.len();
        let name = endpoint.name.trim();
        if name.is_empty() {
            found.add(SetupError::invalid(
                format!("{at}.name"),
                "an endpoint needs a name",
            ));
        } else if !names.insert(name.to_owned()) {
            found.add(SetupError::invalid(
                format!("{at}.name"),
                format!("`{name}` is given twice"),
            ));
        }
        let host = endpoint.host.trim();
        if !is_host(host) {
            found.add(SetupError::invalid(
                format!("{at}.host"),
                format!("`{host}` is not a host name or IP address"),
            ));
        }
        let port = u16::try_from(endpoint.port).ok().filter(|port| *port != 0);
        if port.is_none() {
            found.add(SetupError::invalid(
                format!("{at}.port"),
                format!("{} is not a TCP port (1–65535)", endpoint.port),
            ));
        }
        if let (Some(port), true) = (port, found.0.len() == errors) {
            valid.push(Endpoint {
                name: name.to_owned(),
                host: host.to_owned(),
                port,
            });
        }
    }
    valid
}

/// Whether `host` is an IP address or a DNS host name: dot-separated labels of 1 to 63
/// letters, digits and inner hyphens, 253 characters at most, the last label not all digits
/// (`10.0.0.300` is a mistyped address, not a name).
pub fn is_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let last_is_name = host
        .rsplit('.')
        .next()
        .is_some_and(|last| !last.chars().all(|c| c.is_ascii_digit()));
    !host.is_empty() && host.len() <= 253 && host.split('.').all(label_ok) && last_is_name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_names_or_addresses() {
        for good in [
            "10.0.4.21",
            "::1",
            "fe80::1",
            "okuma-1",
            "mill.shop.example",
            "M1.local",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0",
            "mill 1",
            "http://mill",
            "mill/agent",
            "user@mill",
            "-mill",
            "mill..shop",
            "mill.",
            "[::1]",
            "mill:7878",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
    }

    #[test]
    fn every_bad_endpoint_field_is_named_once() {
        let mut found = Found::default();
        let endpoints = endpoints_from(
            vec![
                EndpointInput {
                    name: "adapter".into(),
                    host: "10.0.0.5".into(),
                    port: 7878,
                },
                EndpointInput {
                    name: "adapter".into(),
                    host: "bad host".into(),
                    port: 70_000,
                },
            ],
            &mut found,
        );
        assert_eq!(endpoints.len(), 1);
        let fields: Vec<&str> = found.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "endpoints[1].name",
                "endpoints[1].host",
                "endpoints[1].port"
            ]
        );
        assert_eq!(
            found.0[2].to_string(),
            "endpoints[1].port: 70000 is not a TCP port (1–65535)"
        );
    }

    #[test]
    fn config_errors_name_the_setting() {
        let error = config_error(ConfigError::WrongType {
            plugin: PluginId::new("simulator").unwrap_or_else(|_| unreachable!()),
            key: "speed".into(),
            value: "fast".into(),
            expected: ConfigType::Number,
        });
        assert_eq!(error.code, "invalid_config");
        assert_eq!(error.to_string(), "config.speed: `fast` is not a number");
    }
}
