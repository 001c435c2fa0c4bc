//! A real SMTP server on 127.0.0.1 for tests, Python's `aiosmtpd` writing each message it
//! receives into a temporary maildir, and the messages read back from there.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use mail_parser::{MessageParser, MimeHeaders as _, PartType};
use tempfile::TempDir;

/// How long [`MailServer::start`] waits for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `aiosmtpd` on 127.0.0.1, killed when dropped. It accepts any sender and
/// recipient, without authentication or TLS, and keeps every message.
pub struct MailServer {
    child: Child,
    port: u16,
    /// Holds `maildir/` and the server's log; removed on drop, after the server is killed.
    dir: TempDir,
}

impl MailServer {
    /// Whether the server can start here: `python3` is on the `PATH` and imports `aiosmtpd`.
    pub fn is_available() -> Result<(), String> {
        let output = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| {
                format!("python3 cannot be run ({error}); install Python 3 and aiosmtpd")
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "python3 cannot import aiosmtpd (python3 -m pip install aiosmtpd): {}",
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .rfind(|line| !line.trim().is_empty())
                    .unwrap_or("")
                    .trim()
            ))
        }
    }

    /// Starts the server on a free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start() -> anyhow::Result<MailServer> {
        let dir = tempfile::Builder::new()
            .prefix("chatter-smtp-")
            .tempdir()
            .context("creating the mail server's folder")?;
        let maildir = dir.path().join("maildir");
        let log_path = dir.path().join("aiosmtpd.log");
        let log = fs::File::create(&log_path).context("creating the mail server's log")?;
        let port = crate::free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("sharing the mail server's log")?)
            .stderr(log)
            .spawn()
            .context("starting python3 -m aiosmtpd (is Python 3 with aiosmtpd installed?)")?;
        let mut server = MailServer { child, port, dir };
        let started = crate::wait_for_port(port, START_TIMEOUT, || match server.child.try_wait() {
            Ok(Some(status)) => anyhow::bail!("aiosmtpd exited with {status}"),
            Ok(None) => Ok(()),
            Err(error) => Err(error.into()),
        });
        if let Err(error) = started {
            // Dropping `server` kills the process; its log is read first.
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            anyhow::bail!("the SMTP server did not start: {error}; its output:\n{log}");
        }
        Ok(server)
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, no TLS, no authentication.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let maildir = self.dir.path().join("maildir");
        let mut files: Vec<(SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| fs::read_dir(maildir.join(sub)).ok())
            .flatten()
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let modified = entry.metadata().ok()?.modified().ok()?;
                Some((modified, entry.path()))
            })
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|(_, path)| fs::read(path).ok())
            .filter_map(|raw| Mail::parse(&raw).ok())
            .collect()
    }

    /// Waits for a message that satisfies `matches`, checking every 100 ms; returns the first
    /// one, oldest first. On timeout, the error lists the messages that did arrive.
    ///
    /// It is async so that a server under test on the same runtime can go on sending.
    pub async fn wait_for(
        &self,
        matches: impl Fn(&Mail) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if let Some(mail) = messages.iter().find(|mail| matches(mail)) {
                return Ok(mail.clone());
            }
            if Instant::now() >= deadline {
                let received: Vec<String> = messages
                    .iter()
                    .map(|mail| format!("  to {:?}: {:?}", mail.to, mail.subject))
                    .collect();
                anyhow::bail!(
                    "no matching message within {timeout:?}; {} received:\n{}",
                    messages.len(),
                    received.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The folder of the maildir the server writes to.
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address in the `From` header (without the display name); empty when there is none.
    pub from: String,
    /// The addresses in the `To` header.
    pub to: Vec<String>,
    /// The recipients of the SMTP conversation (`RCPT TO`), `Bcc` ones included, as the server
    /// recorded them.
    pub envelope_to: Vec<String>,
    /// The `Subject` header, decoded; empty when there is none.
    pub subject: String,
    /// The first `text/plain` body part, decoded; empty when there is none.
    pub text: String,
    /// The first `text/html` body part, decoded.
    pub html: Option<String>,
    /// The attached files, decoded: (file name, media type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// The message as stored, headers and encoded body.
    pub raw: String,
}

impl Mail {
    /// Parses a message in RFC 5322 form; multipart bodies, quoted-printable, base64 and
    /// encoded headers are decoded.
    pub fn parse(raw: &[u8]) -> anyhow::Result<Mail> {
        let message = MessageParser::default()
            .parse(raw)
            .context("the message cannot be parsed")?;
        let addresses = |address: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            address
                .map(|address| {
                    address
                        .iter()
                        .filter_map(|addr| addr.address())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let text = message.text_bodies().find_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            _ => None,
        });
        let html = message.html_bodies().find_map(|part| match &part.body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        });
        let envelope_to = message
            .header_raw("X-RcptTo")
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|rcpt| !rcpt.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let attachments = message
            .attachments()
            .map(|part| {
                let media_type = part
                    .content_type()
                    .map(|ct| match ct.subtype() {
                        Some(sub) => format!("{}/{sub}", ct.ctype()),
                        None => ct.ctype().to_owned(),
                    })
                    .unwrap_or_default();
                (
                    part.attachment_name().unwrap_or_default().to_owned(),
                    media_type,
                    part.contents().to_vec(),
                )
            })
            .collect();
        Ok(Mail {
            attachments,
            from: addresses(message.from())
                .into_iter()
                .next()
                .unwrap_or_default(),
            to: addresses(message.to()),
            envelope_to,
            subject: message.subject().unwrap_or_default().to_owned(),
            text: text.unwrap_or_default(),
            html,
            raw: String::from_utf8_lossy(raw).into_owned(),
        })
    }

    /// The `http` and `https` links in the message, in order and without repeats: those in the
    /// text part, then the `href`s of the HTML part (with `&amp;` and the like decoded).
    pub fn links(&self) -> Vec<String> {
        let mut links = urls_in_text(&self.text);
        if let Some(html) = &self.html {
            links.extend(hrefs_in_html(html));
        }
        let mut seen = std::collections::HashSet::new();
        links.retain(|link| seen.insert(link.clone()));
        links
    }

    /// The first of [`links`](Mail::links) that contains `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.links().into_iter().find(|link| link.contains(needle))
    }
}

