//! Signing up, confirming the address, signing in and out, and passwords.

use chatter_model::{EmailLink, LinkPurpose, Session, User, UserId};
use chatter_store::StoreError;

use super::{AccountError, Audit, RequestContext, check_name, messages, normalize_email};
use crate::app::AppState;
use crate::auth::password::check_strength;
use crate::auth::{Caller, secret};

/// How long a session lasts, used or not.
const SESSION_MS: i64 = 30 * 24 * 3600 * 1000;
/// How long a verification link works.
const VERIFY_LINK_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long a password-reset link works.
const RESET_LINK_MS: i64 = 3600 * 1000;

/// A sign-up form.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    /// The person's name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// The password they chose.
    pub password: String,
    /// The name of the organization to create for them, unless they join by invitation.
    pub organization: String,
    /// The secret of the invitation they follow, if any.
    pub invitation: Option<String>,
}

/// A new session: the id to put in the cookie, and the session.
#[derive(Debug)]
pub struct NewSession {
    /// The session id, for the cookie; stored only as its hash.
    pub id: String,
    /// The session.
    pub session: Session,
}

/// Signs someone up. Without an invitation, the answer is the same whether or not the address
/// already has an account — check your inbox — and the e-mail says which: a confirmation link,
/// or a note that the account exists. With a valid invitation for the same address, the address
/// is thereby confirmed: the account is created in the inviting organization and signed in.
pub async fn sign_up(
    app: &AppState,
    context: &RequestContext,
    form: SignUp,
) -> Result<Option<NewSession>, AccountError> {
    let email = normalize_email(&form.email)?;
    let name = check_name("name", &form.name, "your name")?;
    check_strength(&form.password, &email)
        .map_err(|message| AccountError::invalid("password", message))?;
    if let Some(invitation) = &form.invitation {
        return sign_up_invited(app, context, &email, &name, &form.password, invitation).await;
    }
    let organization = match form.organization.trim() {
        "" => format!("{name}'s shop"),
        given => check_name("organization", given, "your shop's name")?,
    };
    if app.data.accounts().user_by_email(&email).await?.is_some() {
        app.mailer.send_later(messages::account_exists(app, &email));
        return Ok(None);
    }
    let user = new_user(app, &email, &name, &form.password, false).await?;
    match app.data.accounts().create_user(&user).await {
        Err(StoreError::EmailTaken(_)) => {
            app.mailer.send_later(messages::account_exists(app, &email));
            return Ok(None);
        }
        other => other?,
    }
    let org = super::create_organization(app, context, &user, &organization).await?;
    Audit::new("account.sign_up", context)
        .actor(&user.id)
        .org(&org)
        .record(app)
        .await?;
    send_verification(app, &user).await?;
    Ok(None)
}

async fn sign_up_invited(
    app: &AppState,
    context: &RequestContext,
    email: &str,
    name: &str,
    password: &str,
    invitation: &str,
) -> Result<Option<NewSession>, AccountError> {
    let (hash, invite) = super::members::open_invitation(app, invitation).await?;
    if invite.email != email {
        return Err(AccountError::invalid(
            "email",
            "This invitation was sent to another address: sign up with the address it was sent to.",
        ));
    }
    let user = new_user(app, email, name, password, true).await?;
    match app.data.accounts().create_user(&user).await {
        Err(StoreError::EmailTaken(_)) => {
            return Err(AccountError::invalid(
                "email",
                "An account with this address exists: sign in to accept the invitation.",
            ));
        }
        other => other?,
    }
    Audit::new("account.sign_up", context)
        .actor(&user.id)
        .org(&invite.org)
        .record(app)
        .await?;
    super::members::join(app, context, &user, &hash, invite).await?;
    Ok(Some(start_session(app, context, &user).await?))
}

