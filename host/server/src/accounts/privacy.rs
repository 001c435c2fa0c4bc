//! People's rights over their data: correcting their profile, choosing about product news,
//! downloading everything about them, and deleting their account.

use std::io::{Seek as _, Write as _};

use chatter_model::{Membership, OrgId, Organization, Role, User, UserId};
use chatter_store::AuditFilter;
use serde::Serialize;
use zip::write::SimpleFileOptions;

use super::{AccountError, Audit, RequestContext, check_name, normalize_email};
use crate::app::AppState;
use crate::auth::{Caller, Tenant, secret};

/// Observations read per page while exporting.
const EXPORT_PAGE: usize = 10_000;

/// Corrects the caller's name and address. A new address must be confirmed again.
pub async fn update_profile(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    name: &str,
    email: &str,
) -> Result<User, AccountError> {
    let mut user = caller.user.clone();
    user.name = check_name("name", name, "your name")?;
    let email = normalize_email(email)?;
    let email_changed = email != user.email;
    if email_changed {
        user.email = email;
        user.email_verified = false;
    }
    match app.data.accounts().put_user(&user).await {
        Err(chatter_store::StoreError::EmailTaken(_)) => {
            return Err(AccountError::invalid(
                "email",
                "Another account uses this address.",
            ));
        }
        other => other?,
    }
    if email_changed {
        super::sign::send_verification(app, &user).await?;
    }
    Audit::new("account.profile_update", context)
        .actor(&user.id)
        .detail("email_changed", email_changed)
        .record(app)
        .await?;
    Ok(user)
}

/// Turns product news on or off for `user`.
pub async fn set_marketing(
    app: &AppState,
    context: &RequestContext,
    user: &User,
    opt_in: bool,
) -> Result<(), AccountError> {
    let mut user = user.clone();
    user.marketing_opt_in = opt_in;
    app.data.accounts().put_user(&user).await?;
    let action = if opt_in {
        "account.marketing_opt_in"
    } else {
        "account.marketing_opt_out"
    };
    Audit::new(action, context)
        .actor(&user.id)
        .record(app)
        .await
}

/// A link that turns product news off for `user` without signing in: it carries the user id
/// signed with the installation's secret.
pub fn unsubscribe_link(app: &AppState, user: &UserId) -> String {
    let signature = secret::sign(&app.web.secret, &unsubscribe_message(user));
    app.web
        .link(&format!("/unsubscribe?user={user}&signature={signature}"))
}

fn unsubscribe_message(user: &UserId) -> String {
    format!("unsubscribe:{user}")
}

/// Turns product news off through an unsubscribe link, if its signature is right.
pub async fn unsubscribe(
    app: &AppState,
    context: &RequestContext,
    user: &str,
    signature: &str,
) -> Result<(), AccountError> {
    let user = UserId::new(user).map_err(|_| AccountError::BadLink)?;
    if !secret::verify(&app.web.secret, &unsubscribe_message(&user), signature) {
        return Err(AccountError::BadLink);
    }
    // A deleted user's link does nothing, and says so no differently.
    let Some(user) = app.data.accounts().user(&user).await? else {
        return Ok(());
    };
    set_marketing(app, context, &user, false).await
}

/// What deleting an account does to one of its organizations.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum OrgFate {
    /// The user leaves; the organization goes on without them.
    Leave,
    /// The user is its only owner: ownership passes to this member.
    HandOver {
        /// The member who becomes owner.
        to: UserId,
        /// Their name, to show.
        to_name: String,
    },
    /// The user is its only member: it is deleted with all its machines and data.
    Delete,
}

/// What deleting the caller's account would do, organization by organization.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionPlan {
    /// Each organization, the caller's role there, and its fate.
    pub organizations: Vec<(Organization, Role, OrgFate)>,
}

/// What deleting the caller's account would do; the account page shows it before asking.
pub async fn deletion_plan(app: &AppState, caller: &Caller) -> Result<DeletionPlan, AccountError> {
    let mut organizations = Vec::new();
    for (membership, org) in app.data.organizations_of(&caller.user.id).await? {
        let fate = fate(app, &membership).await?;
        organizations.push((org, membership.role, fate));
    }
    Ok(DeletionPlan { organizations })
}