/// The URLs starting with `http://` or `https://` in plain text: each runs to whitespace or a
/// character that cannot stand in a URL, less closing punctuation.
fn urls_in_text(text: &str) -> Vec<String> {
    // ASCII lowercasing keeps every byte where it was, so offsets into it hold for `text`.
    let lower = text.to_ascii_lowercase();
    let mut urls = Vec::new();
    let mut from = 0;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| lower[from..].find(scheme))
        .min()
    {
        let candidate = &text[from + start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(candidate.len());
        from += start + end;
        let mut url = &candidate[..end];
        loop {
            let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
            let trimmed = match trimmed.strip_suffix(')') {
                Some(inner) if !inner.contains('(') => inner,
                _ => trimmed,
            };
            if trimmed == url {
                break;
            }
            url = trimmed;
        }
        if !url.ends_with("//") {
            urls.push(url.to_owned());
        }
    }
    urls
}

/// The `http` and `https` values of `href` attributes, entities decoded.
fn hrefs_in_html(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hrefs = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("href") {
        let name_at = from + found;
        let mut at = name_at + "href".len();
        from = at;
        // An attribute of its own, not the end of `data-href` or of text.
        if !lower[..name_at].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = &html[at..];
        let after_name = rest.trim_start();
        let Some(after_equals) = after_name.strip_prefix('=') else {
            continue;
        };
        let value = after_equals.trim_start();
        at += rest.len() - value.len();
        let (raw, consumed) = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => match value[1..].find(quote) {
                Some(end) => (&value[1..=end], end + 2),
                None => continue,
            },
            _ => {
                let end = value
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(value.len());
                (&value[..end], end)
            }
        };
        from = at + consumed;
        let href = decode_entities(raw.trim());
        let lower_href = href.to_ascii_lowercase();
        if lower_href.starts_with("http://") || lower_href.starts_with("https://") {
            hrefs.push(href);
        }
    }
    hrefs
}

