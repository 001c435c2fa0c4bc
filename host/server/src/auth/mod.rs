//! Who is calling, and what they may reach.
//!
//! Every route declares its [`Access`] in the route table ([`crate::routes`]); [`authorize`]
//! runs before the handler, checks the caller's credentials — a session cookie, a personal API
//! token or a device token — and the CSRF token of a browser's state-changing request, and
//! hands the handler what it may use: a [`Caller`] for account routes, a [`Tenant`] for an
//! organization's routes. The organization is never taken from the request: it is the session's
//! current organization or the token's.

mod limiter;
pub mod password;
mod permission;
pub mod secret;
mod tenant;

pub use limiter::SignInLimiter;
pub use permission::{Permission, markdown_table};
pub use tenant::{Actor, OrgStore, StoreAccess, Tenant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chatter_model::{ApiToken, DeviceKind, DeviceToken, Role, Session, User};

use crate::app::AppState;
use crate::error::ApiError;

/// Longest form body read to find its CSRF token.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// Name of the form field and header carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How often a session's last-seen time is written (it is written on use, not on every use).
const SEEN_EVERY_MS: i64 = 5 * 60 * 1000;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in user (session or personal API token), whatever their organizations.
    SignedIn,
    /// A member of the current organization with this permission.
    Org(Permission),
    /// An edge connector with a device token.
    Device,
    /// Read-only views of the shop floor: a wall display with its display token, or a member
    /// who may read machines.
    Display,
}

/// A signed-in user, as account routes see them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub user: User,
    /// Their browser session, unless they called with an API token.
    pub session: Option<SignedSession>,
    /// The API token they called with, if any.
    pub token: Option<ApiToken>,
}

impl Caller {
    /// A tenant for each organization the caller belongs to, with their role there (capped by
    /// the API token's, if they called with one: then only its organization).
    pub async fn tenants(&self, app: &AppState) -> Result<Vec<Tenant>, chatter_store::StoreError> {
        let memberships = app.data.accounts().memberships_of(&self.user.id).await?;
        Ok(memberships
            .into_iter()
            .filter(|membership| {
                self.token
                    .as_ref()
                    .is_none_or(|token| token.org == membership.org)
            })
            .map(|membership| {
                let ceiling = self.token.as_ref().map_or(Role::Owner, |token| token.role);
                let actor = Actor::User {
                    user: self.user.id.clone(),
                    token: self.token.as_ref().map(|token| token.id.clone()),
                };
                app.data
                    .tenant(membership.org, membership.role.max(ceiling), actor)
            })
            .collect())
    }
}

/// A browser session and the hash it is stored under.
#[derive(Debug, Clone)]
pub struct SignedSession {
    /// The SHA-256 of the cookie's session id.
    pub hash: String,
    /// The session.
    pub session: Session,
}

/// The network address a request came from, as text (`unknown` when served without one).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
        Ok(ClientAddress(address))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Tenant>().cloned().ok_or_else(|| {
            ApiError::internal("a handler needs a Tenant but its route is not an organization's")
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a handler needs a Caller but its route is public"))
    }
}

