//! The account page: profile, password, sessions, personal API tokens, the download of one's
//! data, and product news.

use std::str::FromStr as _;

use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chatter_model::Role;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use super::cookies;
use super::frame::{Done, Frame, Section, current_tenant};
use super::page::{Failure, RoleOption, When, render, role_label, role_options};
use crate::accounts::RequestContext;
use crate::accounts::{self, AccountError, NewToken};
use crate::app::AppState;
use crate::auth::{Caller, secret};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    name: String,
    email: String,
    email_verified: bool,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    /// The current organization's name, which new tokens act in; none without one.
    token_org: Option<String>,
    token_roles: Vec<RoleOption>,
    token_name: String,
    token_lifetimes: Vec<LifetimeOption>,
    /// A token just created, shown this once.
    new_token: Option<String>,
    marketing: bool,
}

/// A session in the list.
struct SessionRow {
    user_agent: String,
    created: When,
    last_seen: When,
    /// Whether it is this browser's.
    current: bool,
}

/// An API token in the list.
struct TokenRow {
    id: String,
    /// How the list shows it: the prefix and public id (`cht_1a2b3c4d…`).
    shown: String,
    name: String,
    org: String,
    role: &'static str,
    created: When,
    last_used: Option<When>,
    expires: Option<When>,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
    /// When it stopped working, if it did.
    ended: Option<When>,
}

/// A lifetime in the new-token form's `<select>`.
struct LifetimeOption {
    /// As the form sends it: days, or empty for no end.
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The lifetimes the form offers, in days (`""`: until revoked).
const LIFETIMES: [(&str, &str); 5] = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("", "No expiry (until revoked)"),
];

/// What the page's forms held when it is shown again.
#[derive(Default)]
struct Held {
    /// The profile form's name and address.
    profile: Option<(String, String)>,
    token_name: String,
    token_role: Option<Role>,
    token_days: Option<String>,
    new_token: Option<String>,
}

/// `GET /account`.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = frame(&app, &caller).await?.done(&done);
    page(&app, &caller, frame, Held::default(), StatusCode::OK).await
}

async fn frame(app: &AppState, caller: &Caller) -> Result<Frame, Failure> {
    Frame::signed_in(app, caller, "Account", Section::Account).await
}

async fn page(
    app: &AppState,
    caller: &Caller,
    frame: Frame,
    held: Held,
    status: StatusCode,
) -> Result<Response, Failure> {
    let user = &caller.user;
    let accounts = app.data.accounts();
    let this_session = caller.session.as_ref().map(|signed| signed.hash.as_str());
    let now = chatter_model::now_ms();
    let sessions = accounts
        .sessions_of(&user.id)
        .await?
        .into_iter()
        .filter(|(_, session)| session.expires_at_ms > now)
        .map(|(hash, session)| SessionRow {
            user_agent: describe_agent(&session.user_agent),
            created: When::at(session.created_at_ms),
            last_seen: When::at(session.last_seen_ms),
            current: Some(hash.as_str()) == this_session,
        })
        .collect();
    let organizations = app.data.organizations_of(&user.id).await?;
    let org_name = |org: &chatter_model::OrgId| {
        organizations
            .iter()
            .find(|(_, known)| &known.id == org)
            .map_or_else(|| org.to_string(), |(_, known)| known.name.clone())
    };
    let mut tokens: Vec<TokenRow> = accounts
        .api_tokens_of(&user.id)
        .await?
        .into_iter()
        .map(|(_, token)| TokenRow {
            state: if token.revoked_at_ms.is_some() {
                "revoked"
            } else if token.is_live(now) {
                "active"
            } else {
                "expired"
            },
            ended: token
                .revoked_at_ms
                .or(token.expires_at_ms.filter(|end| *end <= now))
                .map(When::at),
            expires: token.expires_at_ms.map(When::at),
            org: org_name(&token.org),
            role: role_label(token.role),
            created: When::at(token.created_at_ms),
            last_used: token.last_used_ms.map(When::at),
            shown: format!("{}{}…", secret::API_TOKEN_PREFIX, token.id),
            id: token.id,
            name: token.name,
        })
        .collect();
    // Live tokens first, each group newest first.
    tokens.reverse();
    tokens.sort_by_key(|token| token.state != "active");
    let tenant = current_tenant(app, caller).await?;
    let (token_org, token_roles) = match &tenant {
        Some(tenant) => (
            Some(org_name(tenant.org())),
            role_options(
                tenant.role(),
                held.token_role.unwrap_or(Role::Viewer).max(tenant.role()),
            ),
        ),
        None => (None, Vec::new()),
    };
    let (name, email) = held
        .profile
        .unwrap_or_else(|| (user.name.clone(), user.email.clone()));
    let page = AccountPage {
        frame,
        name,
        email,
        email_verified: user.email_verified,
        sessions,
        tokens,
        token_org,
        token_roles,
        token_name: held.token_name,
        token_lifetimes: LIFETIMES
            .into_iter()
            .map(|(value, label)| LifetimeOption {
                value,
                label,
                selected: held.token_days.as_deref().unwrap_or("90") == value,
            })
            .collect(),
        new_token: held.new_token,
        marketing: user.marketing_opt_in,
    };
    Ok(render(status, &page))
}

/// A user agent, shortened to what tells browsers apart.
fn describe_agent(agent: &str) -> String {
    let agent = agent.trim();
    if agent.is_empty() {
        return "Unknown browser".to_owned();
    }
    let browser = ["Edg/", "OPR/", "Firefox/", "Chrome/", "Safari/", "curl/"]
        .into_iter()
        .find(|marker| agent.contains(marker))
        .map(|marker| match marker {
            "Edg/" => "Edge",
            "OPR/" => "Opera",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            _ => "curl",
        });
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => agent.chars().take(80).collect(),
    }
}

