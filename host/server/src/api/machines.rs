//! `/api/v1/machines`: the organization's machines — list, detail, setup (add, replace,
//! remove), start and stop, and their stored observations.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chatter_derive::Current;
use chatter_model::{
    DataItem, Endpoint, Feed, Machine, MachineId, MachineStatus, PluginId, SignalMapping,
    StoredObservation,
};
use chatter_runtime::{DriverHealth, DriverStatus};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::fleet::FleetError;

/// Shortest and longest poll interval a machine may ask for, in milliseconds.
const POLL_INTERVAL_MS: std::ops::RangeInclusive<u32> = 10..=3_600_000;
/// Poll interval of a machine that does not say.
const DEFAULT_POLL_INTERVAL_MS: u32 = 1_000;
/// Most observations one page of `/observations` returns.
const MAX_PAGE: usize = 10_000;

/// A machine in a list.
#[derive(Serialize)]
struct MachineSummary {
    id: MachineId,
    name: String,
    driver: PluginId,
    feed: Feed,
    enabled: bool,
    group: Option<String>,
    daily_part_goal: Option<u64>,
    status: MachineStatus,
    last_update_ms: Option<i64>,
    driver_status: Option<DriverStatus>,
}

pub(super) async fn list(
    tenant: Tenant,
    State(app): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let machines = tenant.store().machines().await?;
    let summaries: Vec<MachineSummary> = machines
        .into_iter()
        .map(|machine| {
            let live = app.live.get(tenant.org(), &machine.id).unwrap_or_default();
            MachineSummary {
                status: live.status.unwrap_or(MachineStatus::Offline),
                last_update_ms: live.last_update_ms,
                driver_status: live.driver.map(|d| d.status),
                enabled: machine.enabled,
                feed: machine.feed,
                group: machine.group,
                daily_part_goal: machine.daily_part_goal,
                id: machine.id,
                name: machine.name,
                driver: machine.driver,
            }
        })
        .collect();
    Ok(Json(serde_json::json!({ "machines": summaries })))
}

/// One machine in detail: its setup, live values and driver health.
#[derive(Serialize)]
struct MachineDetail {
    id: MachineId,
    name: String,
    driver: PluginId,
    feed: Feed,
    enabled: bool,
    endpoints: Vec<Endpoint>,
    config: BTreeMap<String, String>,
    poll_interval_ms: u32,
    signals: SignalMapping,
    group: Option<String>,
    daily_part_goal: Option<u64>,
    status: MachineStatus,
    /// Since when it has had its status, its open cycle and its active alarms.
    state: Option<Current>,
    last_update_ms: Option<i64>,
    data_items: Vec<DataItem>,
    /// Latest observation of each data item, by data item id.
    current: Vec<StoredObservation>,
    driver_health: Option<DriverHealth>,
}

impl MachineDetail {
    fn of(app: &AppState, tenant: &Tenant, machine: Machine) -> Self {
        let live = app.live.get(tenant.org(), &machine.id).unwrap_or_default();
        let mut current: Vec<StoredObservation> = live.latest.into_values().collect();
        current.sort_by(|a, b| a.observation.data_item.cmp(&b.observation.data_item));
        MachineDetail {
            id: machine.id,
            name: machine.name,
            driver: machine.driver,
            feed: machine.feed,
            enabled: machine.enabled,
            endpoints: machine.endpoints,
            config: machine.config,
            poll_interval_ms: machine.poll_interval_ms,
            signals: machine.signals,
            group: machine.group,
            daily_part_goal: machine.daily_part_goal,
            status: live.status.unwrap_or(MachineStatus::Offline),
            state: live.current,
            last_update_ms: live.last_update_ms,
            data_items: live.data_items,
            current,
            driver_health: live.driver,
        }
    }
}

pub(super) async fn get(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = existing(&tenant, &id).await?;
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

/// A machine as a client describes it to add or replace it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MachineInput {
    id: Option<String>,
    name: Option<String>,
    driver: String,
    #[serde(default)]
    endpoints: Vec<EndpointInput>,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
    poll_interval_ms: Option<u32>,
    enabled: Option<bool>,
    feed: Option<Feed>,
    signals: Option<SignalMapping>,
    group: Option<String>,
    daily_part_goal: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
    name: String,
    host: String,
    port: u64,
}

pub(super) async fn create(
    tenant: Tenant,
    State(app): State<AppState>,
    body: Result<Json<MachineInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(invalid_body)?;
    let Some(id) = input.id.clone() else {
        return Err(ApiError::unprocessable(
            "invalid_machine",
            "id: a machine needs an id",
        ));
    };
    let machine = machine_from(&tenant, &id, input)?;
    if tenant.store().machine(&machine.id).await?.is_some() {
        return Err(ApiError::conflict(
            "machine_exists",
            format!(
                "a machine `{}` already exists in this organization; PUT /api/v1/machines/{} replaces it",
                machine.id, machine.id
            ),
        ));
    }
    let machine = save_and_run(&app, &tenant, machine).await?;
    let location = format!("/api/v1/machines/{}", machine.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(MachineDetail::of(&app, &tenant, machine)),
    ))
}

