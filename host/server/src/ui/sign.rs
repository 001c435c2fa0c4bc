//! Signing up, confirming the address, signing in and out, and resetting a forgotten password.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::cookies;
use super::frame::{Done, Frame};
use super::page::{Failure, Message, render};
use crate::accounts::RequestContext;
use crate::accounts::{self, AccountError, SignUp};
use crate::app::AppState;
use crate::auth::Caller;

/// The sign-up form's inputs, by the field names the operation reports.
const SIGN_UP_INPUTS: [(&str, &str); 4] = [
    ("name", "sign-up-name"),
    ("email", "sign-up-email"),
    ("password", "sign-up-password"),
    ("organization", "sign-up-organization"),
];

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    frame: Frame,
    name: String,
    email: String,
    organization: String,
    /// The invitation followed, if any (the shop's name is then not asked).
    invitation: String,
}

/// What `/sign-up` is opened with: an invitation link's token and address.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignUpQuery {
    #[serde(default)]
    invitation: String,
    #[serde(default)]
    email: String,
}

/// `GET /sign-up`.
pub(crate) async fn sign_up_page(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(query): Query<SignUpQuery>,
) -> Result<Response, Failure> {
    let (jar, csrf) = cookies::form_token(&app, jar)?;
    let page = SignUpPage {
        frame: Frame::public("Create your account", csrf),
        name: String::new(),
        email: query.email,
        organization: String::new(),
        invitation: query.invitation,
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// The sign-up form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignUpForm {
    csrf: String,
    name: String,
    email: String,
    password: String,
    organization: String,
    invitation: String,
}

/// `POST /sign-up`: without an invitation, always "check your inbox"; with one, signed in.
pub(crate) async fn sign_up(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    context: RequestContext,
    Form(form): Form<SignUpForm>,
) -> Result<Response, Failure> {
    cookies::check_form(&app, &jar, &headers, &form.csrf)?;
    let invitation = Some(form.invitation.trim().to_owned()).filter(|token| !token.is_empty());
    let request = SignUp {
        name: form.name.clone(),
        email: form.email.clone(),
        password: form.password,
        organization: form.organization.clone(),
        invitation: invitation.clone(),
    };
    match accounts::sign_up(&app, &context, request).await {
        Ok(None) => Ok(Message::new("check-inbox", "Check your inbox", StatusCode::OK)
            .text(&format!(
                "We sent a message to {}. Open the link in it to confirm your address and finish setting up your account.",
                form.email.trim()
            ))
            .text("Nothing there after a few minutes? Look in your spam folder, or sign up again.")
            .link("/sign-in", "Go to sign in")
            .into_response()),
        Ok(Some(session)) => {
            let jar = cookies::start_session(&app, jar, session).await?;
            Ok((jar, cookies::done("/", "joined")).into_response())
        }
        Err(error) => {
            let mut frame = Frame::public("Create your account", form.csrf);
            let status = match error {
                AccountError::BadLink if invitation.is_some() => {
                    frame.error = Some(
                        "This invitation is invalid or has expired. Ask for a new one, or sign up without it.".into(),
                    );
                    StatusCode::BAD_REQUEST
                }
                error => frame.refuse(error, &SIGN_UP_INPUTS)?,
            };
            let page = SignUpPage {
                frame,
                name: form.name,
                email: form.email,
                organization: form.organization,
                invitation: invitation.unwrap_or_default(),
            };
            Ok(render(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    frame: Frame,
    email: String,
    next: String,
}

/// What `/sign-in` is opened with.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    next: String,
}

/// `GET /sign-in`.
pub(crate) async fn sign_in_page(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(query): Query<SignInQuery>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let (jar, csrf) = cookies::form_token(&app, jar)?;
    let page = SignInPage {
        frame: Frame::public("Sign in", csrf).done(&done),
        email: String::new(),
        next: cookies::local_path(&query.next)
            .unwrap_or_default()
            .to_owned(),
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// The sign-in form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SignInForm {
    csrf: String,
    email: String,
    password: String,
    next: String,
}

/// `POST /sign-in`: a new session, then the page asked for.
pub(crate) async fn sign_in(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    context: RequestContext,
    Form(form): Form<SignInForm>,
) -> Result<Response, Failure> {
    cookies::check_form(&app, &jar, &headers, &form.csrf)?;
    let next = cookies::local_path(&form.next).unwrap_or("/").to_owned();
    match accounts::sign_in(&app, &context, &form.email, &form.password).await {
        Ok(session) => {
            let jar = cookies::start_session(&app, jar, session).await?;
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(error) => {
            let mut frame = Frame::public("Sign in", form.csrf);
            // Wrong credentials are said above the form, never beside one field.
            let status = frame.refuse(error, &[])?;
            let page = SignInPage {
                frame,
                email: form.email,
                next: form.next,
            };
            Ok(render(status, &page))
        }
    }
}

/// `POST /sign-out`.
pub(crate) async fn sign_out(
    State(app): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    context: RequestContext,
) -> Result<Response, Failure> {
    accounts::sign_out(&app, &context, &caller).await?;
    let jar = cookies::clear_session(&app, jar);
    Ok((jar, cookies::done("/sign-in", "signed_out")).into_response())
}

/// A link's token.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /verify?token=`: confirms the address the link was sent to.
pub(crate) async fn verify(
    State(app): State<AppState>,
    context: RequestContext,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Failure> {
    match accounts::verify_email(&app, &context, &query.token).await {
        Ok(_) => Ok(
            Message::new("address-confirmed", "Address confirmed", StatusCode::OK)
                .text("Thank you: your e-mail address is confirmed. You can sign in now.")
                .link("/sign-in", "Sign in")
                .into_response(),
        ),
        Err(AccountError::BadLink) => Ok(bad_link(
            "This confirmation link is invalid, was already used, or has expired. Sign in: if your address is not confirmed yet, we send you a new link.",
            "/sign-in",
            "Sign in",
        )),
        Err(error) => Err(error.into()),
    }
}

/// The page of a link that does not work.
fn bad_link(text: &str, href: &str, label: &str) -> Response {
    Message::new(
        "bad-link",
        "This link does not work",
        StatusCode::BAD_REQUEST,
    )
    .text(text)
    .link(href, label)
    .into_response()
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    frame: Frame,
    email: String,
}

/// `GET /forgot`.
pub(crate) async fn forgot_page(
    State(app): State<AppState>,
    jar: CookieJar,
) -> Result<Response, Failure> {
    let (jar, csrf) = cookies::form_token(&app, jar)?;
    let page = ForgotPage {
        frame: Frame::public("Reset your password", csrf),
        email: String::new(),
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// The forgotten-password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ForgotForm {
    csrf: String,
    email: String,
}

/// `POST /forgot`: the same answer whether or not the address has an account.
pub(crate) async fn forgot(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    context: RequestContext,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Failure> {
    cookies::check_form(&app, &jar, &headers, &form.csrf)?;
    if form.email.trim().is_empty() {
        let page = ForgotPage {
            frame: Frame::public("Reset your password", form.csrf)
                .with_field_error("forgot-email", "Enter the e-mail address of your account."),
            email: form.email,
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    accounts::request_reset(&app, &context, &form.email).await?;
    Ok(Message::new("reset-sent", "Check your inbox", StatusCode::OK)
        .text("If an account exists for that address, we sent a link to it to choose a new password. The link works once, for an hour.")
        .link("/sign-in", "Back to sign in")
        .into_response())
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    frame: Frame,
    token: String,
}

/// `GET /reset?token=`.
pub(crate) async fn reset_page(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Failure> {
    if query.token.trim().is_empty() {
        return Ok(reset_link_bad());
    }
    let (jar, csrf) = cookies::form_token(&app, jar)?;
    let page = ResetPage {
        frame: Frame::public("Choose a new password", csrf),
        token: query.token,
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

fn reset_link_bad() -> Response {
    bad_link(
        "This password reset link is invalid or has expired: each link works once, for an hour. Ask for a new one.",
        "/forgot",
        "Ask for a new link",
    )
}

/// The new-password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResetForm {
    csrf: String,
    token: String,
    password: String,
    password_confirm: String,
}

/// `POST /reset`: sets the new password; the link then stops working.
pub(crate) async fn reset(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    context: RequestContext,
    Form(form): Form<ResetForm>,
) -> Result<Response, Failure> {
    cookies::check_form(&app, &jar, &headers, &form.csrf)?;
    let refused = |frame: Frame, status| {
        let page = ResetPage {
            frame,
            token: form.token.clone(),
        };
        render(status, &page)
    };
    if form.password != form.password_confirm {
        let frame = Frame::public("Choose a new password", form.csrf.clone()).with_field_error(
            "reset-password-confirm",
            "The two passwords are not the same.",
        );
        return Ok(refused(frame, StatusCode::UNPROCESSABLE_ENTITY));
    }
    match accounts::reset_password(&app, &context, &form.token, &form.password).await {
        Ok(()) => Ok(Message::new("password-changed", "Password changed", StatusCode::OK)
            .text("Your new password is set, and every session of your account was signed out. Sign in with your new password.")
            .link("/sign-in", "Sign in")
            .into_response()),
        Err(AccountError::BadLink) => Ok(reset_link_bad()),
        Err(error) => {
            let mut frame = Frame::public("Choose a new password", form.csrf.clone());
            let status = frame.refuse(error, &[("password", "reset-password")])?;
            Ok(refused(frame, status))
        }
    }
}
