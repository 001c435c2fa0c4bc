//! `/api/v1/shifts`: the organization's shift schedule, with the time zone its times are in;
//! replacing it is [`crate::shifts::replace`], shared with the organization page.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use chatter_model::Shift;
use serde::{Deserialize, Serialize};

use super::machines::invalid_body;
use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;

/// The schedule as the API shows it.
#[derive(Serialize)]
pub(super) struct Schedule {
    time_zone: String,
    shifts: Vec<Shift>,
}

/// The body of a `PUT`: the whole new schedule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSchedule {
    shifts: Vec<Shift>,
}

/// `GET /api/v1/shifts`.
pub(super) async fn get(tenant: Tenant) -> Result<Json<Schedule>, ApiError> {
    let org =
        tenant.store().organization().await?.ok_or_else(|| {
            ApiError::not_found("not_found", "this organization no longer exists")
        })?;
    Ok(Json(Schedule {
        time_zone: org.time_zone,
        shifts: org.shifts,
    }))
}

/// `PUT /api/v1/shifts`: answers the schedule as saved.
pub(super) async fn replace(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    body: Result<Json<NewSchedule>, JsonRejection>,
) -> Result<Json<Schedule>, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    let shifts = crate::shifts::replace(&app, &context, &tenant, body.shifts).await?;
    // Read back for the time zone: the schedule's times mean nothing without it.
    let time_zone = tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| "UTC".to_owned(), |org| org.time_zone);
    Ok(Json(Schedule { time_zone, shifts }))
}
