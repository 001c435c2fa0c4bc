//! Personal API tokens: shown once, stored as a hash, bound to one organization and a role.

use chatter_model::{ApiToken, Role};

use super::{AccountError, Audit, RequestContext, check_name};
use crate::app::AppState;
use crate::auth::{Caller, Tenant, secret};

/// Most live tokens one user may hold.
const MAX_TOKENS: usize = 50;

/// Longest lifetime a token may be given, in days.
pub const MAX_DAYS: u32 = 3650;

/// A new token's name, role and lifetime.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// What it is for.
    pub name: String,
    /// The most it may do.
    pub role: Role,
    /// Days it works for; `None` until revoked.
    pub days: Option<u32>,
}

/// Creates a token acting for the caller in the tenant's organization with at most `role`
/// (and never more than the caller's own role there). Returns the token, to show once.
pub async fn create_api_token(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    tenant: &Tenant,
    new_token: NewToken,
) -> Result<(String, ApiToken), AccountError> {
    let NewToken { name, role, days } = new_token;
    let name = check_name("name", &name, "a name for the token")?;
    if days.is_some_and(|days| days == 0 || days > MAX_DAYS) {
        return Err(AccountError::invalid(
            "days",
            format!("A token works for 1 to {MAX_DAYS} days, or until revoked."),
        ));
    }
    if !tenant.role().includes(role) {
        return Err(AccountError::invalid(
            "role",
            format!("A token can have your role ({}) at most.", tenant.role()),
        ));
    }
    let accounts = app.data.accounts();
    let now = chatter_model::now_ms();
    let live = accounts
        .api_tokens_of(&caller.user.id)
        .await?
        .into_iter()
        .filter(|(_, token)| token.is_live(now))
        .count();
    if live >= MAX_TOKENS {
        return Err(AccountError::invalid(
            "name",
            format!("You have {MAX_TOKENS} tokens: revoke one first."),
        ));
    }
    let new = secret::new_secret(secret::API_TOKEN_PREFIX)?;
    let token = ApiToken {
        id: new.public_id,
        user: caller.user.id.clone(),
        org: tenant.org().clone(),
        role,
        name,
        created_at_ms: now,
        last_used_ms: None,
        expires_at_ms: days.map(|days| now + i64::from(days) * 24 * 3600 * 1000),
        revoked_at_ms: None,
    };
    accounts.put_api_token(&new.hash, &token).await?;
    Audit::new("token.create", context)
        .actor(&caller.user.id)
        .org(&token.org)
        .detail("token", &token.id)
        .detail("role", role)
        .record(app)
        .await?;
    Ok((new.secret, token))
}

/// Revokes one of the caller's own tokens.
pub async fn revoke_api_token(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    id: &str,
) -> Result<ApiToken, AccountError> {
    let accounts = app.data.accounts();
    let (hash, mut token) = accounts
        .api_tokens_of(&caller.user.id)
        .await?
        .into_iter()
        .find(|(_, token)| token.id == id && token.revoked_at_ms.is_none())
        .ok_or_else(|| AccountError::NotFound(format!("you have no live token `{id}`")))?;
    token.revoked_at_ms = Some(chatter_model::now_ms());
    accounts.put_api_token(&hash, &token).await?;
    Audit::new("token.revoke", context)
        .actor(&caller.user.id)
        .org(&token.org)
        .detail("token", &token.id)
        .record(app)
        .await?;
    Ok(token)
}
