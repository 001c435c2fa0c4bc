//! `/api/v1/plugins`: the installed plugins and the health of their instances serving this
//! organization.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use chatter_model::PluginId;
use chatter_runtime::{DriverHealth, DriverStatus};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;

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

pub(super) async fn list(
    tenant: Tenant,
    State(app): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let plugins: Vec<PluginSummary> = app
        .data
        .plugins()
        .await?
        .into_iter()
        .map(|p| PluginSummary {
            instances: InstanceCounts::of(&app.fleet.health_of(tenant.org(), &p.id)),
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