/// Why a request is refused.
enum Refusal {
    /// No valid credentials: 401, or the sign-in page for a browser.
    Unauthenticated(&'static str, String),
    /// Valid credentials that do not reach this route: 403.
    Forbidden(&'static str, String),
    /// The server failed.
    Internal(ApiError),
}

impl From<chatter_store::StoreError> for Refusal {
    fn from(error: chatter_store::StoreError) -> Self {
        Refusal::Internal(error.into())
    }
}

/// The middleware every route runs first: checks the caller against the route's `access` and
/// puts a [`Caller`] and, for an organization's routes, a [`Tenant`] in the request.
pub async fn authorize(
    State((app, access)): State<(AppState, Access)>,
    request: Request,
    next: Next,
) -> Response {
    // The floor screens' data answers scripts, like the API: a status, never a redirect.
    let is_api = ["/api/", "/floor/"]
        .iter()
        .any(|prefix| request.uri().path().starts_with(prefix));
    let wants_page = !is_api && request.method() == Method::GET;
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    match admit(&app, access, request).await {
        Ok(request) => next.run(request).await,
        // A wall display is connected with its code, not signed in.
        Err(Refusal::Unauthenticated(_, _)) if wants_page && access == Access::Display => {
            Redirect::to(crate::ui::DISPLAY_CONNECT_PATH).into_response()
        }
        Err(Refusal::Unauthenticated(_, _)) if wants_page => {
            let next = url_escape(&target);
            Redirect::to(&format!("/sign-in?next={next}")).into_response()
        }
        Err(Refusal::Unauthenticated(code, message)) => {
            ApiError::unauthorized(code, message).into_response()
        }
        Err(Refusal::Forbidden(code, message)) if !is_api => {
            crate::ui::refusal(code, &message).into_response()
        }
        Err(Refusal::Forbidden(code, message)) => {
            ApiError::new(StatusCode::FORBIDDEN, code, message).into_response()
        }
        Err(Refusal::Internal(error)) => error.into_response(),
    }
}

async fn admit(app: &AppState, access: Access, request: Request) -> Result<Request, Refusal> {
    if access == Access::Public {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    let credentials = credentials(&parts.headers, app);
    let body = match (&credentials, access) {
        (Credentials::Device(token), Access::Device) => {
            let tenant = device_tenant(app, token).await?;
            parts.extensions.insert(tenant);
            body
        }
        (Credentials::Display(token), Access::Display) => {
            let tenant = display_tenant(app, token).await?;
            parts.extensions.insert(tenant);
            body
        }
        (Credentials::Device(_), _) => {
            return Err(Refusal::Forbidden(
                "device_token_not_allowed",
                "a device token may only send observations".into(),
            ));
        }
        (_, Access::Device) => {
            return Err(Refusal::Unauthenticated(
                "invalid_token",
                "send `Authorization: Bearer chd_…` with a device token".into(),
            ));
        }
        (Credentials::None | Credentials::Display(_), _) => {
            return Err(Refusal::Unauthenticated(
                "not_signed_in",
                "sign in, or send `Authorization: Bearer cht_…` with a personal API token".into(),
            ));
        }
        (Credentials::ApiToken(token), _) => {
            let caller = token_caller(app, token).await?;
            insert_caller(app, access, caller, &mut parts).await?;
            body
        }
        (Credentials::Session(id), _) => {
            let caller = session_caller(app, id).await?;
            let body = check_csrf(app, &parts, body, &caller).await?;
            insert_caller(app, access, caller, &mut parts).await?;
            body
        }
    };
    Ok(Request::from_parts(parts, body))
}

async fn insert_caller(
    app: &AppState,
    access: Access,
    caller: Caller,
    parts: &mut Parts,
) -> Result<(), Refusal> {
    let needs = match access {
        Access::Org(permission) => Some(permission),
        Access::Display => Some(Permission::ReadMachines),
        Access::Public | Access::SignedIn | Access::Device => None,
    };
    if let Some(permission) = needs {
        let tenant = user_tenant(app, &caller).await?;
        if !tenant.can(permission) {
            return Err(Refusal::Forbidden(
                "forbidden",
                format!(
                    "your role in this organization ({}) may not do this: {}",
                    tenant.role(),
                    permission.describe().to_lowercase()
                ),
            ));
        }
        parts.extensions.insert(tenant);
    }
    parts.extensions.insert(caller);
    Ok(())
}

/// The credentials a request carries, unchecked. A user's session wins over a display's
/// cookie, so a member opening the wall display in their own browser is themselves.
enum Credentials {
    None,
    Session(String),
    ApiToken(String),
    Device(String),
    Display(String),
}

fn credentials(headers: &HeaderMap, app: &AppState) -> Credentials {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        return if token.starts_with(secret::DEVICE_TOKEN_PREFIX) {
            Credentials::Device(token)
        } else {
            Credentials::ApiToken(token)
        };
    }
    let jar = CookieJar::from_headers(headers);
    let cookie = |name| {
        jar.get(name)
            .map(|cookie| cookie.value().to_owned())
            .filter(|value| !value.is_empty())
    };
    if let Some(session) = cookie(app.web.session_cookie()) {
        Credentials::Session(session)
    } else if let Some(display) = cookie(app.web.display_cookie()) {
        Credentials::Display(display)
    } else {
        Credentials::None
    }
}

async fn session_caller(app: &AppState, id: &str) -> Result<Caller, Refusal> {
    let expired = || Refusal::Unauthenticated("session_expired", "sign in again".into());
    let hash = secret::hash(id);
    let accounts = app.data.accounts();
    let mut session = accounts.session(&hash).await?.ok_or_else(expired)?;
    let now = chatter_model::now_ms();
    if session.expires_at_ms <= now {
        accounts.remove_session(&hash).await?;
        return Err(expired());
    }
    let user = accounts.user(&session.user).await?.ok_or_else(expired)?;
    if now - session.last_seen_ms >= SEEN_EVERY_MS {
        session.last_seen_ms = now;
        accounts.put_session(&hash, &session).await?;
    }
    Ok(Caller {
        user,
        session: Some(SignedSession { hash, session }),
        token: None,
    })
}

async fn token_caller(app: &AppState, token: &str) -> Result<Caller, Refusal> {
    let invalid = || {
        Refusal::Unauthenticated(
            "invalid_token",
            "the API token is unknown or revoked".into(),
        )
    };
    if !token.starts_with(secret::API_TOKEN_PREFIX) {
        return Err(invalid());
    }
    let hash = secret::hash(token);
    let accounts = app.data.accounts();
    let record = accounts.api_token(&hash).await?.ok_or_else(invalid)?;
    if !record.is_live(chatter_model::now_ms()) {
        return Err(Refusal::Unauthenticated(
            "invalid_token",
            "the API token is unknown, revoked or expired".into(),
        ));
    }
    let user = accounts.user(&record.user).await?.ok_or_else(invalid)?;
    accounts
        .touch_api_token(&hash, chatter_model::now_ms())
        .await?;
    Ok(Caller {
        user,
        session: None,
        token: Some(record),
    })
}

/// The caller's access to their current organization: the token's, or the session's.
async fn user_tenant(app: &AppState, caller: &Caller) -> Result<Tenant, Refusal> {
    let (org, ceiling) = match (&caller.token, &caller.session) {
        (Some(token), _) => (Some(token.org.clone()), token.role),
        (None, Some(signed)) => (signed.session.org.clone(), Role::Owner),
        (None, None) => (None, Role::Viewer),
    };
    let no_org = || {
        Refusal::Forbidden(
            "no_organization",
            "you are not a member of an organization: create one or accept an invitation".into(),
        )
    };
    let org = org.ok_or_else(no_org)?;
    let membership = app
        .data
        .accounts()
        .membership(&org, &caller.user.id)
        .await?
        .ok_or_else(no_org)?;
    // Role order runs from most to least powerful: the lesser of the two is the greater.
    let role = membership.role.max(ceiling);
    let actor = Actor::User {
        user: caller.user.id.clone(),
        token: caller.token.as_ref().map(|token| token.id.clone()),
    };
    Ok(app.data.tenant(org, role, actor))
}

async fn device_tenant(app: &AppState, token: &str) -> Result<Tenant, Refusal> {
    let invalid = || {
        Refusal::Unauthenticated(
            "invalid_token",
            "the device token is unknown or revoked".into(),
        )
    };
    let record = live_device_token(app, token, DeviceKind::Edge)
        .await?
        .ok_or_else(invalid)?;
    let actor = Actor::Device { token: record.id };
    // A device token may only send observations, which members may.
    Ok(app.data.tenant(record.org, Role::Member, actor))
}

/// The organization a wall display's token shows, with a viewer's reach.
async fn display_tenant(app: &AppState, token: &str) -> Result<Tenant, Refusal> {
    let record = live_device_token(app, token, DeviceKind::Display)
        .await?
        .ok_or_else(|| {
            Refusal::Unauthenticated(
                "display_disconnected",
                "this display's token is unknown or revoked: connect the display again".into(),
            )
        })?;
    let actor = Actor::Device { token: record.id };
    Ok(app.data.tenant(record.org, Role::Viewer, actor))
}

/// Whether `token` is a wall display's token that has not been revoked: what connecting a
/// display checks before keeping it.
pub async fn is_live_display_token(
    app: &AppState,
    token: &str,
) -> Result<bool, chatter_store::StoreError> {
    Ok(live_device_token(app, token, DeviceKind::Display)
        .await?
        .is_some())
}

/// The record of `token` if it is a device token of `kind` that has not been revoked.
async fn live_device_token(
    app: &AppState,
    token: &str,
    kind: DeviceKind,
) -> Result<Option<DeviceToken>, chatter_store::StoreError> {
    if !token.starts_with(secret::device_prefix(kind)) {
        return Ok(None);
    }
    Ok(app
        .data
        .device_token(&secret::hash(token))
        .await?
        .filter(|record| record.kind == kind && record.revoked_at_ms.is_none()))
}

/// Checks that a browser's state-changing request carries its session's CSRF token, in the
/// `x-csrf-token` header or the `csrf` field of a form, and comes from this site. Returns the
/// body, read if it was a form.
async fn check_csrf(
    app: &AppState,
    parts: &Parts,
    body: Body,
    caller: &Caller,
) -> Result<Body, Refusal> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(body);
    }
    let refused = |why: &str| {
        Refusal::Forbidden(
            "csrf_failed",
            format!("{why}: reload the page and try again"),
        )
    };
    if cross_site(&parts.headers, &app.web.public_url) {
        return Err(refused("the request came from another site"));
    }
    let Some(signed) = &caller.session else {
        return Ok(body);
    };
    let expected = &signed.session.csrf_token;
    if let Some(sent) = parts.headers.get(CSRF_HEADER) {
        let sent = sent.to_str().unwrap_or_default();
        return if secret::equal(sent, expected) {
            Ok(body)
        } else {
            Err(refused("the CSRF token is wrong"))
        };
    }
    if !is_form(&parts.headers) {
        return Err(refused("the request carries no CSRF token"));
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| refused("the form is too large"))?;
    let sent = form_field(&bytes, CSRF_FIELD).unwrap_or_default();
    if !secret::equal(&sent, expected) {
        return Err(refused("the form's CSRF token is missing or wrong"));
    }
    Ok(Body::from(bytes))
}

