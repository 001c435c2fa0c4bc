//! What the operator does from the command line with the server stopped: add users (the demo's
//! and the first owner of a configured organization), make API tokens for scripts, and verify
//! the audit log.

use chatter_model::audit::{AuditEntry, ChainError, ChainVerifier};
use chatter_model::{ApiToken, Membership, OrgId, Role, User, UserId};
use chatter_store::{AuditFilter, Store};

use crate::auth::password::{PasswordHasher, check_strength};
use crate::auth::secret;

/// Audit records read per step while verifying.
const VERIFY_PAGE: usize = 10_000;

/// Creates a user with a confirmed address, or sets an existing one's name and password, and
/// makes them a member of `org` with `role`.
pub async fn add_user(
    store: &dyn Store,
    email: &str,
    name: &str,
    password: &str,
    org: &OrgId,
    role: Role,
) -> anyhow::Result<User> {
    let email = super::normalize_email(email)?;
    check_strength(password, &email).map_err(|message| anyhow::anyhow!("{message}"))?;
    if store.organization(org).await?.is_none() {
        anyhow::bail!("organization `{org}` does not exist (start the server once to create it)");
    }
    let password_hash = PasswordHasher::new(1)?.hash(password).await?;
    let user = match store.user_by_email(&email).await? {
        Some(mut user) => {
            user.name = name.to_owned();
            user.password_hash = password_hash;
            user.email_verified = true;
            store.put_user(&user).await?;
            user
        }
        None => {
            let user = User {
                id: UserId::new(secret::random_hex::<8>()?)?,
                email,
                name: name.to_owned(),
                password_hash,
                email_verified: true,
                marketing_opt_in: false,
                created_at_ms: chatter_model::now_ms(),
            };
            store.create_user(&user).await?;
            user
        }
    };
    store
        .put_membership(&Membership {
            org: org.clone(),
            user: user.id.clone(),
            role,
            joined_at_ms: chatter_model::now_ms(),
        })
        .await?;
    record(store, "operator.user_add", org, &user.id, role).await?;
    Ok(user)
}

/// A personal API token for the user with this address in `org`, with at most `role`.
pub async fn create_token(
    store: &dyn Store,
    email: &str,
    org: &OrgId,
    role: Role,
    name: &str,
) -> anyhow::Result<String> {
    let email = email.trim().to_lowercase();
    let user = store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user has the address `{email}`"))?;
    let membership = store
        .membership(org, &user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("`{email}` is not a member of `{org}`"))?;
    if !membership.role.includes(role) {
        anyhow::bail!(
            "`{email}` is {} in `{org}`: a token cannot be {role}",
            membership.role
        );
    }
    let new = secret::new_secret(secret::API_TOKEN_PREFIX)?;
    let token = ApiToken {
        id: new.public_id,
        user: user.id.clone(),
        org: org.clone(),
        role,
        name: name.to_owned(),
        created_at_ms: chatter_model::now_ms(),
        last_used_ms: None,
        expires_at_ms: None,
        revoked_at_ms: None,
    };
    store.put_api_token(&new.hash, &token).await?;
    record(store, "token.create", org, &user.id, role).await?;
    Ok(new.secret)
}

async fn record(
    store: &dyn Store,
    action: &str,
    org: &OrgId,
    user: &UserId,
    role: Role,
) -> anyhow::Result<()> {
    store
        .append_audit(AuditEntry {
            at_ms: chatter_model::now_ms(),
            action: action.to_owned(),
            org: Some(org.clone()),
            actor: None,
            subject: Some(user.clone()),
            ip: Some("command line".to_owned()),
            details: vec![("role".to_owned(), role.to_string())],
        })
        .await?;
    Ok(())
}

/// What [`verify_audit`] found.
#[derive(Debug)]
pub enum AuditVerdict {
    /// Every record is in place: how many, and the last one's hash.
    Intact {
        /// Records checked.
        records: u64,
        /// The hash of the last record.
        head: String,
    },
    /// The chain is broken.
    Broken(ChainError),
}

/// Checks the whole audit log's hash chain, page by page.
pub async fn verify_audit(
    store: &dyn Store,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<AuditVerdict> {
    let written = store.audit_written().await?;
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store
            .audit_records(&AuditFilter::All, after, VERIFY_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            if let Err(broken) = verifier.check(record) {
                return Ok(AuditVerdict::Broken(broken));
            }
        }
        progress(after);
    }
    Ok(match verifier.finish(written) {
        Ok((records, head)) => AuditVerdict::Intact { records, head },
        Err(broken) => AuditVerdict::Broken(broken),
    })
}
