//! Organizations and their members: creating and deleting organizations, invitations, roles,
//! and switching the organization a session works in.

use chatter_model::{Invitation, OrgId, Organization, Role, User, UserId};

use super::{AccountError, Audit, RequestContext, check_name, messages, normalize_email};
use crate::app::AppState;
use crate::auth::{Caller, Tenant, secret};

/// How long an invitation link works.
const INVITATION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Creates an organization named `name` owned by `owner`, with an id made from the name.
pub async fn create_organization(
    app: &AppState,
    context: &RequestContext,
    owner: &User,
    name: &str,
) -> Result<OrgId, AccountError> {
    let name = check_name("organization", name, "the organization's name")?;
    let id = free_org_id(app, &name).await?;
    app.data
        .create_organization(&Organization::new(id.clone(), &name), &owner.id)
        .await?;
    Audit::new("org.create", context)
        .actor(&owner.id)
        .org(&id)
        .record(app)
        .await?;
    Ok(id)
}

/// A new organization id: the name as a slug with a random suffix, so ids say whose they are
/// without being guessable or colliding.
async fn free_org_id(app: &AppState, name: &str) -> Result<OrgId, AccountError> {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    let slug = if slug.is_empty() {
        "shop".to_owned()
    } else {
        slug
    };
    loop {
        let candidate = format!("{slug}-{}", secret::random_hex::<3>()?);
        let id = OrgId::new(candidate).map_err(|error| AccountError::Internal(error.into()))?;
        if !app.data.organization_exists(&id).await? {
            return Ok(id);
        }
    }
}

/// Invites `email` to the tenant's organization with `role` (at most the inviter's own).
pub async fn invite(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    inviter: &User,
    email: &str,
    role: Role,
) -> Result<Invitation, AccountError> {
    let email = normalize_email(email)?;
    if !tenant.role().includes(role) {
        return Err(AccountError::invalid(
            "role",
            format!("You can invite people as {} at most.", tenant.role()),
        ));
    }
    if let Some(existing) = app.data.accounts().user_by_email(&email).await?
        && tenant.store().membership(&existing.id).await?.is_some()
    {
        return Err(AccountError::invalid(
            "email",
            "This person is already a member.",
        ));
    }
    let link = secret::new_secret("")?;
    let now = chatter_model::now_ms();
    let invitation = Invitation {
        id: link.public_id.clone(),
        org: tenant.org().clone(),
        email,
        role,
        invited_by: inviter.id.clone(),
        created_at_ms: now,
        expires_at_ms: now + INVITATION_MS,
        accepted: None,
        revoked_at_ms: None,
    };
    tenant
        .store()
        .put_invitation(&link.hash, invitation.clone())
        .await?;
    let org_name = organization_name(tenant).await?;
    let url = app
        .web
        .link(&format!("/invitations/accept?token={}", link.secret));
    app.mailer
        .send_later(messages::invitation(&invitation, inviter, &org_name, &url));
    Audit::new("invitation.create", context)
        .actor(&inviter.id)
        .org(tenant.org())
        .detail("invitation", &invitation.id)
        .detail("role", role)
        .record(app)
        .await?;
    Ok(invitation)
}

async fn organization_name(tenant: &Tenant) -> Result<String, AccountError> {
    Ok(tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| tenant.org().to_string(), |org| org.name))
}

/// The invitation behind a link, if it can still be accepted, with its hash.
pub(super) async fn open_invitation(
    app: &AppState,
    link: &str,
) -> Result<(String, Invitation), AccountError> {
    let hash = secret::hash(link);
    let invitation = app
        .data
        .accounts()
        .invitation(&hash)
        .await?
        .filter(|invitation| {
            invitation.accepted.is_none()
                && invitation.revoked_at_ms.is_none()
                && invitation.expires_at_ms > chatter_model::now_ms()
        })
        .ok_or(AccountError::BadLink)?;
    Ok((hash, invitation))
}

/// Accepts an invitation as the signed-in caller, whose address must be the one invited.
/// Returns the organization joined.
pub async fn accept_invitation(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    link: &str,
) -> Result<OrgId, AccountError> {
    let (hash, invitation) = open_invitation(app, link).await?;
    if invitation.email != caller.user.email {
        return Err(AccountError::Forbidden(
            "This invitation was sent to another address. Sign in with that address to accept it."
                .into(),
        ));
    }
    let org = invitation.org.clone();
    join(app, context, &caller.user, &hash, invitation).await?;
    if let Some(signed) = &caller.session {
        let mut session = signed.session.clone();
        session.org = Some(org.clone());
        app.data
            .accounts()
            .put_session(&signed.hash, &session)
            .await?;
    }
    Ok(org)
}