async fn fate(app: &AppState, membership: &Membership) -> Result<OrgFate, AccountError> {
    if membership.role != Role::Owner {
        return Ok(OrgFate::Leave);
    }
    let mut others: Vec<Membership> = app
        .data
        .accounts()
        .members(&membership.org)
        .await?
        .into_iter()
        .filter(|other| other.user != membership.user)
        .collect();
    if others.iter().any(|other| other.role == Role::Owner) {
        return Ok(OrgFate::Leave);
    }
    // The most senior: highest role, then longest a member.
    others.sort_by_key(|other| (other.role, other.joined_at_ms));
    let Some(successor) = others.first() else {
        return Ok(OrgFate::Delete);
    };
    let to_name = app
        .data
        .accounts()
        .user(&successor.user)
        .await?
        .map_or_else(|| successor.user.to_string(), |user| user.name);
    Ok(OrgFate::HandOver {
        to: successor.user.clone(),
        to_name,
    })
}

/// Deletes the caller's account after checking their password: hands over or deletes their
/// organizations as [`deletion_plan`] says, then removes their sessions, tokens, memberships
/// and personal data. Audit records keep only their id.
pub async fn delete_account(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    password: &str,
) -> Result<DeletionPlan, AccountError> {
    let user = &caller.user;
    if !app
        .passwords
        .verify(password, Some(&user.password_hash))
        .await?
    {
        return Err(AccountError::invalid(
            "password",
            "This is not your password.",
        ));
    }
    let plan = deletion_plan(app, caller).await?;
    // The provider accounts they connected were theirs: revoke them before anything else.
    let orgs: Vec<_> = caller
        .tenants(app)
        .await?
        .iter()
        .map(|tenant| tenant.org().clone())
        .collect();
    app.integrations
        .disconnect_all_of(&user.id, &orgs)
        .await
        .map_err(anyhow::Error::from)?;
    for tenant in caller.tenants(app).await? {
        let Some((_, _, fate)) = plan
            .organizations
            .iter()
            .find(|(org, _, _)| &org.id == tenant.org())
        else {
            continue;
        };
        apply_fate(app, context, &tenant, &user.id, fate).await?;
    }
    app.data.accounts().remove_user(&user.id).await?;
    Audit::new("account.delete", context)
        .actor(&user.id)
        .record(app)
        .await?;
    Ok(plan)
}

async fn apply_fate(
    app: &AppState,
    context: &RequestContext,
    tenant: &Tenant,
    user: &UserId,
    fate: &OrgFate,
) -> Result<(), AccountError> {
    match fate {
        OrgFate::Leave => Ok(()),
        OrgFate::Delete => super::delete_organization(app, context, tenant, user).await,
        OrgFate::HandOver { to, .. } => {
            tenant.store().put_member(to, Role::Owner).await?;
            Audit::new("member.role_change", context)
                .actor(user)
                .subject(to)
                .org(tenant.org())
                .detail("to", Role::Owner)
                .detail("reason", "owner deleted their account")
                .record(app)
                .await
        }
    }
}

/// Everything about the caller, as a ZIP of JSON files: their profile, memberships, sessions,
/// API tokens, the audit events about them, and the data of each organization they belong to
/// (all of which every role may read). Returns the ZIP in a temporary file, at its start.
pub async fn export(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
) -> Result<std::fs::File, AccountError> {
    let mut zip = zip::ZipWriter::new(tempfile::tempfile()?);
    let user = &caller.user;
    let accounts = app.data.accounts();
    add_json(&mut zip, "profile.json", &Profile::of(user))?;
    let memberships = accounts.memberships_of(&user.id).await?;
    add_json(&mut zip, "memberships.json", &memberships)?;
    let sessions: Vec<_> = accounts
        .sessions_of(&user.id)
        .await?
        .into_iter()
        .map(|(_, session)| SessionExport::of(session))
        .collect();
    add_json(&mut zip, "sessions.json", &sessions)?;
    let tokens: Vec<_> = accounts
        .api_tokens_of(&user.id)
        .await?
        .into_iter()
        .map(|(_, token)| token)
        .collect();
    add_json(&mut zip, "api_tokens.json", &tokens)?;
    let audit = accounts
        .audit_records(&AuditFilter::User(user.id.clone()), 0, usize::MAX)
        .await?;
    add_json(&mut zip, "audit_events.json", &audit)?;
    let tenants = caller.tenants(app).await?;
    for tenant in &tenants {
        export_organization(&mut zip, tenant).await?;
    }
    let mut file = zip
        .finish()
        .map_err(|error| AccountError::Internal(error.into()))?;
    file.rewind()?;
    Audit::new("account.export", context)
        .actor(&user.id)
        .record(app)
        .await?;
    // The organization's data left with it: its admins see that in their log.
    for tenant in &tenants {
        Audit::new("org.export", context)
            .actor(&user.id)
            .org(tenant.org())
            .record(app)
            .await?;
    }
    Ok(file)
}