async fn new_user(
    app: &AppState,
    email: &str,
    name: &str,
    password: &str,
    email_verified: bool,
) -> Result<User, AccountError> {
    Ok(User {
        id: UserId::new(secret::random_hex::<8>()?)
            .map_err(|error| AccountError::Internal(error.into()))?,
        email: email.to_owned(),
        name: name.to_owned(),
        password_hash: app.passwords.hash(password).await?,
        email_verified,
        marketing_opt_in: false,
        created_at_ms: chatter_model::now_ms(),
    })
}

/// Sends `user` a link that confirms their current address.
pub(super) async fn send_verification(app: &AppState, user: &User) -> Result<(), AccountError> {
    let link = new_link(app, user, LinkPurpose::VerifyEmail, VERIFY_LINK_MS).await?;
    app.mailer.send_later(messages::verify_email(
        app,
        user,
        &app.web.link(&format!("/verify?token={link}")),
    ));
    Ok(())
}

async fn new_link(
    app: &AppState,
    user: &User,
    purpose: LinkPurpose,
    lifetime_ms: i64,
) -> Result<String, AccountError> {
    let link = secret::new_secret("")?;
    let record = EmailLink {
        user: user.id.clone(),
        purpose,
        email: user.email.clone(),
        expires_at_ms: chatter_model::now_ms() + lifetime_ms,
    };
    app.data
        .accounts()
        .put_email_link(&link.hash, &record)
        .await?;
    Ok(link.secret)
}

/// Uses a one-time link: it is gone afterwards whatever happens next.
async fn take_link(
    app: &AppState,
    secret_text: &str,
    purpose: LinkPurpose,
) -> Result<User, AccountError> {
    let accounts = app.data.accounts();
    let link = accounts
        .take_email_link(&secret::hash(secret_text))
        .await?
        .filter(|link| link.purpose == purpose && link.expires_at_ms > chatter_model::now_ms())
        .ok_or(AccountError::BadLink)?;
    accounts
        .user(&link.user)
        .await?
        .filter(|user| user.email == link.email)
        .ok_or(AccountError::BadLink)
}

/// Confirms the address a verification link was sent to.
pub async fn verify_email(
    app: &AppState,
    context: &RequestContext,
    link: &str,
) -> Result<User, AccountError> {
    let mut user = take_link(app, link, LinkPurpose::VerifyEmail).await?;
    user.email_verified = true;
    app.data.accounts().put_user(&user).await?;
    Audit::new("account.email_verified", context)
        .actor(&user.id)
        .record(app)
        .await?;
    Ok(user)
}

/// Signs in with an address and password, within the limits on failed attempts.
pub async fn sign_in(
    app: &AppState,
    context: &RequestContext,
    email: &str,
    password: &str,
) -> Result<NewSession, AccountError> {
    let email = email.trim().to_lowercase();
    if let Some(wait) = app.sign_in_limiter.check(&email, &context.ip) {
        return Err(AccountError::Throttled(wait));
    }
    let user = app.data.accounts().user_by_email(&email).await?;
    let phc = user.as_ref().map(|user| user.password_hash.as_str());
    let matches = app.passwords.verify(password, phc).await?;
    let Some(user) = user.filter(|_| matches) else {
        app.sign_in_limiter.failed(&email, &context.ip);
        let mut audit = Audit::new("session.sign_in_failed", context);
        if let Some(known) = app.data.accounts().user_by_email(&email).await? {
            audit = audit.subject(&known.id);
        }
        audit.record(app).await?;
        return Err(AccountError::WrongCredentials);
    };
    app.sign_in_limiter.succeeded(&email);
    if !user.email_verified {
        send_verification(app, &user).await?;
        return Err(AccountError::Unverified);
    }
    let session = start_session(app, context, &user).await?;
    Audit::new("session.sign_in", context)
        .actor(&user.id)
        .record(app)
        .await?;
    Ok(session)
}

