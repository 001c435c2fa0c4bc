//! The kit against the real programs: a message sent over a hand-written SMTP conversation and
//! read back decoded, and a form filled in and photographed in headless Chromium. Each test
//! skips with its reason where its program is not installed (fails, under
//! `CHATTER_REQUIRE_E2E=1`).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use chatter_testkit::{Browser, MailServer, skip};

/// Reads one SMTP reply (all its lines) and checks its code.
fn expect_reply(reader: &mut impl BufRead, code: &str) {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        // "250-..." continues, "250 ..." ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// Sends `message` over SMTP, the conversation written out by hand.
fn send(port: u16, from: &str, recipients: &[&str], message: &str) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut say = |line: &str, code: &str, reader: &mut BufReader<TcpStream>| {
        writer.write_all(line.as_bytes()).unwrap();
        writer.write_all(b"\r\n").unwrap();
        expect_reply(reader, code);
    };
    expect_reply(&mut reader, "220");
    say("EHLO testkit.local", "250", &mut reader);
    say(&format!("MAIL FROM:<{from}>"), "250", &mut reader);
    for rcpt in recipients {
        say(&format!("RCPT TO:<{rcpt}>"), "250", &mut reader);
    }
    say("DATA", "354", &mut reader);
    // No line of the message starts with a dot, so none needs doubling.
    let body = message.replace('\n', "\r\n");
    say(&format!("{body}\r\n."), "250", &mut reader);
    say("QUIT", "221", &mut reader);
}

const MESSAGE: &str = "\
From: Chatter <noreply@chatter.test>
To: Ada Lovelace <ada@example.test>
Subject: =?utf-8?q?Confirm_your_address_=E2=80=94_Chatter?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=\"b0undary\"

--b0undary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Welcome =E2=80=94 confirm your address:
http://127.0.0.1:8080/confirm?token=3Dabc123&next=3D%2Fmachines.

The link expires in a day. Docs: https://docs.chatter.test/start (see there=
).
--b0undary
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Welcome =E2=80=94 <a class=3D\"button\" href=3D\"http://127.0.0.1:8080/co=
nfirm?token=3Dabc123&amp;next=3D%2Fmachines\">confirm your address</a>.</p>
<p><a href=3D'mailto:help@chatter.test'>Help</a></p>
--b0undary--
";

#[tokio::test]
async fn mail_server_receives_and_decodes_a_multipart_message() {
    if !skip::available("the mail server test", MailServer::is_available) {
        return;
    }
    let server = MailServer::start().unwrap();
    assert_eq!(server.url(), format!("smtp://127.0.0.1:{}", server.port()));
    assert!(server.messages().is_empty());

    send(
        server.port(),
        "noreply@chatter.test",
        &["ada@example.test", "audit@example.test"],
        MESSAGE,
    );
    let mail = server
        .wait_for(
            |m| m.to.iter().any(|to| to == "ada@example.test"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    assert_eq!(mail.from, "noreply@chatter.test");
    assert_eq!(mail.to, ["ada@example.test"]);
    assert_eq!(mail.envelope_to, ["ada@example.test", "audit@example.test"]);
    assert_eq!(mail.subject, "Confirm your address — Chatter");
    assert!(
        mail.text.starts_with("Welcome — confirm"),
        "{:?}",
        mail.text
    );
    assert!(mail.text.contains("(see there)."), "{:?}", mail.text);
    let html = mail.html.as_deref().unwrap();
    assert!(
        html.contains("href=\"http://127.0.0.1:8080/confirm?token=abc123&amp;next=%2Fmachines\""),
        "{html:?}"
    );
    assert!(
        mail.raw
            .contains("Content-Transfer-Encoding: quoted-printable")
    );

    let confirm = "http://127.0.0.1:8080/confirm?token=abc123&next=%2Fmachines";
    assert_eq!(mail.links(), [confirm, "https://docs.chatter.test/start"]);
    assert_eq!(mail.link_containing("/confirm").as_deref(), Some(confirm));
    assert_eq!(mail.link_containing("/nowhere"), None);

    // A second message; both are kept, oldest first.
    send(
        server.port(),
        "noreply@chatter.test",
        &["bob@example.test"],
        "From: noreply@chatter.test\nTo: bob@example.test\nSubject: Second\n\nPlain body https://a.test/x?y=1\n",
    );
    let second = server
        .wait_for(|m| m.subject == "Second", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(second.text.trim_end(), "Plain body https://a.test/x?y=1");
    assert_eq!(second.html, None);
    assert_eq!(second.links(), ["https://a.test/x?y=1"]);
    let subjects: Vec<String> = server.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["Confirm your address — Chatter", "Second"]);

    let missing = server
        .wait_for(|m| m.subject == "never sent", Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("2 received"), "{missing}");
}

/// Percent-encodes everything but letters and digits, for a `data:` URL.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const PAGE: &str = r#"<!doctype html>
<html><head><title>Kit</title></head>
<body style="font: 20px sans-serif; margin: 40px">
  <form id="greet" onsubmit="event.preventDefault();
      setTimeout(() => { document.querySelector('#out').textContent =
        'Hello, ' + document.querySelector('#name').value + '!'; }, 300);">
    <label>Name <input id="name" value="placeholder"></label>
    <button id="go" type="submit">Greet</button>
  </form>
  <p id="out">nobody yet</p>
</body></html>"#;

#[tokio::test]
async fn browser_fills_a_form_and_takes_a_screenshot() {
    if !skip::available("the browser test", Browser::is_available) {
        return;
    }
    let browser = Browser::start().await.unwrap();
    browser
        .goto(&format!(
            "data:text/html;charset=utf-8,{}",
            percent_encode(PAGE)
        ))
        .await
        .unwrap();
    assert_eq!(browser.text("#out").await.unwrap(), "nobody yet");

    browser.fill("#name", "Ada").await.unwrap();
    browser.click("#go").await.unwrap();
    // The page answers after a delay, so this has to wait.
    let greeting = browser
        .wait_for_text("#out", "Hello", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(greeting, "Hello, Ada!");
    browser
        .wait_for("#greet", Duration::from_secs(1))
        .await
        .unwrap();

    let missing = browser
        .wait_for("#absent", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(format!("{missing:#}").contains("#absent"), "{missing:#}");
    let unchanged = browser
        .wait_for_text("#out", "Goodbye", Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(unchanged.contains("Hello, Ada!"), "{unchanged}");

    browser.set_window_size(800, 600).await.unwrap();
    let path = browser.screenshot("testkit-form").await.unwrap();
    assert!(
        path.ends_with("target/artifacts/testkit-form.png"),
        "{path:?}"
    );
    let png = std::fs::read(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {path:?}");

    browser.close().await.unwrap();
}
