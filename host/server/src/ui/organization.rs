//! The current organization: what it is and your role in it, its shifts, creating another, and
//! — for its owners — changing its shifts and deleting it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::cookies;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, render, role_label};
use super::shift_lines;
use crate::accounts::{self, AccountError, RequestContext};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::shifts::ScheduleError;

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    frame: Frame,
    name: String,
    id: String,
    role: &'static str,
    time_zone: String,
    members: usize,
    /// Its shifts, as the table shows them.
    shifts: Vec<ShiftRow>,
    /// Whether the caller may change the shifts.
    can_edit_shifts: bool,
    /// The shifts form's text: the schedule as lines, or what was sent when it was refused.
    shifts_text: String,
    /// Whether the caller may delete it.
    can_delete: bool,
    /// Whether the caller may connect and revoke wall displays.
    can_manage_displays: bool,
    /// What the deletion form's confirmation held.
    confirm: String,
    /// What to type to confirm.
    confirm_hint: String,
}

/// A shift in the page's table.
struct ShiftRow {
    name: String,
    days: String,
    start: String,
    end: String,
    /// Whether it ends the day after it starts.
    next_day: bool,
}

/// What the page's forms held when one was refused.
#[derive(Default)]
struct Sent {
    confirm: String,
    shifts: Option<String>,
}

/// `GET /organization`.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Organization", Section::Organization)
        .await?
        .done(&done);
    page(&tenant, frame, Sent::default(), StatusCode::OK).await
}

async fn page(
    tenant: &Tenant,
    frame: Frame,
    sent: Sent,
    status: StatusCode,
) -> Result<Response, Failure> {
    let org = tenant.store().organization().await?;
    let (name, time_zone, shifts) = org.map_or_else(
        || (tenant.org().to_string(), "UTC".to_owned(), Vec::new()),
        |org| (org.name, org.time_zone, org.shifts),
    );
    let shifts_text = sent.shifts.unwrap_or_else(|| shift_lines::format(&shifts));
    let shifts = shifts
        .iter()
        .map(|shift| ShiftRow {
            name: shift.name.clone(),
            days: shift_lines::days_text(&shift.days),
            start: shift.start.to_string(),
            end: shift.end.to_string(),
            next_day: shift.crosses_midnight(),
        })
        .collect();
    let confirm_hint = format!("Type “{name}” exactly as shown.");
    let page = OrganizationPage {
        frame,
        name,
        id: tenant.org().to_string(),
        role: role_label(tenant.role()),
        time_zone,
        members: tenant.store().members().await?.len(),
        shifts,
        can_edit_shifts: tenant.can(Permission::ManageOrganization),
        shifts_text,
        can_delete: tenant.can(Permission::ManageOrganization),
        can_manage_displays: tenant.can(Permission::ManageDeviceTokens),
        confirm: sent.confirm,
        confirm_hint,
    };
    Ok(render(status, &page))
}

/// The deletion form: the organization's name, typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteForm {
    confirm: String,
}

/// `POST /organization/delete`.
pub(crate) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<DeleteForm>,
) -> Result<Response, Failure> {
    let name = tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| tenant.org().to_string(), |org| org.name);
    if form.confirm.trim() != name.trim() {
        let frame = Frame::signed_in(&app, &caller, "Organization", Section::Organization)
            .await?
            .with_field_error(
                "delete-org-confirm",
                format!("Type the organization's name exactly as shown: {name}"),
            );
        let sent = Sent {
            confirm: form.confirm,
            shifts: None,
        };
        return page(&tenant, frame, sent, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    accounts::delete_organization(&app, &context, &tenant, &caller.user.id).await?;
    Ok(cookies::done("/", "org_deleted"))
}

/// The shifts form: the whole schedule, one shift a line ([`shift_lines`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ShiftsForm {
    shifts: String,
}

/// `POST /organization/shifts`: replaces the schedule, or shows the form again with what is
/// wrong beside it — the line that could not be read, or the shifts that do not fit together.
pub(crate) async fn save_shifts(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<ShiftsForm>,
) -> Result<Response, Failure> {
    let refusal = match shift_lines::parse(&form.shifts) {
        Err(error) => error.to_string(),
        Ok(shifts) => match crate::shifts::replace(&app, &context, &tenant, shifts).await {
            Ok(_) => return Ok(cookies::done("/organization", "shifts_saved")),
            Err(ScheduleError::Invalid(error)) => sentence(&error.to_string()),
            Err(ScheduleError::NoOrganization) => {
                return Err(
                    AccountError::NotFound("This organization no longer exists.".into()).into(),
                );
            }
            Err(ScheduleError::Internal(error)) => {
                return Err(Failure::internal(format!("{error:#}")));
            }
        },
    };
    let frame = Frame::signed_in(&app, &caller, "Organization", Section::Organization)
        .await?
        .with_field_error("shifts-text", refusal);
    let sent = Sent {
        confirm: String::new(),
        shifts: Some(form.shifts),
    };
    page(&tenant, frame, sent, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// `message` with a capital first letter, as the page's messages are written.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
