//! The browser's side of signing in: the session cookie, the cookie that protects forms shown
//! before sign-in (double submit: the form's hidden `csrf` must equal the cookie, which another
//! site can neither read nor set), and which redirects are safe.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chatter_model::User;

use super::page::{Failure, Message};
use crate::accounts::NewSession;
use crate::app::AppState;
use crate::auth::{self, secret};

/// How long the session cookie is kept: as long as the session lasts.
const SESSION_MAX_AGE_S: u32 = 30 * 24 * 3600;

/// Sets the cookie of a new session, ending the session the browser had before, if any: every
/// sign-in gets a new session id.
pub(crate) async fn start_session(
    app: &AppState,
    jar: CookieJar,
    new: NewSession,
) -> Result<CookieJar, Failure> {
    if let Some(old) = jar.get(app.web.session_cookie()) {
        app.data
            .accounts()
            .remove_session(&secret::hash(old.value()))
            .await?;
    }
    // `Max-Age` is parsed rather than built: the cookie crate takes it as a `time::Duration`,
    // a crate this one does not otherwise need.
    let mut cookie = Cookie::parse(format!(
        "{}={}; Max-Age={SESSION_MAX_AGE_S}",
        app.web.session_cookie(),
        new.id
    ))
    .map_err(Failure::internal)?;
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(app.web.secure);
    Ok(jar.add(cookie))
}

/// Removes the session cookie (the session itself is ended by the caller).
pub(crate) fn clear_session(app: &AppState, jar: CookieJar) -> CookieJar {
    let mut cookie = Cookie::new(app.web.session_cookie(), "");
    cookie.set_path("/");
    cookie.set_secure(app.web.secure);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    jar.remove(cookie)
}

/// The user whose live session the browser's cookie holds, if any: for public pages that
/// show more to someone signed in.
pub(crate) async fn signed_in_user(
    app: &AppState,
    jar: &CookieJar,
) -> Result<Option<(User, chatter_model::Session)>, Failure> {
    let Some(cookie) = jar.get(app.web.session_cookie()) else {
        return Ok(None);
    };
    if cookie.value().is_empty() {
        return Ok(None);
    }
    let accounts = app.data.accounts();
    let Some(session) = accounts.session(&secret::hash(cookie.value())).await? else {
        return Ok(None);
    };
    if session.expires_at_ms <= chatter_model::now_ms() {
        return Ok(None);
    }
    Ok(accounts
        .user(&session.user)
        .await?
        .map(|user| (user, session)))
}

/// The form cookie's value, set first if the browser has none: the token a form shown before
/// sign-in carries.
pub(crate) fn form_token(app: &AppState, jar: CookieJar) -> Result<(CookieJar, String), Failure> {
    if let Some(cookie) = jar.get(app.web.form_cookie())
        && is_form_token(cookie.value())
    {
        let value = cookie.value().to_owned();
        return Ok((jar, value));
    }
    let value = secret::random_hex::<16>()?;
    let mut cookie = Cookie::new(app.web.form_cookie(), value.clone());
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_path("/");
    cookie.set_secure(app.web.secure);
    Ok((jar.add(cookie), value))
}

fn is_form_token(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Checks a form posted before sign-in: it must come from this site and carry the form
/// cookie's value. Refused, the answer is a page asking to reload.
pub(crate) fn check_form(
    app: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    sent: &str,
) -> Result<(), Failure> {
    let matches = jar
        .get(app.web.form_cookie())
        .is_some_and(|cookie| !cookie.value().is_empty() && secret::equal(cookie.value(), sent));
    if matches && !auth::cross_site(headers, &app.web.public_url) {
        return Ok(());
    }
    Err(Failure::answer(
        Message::new("form-expired", "Your form expired — reload", StatusCode::FORBIDDEN)
            .text("For your safety this form only works from this site, in the browser that opened it. Reload the page and send it again.")
            .into_response(),
    ))
}

/// `path` if it is a path of this site (`/…`, not `//host…` nor `/\host…`), for redirects
/// to addresses taken from a request.
pub(crate) fn local_path(path: &str) -> Option<&str> {
    let mut chars = path.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path.chars().any(|c| c.is_control() || c == '\\');
    local.then_some(path)
}

/// The path of the page a form was sent from, if the `Referer` is this site's.
pub(crate) fn referring_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("https://")
        .or_else(|| referer.strip_prefix("http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    if !authority.eq_ignore_ascii_case(host) {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or("/");
    local_path(path).map(str::to_owned)
}

/// A redirect (303) to `path` with a `?done=` notice.
pub(crate) fn done(path: &str, code: &str) -> Response {
    axum::response::Redirect::to(&format!("{path}?done={code}")).into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        assert_eq!(local_path("/members?x=1"), Some("/members?x=1"));
        assert_eq!(local_path("/"), Some("/"));
        for foreign in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "members",
            "/a\nb",
        ] {
            assert_eq!(local_path(foreign), None, "{foreign:?}");
        }
    }

    #[test]
    fn the_referring_page_counts_only_from_this_host() {
        let headers = |referer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("shop.example:8080"));
            headers.insert(header::REFERER, HeaderValue::from_str(referer).unwrap());
            headers
        };
        let back = |referer| referring_path(&headers(referer));
        assert_eq!(
            back("http://shop.example:8080/audit?before=5#x").as_deref(),
            Some("/audit")
        );
        assert_eq!(back("https://shop.example:8080").as_deref(), Some("/"));
        assert_eq!(back("http://evil.example/members"), None);
        assert_eq!(back("http://shop.example:8080//evil.example"), None);
    }

    #[test]
    fn form_tokens_are_recognized() {
        assert!(is_form_token("0123456789abcdef0123456789abcdef"));
        assert!(!is_form_token("0123"));
        assert!(!is_form_token("0123456789abcdef0123456789abcdeg"));
    }
}
