//! The frame around every page: the title, the signed-in user's navigation and organization
//! switcher, the CSRF token forms carry, and the notices — a success after a redirect
//! (`?done=<code>`), an error above the form, messages beside their fields.

use axum::http::StatusCode;
use chatter_model::{Organization, Session, User};
use serde::Deserialize;

use super::page::{Failure, status_of};
use crate::accounts::{self, AccountError};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};

/// Which navigation item a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Dashboard,
    Library,
    Integrations,
    Reports,
    Alerts,
    Members,
    Audit,
    Organization,
    Account,
}

/// What `base.html` draws around a page.
pub(crate) struct Frame {
    /// The page's title (the document title adds "· Chatter").
    pub(crate) title: String,
    /// The token every form of the page carries in its `csrf` field: the session's, or the
    /// form cookie's before sign-in.
    pub(crate) csrf: String,
    /// The signed-in user's navigation; none on pages before sign-in.
    pub(crate) nav: Option<Nav>,
    /// A success notice.
    pub(crate) notice: Option<String>,
    /// An error not about one field.
    pub(crate) error: Option<String>,
    /// Errors beside their fields.
    pub(crate) fields: Vec<FieldError>,
    /// The stylesheet's version, so browsers may cache it for good.
    pub(crate) asset_version: &'static str,
}

/// An error shown beside the input whose id it names.
pub(crate) struct FieldError {
    /// The input's id.
    pub(crate) input: String,
    /// What is wrong.
    pub(crate) message: String,
}

/// The header of a signed-in page.
pub(crate) struct Nav {
    /// The user's name.
    pub(crate) user_name: String,
    /// The current page's section.
    pub(crate) section: Section,
    /// The user's organizations, the current one selected.
    pub(crate) orgs: Vec<OrgChoice>,
    /// Whether the user has a current organization (its pages are then reachable).
    pub(crate) has_org: bool,
    /// Whether their role there may read the audit log.
    pub(crate) can_read_audit: bool,
    /// The alerts open in the organization that they see (see
    /// [`crate::alerts::Alerts::open_count`]).
    pub(crate) open_alerts: usize,
}

impl Nav {
    /// Whether `section` is the current page's, as text for `aria-current`.
    pub(crate) fn is(&self, section: &str) -> bool {
        let current = match self.section {
            Section::Dashboard => "dashboard",
            Section::Library => "library",
            Section::Integrations => "integrations",
            Section::Reports => "reports",
            Section::Alerts => "alerts",
            Section::Members => "members",
            Section::Audit => "audit",
            Section::Organization => "organization",
            Section::Account => "account",
        };
        current == section
    }
}

/// An organization in the switcher.
pub(crate) struct OrgChoice {
    /// Its id, as the switcher sends it.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// Whether it is the current one.
    pub(crate) selected: bool,
}

/// The `?done=` of a page reached after a successful form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
}

impl Frame {
    /// The frame of a page shown before sign-in; `csrf` is the form cookie's value.
    pub(crate) fn public(title: &str, csrf: String) -> Self {
        Frame {
            title: title.to_owned(),
            csrf,
            nav: None,
            notice: None,
            error: None,
            fields: Vec::new(),
            asset_version: super::assets::version(),
        }
    }

    /// The frame of a signed-in caller's page.
    pub(crate) async fn signed_in(
        app: &AppState,
        caller: &Caller,
        title: &str,
        section: Section,
    ) -> Result<Self, Failure> {
        let session = caller.session.as_ref().map(|signed| &signed.session);
        Self::for_user(app, &caller.user, session, title, section).await
    }

    /// The frame of a page for `user`, signed in with `session` (none with an API token).
    pub(crate) async fn for_user(
        app: &AppState,
        user: &User,
        session: Option<&Session>,
        title: &str,
        section: Section,
    ) -> Result<Self, Failure> {
        let organizations = app.data.organizations_of(&user.id).await?;
        let current =
            current_of(session, organizations.iter().map(|(_, org)| org)).map(|org| org.id.clone());
        let role = organizations
            .iter()
            .find(|(_, org)| Some(&org.id) == current.as_ref())
            .map(|(membership, _)| membership.role);
        let orgs = organizations
            .iter()
            .map(|(_, org)| OrgChoice {
                id: org.id.to_string(),
                name: org.name.clone(),
                selected: Some(&org.id) == current.as_ref(),
            })
            .collect();
        let open_alerts = match &current {
            Some(org) if role.is_some() => app.alerts.open_count(org, &user.id).await?,
            _ => 0,
        };
        let mut frame = Frame::public(
            title,
            session.map_or_else(String::new, |session| session.csrf_token.clone()),
        );
        frame.nav = Some(Nav {
            user_name: user.name.clone(),
            section,
            orgs,
            has_org: role.is_some(),
            can_read_audit: role.is_some_and(|role| Permission::ReadAudit.granted_to(role)),
            open_alerts,
        });
        Ok(frame)
    }

    /// Shows the notice a `?done=` code stands for (unknown codes show nothing).
    pub(crate) fn done(mut self, done: &Done) -> Self {
        self.notice = done
            .done
            .as_deref()
            .and_then(done_message)
            .map(str::to_owned);
        self
    }

    /// Shows `message` beside the input `input`.
    pub(crate) fn with_field_error(
        mut self,
        input: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        self.fields.push(FieldError {
            input: input.into(),
            message: message.into(),
        });
        self
    }