/// Decodes the HTML character references that occur in URLs: `&amp;`, `&quot;`, `&apos;`,
/// `&lt;`, `&gt;`, and numeric ones such as `&#38;` and `&#x26;`.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let name = &rest[1..semi];
            let c = match name {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl std::fmt::Debug for MailServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServer")
            .field("url", &self.url())
            .field("maildir", &self.maildir())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_text_stop_at_spaces_brackets_and_closing_punctuation() {
        let text = "Go to https://a.test/x?y=1&z=2. Or (http://b.test/p) or <https://c.test/q>,\n\
                    https://d.test/w_(x) and HTTPS://E.test/ but not https:// nor ftp://f.test";
        assert_eq!(
            urls_in_text(text),
            [
                "https://a.test/x?y=1&z=2",
                "http://b.test/p",
                "https://c.test/q",
                "https://d.test/w_(x)",
                "HTTPS://E.test/",
            ]
        );
    }

    #[test]
    fn hrefs_are_unquoted_decoded_and_only_http() {
        let html = r#"<a href="https://a.test/?x=1&amp;y=2">a</a> <A HREF = 'http://b.test/&#38;c'>
            <a href=https://c.test/u>c</a> <a href="mailto:x@y.test">m</a> <a href="/relative">r</a>
            <a data-href="https://z.test/">z</a> <a href="https://d.test/&#x26;&bogus;">d</a>
            <a href="unterminated"#;
        assert_eq!(
            hrefs_in_html(html),
            [
                "https://a.test/?x=1&y=2",
                "http://b.test/&c",
                "https://c.test/u",
                "https://d.test/&&bogus;",
            ]
        );
    }

    #[test]
    fn a_plain_message_has_text_and_no_html() {
        let raw = b"From: \"A\" <a@x.test>\r\nTo: b@x.test, \"C\" <c@x.test>\r\nSubject: Hi\r\n\
                    X-RcptTo: b@x.test, c@x.test, d@x.test\r\n\r\nSee https://x.test/a\r\n";
        let mail = Mail::parse(raw).unwrap();
        assert_eq!(mail.from, "a@x.test");
        assert_eq!(mail.to, ["b@x.test", "c@x.test"]);
        assert_eq!(mail.envelope_to, ["b@x.test", "c@x.test", "d@x.test"]);
        assert_eq!(mail.subject, "Hi");
        assert_eq!(mail.text.trim_end(), "See https://x.test/a");
        assert_eq!(mail.html, None);
        assert_eq!(
            mail.link_containing("x.test").as_deref(),
            Some("https://x.test/a")
        );
    }

    #[test]
    fn an_html_only_message_has_no_text_but_its_links() {
        let raw = b"From: a@x.test\r\nTo: b@x.test\r\nSubject: =?utf-8?b?SMOpbGxv?=\r\n\
                    Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                    PGEgaHJlZj0iaHR0cHM6Ly94LnRlc3QvP2E9MSZhbXA7Yj0yIj5nbzwvYT4=\r\n";
        let mail = Mail::parse(raw).unwrap();
        assert_eq!(mail.subject, "Héllo");
        assert_eq!(mail.text, "");
        assert_eq!(
            mail.html.as_deref(),
            Some("<a href=\"https://x.test/?a=1&amp;b=2\">go</a>")
        );
        assert_eq!(mail.links(), ["https://x.test/?a=1&b=2"]);
    }
}
