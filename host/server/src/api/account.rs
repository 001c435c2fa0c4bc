//! `/api/v1/me`, `/tokens`, `/members`, `/invitations` and `/audit`: accounts and the
//! organization's people, for scripts. The web pages do the same through [`crate::accounts`].

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chatter_model::{Role, UserId};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, RequestContext};
use crate::app::AppState;
use crate::auth::{Caller, Tenant};
use crate::error::ApiError;

/// Most audit records one page returns.
const AUDIT_PAGE: usize = 500;

/// `GET /api/v1/me`: the caller, their organizations and the current one.
pub(super) async fn me(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let organizations: Vec<_> = app
        .data
        .organizations_of(&caller.user.id)
        .await?
        .into_iter()
        .map(|(membership, org)| {
            serde_json::json!({ "id": org.id, "name": org.name, "role": membership.role })
        })
        .collect();
    let current = match (&caller.token, &caller.session) {
        (Some(token), _) => Some(token.org.clone()),
        (None, Some(signed)) => signed.session.org.clone(),
        (None, None) => None,
    };
    Ok(Json(serde_json::json!({
        "id": caller.user.id,
        "name": caller.user.name,
        "email": caller.user.email,
        "email_verified": caller.user.email_verified,
        "organizations": organizations,
        "current_organization": current,
    })))
}

/// `GET /api/v1/tokens`: the caller's API tokens (never the tokens themselves).
pub(super) async fn list_tokens(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let tokens: Vec<_> = app
        .data
        .accounts()
        .api_tokens_of(&caller.user.id)
        .await?
        .into_iter()
        .map(|(_, token)| token)
        .collect();
    Ok(Json(serde_json::json!({ "tokens": tokens })))
}

/// `POST /api/v1/tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
    role: Role,
    /// Days it works for; without, until revoked.
    #[serde(default)]
    days: Option<u32>,
}

/// `POST /api/v1/tokens`: a new token in the current organization, shown this once.
pub(super) async fn create_token(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(super::machines::invalid_body)?;
    let new_token = accounts::NewToken {
        name: input.name,
        role: input.role,
        days: input.days,
    };
    let (token, record) =
        accounts::create_api_token(&app, &context, &caller, &tenant, new_token).await?;
    let mut body = serde_json::to_value(record).map_err(ApiError::internal)?;
    body["token"] = token.into();
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens.
pub(super) async fn revoke_token(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    accounts::revoke_api_token(&app, &context, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct Member {
    id: UserId,
    name: String,
    email: String,
    role: Role,
    joined_at_ms: i64,
}

/// `GET /api/v1/members`: the organization's members.
pub(super) async fn members(
    State(app): State<AppState>,
    tenant: Tenant,
) -> Result<impl IntoResponse, ApiError> {
    let mut members = Vec::new();
    for membership in tenant.store().members().await? {
        if let Some(user) = app.data.accounts().user(&membership.user).await? {
            members.push(Member {
                id: user.id,
                name: user.name,
                email: user.email,
                role: membership.role,
                joined_at_ms: membership.joined_at_ms,
            });
        }
    }
    Ok(Json(serde_json::json!({ "members": members })))
}

/// `PUT /api/v1/members/{user}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleChange {
    role: Role,
}

fn user_id(id: &str) -> Result<UserId, ApiError> {
    UserId::new(id).map_err(|_| ApiError::not_found("not_found", format!("no member `{id}`")))
}

fn actor(caller: &Caller) -> &UserId {
    &caller.user.id
}

/// `PUT /api/v1/members/{user}`: changes a member's role.
pub(super) async fn change_role(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(user): Path<String>,
    body: Result<Json<RoleChange>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(super::machines::invalid_body)?;
    let user = user_id(&user)?;
    accounts::change_role(&app, &context, &tenant, actor(&caller), &user, input.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/members/{user}`: removes a member.
pub(super) async fn remove_member(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let user = user_id(&user)?;
    accounts::remove_member(&app, &context, &tenant, actor(&caller), &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/invitations`: the organization's invitations.
pub(super) async fn invitations(tenant: Tenant) -> Result<impl IntoResponse, ApiError> {
    let invitations: Vec<_> = tenant
        .store()
        .invitations()
        .await?
        .into_iter()
        .map(|(_, invitation)| invitation)
        .collect();
    Ok(Json(serde_json::json!({ "invitations": invitations })))
}

/// `POST /api/v1/invitations` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewInvitation {
    email: String,
    role: Role,
}

/// `POST /api/v1/invitations`: invites someone by e-mail.
pub(super) async fn invite(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    body: Result<Json<NewInvitation>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(super::machines::invalid_body)?;
    let invitation = accounts::invite(
        &app,
        &context,
        &tenant,
        &caller.user,
        &input.email,
        input.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// `DELETE /api/v1/invitations/{id}`: revokes a pending invitation.
pub(super) async fn revoke_invitation(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    accounts::revoke_invitation(&app, &context, &tenant, actor(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/audit` query.
#[derive(Deserialize)]
pub(super) struct AuditPage {
    before: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/v1/audit?before=&limit=`: the organization's audit records, newest first.
pub(super) async fn audit(
    tenant: Tenant,
    Query(page): Query<AuditPage>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = page.limit.unwrap_or(100).clamp(1, AUDIT_PAGE);
    let records = tenant
        .store()
        .audit_records_back(page.before.unwrap_or(u64::MAX), limit)
        .await?;
    Ok(Json(serde_json::json!({ "records": records })))
}
