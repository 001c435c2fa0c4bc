//! Following an invitation link: what it invites to, and accepting it — signed in, or by
//! signing in or creating an account first.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chatter_model::Invitation;
use serde::Deserialize;

use super::cookies;
use super::frame::{Frame, Section};
use super::page::{Failure, Message, render, role_label};
use crate::accounts::RequestContext;
use crate::accounts::{self, AccountError};
use crate::app::AppState;
use crate::auth::{Caller, secret, url_escape};

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    frame: Frame,
    token: String,
    org_name: String,
    role: &'static str,
    inviter: String,
    email: String,
    /// Whether someone is signed in (then they accept here).
    signed_in: bool,
    /// The signed-in user's address, when it is not the one invited.
    other_address: Option<String>,
    sign_in_href: String,
    sign_up_href: String,
}

/// An invitation link's token.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /invitations/accept?token=`.
pub(crate) async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Failure> {
    let Some(invitation) = open(&app, &query.token).await? else {
        return Ok(invalid());
    };
    let org_name = org_name(&app, &invitation).await?;
    let inviter = app
        .data
        .accounts()
        .user(&invitation.invited_by)
        .await?
        .map_or_else(|| "Someone".to_owned(), |user| user.name);
    let title = format!("Join {org_name}");
    let here = format!("/invitations/accept?token={}", url_escape(&query.token));
    let (frame, signed_in, other_address) = match cookies::signed_in_user(&app, &jar).await? {
        Some((user, session)) => {
            let frame =
                Frame::for_user(&app, &user, Some(&session), &title, Section::Dashboard).await?;
            let other = (user.email != invitation.email).then_some(user.email);
            (frame, true, other)
        }
        None => (Frame::public(&title, String::new()), false, None),
    };
    let page = InvitationPage {
        frame,
        sign_in_href: format!("/sign-in?next={}", url_escape(&here)),
        sign_up_href: format!(
            "/sign-up?invitation={}&email={}",
            url_escape(&query.token),
            url_escape(&invitation.email)
        ),
        token: query.token,
        org_name,
        role: role_label(invitation.role),
        inviter,
        email: invitation.email,
        signed_in,
        other_address,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The invitation behind a link, if it can still be accepted.
async fn open(app: &AppState, token: &str) -> Result<Option<Invitation>, Failure> {
    if token.trim().is_empty() {
        return Ok(None);
    }
    let now = chatter_model::now_ms();
    Ok(app
        .data
        .accounts()
        .invitation(&secret::hash(token.trim()))
        .await?
        .filter(|invitation| {
            invitation.accepted.is_none()
                && invitation.revoked_at_ms.is_none()
                && invitation.expires_at_ms > now
        }))
}

/// The name of the organization an invitation is to, as its inviter sees it (the invitee is
/// no member yet); its id if the inviter has left since.
async fn org_name(app: &AppState, invitation: &Invitation) -> Result<String, Failure> {
    Ok(app
        .data
        .organizations_of(&invitation.invited_by)
        .await?
        .into_iter()
        .find(|(_, org)| org.id == invitation.org)
        .map_or_else(|| invitation.org.to_string(), |(_, org)| org.name))
}

fn invalid() -> Response {
    Message::new("bad-link", "This invitation does not work", StatusCode::BAD_REQUEST)
        .text("The invitation is invalid, was already accepted or revoked, or has expired (invitations work for 7 days). Ask the person who invited you for a new one.")
        .link("/", "Go to Chatter")
        .into_response()
}

/// The accept form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AcceptForm {
    token: String,
}

/// `POST /invitations/accept`: joins the organization and works in it.
pub(crate) async fn accept(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Form(form): Form<AcceptForm>,
) -> Result<Response, Failure> {
    match accounts::accept_invitation(&app, &context, &caller, form.token.trim()).await {
        Ok(_) => Ok(cookies::done("/", "joined")),
        Err(AccountError::BadLink) => Ok(invalid()),
        Err(error) => Err(error.into()),
    }
}
