//! Sending e-mail: over SMTP when `[email]` is configured, otherwise to the log (so the demo
//! shows its links). Messages go out in the background with retries, so a slow mail server
//! neither holds up a request nor reveals, by its timing, whether an address has an account.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// Attempts per message before giving up.
const ATTEMPTS: u32 = 4;
/// Wait after the first failed attempt; doubled after each.
const FIRST_RETRY: Duration = Duration::from_secs(2);

/// A message to send.
#[derive(Debug, Clone)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Why mail cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `[email] smtp-url` is not a usable SMTP URL.
    #[error("[email] smtp-url `{url}`: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `[email] from` is not an address.
    #[error(
        "[email] from `{from}` is not an e-mail address (like `Chatter <chatter@example.com>`): {reason}"
    )]
    BadFrom {
        /// The configured sender.
        from: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where e-mail goes.
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer sending through the SMTP server at `smtp_url` (`smtp://host:port` plain,
    /// `smtp://host:port?tls=required` with STARTTLS, `smtps://host:port`, optionally with
    /// `user:password@`), or logging messages when it is `None`.
    pub fn new(smtp_url: Option<&str>, from: &str) -> Result<Self, MailError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|error| MailError::BadFrom {
                from: from.to_owned(),
                reason: error.to_string(),
            })?;
        let transport = smtp_url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|builder| builder.timeout(Some(Duration::from_secs(20))).build())
                    .map_err(|error| MailError::BadUrl {
                        url: url.to_owned(),
                        reason: error.to_string(),
                    })
            })
            .transpose()?;
        Ok(Self { transport, from })
    }

    /// Whether messages go to an SMTP server, rather than to the log.
    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends `email` in the background, retrying with backoff; failures are logged.
    pub fn send_later(self: &std::sync::Arc<Self>, email: Email) {
        let mailer = self.clone();
        tokio::spawn(async move { mailer.send_with_retries(email).await });
    }

    async fn send_with_retries(&self, email: Email) {
        let mut wait = FIRST_RETRY;
        for attempt in 1..=ATTEMPTS {
            match self.send(&email).await {
                Ok(()) => return,
                Err(error) if attempt < ATTEMPTS => {
                    tracing::warn!(to = %email.to, subject = %email.subject, attempt, %error, "sending e-mail failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(error) => {
                    tracing::error!(to = %email.to, subject = %email.subject, %error, "sending e-mail failed; giving up");
                }
            }
        }
    }

    /// Sends `email` now.
    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let Some(transport) = &self.transport else {
            tracing::info!(
                to = %email.to,
                subject = %email.subject,
                "e-mail is not configured ([email] smtp-url); the message would have said:\n{}",
                email.text
            );
            return Ok(());
        };
        let to = email.to.parse::<Mailbox>()?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?;
        transport.send(message).await?;
        tracing::info!(to = %email.to, subject = %email.subject, "e-mail sent");
        Ok(())
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.transport.is_some())
            .field("from", &self.from.to_string())
            .finish()
    }
}