    /// Puts an operation's refusal on the page — beside its field when it names one of
    /// `inputs` (form field → input id), else above the form — and returns the status to
    /// answer with. A server failure is not the page's to show: it is returned as such.
    pub(crate) fn refuse(
        &mut self,
        error: AccountError,
        inputs: &[(&str, &'static str)],
    ) -> Result<StatusCode, Failure> {
        let status = status_of(&error);
        match error {
            AccountError::Internal(error) => return Err(Failure::internal(format!("{error:#}"))),
            AccountError::Invalid { field, message } => {
                match inputs.iter().find(|(name, _)| *name == field) {
                    Some((_, input)) => self.fields.push(FieldError {
                        input: (*input).to_owned(),
                        message,
                    }),
                    None => self.error = Some(message),
                }
            }
            other => self.error = Some(other.to_string()),
        }
        Ok(status)
    }

    /// The error beside the input `input`, if any.
    pub(crate) fn field_error(&self, input: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|error| error.input == input)
            .map(|error| error.message.as_str())
    }

    /// Whether the input `input` has an error beside it.
    pub(crate) fn invalid(&self, input: &str) -> bool {
        self.field_error(input).is_some()
    }

    /// Whether the page shows any error.
    pub(crate) fn has_errors(&self) -> bool {
        self.error.is_some() || !self.fields.is_empty()
    }
}

/// The organization a session works in: its own if it is still among `organizations`, else
/// the first.
fn current_of<'a>(
    session: Option<&Session>,
    organizations: impl Iterator<Item = &'a Organization> + Clone,
) -> Option<&'a Organization> {
    let chosen = session.and_then(|session| session.org.as_ref());
    organizations
        .clone()
        .find(|org| Some(&org.id) == chosen)
        .or_else(|| organizations.clone().next())
}

/// The caller's access to their current organization — the session's, else their first —
/// or none if they belong to none. A session whose organization is gone (deleted, or the
/// caller was removed) is moved to the one chosen, so the organization's pages work again.
pub(crate) async fn current_tenant(
    app: &AppState,
    caller: &Caller,
) -> Result<Option<Tenant>, Failure> {
    let tenants = caller.tenants(app).await?;
    let chosen = caller
        .session
        .as_ref()
        .and_then(|signed| signed.session.org.as_ref());
    let Some(tenant) = tenants
        .iter()
        .find(|tenant| Some(tenant.org()) == chosen)
        .or_else(|| tenants.first())
        .cloned()
    else {
        return Ok(None);
    };
    if caller.session.is_some() && chosen != Some(tenant.org()) {
        accounts::switch_organization(app, caller, tenant.org()).await?;
    }
    Ok(Some(tenant))
}

/// The notice each `?done=` code stands for.
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => "You are signed out.",
        "signed_out_everywhere" => "You are signed out on every device, this one included.",
        "joined" => "Welcome! You joined the organization.",
        "org_created" => "Your new organization is ready. You are working in it now.",
        "org_switched" => "You switched organization.",
        "org_deleted" => "The organization was deleted with all its machines and data.",
        "left" => "You left the organization.",
        "invited" => "Invitation sent. It works for 7 days.",
        "role_changed" => "Role changed.",
        "member_removed" => "Member removed. Their API tokens for this organization were revoked.",
        "invitation_revoked" => "Invitation revoked: its link no longer works.",
        "profile" => "Your profile was saved.",
        "profile_email" => {
            "Your profile was saved. Confirm your new address with the link we sent to it: you need it to sign in next time."
        }
        "password" => "Your password was changed. Your other sessions were signed out.",
        "token_revoked" => "The token was revoked: it no longer works.",
        "marketing_on" => "You will get product news by e-mail.",
        "marketing_off" => "You will get no product news.",
        "display_revoked" => {
            "The display was revoked: it shows “disconnected” from its next update."
        }
        "machine_added" => "Machine added. Its driver is starting.",
        "integration_disconnected" => {
            "Disconnected. Its tokens were revoked; what it imported stays in the library."
        }
        "program_linked" => "Saved which machine the program is for.",
        "report_ran" => "The report ran.",
        "schedule_saved" => "The schedule is saved.",
        "schedule_deleted" => "The schedule is deleted.",
        "integration_connected" => {
            "Connected. The first sync has started; it shows here when it ends."
        }
        "sync_finished" => "Sync finished.",
        "sync_running" => "The sync is still running; reload this page to see when it ends.",
        "sync_failed" => "The sync failed: the connection's row says why.",
        "machine_saved" => "Machine saved. Its driver restarted with the new setup.",
        "machine_disabled" => {
            "Machine disabled: nothing reads it now. Its setup and data are kept."
        }
        "machine_enabled" => "Machine enabled: its driver is starting.",
        "machine_deleted" => "Machine deleted with all its data.",
        "shifts_saved" => "Shifts saved.",
        "alert_rule_added" => "Rule added. It watches the machines' data from now on.",
        "alert_rule_deleted" => "Rule deleted. Its events stay in the history.",
        "alert_muted_for_me" => "Muted for you: you get none of its e-mail.",
        "alert_unmuted_for_me" => "Unmuted for you.",
        "alert_rule_muted" => "Muted for everyone: its events are recorded, nothing is sent.",
        "alert_rule_unmuted" => "Unmuted for everyone.",
        _ => return None,
    })
}
