//! The dashboard — the current organization's machines with their live status — and the
//! organization a session works in: creating one, switching to another.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chatter_model::OrgId;
use serde::Deserialize;

use super::cookies;
use super::floor_view::FloorView;
use super::frame::{Done, Frame, Section, current_tenant};
use super::page::{Failure, render};
use crate::accounts;
use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::floor;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    org_name: String,
    floor: FloorView,
    /// Whether the caller may add and set up machines.
    can_operate: bool,
}

#[derive(Template)]
#[template(path = "new_organization.html")]
struct NewOrganizationPage {
    frame: Frame,
    /// Whether the user belongs to no organization yet (the page then welcomes them).
    first: bool,
    name: String,
}

/// `?state=…&group=…`: which tiles the dashboard shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Filters {
    state: Option<String>,
    group: Option<String>,
}

/// `GET /`: the current organization's machines, or a way to create one for a user who has
/// none.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Query(done): Query<Done>,
    Query(filters): Query<Filters>,
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
    let tiles = floor::tiles(&app, &tenant).await?;
    let page = DashboardPage {
        frame,
        org_name: org_name(&tenant).await?,
        floor: FloorView::new(tiles, filters.state, filters.group),
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