type Zip = zip::ZipWriter<std::fs::File>;

async fn export_organization(zip: &mut Zip, tenant: &Tenant) -> Result<(), AccountError> {
    let store = tenant.store();
    let dir = format!("organizations/{}", tenant.org());
    add_json(
        zip,
        &format!("{dir}/organization.json"),
        &store.organization().await?,
    )?;
    let machines = store.machines().await?;
    add_json(zip, &format!("{dir}/machines.json"), &machines)?;
    let (from, to): (chatter_model::Timestamp, _) = (0, i64::MAX);
    for machine in &machines {
        let id = &machine.id;
        let dir = format!("{dir}/machines/{id}");
        add_json(
            zip,
            &format!("{dir}/data_items.json"),
            &store.data_items(id).await?,
        )?;
        add_json(
            zip,
            &format!("{dir}/intervals.json"),
            &store.intervals(id, from, to).await?,
        )?;
        add_json(
            zip,
            &format!("{dir}/cycles.json"),
            &store.cycles(id, from, to, usize::MAX).await?,
        )?;
        add_json(
            zip,
            &format!("{dir}/parts.json"),
            &store.parts(id, from, to, usize::MAX).await?,
        )?;
        add_json(
            zip,
            &format!("{dir}/alarms.json"),
            &store.alarms(id, from, to, usize::MAX).await?,
        )?;
        export_observations(zip, tenant, id, &format!("{dir}/observations.ndjson")).await?;
    }
    Ok(())
}

async fn export_observations(
    zip: &mut Zip,
    tenant: &Tenant,
    machine: &chatter_model::MachineId,
    path: &str,
) -> Result<(), AccountError> {
    start_file(zip, path)?;
    let mut after = 0;
    loop {
        let page = tenant
            .store()
            .observations(machine, after, EXPORT_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.sequence;
        for observation in &page {
            serde_json::to_writer(&mut *zip, observation)
                .map_err(|error| AccountError::Internal(error.into()))?;
            zip.write_all(b"\n")?;
        }
    }
}

fn start_file(zip: &mut Zip, path: &str) -> Result<(), AccountError> {
    zip.start_file(path, SimpleFileOptions::default())
        .map_err(|error| AccountError::Internal(error.into()))
}

fn add_json(zip: &mut Zip, path: &str, value: &impl Serialize) -> Result<(), AccountError> {
    start_file(zip, path)?;
    serde_json::to_writer_pretty(&mut *zip, value)
        .map_err(|error| AccountError::Internal(error.into()))
}

/// A user's profile, without their password hash.
#[derive(Serialize)]
struct Profile<'a> {
    id: &'a UserId,
    name: &'a str,
    email: &'a str,
    email_verified: bool,
    marketing_opt_in: bool,
    created_at_ms: i64,
}

impl<'a> Profile<'a> {
    fn of(user: &'a User) -> Self {
        Self {
            id: &user.id,
            name: &user.name,
            email: &user.email,
            email_verified: user.email_verified,
            marketing_opt_in: user.marketing_opt_in,
            created_at_ms: user.created_at_ms,
        }
    }
}

/// A session, without its CSRF secret.
#[derive(Serialize)]
struct SessionExport {
    org: Option<OrgId>,
    created_at_ms: i64,
    last_seen_ms: i64,
    expires_at_ms: i64,
    user_agent: String,
}

impl SessionExport {
    fn of(session: chatter_model::Session) -> Self {
        Self {
            org: session.org,
            created_at_ms: session.created_at_ms,
            last_seen_ms: session.last_seen_ms,
            expires_at_ms: session.expires_at_ms,
            user_agent: session.user_agent,
        }
    }
}