/// Makes `user` a member as the invitation says, and marks it used.
pub(super) async fn join(
    app: &AppState,
    context: &RequestContext,
    user: &User,
    hash: &str,
    mut invitation: Invitation,
) -> Result<(), AccountError> {
    let accounts = app.data.accounts();
    if accounts
        .membership(&invitation.org, &user.id)
        .await?
        .is_none()
    {
        accounts
            .put_membership(&chatter_model::Membership {
                org: invitation.org.clone(),
                user: user.id.clone(),
                role: invitation.role,
                joined_at_ms: chatter_model::now_ms(),
            })
            .await?;
    }
    invitation.accepted = Some((user.id.clone(), chatter_model::now_ms()));
    accounts.put_invitation(hash, &invitation).await?;
    Audit::new("invitation.accept", context)
        .actor(&user.id)
        .org(&invitation.org)
        .detail("invitation", &invitation.id)
        .detail("role", invitation.role)
        .record(app)
        .await
}

/// Revokes a pending invitation of the tenant's organization.
pub async fn revoke_invitation(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    actor: &UserId,
    id: &str,
) -> Result<(), AccountError> {
    let (hash, mut invitation) = tenant
        .store()
        .invitations()
        .await?
        .into_iter()
        .find(|(_, invitation)| invitation.id == id && invitation.accepted.is_none())
        .ok_or_else(|| AccountError::NotFound(format!("no pending invitation `{id}`")))?;
    invitation.revoked_at_ms = Some(chatter_model::now_ms());
    tenant.store().put_invitation(&hash, invitation).await?;
    Audit::new("invitation.revoke", context)
        .actor(actor)
        .org(tenant.org())
        .detail("invitation", id)
        .record(app)
        .await
}

/// Changes a member's role. Nobody can give a role above their own, change someone above
/// them, or leave the organization without an owner.
pub async fn change_role(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    actor: &UserId,
    member: &UserId,
    role: Role,
) -> Result<(), AccountError> {
    let current = editable_member(tenant, member).await?;
    if !tenant.role().includes(role) {
        return Err(AccountError::Forbidden(format!(
            "You can give roles up to {} only.",
            tenant.role()
        )));
    }
    if current.role == Role::Owner && role != Role::Owner {
        ensure_another_owner(tenant, member).await?;
    }
    tenant.store().put_member(member, role).await?;
    Audit::new("member.role_change", context)
        .actor(actor)
        .subject(member)
        .org(tenant.org())
        .detail("from", current.role)
        .detail("to", role)
        .record(app)
        .await
}

/// Removes a member from the organization (with their API tokens for it).
pub async fn remove_member(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    actor: &UserId,
    member: &UserId,
) -> Result<(), AccountError> {
    let current = editable_member(tenant, member).await?;
    if current.role == Role::Owner {
        ensure_another_owner(tenant, member).await?;
    }
    tenant.store().remove_member(member).await?;
    Audit::new("member.remove", context)
        .actor(actor)
        .subject(member)
        .org(tenant.org())
        .detail("role", current.role)
        .record(app)
        .await
}

async fn editable_member(
    tenant: &Tenant,
    member: &UserId,
) -> Result<chatter_model::Membership, AccountError> {
    let membership = tenant
        .store()
        .membership(member)
        .await?
        .ok_or_else(|| AccountError::NotFound(format!("no member `{member}`")))?;
    if !tenant.role().includes(membership.role) {
        return Err(AccountError::Forbidden(format!(
            "Only an {} or above can change a member who is {}.",
            membership.role, membership.role
        )));
    }
    Ok(membership)
}

async fn ensure_another_owner(tenant: &Tenant, member: &UserId) -> Result<(), AccountError> {
    let owners = tenant
        .store()
        .members()
        .await?
        .into_iter()
        .filter(|other| other.role == Role::Owner && &other.user != member)
        .count();
    if owners == 0 {
        return Err(AccountError::Forbidden(
            "An organization needs an owner: make someone else owner first.".into(),
        ));
    }
    Ok(())
}

/// Makes `org` the session's current organization, if the caller is a member.
pub async fn switch_organization(
    app: &AppState,
    caller: &Caller,
    org: &OrgId,
) -> Result<(), AccountError> {
    let not_member = || AccountError::NotFound(format!("you are not a member of `{org}`"));
    app.data
        .accounts()
        .membership(org, &caller.user.id)
        .await?
        .ok_or_else(not_member)?;
    let signed = caller.session.as_ref().ok_or_else(|| {
        AccountError::Forbidden("API tokens act in their own organization".into())
    })?;
    let mut session = signed.session.clone();
    session.org = Some(org.clone());
    app.data
        .accounts()
        .put_session(&signed.hash, &session)
        .await?;
    Ok(())
}

/// Deletes the tenant's organization with all its machines and data: its drivers stop first.
pub async fn delete_organization(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    actor: &UserId,
) -> Result<(), AccountError> {
    for machine in tenant.store().machines().await? {
        app.fleet.stop_machine(tenant.org(), &machine.id).await;
        app.ingest.forget(tenant.org(), &machine.id);
        app.live.remove(tenant.org(), &machine.id);
    }
    // Revoked at the provider first: once the records go, nothing could revoke them.
    app.integrations
        .disconnect_org(tenant.org())
        .await
        .map_err(anyhow::Error::from)?;
    tenant.store().remove_organization().await?;
    Audit::new("org.delete", context)
        .actor(actor)
        .org(tenant.org())
        .record(app)
        .await
}
