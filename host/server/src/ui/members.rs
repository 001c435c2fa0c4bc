//! The organization's members and pending invitations; for those who manage members, inviting
//! people, changing roles, removing members and revoking invitations.

use std::str::FromStr as _;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chatter_model::{Role, UserId};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, RoleOption, When, render, role_label, role_options};
use crate::accounts::RequestContext;
use crate::accounts::{self, AccountError};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};

/// The invite form's inputs, by the field names the operation reports.
const INVITE_INPUTS: [(&str, &str); 2] = [("email", "invite-email"), ("role", "invite-role")];

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    frame: Frame,
    org_name: String,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    /// Whether the caller may manage members.
    manage: bool,
    invite_email: String,
    invite_roles: Vec<RoleOption>,
}

/// A member in the table.
struct MemberRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    joined: When,
    /// Whether it is the caller.
    you: bool,
    /// Whether the caller may change this member (their role is not above the caller's).
    editable: bool,
    roles: Vec<RoleOption>,
}

/// A pending invitation.
struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    invited_by: String,
    expires: When,
}

/// `GET /members`.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Members", Section::Members)
        .await?
        .done(&done);
    page(
        &app,
        &caller,
        &tenant,
        frame,
        String::new(),
        Role::Member,
        StatusCode::OK,
    )
    .await
}

/// The members page, with what the invite form held.
async fn page(
    app: &AppState,
    caller: &Caller,
    tenant: &Tenant,
    frame: Frame,
    invite_email: String,
    invite_role: Role,
    status: StatusCode,
) -> Result<Response, Failure> {
    let accounts = app.data.accounts();
    let mut members = Vec::new();
    for membership in tenant.store().members().await? {
        let Some(user) = accounts.user(&membership.user).await? else {
            continue;
        };
        members.push(MemberRow {
            id: user.id.to_string(),
            name: user.name,
            email: user.email,
            role: role_label(membership.role),
            joined: When::at(membership.joined_at_ms),
            you: membership.user == caller.user.id,
            editable: tenant.role().includes(membership.role),
            roles: role_options(tenant.role(), membership.role),
        });
    }
    members.sort_by_key(|row| row.name.to_lowercase());
    let now = chatter_model::now_ms();
    let mut invitations = Vec::new();
    for (_, invitation) in tenant.store().invitations().await? {
        if invitation.accepted.is_some()
            || invitation.revoked_at_ms.is_some()
            || invitation.expires_at_ms <= now
        {
            continue;
        }
        let invited_by = members
            .iter()
            .find(|member| member.id == invitation.invited_by.as_str())
            .map_or_else(
                || invitation.invited_by.to_string(),
                |member| member.name.clone(),
            );
        invitations.push(InvitationRow {
            id: invitation.id,
            email: invitation.email,
            role: role_label(invitation.role),
            invited_by,
            expires: When::at(invitation.expires_at_ms),
        });
    }
    let page = MembersPage {
        frame,
        org_name: org_name(tenant).await?,
        members,
        invitations,
        manage: tenant.can(Permission::ManageMembers),
        invite_email,
        invite_roles: role_options(tenant.role(), invite_role.max(tenant.role())),
    };
    Ok(render(status, &page))
}

/// The members page again, with an operation's refusal on it.
async fn refused(
    app: &AppState,
    caller: &Caller,
    tenant: &Tenant,
    error: AccountError,
    inputs: &[(&str, &'static str)],
    invite_email: String,
    invite_role: Role,
) -> Result<Response, Failure> {
    let mut frame = Frame::signed_in(app, caller, "Members", Section::Members).await?;
    let status = frame.refuse(error, inputs)?;
    page(
        app,
        caller,
        tenant,
        frame,
        invite_email,
        invite_role,
        status,
    )
    .await
}

/// The members page again with `error` above it, for the actions on a member or invitation.
async fn refused_action(
    app: &AppState,
    caller: &Caller,
    tenant: &Tenant,
    error: AccountError,
) -> Result<Response, Failure> {
    refused(app, caller, tenant, error, &[], String::new(), Role::Member).await
}

/// The invite form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InviteForm {
    email: String,
    role: String,
}

/// `POST /members/invite`.
pub(crate) async fn invite(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Form(form): Form<InviteForm>,
) -> Result<Response, Failure> {
    let role = parse_role(&form.role);
    let result = match role {
        Ok(role) => accounts::invite(&app, &context, &tenant, &caller.user, &form.email, role)
            .await
            .map(|_| ()),
        Err(ref error) => Err(AccountError::Invalid {
            field: "role",
            message: error.clone(),
        }),
    };
    match result {
        Ok(()) => Ok(cookies::done("/members", "invited")),
        Err(error) => {
            let role = role.unwrap_or(Role::Member);
            refused(
                &app,
                &caller,
                &tenant,
                error,
                &INVITE_INPUTS,
                form.email,
                role,
            )
            .await
        }
    }
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::from_str(text.trim()).map_err(|_| "Choose a role.".to_owned())
}

fn member_id(text: &str) -> Result<UserId, AccountError> {
    UserId::new(text).map_err(|_| AccountError::NotFound("There is no such member.".to_owned()))
}

/// The role form of a member's row.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RoleForm {
    role: String,
}

/// `POST /members/{user}/role`.
pub(crate) async fn change_role(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(user): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, Failure> {
    let result = match (member_id(&user), parse_role(&form.role)) {
        (Ok(member), Ok(role)) => {
            accounts::change_role(&app, &context, &tenant, &caller.user.id, &member, role).await
        }
        (Err(error), _) => Err(error),
        (_, Err(message)) => Err(AccountError::Forbidden(message)),
    };
    match result {
        Ok(()) => Ok(cookies::done("/members", "role_changed")),
        Err(error) => refused_action(&app, &caller, &tenant, error).await,
    }
}

/// `POST /members/{user}/remove`: removing oneself is leaving.
pub(crate) async fn remove(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(user): Path<String>,
) -> Result<Response, Failure> {
    let result = match member_id(&user) {
        Ok(member) => accounts::remove_member(&app, &context, &tenant, &caller.user.id, &member)
            .await
            .map(|()| member),
        Err(error) => Err(error),
    };
    match result {
        Ok(member) if member == caller.user.id => Ok(cookies::done("/", "left")),
        Ok(_) => Ok(cookies::done("/members", "member_removed")),
        Err(error) => refused_action(&app, &caller, &tenant, error).await,
    }
}

/// `POST /invitations/{id}/revoke`.
pub(crate) async fn revoke_invitation(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    match accounts::revoke_invitation(&app, &context, &tenant, &caller.user.id, &id).await {
        Ok(()) => Ok(cookies::done("/members", "invitation_revoked")),
        Err(error) => refused_action(&app, &caller, &tenant, error).await,
    }
}
