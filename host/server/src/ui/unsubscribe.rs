//! Stopping product news from an e-mail's link, without signing in: the link's signature is
//! the proof, and the page asks for a click so that mail scanners opening links change nothing.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::frame::Frame;
use super::page::{Failure, Message, render};
use crate::accounts::RequestContext;
use crate::accounts::{self, AccountError};
use crate::app::AppState;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    frame: Frame,
    user: String,
    signature: String,
}

/// An unsubscribe link's parameters, also posted back by its page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Link {
    user: String,
    signature: String,
}

/// `GET /unsubscribe?user=&signature=`.
pub(crate) async fn show(Query(link): Query<Link>) -> Response {
    if link.user.is_empty() || link.signature.is_empty() {
        return bad_link();
    }
    let page = UnsubscribePage {
        frame: Frame::public("Stop product news", String::new()),
        user: link.user,
        signature: link.signature,
    };
    render(StatusCode::OK, &page)
}

/// `POST /unsubscribe`.
pub(crate) async fn confirm(
    State(app): State<AppState>,
    context: RequestContext,
    Form(link): Form<Link>,
) -> Result<Response, Failure> {
    match accounts::unsubscribe(&app, &context, &link.user, &link.signature).await {
        Ok(()) => Ok(Message::new("unsubscribed", "You will get no product news", StatusCode::OK)
            .text("Done: we will not send you product news any more. Messages about your account — confirmations, password resets, invitations — still arrive.")
            .text("Changed your mind? Turn product news back on in your account settings.")
            .link("/account", "Account settings")
            .into_response()),
        Err(AccountError::BadLink) => Ok(bad_link()),
        Err(error) => Err(error.into()),
    }
}

fn bad_link() -> Response {
    Message::new("bad-link", "This link does not work", StatusCode::BAD_REQUEST)
        .text("This unsubscribe link is incomplete or was altered. Use the link from the e-mail as it is, or turn product news off in your account settings.")
        .link("/account", "Account settings")
        .into_response()
}
