//! The current organization: what it is and your role in it, creating another, and — for its
//! owners — deleting it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::cookies;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, render, role_label};
use crate::accounts;
use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    frame: Frame,
    name: String,
    id: String,
    role: &'static str,
    time_zone: String,
    members: usize,
    /// Whether the caller may delete it.
    can_delete: bool,
    /// Whether the caller may connect and revoke wall displays.
    can_manage_displays: bool,
    /// What the deletion form's confirmation held.
    confirm: String,
    /// What to type to confirm.
    confirm_hint: String,
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
    page(&tenant, frame, String::new(), StatusCode::OK).await
}

async fn page(
    tenant: &Tenant,
    frame: Frame,
    confirm: String,
    status: StatusCode,
) -> Result<Response, Failure> {
    let org = tenant.store().organization().await?;
    let (name, time_zone) = org.map_or_else(
        || (tenant.org().to_string(), "UTC".to_owned()),
        |org| (org.name, org.time_zone),
    );
    let confirm_hint = format!("Type “{name}” exactly as shown.");
    let page = OrganizationPage {
        frame,
        name,
        id: tenant.org().to_string(),
        role: role_label(tenant.role()),
        time_zone,
        members: tenant.store().members().await?.len(),
        can_delete: tenant.can(Permission::ManageOrganization),
        can_manage_displays: tenant.can(Permission::ManageDeviceTokens),
        confirm,
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
        return page(
            &tenant,
            frame,
            form.confirm,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    accounts::delete_organization(&app, &context, &tenant, &caller.user.id).await?;
    Ok(cookies::done("/", "org_deleted"))
}
