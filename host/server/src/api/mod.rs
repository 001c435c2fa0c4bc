//! The HTTP API under `/api/v1`, `/healthz`, and the live status page at `/`. Handlers are
//! thin: they read the organization's view of the store and the live state and map it to JSON.
//!
//! Until accounts exist, a server serves one organization (`[server] organization`); every
//! route reads only that organization's data, so adding sign-in later only changes how the
//! organization is chosen.

mod data;
mod edge;
mod events;
mod machines;
mod plugins;

pub use edge::RateLimiter;

use std::sync::Arc;

use axum::response::Html;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chatter_model::OrgId;
use chatter_store::Store;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::fleet::Fleet;
use crate::ingest::Ingest;
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
    /// Where observations go.
    pub ingest: Arc<Ingest>,
    /// How fast each device token may send.
    pub rate_limiter: Arc<RateLimiter>,
}

/// The router of the whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route(
            "/api/v1/machines",
            get(machines::list).post(machines::create),
        )
        .route(
            "/api/v1/machines/{id}",
            get(machines::get)
                .put(machines::replace)
                .delete(machines::remove),
        )
        .route("/api/v1/machines/{id}/start", post(machines::start))
        .route("/api/v1/machines/{id}/stop", post(machines::stop))
        .route(
            "/api/v1/machines/{id}/observations",
            get(machines::observations),
        )
        .route("/api/v1/machines/{id}/timeline", get(data::timeline))
        .route("/api/v1/machines/{id}/cycles", get(data::cycles))
        .route("/api/v1/machines/{id}/parts", get(data::parts))
        .route("/api/v1/machines/{id}/alarms", get(data::alarms))
        .route("/api/v1/summary", get(data::summary))
        .route(
            "/api/v1/device-tokens",
            get(edge::list_tokens).post(edge::create_token),
        )
        .route("/api/v1/device-tokens/{id}", delete(edge::revoke_token))
        .route(
            "/api/v1/ingest",
            post(edge::post_batch).layer(RequestDecompressionLayer::new()),
        )
        .route("/api/v1/ingest/machines/{id}", get(edge::resume_point))
        .route("/api/v1/plugins", get(plugins::list))
        .route("/api/v1/events", get(events::stream))
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn index() -> Html<&'static str> {
    Html(include_str!("../../assets/index.html"))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}
