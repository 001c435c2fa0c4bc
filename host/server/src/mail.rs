//! Sending e-mail: over SMTP when `[email]` is configured, otherwise to the log (so the demo
//! shows its links). Messages go out in the background with retries, so a slow mail server
//! neither holds up a request nor reveals, by its timing, whether an address has an account.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart};
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
    /// Files attached.
    pub attachments: Vec<Attachment>,
}

/// A file attached to an e-mail.
#[derive(Clone)]
pub struct Attachment {
    /// Its file name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.content.len())
            .finish()
    }
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
                Err(error) if attempt < ATTEMPTS && !is_permanent(&error) => {
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
        let message = self.message(email)?;
        transport.send(message).await?;
        tracing::info!(to = %email.to, subject = %email.subject, "e-mail sent");
        Ok(())
    }

    /// `email` as a MIME message from the configured sender.
    fn message(&self, email: &Email) -> anyhow::Result<Message> {
        let to = email.to.parse::<Mailbox>()?;
        let body = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
        let body = if email.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for attachment in &email.attachments {
                let media_type = ContentType::parse(&attachment.media_type)?;
                // Base64 whatever the content: SMTP refuses lines over 1,000 bytes, which a
                // report's HTML or JSON may well have.
                let body = Body::new_with_encoding(
                    attachment.content.clone(),
                    ContentTransferEncoding::Base64,
                )
                .map_err(|_| anyhow::anyhow!("`{}` cannot be encoded", attachment.name))?;
                mixed = mixed.singlepart(
                    lettre::message::Attachment::new(attachment.name.clone())
                        .body(body, media_type),
                );
            }
            mixed
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(body)?;
        Ok(message)
    }
}

/// Whether the server refused the message for good (a 5xx answer): sending it again would be
/// refused again.
fn is_permanent(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<lettre::transport::smtp::Error>()
        .is_some_and(lettre::transport::smtp::Error::is_permanent)
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.transport.is_some())
            .field("from", &self.from.to_string())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attachments_follow_the_body() {
        let mailer = Mailer::new(None, "Chatter <chatter@example.com>").unwrap();
        let attachment = |name: &str, media_type: &str, content: &str| Attachment {
            name: name.into(),
            media_type: media_type.into(),
            content: content.as_bytes().to_vec(),
        };
        let email = Email {
            to: "owner@example.com".into(),
            subject: "Morning utilization: 2024-05-10".into(),
            text: "The report is attached.".into(),
            html: "<p>The report is attached.</p>".into(),
            attachments: vec![
                attachment(
                    "utilization.csv",
                    "text/csv",
                    "machine,name\r\nmill-1,Mill 1\r\n",
                ),
                attachment("utilization.json", "application/json", "{\"a\": 1}"),
                attachment(
                    "utilization.html",
                    "text/html",
                    &"<p>Mill 1 – 63 %</p>".repeat(200),
                ),
            ],
        };
        let raw = String::from_utf8(mailer.message(&email).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Type: multipart/mixed"), "{raw}");
        assert!(raw.lines().all(|line| line.len() <= 998), "{raw}");
        for name in ["utilization.csv", "utilization.json", "utilization.html"] {
            assert!(raw.contains(&format!("filename=\"{name}\"")), "{raw}");
        }
    }
}
