//! Deleting one's account: what it does to each organization, said plainly before the
//! password is asked, then the deletion.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::cookies;
use super::frame::{Frame, Section};
use super::page::{Failure, Message, render, role_label};
use crate::accounts::RequestContext;
use crate::accounts::{self, DeletionPlan, OrgFate};
use crate::app::AppState;
use crate::auth::Caller;

#[derive(Template)]
#[template(path = "account_delete.html")]
struct DeletePage {
    frame: Frame,
    plan: Vec<PlanRow>,
    /// Whether an organization would be deleted with its data.
    deletes_data: bool,
}

/// What happens to one organization.
struct PlanRow {
    org: String,
    name: String,
    role: &'static str,
    /// `leave`, `hand_over` or `delete`.
    fate: &'static str,
    /// The fate in words.
    text: String,
}

/// `GET /account/delete`.
pub(crate) async fn show(State(app): State<AppState>, caller: Caller) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Delete your account", Section::Account).await?;
    page(&app, &caller, frame, StatusCode::OK).await
}

async fn page(
    app: &AppState,
    caller: &Caller,
    frame: Frame,
    status: StatusCode,
) -> Result<Response, Failure> {
    let plan = rows(accounts::deletion_plan(app, caller).await?);
    let page = DeletePage {
        frame,
        deletes_data: plan.iter().any(|row| row.fate == "delete"),
        plan,
    };
    Ok(render(status, &page))
}

fn rows(plan: DeletionPlan) -> Vec<PlanRow> {
    plan.organizations
        .into_iter()
        .map(|(org, role, fate)| {
            let (fate, text) = match fate {
                OrgFate::Leave => (
                    "leave",
                    "You leave it. It goes on without you, with all its machines and data.".to_owned(),
                ),
                OrgFate::HandOver { to_name, .. } => (
                    "hand_over",
                    format!(
                        "You are its only owner: ownership passes to {to_name}, and you leave it. Its machines and data stay."
                    ),
                ),
                OrgFate::Delete => (
                    "delete",
                    "You are its only member: it is DELETED with all its machines and data. This cannot be undone.".to_owned(),
                ),
            };
            PlanRow {
                org: org.id.to_string(),
                name: org.name,
                role: role_label(role),
                fate,
                text,
            }
        })
        .collect()
}

/// The confirmation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeleteForm {
    password: String,
}

/// `POST /account/delete`: deletes the account after checking the password.
pub(crate) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    jar: CookieJar,
    context: RequestContext,
    Form(form): Form<DeleteForm>,
) -> Result<Response, Failure> {
    match accounts::delete_account(&app, &context, &caller, &form.password).await {
        Ok(_) => {
            let jar = cookies::clear_session(&app, jar);
            let message = Message::new("account-deleted", "Your account was deleted", StatusCode::OK)
                .text("Your account and your personal data are gone, and you are signed out everywhere. The audit logs of organizations you were in keep only an anonymous id of yours.")
                .text("Thank you for using Chatter.")
                .link("/sign-up", "Create a new account");
            Ok((jar, message).into_response())
        }
        Err(error) => {
            let mut frame =
                Frame::signed_in(&app, &caller, "Delete your account", Section::Account).await?;
            let status = frame.refuse(error, &[("password", "delete-password")])?;
            page(&app, &caller, frame, status).await
        }
    }
}