pub(super) async fn replace(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<MachineInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(invalid_body)?;
    if let Some(given) = &input.id
        && *given != id
    {
        return Err(ApiError::unprocessable(
            "invalid_machine",
            format!("id: `{given}` differs from the machine in the path, `{id}`"),
        ));
    }
    let machine = machine_from(&tenant, &id, input)?;
    let machine = save_and_run(&app, &tenant, machine).await?;
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

pub(super) async fn remove(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = existing(&tenant, &id).await?;
    app.fleet.stop_machine(tenant.org(), &machine.id).await;
    tenant.store().remove_machine(&machine.id).await?;
    app.ingest.forget(tenant.org(), &machine.id);
    tracing::info!(machine = %machine.id, "machine removed");
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn start(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let mut machine = existing(&tenant, &id).await?;
    machine.enabled = true;
    let machine = save_and_run(&app, &tenant, machine).await?;
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

pub(super) async fn stop(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let mut machine = existing(&tenant, &id).await?;
    machine.enabled = false;
    let machine = tenant.store().put_machine(machine).await?;
    app.fleet.stop_machine(tenant.org(), &machine.id).await;
    tracing::info!(machine = %machine.id, "machine stopped");
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

/// `?after=<sequence>&limit=<n>&data_item=<id>[,<id>…]`
#[derive(Debug, Deserialize)]
pub(super) struct Page {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
    data_item: Option<String>,
}

/// How many stored observations one filtered page reads at most, so that a rare data item
/// costs bounded work per request; the client continues from `next_after`.
const FILTER_SCAN: usize = 100_000;

pub(super) async fn observations(
    tenant: Tenant,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = existing(&tenant, &id).await?;
    let limit = page.limit.unwrap_or(1_000).clamp(1, MAX_PAGE);
    let Some(wanted) = page.data_item.as_deref() else {
        let observations = tenant
            .store()
            .observations(&machine.id, page.after, limit)
            .await?;
        let next_after = observations.last().map_or(page.after, |o| o.sequence);
        return Ok(Json(serde_json::json!({
            "observations": observations,
            "next_after": next_after,
        })));
    };
    let wanted: BTreeSet<&str> = wanted.split(',').map(str::trim).collect();
    let (mut found, mut after, mut scanned) = (Vec::new(), page.after, 0);
    while found.len() < limit && scanned < FILTER_SCAN {
        let chunk = tenant
            .store()
            .observations(&machine.id, after, MAX_PAGE)
            .await?;
        let Some(last) = chunk.last() else { break };
        after = last.sequence;
        scanned += chunk.len();
        for observation in chunk {
            if wanted.contains(observation.observation.data_item.as_str()) {
                found.push(observation);
                if found.len() == limit {
                    after = found.last().map_or(after, |o| o.sequence);
                    break;
                }
            }
        }
    }
    Ok(Json(serde_json::json!({
        "observations": found,
        "next_after": after,
    })))
}

/// The machine `id` of the organization, or 404.
pub(super) async fn existing(tenant: &Tenant, id: &str) -> Result<Machine, ApiError> {
    let unknown = || {
        ApiError::not_found(
            "machine_not_found",
            format!("no machine `{id}` in this organization"),
        )
    };
    let machine_id = MachineId::new(id).map_err(|_| unknown())?;
    tenant
        .store()
        .machine(&machine_id)
        .await?
        .ok_or_else(unknown)
}

/// Validates everything about `input` that does not need the driver plugin.
fn machine_from(tenant: &Tenant, id: &str, input: MachineInput) -> Result<Machine, ApiError> {
    let invalid = |message: String| ApiError::unprocessable("invalid_machine", message);
    let id = MachineId::new(id).map_err(|e| invalid(format!("id: {e}")))?;
    let driver =
        PluginId::new(input.driver.as_str()).map_err(|e| invalid(format!("driver: {e}")))?;
    let poll_interval_ms = input.poll_interval_ms.unwrap_or(DEFAULT_POLL_INTERVAL_MS);
    if !POLL_INTERVAL_MS.contains(&poll_interval_ms) {
        return Err(invalid(format!(
            "poll_interval_ms: {poll_interval_ms} is outside {}–{}",
            POLL_INTERVAL_MS.start(),
            POLL_INTERVAL_MS.end()
        )));
    }
    Ok(Machine {
        org: tenant.org().clone(),
        name: input
            .name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| id.to_string()),
        id,
        driver,
        config: config_from(input.config).map_err(invalid)?,
        endpoints: endpoints_from(input.endpoints).map_err(invalid)?,
        poll_interval_ms,
        enabled: input.enabled.unwrap_or(true),
        feed: input.feed.unwrap_or_default(),
        signals: input.signals.unwrap_or_default(),
        group: group_from(input.group).map_err(invalid)?,
        daily_part_goal: goal_from(input.daily_part_goal).map_err(invalid)?,
    })
}

/// Longest group name, in characters.
const MAX_GROUP: usize = 64;

/// A group name, trimmed; blank means none.
fn group_from(group: Option<String>) -> Result<Option<String>, String> {
    let Some(group) = group.map(|group| group.trim().to_owned()) else {
        return Ok(None);
    };
    if group.is_empty() {
        return Ok(None);
    }
    if group.chars().count() > MAX_GROUP || group.chars().any(char::is_control) {
        return Err(format!(
            "group: `{group}` is not a group name (at most {MAX_GROUP} characters, no control characters)"
        ));
    }
    Ok(Some(group))
}

/// Most parts a day a goal may name.
const MAX_DAILY_GOAL: u64 = 1_000_000;

fn goal_from(goal: Option<u64>) -> Result<Option<u64>, String> {
    match goal {
        Some(goal) if goal == 0 || goal > MAX_DAILY_GOAL => Err(format!(
            "daily_part_goal: {goal} is outside 1–{MAX_DAILY_GOAL}"
        )),
        goal => Ok(goal),
    }
}

/// Configuration values as the plugin schema reads them: text, with numbers and booleans in
/// their usual spelling.
fn config_from(
    config: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, String> {
    config
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                other => {
                    return Err(format!(
                        "config.{key}: {other} is not a string, number or boolean"
                    ));
                }
            };
            Ok((key, text))
        })
        .collect()
}

fn endpoints_from(endpoints: Vec<EndpointInput>) -> Result<Vec<Endpoint>, String> {
    let mut names = BTreeSet::new();
    endpoints
        .into_iter()
        .enumerate()
        .map(|(index, endpoint)| {
            let at = format!("endpoints[{index}]");
            let name = endpoint.name.trim();
            if name.is_empty() {
                return Err(format!("{at}.name: an endpoint needs a name"));
            }
            if !names.insert(name.to_owned()) {
                return Err(format!("{at}.name: `{name}` is given twice"));
            }
            let host = endpoint.host.trim();
            if host.is_empty() || host.contains(['/', ' ', '@']) {
                return Err(format!(
                    "{at}.host: `{host}` is not a host name or IP address"
                ));
            }
            let port = u16::try_from(endpoint.port)
                .ok()
                .filter(|port| *port != 0)
                .ok_or_else(|| {
                    format!("{at}.port: {} is not a TCP port (1–65535)", endpoint.port)
                })?;
            Ok(Endpoint {
                name: name.to_owned(),
                host: host.to_owned(),
                port,
            })
        })
        .collect()
}

/// Checks the machine against its driver's manifest, saves it, and starts or stops its driver
/// to match `enabled` (a machine an edge feeds has no driver here). Nothing is saved when the
/// check fails.
async fn save_and_run(
    app: &AppState,
    tenant: &Tenant,
    machine: Machine,
) -> Result<Machine, ApiError> {
    let runs_here = machine.feed == Feed::Driver;
    if runs_here {
        app.fleet.validate(&machine).await.map_err(setup_error)?;
    }
    let machine = tenant.store().put_machine(machine).await?;
    app.ingest.remap(&machine).await?;
    if machine.enabled && runs_here {
        app.fleet
            .start_machine(&machine)
            .await
            .map_err(setup_error)?;
        tracing::info!(machine = %machine.id, driver = %machine.driver, "machine started");
    } else {
        app.fleet.stop_machine(tenant.org(), &machine.id).await;
    }
    Ok(machine)
}

fn setup_error(error: FleetError) -> ApiError {
    match error {
        FleetError::Plugin { source, .. } => {
            ApiError::unprocessable("unknown_driver", format!("driver: {source}"))
        }
        FleetError::NotADriver { plugin, kind, .. } => ApiError::unprocessable(
            "not_a_driver",
            format!("driver: plugin `{plugin}` is a {kind} plugin, not a driver"),
        ),
        FleetError::Config { source, .. } => {
            ApiError::unprocessable("invalid_config", format!("config: {source}"))
        }
        FleetError::Store(error) => ApiError::from(error),
    }
}

/// A body that is not JSON is a 400; JSON of the wrong shape a 422.
pub(super) fn invalid_body(rejection: JsonRejection) -> ApiError {
    let message = rejection.body_text();
    if rejection.status() == StatusCode::UNPROCESSABLE_ENTITY {
        ApiError::unprocessable("invalid_body", message)
    } else {
        ApiError::bad_request("invalid_body", message)
    }
}
