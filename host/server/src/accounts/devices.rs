//! Device tokens — the credentials of edge connectors and wall displays: issued and revoked by
//! the organization's admins, shown once, stored as a hash, each change audited.

use chatter_model::{DeviceKind, DeviceToken};

use super::{AccountError, Audit, RequestContext, check_name};
use crate::app::AppState;
use crate::auth::{Tenant, secret};

/// Creates a device token of `kind` for the tenant's organization. Returns the token, to show
/// once, and its record.
pub async fn create_device_token(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    name: &str,
    kind: DeviceKind,
) -> Result<(String, DeviceToken), AccountError> {
    let name = check_name("name", name, "a name for the device")?;
    let new = secret::new_secret(secret::device_prefix(kind))?;
    let record = DeviceToken {
        id: new.public_id,
        org: tenant.org().clone(),
        name,
        kind,
        created_at_ms: chatter_model::now_ms(),
        revoked_at_ms: None,
    };
    tenant
        .store()
        .put_device_token(&new.hash, record.clone())
        .await?;
    audit(app, context, tenant, "device_token.create", &record).await?;
    Ok((new.secret, record))
}

/// Revokes the tenant's device token `id` (only if it is of `kind`, when given): its device is
/// refused from its next request. Revoking a revoked token changes nothing.
pub async fn revoke_device_token(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    id: &str,
    kind: Option<DeviceKind>,
) -> Result<DeviceToken, AccountError> {
    let tokens = tenant.store().device_tokens().await?;
    let found = tokens
        .into_iter()
        .find(|(_, token)| token.id == id && kind.is_none_or(|kind| kind == token.kind));
    let Some((hash, mut record)) = found else {
        return Err(AccountError::NotFound(format!(
            "There is no device token `{id}` in this organization."
        )));
    };
    if record.revoked_at_ms.is_none() {
        record.revoked_at_ms = Some(chatter_model::now_ms());
        tenant
            .store()
            .put_device_token(&hash, record.clone())
            .await?;
        audit(app, context, tenant, "device_token.revoke", &record).await?;
    }
    Ok(record)
}

async fn audit(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    action: &str,
    record: &DeviceToken,
) -> Result<(), AccountError> {
    let mut audit = Audit::new(action, context)
        .org(tenant.org())
        .detail("token", &record.id)
        .detail("kind", record.kind.as_str());
    if let Some(user) = tenant.user() {
        audit = audit.actor(user);
    }
    audit.record(app).await
}