/// Whether the browser says the request was started by another site: by `Sec-Fetch-Site`, or
/// by an `Origin` that is neither the `Host` asked for nor the site's public address (which a
/// proxy in front may reach under another `Host`).
pub fn cross_site(headers: &HeaderMap, public_url: &str) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return true;
    }
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let origin_host = origin.split_once("://").map_or(origin, |(_, host)| host);
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let public_host = public_url
        .split_once("://")
        .map_or(public_url, |(_, host)| host);
    Some(origin_host) != host && origin_host != public_host
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

/// The value of `name` in a URL-encoded form.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// `text` escaped for a URL's query.
pub fn url_escape(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|encoded| encoded.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    const PUBLIC: &str = "https://chatter.example.com";

    #[test]
    fn requests_from_this_site_pass() {
        let same = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(!cross_site(&same, PUBLIC));
        let behind_proxy = headers(&[("host", "backend:8080"), ("origin", PUBLIC)]);
        assert!(!cross_site(&behind_proxy, PUBLIC));
        let no_origin = headers(&[("host", "backend:8080"), ("sec-fetch-site", "same-origin")]);
        assert!(!cross_site(&no_origin, PUBLIC));
    }

    #[test]
    fn requests_another_site_started_are_refused() {
        let foreign = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(cross_site(&foreign, PUBLIC));
        let fetch = headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site(&fetch, PUBLIC));
        let sandboxed = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert!(cross_site(&sandboxed, PUBLIC));
    }

    #[test]
    fn form_fields_and_escapes() {
        assert_eq!(
            form_field(b"a=1&csrf=x%2By", "csrf").as_deref(),
            Some("x+y")
        );
        assert_eq!(form_field(b"a=1", "csrf"), None);
        assert_eq!(url_escape("/members?x=1&y=2"), "%2Fmembers%3Fx%3D1%26y%3D2");
    }
}
