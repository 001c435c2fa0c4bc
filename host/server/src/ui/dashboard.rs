//! The dashboard — the current organization's machines with their live status — and the
//! organization a session works in: creating one, switching to another.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chatter_model::{MachineStatus, OrgId};
use chatter_runtime::DriverStatus;
use serde::Deserialize;

use super::cookies;
use super::frame::{Done, Frame, Section, current_tenant};
use super::page::{Failure, When, render};
use crate::accounts;
use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    org_name: String,
    machines: Vec<MachineRow>,
    /// Whether the caller may add and change machines.
    can_operate: bool,
}

/// A machine in the dashboard's table.
struct MachineRow {
    id: String,
    name: String,
    /// As the API names it (`running`, …), for the row's class and the script.
    status: &'static str,
    /// As shown.
    status_label: &'static str,
    driver: String,
    last_update: Option<When>,
}

#[derive(Template)]
#[template(path = "new_organization.html")]
struct NewOrganizationPage {
    frame: Frame,
    /// Whether the user belongs to no organization yet (the page then welcomes them).
    first: bool,
    name: String,
}

/// `GET /`: the current organization's machines, or a way to create one for a user who has
/// none.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let Some(tenant) = current_tenant(&app, &caller).await? else {
        let frame = Frame::signed_in(&app, &caller, "Welcome", Section::Dashboard)
            .await?
            .done(&done);
        let page = NewOrganizationPage {
            frame,
            first: true,
            name: String::new(),
        };
        return Ok(render(StatusCode::OK, &page));
    };
    let frame = Frame::signed_in(&app, &caller, "Machines", Section::Dashboard)
        .await?
        .done(&done);
    let page = DashboardPage {
        frame,
        org_name: org_name(&tenant).await?,
        machines: machines(&app, &tenant).await?,
        can_operate: tenant.can(Permission::OperateMachines),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The organization's name (its id if its record is gone).
pub(crate) async fn org_name(tenant: &Tenant) -> Result<String, Failure> {
    Ok(tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| tenant.org().to_string(), |org| org.name))
}

async fn machines(app: &AppState, tenant: &Tenant) -> Result<Vec<MachineRow>, Failure> {
    let mut rows: Vec<MachineRow> = tenant
        .store()
        .machines()
        .await?
        .into_iter()
        .map(|machine| {
            let live = app.live.get(tenant.org(), &machine.id).unwrap_or_default();
            let status = live.status.unwrap_or(MachineStatus::Offline);
            let driver = match (&live.driver, machine.enabled) {
                (_, false) => "stopped".to_owned(),
                (None, true) => "—".to_owned(),
                (Some(health), true) => driver_label(&health.status),
            };
            MachineRow {
                id: machine.id.to_string(),
                name: machine.name,
                status: status.as_str(),
                status_label: status_label(status),
                driver,
                last_update: live.last_update_ms.map(When::at),
            }
        })
        .collect();
    rows.sort_by_key(|row| row.name.to_lowercase());
    Ok(rows)
}

/// A machine status as shown, beside its color.
fn status_label(status: MachineStatus) -> &'static str {
    match status {
        MachineStatus::Offline => "Offline",
        MachineStatus::Alarm => "Alarm",
        MachineStatus::Running => "Running",
        MachineStatus::Paused => "Paused",
        MachineStatus::Setup => "Setup",
        MachineStatus::Idle => "Idle",
    }
}

/// What a machine's driver is doing, as shown (the state's name, as the API and the script
/// show it).
fn driver_label(status: &DriverStatus) -> String {
    match status {
        DriverStatus::Starting => "starting",
        DriverStatus::Running => "running",
        DriverStatus::Retrying { .. } => "retrying",
        DriverStatus::Restarting { .. } => "restarting",
        DriverStatus::Quarantined { .. } => "quarantined",
    }
    .to_owned()
}

/// The new-organization form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NewOrganizationForm {
    name: String,
}

/// `POST /organizations`: creates an organization and works in it.
pub(crate) async fn create_organization(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<NewOrganizationForm>,
) -> Result<Response, Failure> {
    let created = accounts::create_organization(&app, &context, &caller.user, &form.name).await;
    match created {
        Ok(org) => {
            if caller.session.is_some() {
                accounts::switch_organization(&app, &caller, &org).await?;
            }
            Ok(cookies::done("/", "org_created"))
        }
        Err(error) => {
            let mut frame =
                Frame::signed_in(&app, &caller, "New organization", Section::Organization).await?;
            let status = frame.refuse(error, &[("organization", "new-org-name")])?;
            let first = frame.nav.as_ref().is_some_and(|nav| nav.orgs.is_empty());
            let page = NewOrganizationPage {
                frame,
                first,
                name: form.name,
            };
            Ok(render(status, &page))
        }
    }
}

/// The organization switcher's form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SwitchForm {
    org: String,
}

/// `POST /org/switch`: works in another of the caller's organizations, back on the page the
/// switcher was used on.
pub(crate) async fn switch(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Form(form): Form<SwitchForm>,
) -> Result<Response, Failure> {
    let org = OrgId::new(form.org.trim()).map_err(|_| {
        accounts::AccountError::NotFound("There is no such organization.".to_owned())
    })?;
    accounts::switch_organization(&app, &caller, &org).await?;
    let back = cookies::referring_path(&headers).unwrap_or_else(|| "/".to_owned());
    // The audit log is the one page some roles cannot open: after switching to an organization
    // where the caller may not read it, they land on the dashboard rather than a refusal.
    let role = app
        .data
        .accounts()
        .membership(&org, &caller.user.id)
        .await?
        .map(|membership| membership.role);
    let back = if back.starts_with("/audit")
        && !role.is_some_and(|role| Permission::ReadAudit.granted_to(role))
    {
        "/".to_owned()
    } else {
        back
    };
    Ok(Redirect::to(&format!("{back}?done=org_switched")).into_response())
}
