//! The HTTP API under `/api/v1`, `/healthz`, and the live status page at `/`. Handlers are
//! thin: they read the organization's view of the store and the live state and map it to JSON.
//!
//! Until accounts exist, a server serves one organization (`[server] organization`); every
//! route reads only that organization's data, so adding sign-in later only changes how the
//! organization is chosen.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use chatter_model::{DataItem, MachineId, MachineStatus, OrgId, PluginId, StoredObservation};
use chatter_runtime::{DriverHealth, DriverStatus};
use chatter_store::Store;
use futures::Stream;
use serde::Serialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::fleet::Fleet;
use crate::live::LiveState;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The organization served.
    pub org: OrgId,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Live machine state.
    pub live: LiveState,
    /// The running drivers.
    pub fleet: Arc<Fleet>,
}

/// The router of the whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/api/v1/machines", get(list_machines))
        .route("/api/v1/machines/{id}", get(get_machine))
        .route("/api/v1/plugins", get(list_plugins))
        .route("/api/v1/events", get(events))
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn index() -> Html<&'static str> {
    Html(include_str!("../assets/index.html"))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}

/// A machine in a list.
#[derive(Serialize)]
struct MachineSummary {
    id: MachineId,
    name: String,
    driver: PluginId,
    status: MachineStatus,
    last_update_ms: Option<i64>,
    driver_status: Option<DriverStatus>,
}

async fn list_machines(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let machines = app.store.machines(&app.org).await?;
    let summaries: Vec<MachineSummary> = machines
        .into_iter()
        .map(|machine| {
            let live = app.live.get(&app.org, &machine.id).unwrap_or_default();
            MachineSummary {
                status: live.status.unwrap_or(MachineStatus::Offline),
                last_update_ms: live.last_update_ms,
                driver_status: live.driver.map(|d| d.status),
                id: machine.id,
                name: machine.name,
                driver: machine.driver,
            }
        })
        .collect();
    Ok(Json(serde_json::json!({ "machines": summaries })))
}

/// One machine in detail.
#[derive(Serialize)]
struct MachineDetail {
    id: MachineId,
    name: String,
    driver: PluginId,
    status: MachineStatus,
    last_update_ms: Option<i64>,
    data_items: Vec<DataItem>,
    /// Latest observation of each data item, by data item id.
    current: Vec<StoredObservation>,
    driver_health: Option<DriverHealth>,
}

async fn get_machine(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let unknown = || {
        ApiError::not_found(
            "machine_not_found",
            format!("no machine `{id}` in this organization"),
        )
    };
    let machine_id = MachineId::new(id.as_str()).map_err(|_| unknown())?;
    let machine = app
        .store
        .machine(&app.org, &machine_id)
        .await?
        .ok_or_else(unknown)?;
    let live = app.live.get(&app.org, &machine_id).unwrap_or_default();
    let mut current: Vec<StoredObservation> = live.latest.into_values().collect();
    current.sort_by(|a, b| a.observation.data_item.cmp(&b.observation.data_item));
    Ok(Json(MachineDetail {
        id: machine.id,
        name: machine.name,
        driver: machine.driver,
        status: live.status.unwrap_or(MachineStatus::Offline),
        last_update_ms: live.last_update_ms,
        data_items: live.data_items,
        current,
        driver_health: live.driver,
    }))
}

/// An installed plugin and the health of its instances serving this organization.
#[derive(Serialize)]
struct PluginSummary {
    id: PluginId,
    version: String,
    kind: String,
    api_version: String,
    description: String,
    sha256: String,
    installed_at_ms: i64,
    instances: InstanceCounts,
}

#[derive(Serialize, Default)]
struct InstanceCounts {
    total: usize,
    running: usize,
    starting: usize,
    retrying: usize,
    restarting: usize,
    quarantined: usize,
}

impl InstanceCounts {
    fn of(health: &[DriverHealth]) -> Self {
        let mut counts = InstanceCounts {
            total: health.len(),
            ..InstanceCounts::default()
        };
        for h in health {
            match h.status {
                DriverStatus::Running => counts.running += 1,
                DriverStatus::Starting => counts.starting += 1,
                DriverStatus::Retrying { .. } => counts.retrying += 1,
                DriverStatus::Restarting { .. } => counts.restarting += 1,
                DriverStatus::Quarantined { .. } => counts.quarantined += 1,
            }
        }
        counts
    }
}

async fn list_plugins(State(app): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let plugins: Vec<PluginSummary> = app
        .store
        .plugins()
        .await?
        .into_iter()
        .map(|p| PluginSummary {
            instances: InstanceCounts::of(&app.fleet.health_of(&app.org, &p.id)),
            id: p.id,
            version: p.version,
            kind: p.kind,
            api_version: p.api_version,
            description: p.description,
            sha256: p.component_sha256,
            installed_at_ms: p.installed_at_ms,
        })
        .collect();
    Ok(Json(serde_json::json!({ "plugins": plugins })))
}

/// Server-sent events: one `machine` event per change of a machine of this organization.
async fn events(State(app): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let org = app.org.clone();
    let stream = BroadcastStream::new(app.live.subscribe()).filter_map(move |event| match event {
        Ok(event) if event.org == org => Event::default()
            .event("machine")
            .json_data(&event)
            .ok()
            .map(Ok),
        // Other organizations' events, and gaps of a slow client, are skipped.
        _ => None,
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
