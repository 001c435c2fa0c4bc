//! `/api/v1/events`: server-sent events for the organization's machines.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::app::AppState;
use crate::auth::Tenant;

/// Server-sent events: one `machine` event per change of a machine of this organization.
pub(super) async fn stream(
    tenant: Tenant,
    State(app): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let org = tenant.org().clone();
    let stopping = app.stopping.clone();
    let stream = BroadcastStream::new(app.live.subscribe()).filter_map(move |event| match event {
        Ok(event) if event.org == org => Event::default()
            .event("machine")
            .json_data(&event)
            .ok()
            .map(Ok),
        // Other organizations' events, and gaps of a slow client, are skipped.
        _ => None,
    });
    // Ends when the server stops, which would otherwise wait for the client to leave.
    let stream = futures::StreamExt::take_until(stream, stopping.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}
