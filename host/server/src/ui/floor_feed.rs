//! The data floor screens keep themselves current with: every tile as JSON (to catch up after
//! a reconnect) and a server-sent stream of tile changes, with a heartbeat so a screen notices
//! a connection that died without closing.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use chatter_model::MachineId;
use futures::{Stream, StreamExt as _};
use serde::Serialize;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream};

use crate::app::AppState;
use crate::auth::{Actor, Tenant};
use crate::error::ApiError;
use crate::floor::{self, TileState, Today};

/// How often the stream says it is alive; screens reconnect after a few missed beats.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// `GET /floor/tiles`: every machine's tile.
pub(crate) async fn tiles(
    State(app): State<AppState>,
    tenant: Tenant,
) -> Result<impl IntoResponse, ApiError> {
    let tiles = floor::tiles(&app, &tenant).await?;
    Ok(Json(serde_json::json!({ "tiles": tiles })))
}

/// A tile's new state, as the stream sends it.
#[derive(Serialize)]
struct TileChange {
    id: MachineId,
    #[serde(flatten)]
    state: TileState,
}

/// `GET /floor/events`: `tile` events as machines change, `ping` every few seconds, and
/// `resync` when this client fell behind and should read every tile again.
pub(crate) async fn events(
    State(app): State<AppState>,
    tenant: Tenant,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let today = Today::of(&tenant).await?;
    let org = tenant.org().clone();
    let watched = tenant.clone();
    let stopping = app.stopping.clone();
    let changes = BroadcastStream::new(app.live.subscribe()).filter_map(move |received| {
        let (app, tenant, today) = (app.clone(), tenant.clone(), today.clone());
        let org = org.clone();
        async move {
            match received {
                Ok(change) if change.org == org => {
                    let state = floor::state(&app, &tenant, &change.machine, &today).await;
                    match state {
                        Ok(state) => tile_event(change.machine, state),
                        Err(error) => {
                            tracing::warn!(%error, "a tile could not be read; the screen resyncs");
                            Some(Event::default().event("resync").data("{}"))
                        }
                    }
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(_)) => {
                    Some(Event::default().event("resync").data("{}"))
                }
            }
        }
    });
    let heartbeat = IntervalStream::new(tokio::time::interval(HEARTBEAT))
        .map(|_| Event::default().event("ping").data("{}"));
    let ended = futures::future::select(
        Box::pin(revoked(watched)),
        Box::pin(stopping.cancelled_owned()),
    );
    let stream = futures::stream::select(changes, heartbeat)
        .take_until(ended)
        .map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Resolves once the wall display's token behind `tenant` is revoked (never for members), so
/// its open stream ends and the display learns on reconnecting that it was disconnected.
async fn revoked(tenant: Tenant) {
    let Actor::Device { token } = tenant.actor().clone() else {
        return std::future::pending().await;
    };
    let mut beats = tokio::time::interval(HEARTBEAT);
    loop {
        beats.tick().await;
        let tokens = match tenant.store().device_tokens().await {
            Ok(tokens) => tokens,
            Err(error) => {
                tracing::warn!(%error, "could not check a display's token");
                continue;
            }
        };
        let live = tokens
            .iter()
            .any(|(_, record)| record.id == token && record.revoked_at_ms.is_none());
        if !live {
            return;
        }
    }
}

fn tile_event(id: MachineId, state: TileState) -> Option<Event> {
    Event::default()
        .event("tile")
        .json_data(TileChange { id, state })
        .ok()
}