/// The profile form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProfileForm {
    name: String,
    email: String,
}

/// `POST /account/profile`.
pub(crate) async fn profile(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<ProfileForm>,
) -> Result<Response, Failure> {
    match accounts::update_profile(&app, &context, &caller, &form.name, &form.email).await {
        Ok(user) if user.email != caller.user.email => {
            Ok(cookies::done("/account", "profile_email"))
        }
        Ok(_) => Ok(cookies::done("/account", "profile")),
        Err(error) => {
            let mut frame = frame(&app, &caller).await?;
            let status = frame.refuse(
                error,
                &[("name", "profile-name"), ("email", "profile-email")],
            )?;
            let held = Held {
                profile: Some((form.name, form.email)),
                ..Held::default()
            };
            page(&app, &caller, frame, held, status).await
        }
    }
}

/// The password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// `POST /account/password`.
pub(crate) async fn password(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Failure> {
    let changed = accounts::change_password(
        &app,
        &context,
        &caller,
        &form.current_password,
        &form.new_password,
    )
    .await;
    match changed {
        Ok(()) => Ok(cookies::done("/account", "password")),
        Err(error) => {
            let mut frame = frame(&app, &caller).await?;
            let inputs = [
                ("current_password", "password-current"),
                ("new_password", "password-new"),
            ];
            let status = frame.refuse(error, &inputs)?;
            page(&app, &caller, frame, Held::default(), status).await
        }
    }
}

/// `POST /account/sessions/revoke`: signs out every session, this one included.
pub(crate) async fn sign_out_everywhere(
    State(app): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    context: RequestContext,
) -> Result<Response, Failure> {
    accounts::sign_out_everywhere(&app, &context, &caller).await?;
    let jar = cookies::clear_session(&app, jar);
    Ok((jar, cookies::done("/sign-in", "signed_out_everywhere")).into_response())
}

/// The new-token form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenForm {
    name: String,
    role: String,
    /// Days it works for; empty for no end.
    days: String,
}

/// `POST /account/tokens`: the page again, with the new token shown once.
pub(crate) async fn create_token(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<TokenForm>,
) -> Result<Response, Failure> {
    let role = Role::from_str(form.role.trim()).ok();
    let days = match form.days.trim() {
        "" => Ok(None),
        days => days
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AccountError::Invalid {
                field: "days",
                message: "Choose how long the token works.".to_owned(),
            }),
    };
    let created = match (current_tenant(&app, &caller).await?, role, days) {
        (None, _, _) => Err(AccountError::Forbidden(
            "Create or join an organization first: a token acts in one.".to_owned(),
        )),
        (Some(_), None, _) => Err(AccountError::Invalid {
            field: "role",
            message: "Choose a role.".to_owned(),
        }),
        (Some(_), _, Err(error)) => Err(error),
        (Some(tenant), Some(role), Ok(days)) => {
            let new = NewToken {
                name: form.name.clone(),
                role,
                days,
            };
            accounts::create_api_token(&app, &context, &caller, &tenant, new).await
        }
    };
    match created {
        Ok((token, _)) => {
            let mut frame = frame(&app, &caller).await?;
            frame.notice =
                Some("Token created. Copy it now: it is shown only this once.".to_owned());
            let held = Held {
                new_token: Some(token),
                ..Held::default()
            };
            page(&app, &caller, frame, held, StatusCode::CREATED).await
        }
        Err(error) => {
            let mut frame = frame(&app, &caller).await?;
            let inputs = [
                ("name", "token-name"),
                ("role", "token-role"),
                ("days", "token-days"),
            ];
            let status = frame.refuse(error, &inputs)?;
            let held = Held {
                token_name: form.name,
                token_role: role,
                token_days: Some(form.days.trim().to_owned()),
                ..Held::default()
            };
            page(&app, &caller, frame, held, status).await
        }
    }
}

/// `POST /account/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    match accounts::revoke_api_token(&app, &context, &caller, &id).await {
        Ok(_) => Ok(cookies::done("/account", "token_revoked")),
        Err(error) => {
            let mut frame = frame(&app, &caller).await?;
            let status = frame.refuse(error, &[])?;
            page(&app, &caller, frame, Held::default(), status).await
        }
    }
}

/// `POST /account/export`: a ZIP of everything about the caller, streamed from a temporary
/// file.
pub(crate) async fn export(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
) -> Result<Response, Failure> {
    let file = accounts::export(&app, &context, &caller).await?;
    let length = file.metadata().map(|metadata| metadata.len()).ok();
    let stream = ReaderStream::new(tokio::fs::File::from_std(file));
    let date = jiff::Timestamp::now().strftime("%Y%m%d").to_string();
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/zip"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    let disposition = format!("attachment; filename=\"chatter-export-{date}.zip\"");
    if let Ok(value) = header::HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
    }
    Ok(response)
}

/// The product-news form: the checkbox is sent only when ticked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MarketingForm {
    marketing: Option<String>,
}

/// `POST /account/marketing`.
pub(crate) async fn marketing(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<MarketingForm>,
) -> Result<Response, Failure> {
    let opt_in = form.marketing.is_some();
    accounts::set_marketing(&app, &context, &caller.user, opt_in).await?;
    Ok(cookies::done(
        "/account",
        if opt_in {
            "marketing_on"
        } else {
            "marketing_off"
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::describe_agent;

    #[test]
    fn user_agents_are_told_apart_briefly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_agent(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(describe_agent(chrome), "Chrome on Windows");
        assert_eq!(describe_agent(""), "Unknown browser");
        assert_eq!(describe_agent("curl/8.5.0"), "curl");
    }
}
