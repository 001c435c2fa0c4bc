//! People and their rights: users, memberships of organizations with a [`Role`], sessions,
//! personal API tokens, invitations, and one-time e-mail links.
//!
//! Secrets (session ids, tokens, links) are never stored: the store keys each record by the
//! SHA-256 of its secret, so a copy of the store lets nobody sign in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{OrgId, UserId};

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Their id.
    pub id: UserId,
    /// Their e-mail address, trimmed and lower-cased: unique across the installation.
    pub email: String,
    /// Their name, as they wrote it.
    pub name: String,
    /// Their password's Argon2id hash in PHC string format.
    pub password_hash: String,
    /// Whether they opened the link of a verification e-mail.
    pub email_verified: bool,
    /// Whether they agreed to receive product news; off until they opt in.
    pub marketing_opt_in: bool,
    /// When the account was created, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// What a member may do in an organization. Each role may do everything the roles after it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including deleting the organization and naming other owners.
    Owner,
    /// Manages members, invitations, tokens, machines and plugins; reads the audit log.
    Admin,
    /// Operates machines: starts, stops and configures them; reads all machine data.
    Member,
    /// Reads machine data.
    Viewer,
}

impl Role {
    /// Every role, from most to least powerful.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// Whether this role includes everything `other` may do.
    pub fn includes(self, other: Role) -> bool {
        self <= other
    }

    /// Its name, as in the API (`owner`, `admin`, `member`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a role (owner, admin, member or viewer)"))
    }
}

/// A user's membership of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The organization.
    pub org: OrgId,
    /// The member.
    pub user: UserId,
    /// What they may do there.
    pub role: Role,
    /// When they joined, in milliseconds since the Unix epoch.
    pub joined_at_ms: i64,
}

/// A signed-in browser. Keyed in the store by the SHA-256 of the id in its cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who signed in.
    pub user: UserId,
    /// The organization they are working in, if they belong to any.
    pub org: Option<OrgId>,
    /// The secret every state-changing request of this session must carry (CSRF protection).
    pub csrf_token: String,
    /// When they signed in, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the session was last used.
    pub last_seen_ms: i64,
    /// When it ends even if used.
    pub expires_at_ms: i64,
    /// The browser's user agent at sign-in, to tell sessions apart in the account page.
    pub user_agent: String,
}

/// A personal API token: acts for its user in one organization, with at most a given role.
/// Keyed in the store by the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its public id (the token's first characters after the prefix), shown in lists and logs.
    pub id: String,
    /// Whose it is.
    pub user: UserId,
    /// The one organization it acts in.
    pub org: OrgId,
    /// The most it may do; never more than its user's role in the organization at the time of
    /// use.
    pub role: Role,
    /// What it is for.
    pub name: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When it was last used.
    pub last_used_ms: Option<i64>,
    /// When it stops working, if it does.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at_ms: Option<i64>,
}

impl ApiToken {
    /// Whether the token may be used at `now_ms`: neither revoked nor expired.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|end| end > now_ms)
    }
}

/// An invitation to join an organization, sent by e-mail. Keyed in the store by the SHA-256 of
/// the secret in its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Its public id.
    pub id: String,
    /// The organization to join.
    pub org: OrgId,
    /// Who is invited (lower-cased).
    pub email: String,
    /// The role they get.
    pub role: Role,
    /// Who invited them.
    pub invited_by: UserId,
    /// When it was sent, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the link stops working.
    pub expires_at_ms: i64,
    /// When it was accepted, and by whom; an accepted invitation cannot be used again.
    pub accepted: Option<(UserId, i64)>,
    /// When it was revoked.
    pub revoked_at_ms: Option<i64>,
}

/// What a one-time e-mail link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Confirms that the user owns their e-mail address.
    VerifyEmail,
    /// Lets the user set a new password.
    ResetPassword,
}

/// A one-time link sent by e-mail. Keyed in the store by the SHA-256 of its secret, and removed
/// when used, so it works once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLink {
    /// Whose it is.
    pub user: UserId,
    /// What it does.
    pub purpose: LinkPurpose,
    /// The address it was sent to: a link to verify an address the user has since changed
    /// verifies nothing.
    pub email: String,
    /// When it stops working, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}
