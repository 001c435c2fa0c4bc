//! What people do with their accounts and organizations — sign up, sign in, invite, change
//! roles, create tokens, export and delete their data — as operations shared by the web pages
//! and the JSON API. Each operation checks what it needs, records an audit event and sends the
//! e-mail it implies.

mod devices;
mod members;
pub(crate) mod messages;
pub mod operator;
mod privacy;
mod sign;
mod tokens;

pub use devices::{create_device_token, revoke_device_token};
pub use members::{
    accept_invitation, change_role, create_organization, delete_organization, invite,
    remove_member, revoke_invitation, switch_organization,
};
pub use privacy::{
    DeletionPlan, OrgFate, delete_account, deletion_plan, export, set_marketing, unsubscribe,
    unsubscribe_link, update_profile,
};
pub use sign::{
    NewSession, SignUp, change_password, request_reset, reset_password, sign_in, sign_out,
    sign_out_everywhere, sign_up, verify_email,
};
pub use tokens::{NewToken, create_api_token, revoke_api_token};

use std::time::Duration;

use chatter_model::audit::AuditEntry;
use chatter_model::{OrgId, UserId};

use crate::app::AppState;
use crate::error::ApiError;

/// Why an account operation was refused, said so that a user knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field of the form is not acceptable.
    #[error("{message}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// What is wrong, to show beside it.
        message: String,
    },
    /// The e-mail address or the password is wrong (never says which).
    #[error("The e-mail address or password is wrong.")]
    WrongCredentials,
    /// The address has not been verified yet; a new link was sent.
    #[error("Confirm your e-mail address first: we have sent you a new link.")]
    Unverified,
    /// Too many failed attempts.
    #[error("Too many failed attempts. Try again in {} minutes.", .0.as_secs().div_ceil(60))]
    Throttled(Duration),
    /// A link from an e-mail is unknown, used, expired or tampered with.
    #[error("This link is invalid or has expired. Ask for a new one.")]
    BadLink,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// What the operation names does not exist (in the caller's organization).
    #[error("{0}")]
    NotFound(String),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<chatter_store::StoreError> for AccountError {
    fn from(error: chatter_store::StoreError) -> Self {
        AccountError::Internal(error.into())
    }
}

impl From<std::io::Error> for AccountError {
    fn from(error: std::io::Error) -> Self {
        AccountError::Internal(error.into())
    }
}

impl AccountError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AccountError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        use axum::http::StatusCode;
        let message = error.to_string();
        match error {
            AccountError::Invalid { field, message } => {
                ApiError::unprocessable("invalid_input", format!("{field}: {message}"))
            }
            AccountError::WrongCredentials => ApiError::unauthorized("wrong_credentials", message),
            AccountError::Unverified => ApiError::unauthorized("email_unverified", message),
            AccountError::Throttled(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            }
            AccountError::BadLink => ApiError::bad_request("invalid_link", message),
            AccountError::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            AccountError::NotFound(_) => ApiError::not_found("not_found", message),
            AccountError::Internal(error) => ApiError::internal(format!("{error:#}")),
        }
    }
}

/// Where a request came from, for the audit log and the session list.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The client's network address.
    pub ip: String,
    /// The browser's user agent.
    pub user_agent: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let crate::auth::ClientAddress(ip) =
            crate::auth::ClientAddress::from_request_parts(parts, state).await?;
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(RequestContext { ip, user_agent })
    }
}

/// An audit event under construction.
pub(crate) struct Audit {
    entry: AuditEntry,
}

impl Audit {
    /// An event `action` from the request's address.
    pub(crate) fn new(action: &str, context: &RequestContext) -> Self {
        Self {
            entry: AuditEntry {
                at_ms: chatter_model::now_ms(),
                action: action.to_owned(),
                org: None,
                actor: None,
                subject: None,
                ip: Some(context.ip.clone()),
                details: Vec::new(),
            },
        }
    }

    pub(crate) fn org(mut self, org: &OrgId) -> Self {
        self.entry.org = Some(org.clone());
        self
    }

    pub(crate) fn actor(mut self, user: &UserId) -> Self {
        self.entry.actor = Some(user.clone());
        self
    }

    pub(crate) fn subject(mut self, user: &UserId) -> Self {
        self.entry.subject = Some(user.clone());
        self
    }

    pub(crate) fn detail(mut self, key: &str, value: impl ToString) -> Self {
        self.entry.details.push((key.to_owned(), value.to_string()));
        self
    }

    /// Appends the event to the log.
    pub(crate) async fn record(mut self, app: &AppState) -> Result<(), AccountError> {
        self.entry.details.sort();
        app.data.accounts().append_audit(self.entry).await?;
        Ok(())
    }
}

/// An e-mail address as stored: trimmed and lower-cased, and checked to look like one.
pub fn normalize_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    let looks_right = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace)
        && email.parse::<lettre::Address>().is_ok();
    if looks_right {
        Ok(email)
    } else {
        Err(AccountError::invalid(
            "email",
            "Enter an e-mail address like name@example.com.",
        ))
    }
}

fn check_name(field: &'static str, name: &str, what: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AccountError::invalid(
            field,
            format!("Enter {what} of 1 to 100 characters."),
        ));
    }
    Ok(name.to_owned())
}