/// A new session for `user`, in their first organization.
pub(super) async fn start_session(
    app: &AppState,
    context: &RequestContext,
    user: &User,
) -> Result<NewSession, AccountError> {
    let accounts = app.data.accounts();
    let org = accounts
        .memberships_of(&user.id)
        .await?
        .into_iter()
        .next()
        .map(|membership| membership.org);
    let id = secret::new_secret("")?;
    let now = chatter_model::now_ms();
    let session = Session {
        user: user.id.clone(),
        org,
        csrf_token: secret::random_hex::<32>()?,
        created_at_ms: now,
        last_seen_ms: now,
        expires_at_ms: now + SESSION_MS,
        user_agent: context.user_agent.chars().take(200).collect(),
    };
    accounts.put_session(&id.hash, &session).await?;
    Ok(NewSession {
        id: id.secret,
        session,
    })
}

/// Ends the caller's session.
pub async fn sign_out(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
) -> Result<(), AccountError> {
    if let Some(signed) = &caller.session {
        app.data.accounts().remove_session(&signed.hash).await?;
        Audit::new("session.sign_out", context)
            .actor(&caller.user.id)
            .record(app)
            .await?;
    }
    Ok(())
}

/// Ends every session of the caller, this one included.
pub async fn sign_out_everywhere(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
) -> Result<usize, AccountError> {
    let ended = app
        .data
        .accounts()
        .remove_sessions_of(&caller.user.id)
        .await?;
    Audit::new("session.revoke_all", context)
        .actor(&caller.user.id)
        .detail("sessions", ended)
        .record(app)
        .await?;
    Ok(ended)
}

/// Sends a password-reset link if the address has an account; answers the same either way.
pub async fn request_reset(
    app: &AppState,
    context: &RequestContext,
    email: &str,
) -> Result<(), AccountError> {
    let email = email.trim().to_lowercase();
    let Some(user) = app.data.accounts().user_by_email(&email).await? else {
        return Ok(());
    };
    let link = new_link(app, &user, LinkPurpose::ResetPassword, RESET_LINK_MS).await?;
    let url = app.web.link(&format!("/reset?token={link}"));
    app.mailer
        .send_later(messages::reset_password(app, &user, &url));
    Audit::new("account.password_reset_request", context)
        .subject(&user.id)
        .record(app)
        .await
}

/// Sets a new password through a reset link, which then stops working, and ends every session.
pub async fn reset_password(
    app: &AppState,
    context: &RequestContext,
    link: &str,
    password: &str,
) -> Result<(), AccountError> {
    // Checked before the link is used up, so a refused password does not cost the link.
    check_strength(password, "").map_err(|message| AccountError::invalid("password", message))?;
    let mut user = take_link(app, link, LinkPurpose::ResetPassword).await?;
    user.password_hash = app.passwords.hash(password).await?;
    // Opening the link proves the address.
    user.email_verified = true;
    let accounts = app.data.accounts();
    accounts.put_user(&user).await?;
    accounts.remove_sessions_of(&user.id).await?;
    Audit::new("account.password_reset", context)
        .actor(&user.id)
        .record(app)
        .await
}

/// Changes the caller's password, and ends their other sessions.
pub async fn change_password(
    app: &AppState,
    context: &RequestContext,
    caller: &Caller,
    current: &str,
    new: &str,
) -> Result<(), AccountError> {
    let mut user = caller.user.clone();
    if !app
        .passwords
        .verify(current, Some(&user.password_hash))
        .await?
    {
        return Err(AccountError::invalid(
            "current_password",
            "This is not your current password.",
        ));
    }
    check_strength(new, &user.email)
        .map_err(|message| AccountError::invalid("new_password", message))?;
    user.password_hash = app.passwords.hash(new).await?;
    let accounts = app.data.accounts();
    accounts.put_user(&user).await?;
    let current_session = caller.session.as_ref().map(|signed| signed.hash.as_str());
    for (hash, _) in accounts.sessions_of(&user.id).await? {
        if Some(hash.as_str()) != current_session {
            accounts.remove_session(&hash).await?;
        }
    }
    Audit::new("account.password_change", context)
        .actor(&user.id)
        .record(app)
        .await
}
