//! What every request handler shares: the store (through [`StoreAccess`]), live state, the
//! fleet, and the account services.

use std::sync::Arc;

use crate::api::RateLimiter;
use crate::auth::password::PasswordHasher;
use crate::auth::{SignInLimiter, StoreAccess};
use crate::fleet::Fleet;
use crate::ingest::Ingest;
use crate::live::LiveState;
use crate::mail::Mailer;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Account records, and organization data through a tenant only.
    pub data: StoreAccess,
    /// Live machine state.
    pub live: LiveState,
    /// The running drivers.
    pub fleet: Arc<Fleet>,
    /// Where observations go.
    pub ingest: Arc<Ingest>,
    /// How fast each device token may send.
    pub rate_limiter: Arc<RateLimiter>,
    /// Password hashing, a few at a time.
    pub passwords: PasswordHasher,
    /// Failed sign-ins, per account and address.
    pub sign_in_limiter: Arc<SignInLimiter>,
    /// Where e-mail goes.
    pub mailer: Arc<Mailer>,
    /// How the site is reached.
    pub web: Arc<WebSettings>,
    /// Cancelled when the server begins to shut down, so that responses that never end by
    /// themselves (event streams) end and the graceful shutdown can finish.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Organizations' connections to third-party providers, and their syncs.
    pub integrations: Arc<crate::integrations::Integrations>,
    /// Report runs.
    pub reports: Arc<crate::reports::Reports>,
    /// Alert rules, their evaluation and their history.
    pub alerts: Arc<crate::alerts::Alerts>,
}

/// How the site is reached, which decides its links and cookies.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The address users reach the site at, without a trailing slash (for links in e-mail).
    pub public_url: String,
    /// Whether the site is served over HTTPS (here or by a proxy in front): cookies are then
    /// `Secure` and take the `__Host-` prefix, which browsers accept only on secure cookies.
    pub secure: bool,
    /// The installation's secret, for signed links.
    pub secret: [u8; 32],
}

impl WebSettings {
    /// The session cookie's name.
    pub fn session_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-chatter_session"
        } else {
            "chatter_session"
        }
    }

    /// The name of the cookie that protects forms shown before sign-in.
    pub fn form_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-chatter_form"
        } else {
            "chatter_form"
        }
    }

    /// The cookie a wall display keeps its display token in.
    pub fn display_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-chatter_display"
        } else {
            "chatter_display"
        }
    }

    /// An absolute link to `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}
