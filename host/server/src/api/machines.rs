//! `/api/v1/machines`: the organization's machines — list, detail, setup (add, replace,
//! remove, test before saving), start and stop, and their stored observations. The setup
//! operations are [`crate::setup`]'s, shared with the web pages.

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

use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::setup::{self, MachineInput};

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

pub(super) async fn create(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    body: Result<Json<MachineInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(invalid_body)?;
    let machine = setup::create(&app, &context, &tenant, input).await?;
    let location = format!("/api/v1/machines/{}", machine.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(MachineDetail::of(&app, &tenant, machine)),
    ))
}

/// `POST /api/v1/machines/test`: tries a setup (the body of a create) without saving it.
pub(super) async fn test(
    tenant: Tenant,
    State(app): State<AppState>,
    body: Result<Json<MachineInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(invalid_body)?;
    Ok(Json(setup::probe(&app, &tenant, input).await?))
}

pub(super) async fn replace(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    Path(id): Path<String>,
    body: Result<Json<MachineInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(invalid_body)?;
    let machine = setup::replace(&app, &context, &tenant, &id, input).await?;
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

pub(super) async fn remove(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    setup::remove(&app, &context, &tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn start(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = setup::set_enabled(&app, &context, &tenant, &id, true).await?;
    Ok(Json(MachineDetail::of(&app, &tenant, machine)))
}

pub(super) async fn stop(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = setup::set_enabled(&app, &context, &tenant, &id, false).await?;
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
    Ok(setup::existing(tenant, id).await?)
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
