//! Turning pages into responses: rendering a template with the headers every page carries, the
//! message page (confirmations, bad links, errors), the failure type handlers return, and the
//! small view values pages share (times, role choices).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chatter_model::Role;

use super::frame::Frame;
use crate::accounts::AccountError;

/// What every page's response carries: pages are personal (not cached), never framed, and load
/// nothing from elsewhere.
const SECURITY_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// Renders `page` as an HTML response with `status`.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            for (name, value) in SECURITY_HEADERS {
                headers.insert(name, HeaderValue::from_static(value));
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be drawn. The server's log says why.",
            )
                .into_response()
        }
    }
}

/// Lets the page's forms lead to `origins` too: a form whose answer redirects to another
/// origin (an OAuth provider's consent page) is blocked by `form-action 'self'` otherwise.
pub(crate) fn allow_form_targets(response: &mut Response, origins: &[String]) {
    let Some(policy) = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
    else {
        return;
    };
    let widened = policy.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", origins.join(" ")),
    );
    if let Ok(value) = HeaderValue::from_str(&widened) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Why a handler could not draw its page.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server failed: logged, and answered with a generic page.
    Internal(String),
    /// An answer already made (a message page with its status).
    Answer(Box<Response>),
}

impl Failure {
    /// A server failure, with what went wrong for the log.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        Failure::Internal(error.to_string())
    }

    /// An answer already made.
    pub(crate) fn answer(response: impl IntoResponse) -> Self {
        Failure::Answer(Box::new(response.into_response()))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Internal(error) => {
                tracing::error!(%error, "a page failed");
                Message::new(
                    "server-error",
                    "Something went wrong on our side",
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
                .text("The server could not complete your request. Try again in a moment; if it keeps happening, tell the person who runs this Chatter installation.")
                .link("/", "Back to the dashboard")
                .into_response()
            }
            Failure::Answer(response) => *response,
        }
    }
}

impl From<AccountError> for Failure {
    /// An operation's refusal that the page does not show itself: a message page saying why.
    fn from(error: AccountError) -> Self {
        let status = status_of(&error);
        match error {
            AccountError::Internal(error) => Failure::Internal(format!("{error:#}")),
            other => Failure::answer(
                Message::new("refused", "That did not work", status)
                    .text(&other.to_string())
                    .link("/", "Back to the dashboard")
                    .into_response(),
            ),
        }
    }
}

impl From<chatter_store::StoreError> for Failure {
    fn from(error: chatter_store::StoreError) -> Self {
        Failure::internal(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::internal(error)
    }
}

/// The status a page answers with when an operation refused.
pub(crate) fn status_of(error: &AccountError) -> StatusCode {
    match error {
        AccountError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AccountError::WrongCredentials => StatusCode::UNAUTHORIZED,
        AccountError::Unverified | AccountError::Forbidden(_) => StatusCode::FORBIDDEN,
        AccountError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        AccountError::BadLink => StatusCode::BAD_REQUEST,
        AccountError::NotFound(_) => StatusCode::NOT_FOUND,
        AccountError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A page that says one thing — a confirmation, a bad link, an error — with a way on.
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message {
    pub(crate) frame: Frame,
    status: StatusCode,
    /// Its `data-test` hook.
    test: &'static str,
    heading: String,
    paragraphs: Vec<String>,
    actions: Vec<Link>,
}

/// A link shown as a button.
pub(crate) struct Link {
    /// Where it goes.
    pub(crate) href: String,
    /// What it says.
    pub(crate) label: String,
}

impl Message {
    /// A message page titled `heading`, answered with `status`; `test` is its `data-test`.
    pub(crate) fn new(test: &'static str, heading: &str, status: StatusCode) -> Self {
        Message {
            frame: Frame::public(heading, String::new()),
            status,
            test,
            heading: heading.to_owned(),
            paragraphs: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Adds a paragraph.
    pub(crate) fn text(mut self, paragraph: &str) -> Self {
        self.paragraphs.push(paragraph.to_owned());
        self
    }

    /// Adds a link to go on with.
    pub(crate) fn link(mut self, href: &str, label: &str) -> Self {
        self.actions.push(Link {
            href: href.to_owned(),
            label: label.to_owned(),
        });
        self
    }
}

impl IntoResponse for Message {
    fn into_response(self) -> Response {
        render(self.status, &self)
    }
}

/// A moment, for a `<time>` element: machine-readable and as shown (both UTC).
pub(crate) struct When {
    /// ISO 8601 in UTC, to the second.
    pub(crate) iso: String,
    /// As shown: date and minutes, UTC.
    pub(crate) text: String,
}

impl When {
    /// The moment `ms` milliseconds after the Unix epoch.
    pub(crate) fn at(ms: i64) -> Self {
        match jiff::Timestamp::from_millisecond(ms) {
            Ok(at) => When {
                iso: at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                text: at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            },
            Err(_) => When {
                iso: String::new(),
                text: "—".to_owned(),
            },
        }
    }
}

/// A role in a `<select>`.
pub(crate) struct RoleOption {
    /// As the form sends it.
    pub(crate) value: &'static str,
    /// As shown.
    pub(crate) label: &'static str,
    /// Whether it is chosen.
    pub(crate) selected: bool,
}

/// The roles someone with `highest` may give, from most to least powerful, `selected` chosen.
pub(crate) fn role_options(highest: Role, selected: Role) -> Vec<RoleOption> {
    Role::ALL
        .into_iter()
        .filter(|role| highest.includes(*role))
        .map(|role| RoleOption {
            value: role.as_str(),
            label: role_label(role),
            selected: role == selected,
        })
        .collect()
}

/// A role as shown to people.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
        Role::Viewer => "Viewer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_show_in_utc() {
        let at = When::at(1_700_000_000_123);
        assert_eq!(at.iso, "2023-11-14T22:13:20Z");
        assert_eq!(at.text, "2023-11-14 22:13 UTC");
    }

    #[test]
    fn roles_offered_stop_at_ones_own() {
        let offered: Vec<_> = role_options(Role::Admin, Role::Member)
            .into_iter()
            .map(|option| (option.value, option.selected))
            .collect();
        assert_eq!(
            offered,
            [("admin", false), ("member", true), ("viewer", false)]
        );
    }

    #[test]
    fn refusals_answer_with_their_status() {
        let invalid = AccountError::Invalid {
            field: "email",
            message: "no".into(),
        };
        assert_eq!(status_of(&invalid), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_of(&AccountError::BadLink), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(&AccountError::WrongCredentials),
            StatusCode::UNAUTHORIZED
        );
    }
}
