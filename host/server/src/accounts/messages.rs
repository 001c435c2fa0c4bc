//! The e-mails accounts send, in plain text and HTML. Every message ends with a link to stop
//! product news that works without signing in.

use chatter_model::{Invitation, User};

use crate::app::AppState;
use crate::mail::Email;

fn email(
    to: &str,
    unsubscribe: Option<String>,
    subject: &str,
    paragraphs: &[&str],
    action: Option<(&str, &str)>,
) -> Email {
    let mut text = String::new();
    let mut html = String::from(
        "<div style=\"font-family:system-ui,sans-serif;max-width:560px;margin:auto;color:#1f2933\">",
    );
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(paragraph)));
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("{label}: {url}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;background:#1d4ed8;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p><p style=\"font-size:13px;color:#52606d\">Or open this address: {}</p>",
            escape(url),
            escape(label),
            escape(url)
        ));
    }
    text.push_str("— Chatter\n");
    html.push_str("<p>— Chatter</p>");
    if let Some(url) = unsubscribe {
        text.push_str(&format!("\nNo product news, please: {url}\n"));
        html.push_str(&format!(
            "<p style=\"font-size:12px;color:#7b8794\">Don't want product news? <a href=\"{}\">Unsubscribe</a>.</p>",
            escape(&url)
        ));
    }
    html.push_str("</div>");
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
        attachments: Vec::new(),
    }
}

/// Asks a new user to confirm their address.
pub(super) fn verify_email(app: &AppState, user: &User, url: &str) -> Email {
    email(
        &user.email,
        Some(super::unsubscribe_link(app, &user.id)),
        "Confirm your e-mail address for Chatter",
        &[
            &format!("Hello {},", user.name),
            "Confirm that this is your address to finish setting up your Chatter account. The link works for 7 days.",
        ],
        Some(("Confirm my address", url)),
    )
}

/// Tells the owner of an address that someone tried to sign up with it again.
pub(super) fn account_exists(app: &AppState, to: &str) -> Email {
    email(
        to,
        None,
        "You already have a Chatter account",
        &[
            "Someone, probably you, tried to create a Chatter account with this address, which already has one.",
            "If it was you, sign in instead, or reset your password if you have forgotten it. If it was not, you can ignore this message.",
        ],
        Some(("Sign in", &app.web.link("/sign-in"))),
    )
}

/// Sends a password-reset link.
pub(super) fn reset_password(app: &AppState, user: &User, url: &str) -> Email {
    email(
        &user.email,
        Some(super::unsubscribe_link(app, &user.id)),
        "Reset your Chatter password",
        &[
            &format!("Hello {},", user.name),
            "Someone asked to reset the password of your Chatter account. The link works once, for an hour. If you did not ask, ignore this message: your password stays as it is.",
        ],
        Some(("Choose a new password", url)),
    )
}

/// Invites someone to an organization.
pub(super) fn invitation(invitation: &Invitation, inviter: &User, org: &str, url: &str) -> Email {
    email(
        &invitation.email,
        None,
        &format!("{} invited you to {org} on Chatter", inviter.name),
        &[
            &format!(
                "{} invited you to join {org} on Chatter as {} {}.",
                inviter.name,
                if invitation.role == chatter_model::Role::Admin
                    || invitation.role == chatter_model::Role::Owner
                {
                    "an"
                } else {
                    "a"
                },
                invitation.role
            ),
            "The invitation works for 7 days. If you have no account yet, you can create one with this address on the way.",
        ],
        Some(("Accept the invitation", url)),
    )
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
