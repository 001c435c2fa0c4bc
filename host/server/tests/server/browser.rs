//! The accounts journey in a real headless Chromium, with e-mail caught by a real SMTP server:
//! sign up, confirm the address from the e-mail, sign in, invite a colleague who signs up from
//! the invitation, change their role, create and revoke an API token, download the data export
//! and open the ZIP, and delete the account (ownership passes to the colleague). Screenshots of
//! the key pages go to `target/artifacts/`.

use crate::common;

use std::io::Read as _;
use std::time::Duration;

use crate::common::ShopSetup;
use chatter_model::Role;
use chatter_store::Accounts;
use chatter_testkit::{Browser, Mail, MailServer, skip};

const WAIT: Duration = Duration::from_secs(20);
const ALICE: &str = "alice@lathe-works.example";
const ALICE_PASSWORD: &str = "alice's long password";
const BOB: &str = "bob@lathe-works.example";
const BOB_PASSWORD: &str = "bob's long password 2";

async fn mail_to(mail: &MailServer, to: &str, subject: &str) -> Mail {
    mail.wait_for(
        |m| m.to.iter().any(|address| address.contains(to)) && m.subject.contains(subject),
        Duration::from_secs(30),
    )
    .await
    .unwrap_or_else(|error| panic!("no e-mail to {to} about `{subject}`: {error}"))
}

async fn sign_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.sign_in(base, email, password).await.unwrap();
}

async fn sign_out(browser: &Browser) {
    browser.click("#sign-out button").await.unwrap();
    browser.wait_for("#sign-in", WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_from_sign_up_to_deletion() {
    let tools = skip::available("the browser journey", Browser::is_available)
        && skip::available("the browser journey", MailServer::is_available);
    if !tools {
        return;
    }
    let mail = MailServer::start().unwrap();
    let shop = common::serve(ShopSetup {
        smtp_url: Some(mail.url()),
        ..ShopSetup::default()
    })
    .await;
    let base = shop.base.clone();
    let browser = Browser::start().await.unwrap();

    // Sign up, and confirm the address from the e-mail.
    browser.goto(&format!("{base}/sign-up")).await.unwrap();
    browser.screenshot("accounts-sign-up").await.unwrap();
    browser
        .fill("#sign-up input[name=name]", "Alice Turner")
        .await
        .unwrap();
    browser
        .fill("#sign-up input[name=email]", ALICE)
        .await
        .unwrap();
    browser
        .fill("#sign-up input[name=password]", ALICE_PASSWORD)
        .await
        .unwrap();
    browser
        .fill("#sign-up input[name=organization]", "Lathe Works")
        .await
        .unwrap();
    browser.click("#sign-up-submit").await.unwrap();
    browser.wait_for_text("main", "inbox", WAIT).await.unwrap();
    let confirm = mail_to(&mail, ALICE, "Confirm").await;
    let link = confirm.link_containing("/verify?token=").unwrap();
    assert!(link.starts_with(&base), "links point at the site: {link}");
    browser.goto(&link).await.unwrap();
    browser
        .wait_for_text("main", "confirmed", WAIT)
        .await
        .unwrap();

    // Sign in: the dashboard of her new organization.
    sign_in(&browser, &base, ALICE, ALICE_PASSWORD).await;
    browser
        .wait_for_text("#org-switch", "Lathe Works", WAIT)
        .await
        .unwrap();
    browser.screenshot("accounts-dashboard").await.unwrap();

    // Invite Bob as a member.
    browser.goto(&format!("{base}/members")).await.unwrap();
    browser
        .fill("#invite input[name=email]", BOB)
        .await
        .unwrap();
    browser
        .client()
        .execute(
            "document.querySelector('#invite select[name=role]').value = 'member'",
            vec![],
        )
        .await
        .unwrap();
    browser.click("#invite-submit").await.unwrap();
    browser
        .wait_for_text("#invitations", BOB, WAIT)
        .await
        .unwrap();
    let invitation = mail_to(&mail, BOB, "invited you").await;
    let accept = invitation
        .link_containing("/invitations/accept?token=")
        .unwrap();
    sign_out(&browser).await;

    // Bob has no account: he creates one from the invitation and lands in Lathe Works.
    browser.goto(&accept).await.unwrap();
    browser
        .wait_for_text("main", "Lathe Works", WAIT)
        .await
        .unwrap();
    browser.click("#invitation-sign-up").await.unwrap();
    browser.wait_for("#sign-up", WAIT).await.unwrap();
    browser
        .fill("#sign-up input[name=name]", "Bob Miller")
        .await
        .unwrap();
    browser
        .fill("#sign-up input[name=password]", BOB_PASSWORD)
        .await
        .unwrap();
    browser.click("#sign-up-submit").await.unwrap();
    browser
        .wait_for_text("#org-switch", "Lathe Works", WAIT)
        .await
        .unwrap();
    sign_out(&browser).await;

    // Alice makes Bob a viewer.
    sign_in(&browser, &base, ALICE, ALICE_PASSWORD).await;
    let bob = shop.store.user_by_email(BOB).await.unwrap().unwrap();
    let alice = shop.store.user_by_email(ALICE).await.unwrap().unwrap();
    browser.goto(&format!("{base}/members")).await.unwrap();
    let row = format!("#members tr[data-user='{}']", bob.id);
    browser.wait_for(&row, WAIT).await.unwrap();
    let selected = browser
        .client()
        .execute(
            &format!("return document.querySelector(\"{row} select[name=role]\").value"),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(selected, "member", "Bob joined as the invitation said");
    browser
        .client()
        .execute(
            &format!("document.querySelector(\"{row} select[name=role]\").value = 'viewer'"),
            vec![],
        )
        .await
        .unwrap();
    browser
        .click(&format!("{row} [data-test=save-role]"))
        .await
        .unwrap();
    browser.wait_for("#notice", WAIT).await.unwrap();
    let org = shop.store.memberships_of(&alice.id).await.unwrap()[0]
        .org
        .clone();
    let membership = shop.store.membership(&org, &bob.id).await.unwrap().unwrap();
    assert_eq!(membership.role, Role::Viewer);
    browser.screenshot("accounts-members").await.unwrap();

    // An API token: shown once, works, and stops working when revoked.
    browser.goto(&format!("{base}/account")).await.unwrap();
    browser
        .fill("#create-token input[name=name]", "Shop-floor script")
        .await
        .unwrap();
    browser.click("#create-token-submit").await.unwrap();
    // The form's answer is a new page: wait for it rather than read the old one.
    let token = browser
        .wait_for_text("#new-token", "cht_", WAIT)
        .await
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.starts_with("cht_"), "{token}");
    browser.screenshot("accounts-account").await.unwrap();
    let me = |token: String| {
        let url = format!("{base}/api/v1/me");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(token.clone()).await, 200);
    browser.goto(&format!("{base}/account")).await.unwrap();
    browser
        .click("#tokens [data-test=revoke-token]")
        .await
        .unwrap();
    browser
        .wait_for("#tokens tr[data-state=revoked]", WAIT)
        .await
        .unwrap();
    assert_eq!(me(token).await, 401, "a revoked token is refused");

    // The export: a ZIP of JSON files about her.
    let zip = download_export(&browser, &base).await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut profile = String::new();
    archive
        .by_name("profile.json")
        .unwrap()
        .read_to_string(&mut profile)
        .unwrap();
    let profile: serde_json::Value = serde_json::from_str(&profile).unwrap();
    assert_eq!(profile["email"], ALICE);
    assert!(
        profile.get("password_hash").is_none(),
        "no password hash in the export"
    );
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    for expected in [
        "memberships.json",
        "api_tokens.json",
        "audit_events.json",
        "sessions.json",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|name| name.ends_with("/organization.json")),
        "{names:?}"
    );

    // The audit log shows what happened.
    browser.goto(&format!("{base}/audit")).await.unwrap();
    for action in [
        "invitation.accept",
        "member.role_change",
        "token.revoke",
        "org.export",
    ] {
        browser
            .wait_for(&format!("#audit tr[data-action='{action}']"), WAIT)
            .await
            .unwrap();
    }
    browser.screenshot("accounts-audit").await.unwrap();

    // Deleting her account hands Lathe Works to Bob, and says so first.
    browser
        .goto(&format!("{base}/account/delete"))
        .await
        .unwrap();
    browser
        .wait_for(
            &format!("#deletion-plan [data-org='{org}'][data-fate=hand_over]"),
            WAIT,
        )
        .await
        .unwrap();
    browser
        .wait_for_text("#deletion-plan", "Bob Miller", WAIT)
        .await
        .unwrap();
    browser.screenshot("accounts-delete").await.unwrap();
    browser
        .fill("#delete-account-form input[name=password]", ALICE_PASSWORD)
        .await
        .unwrap();
    browser.click("#delete-account-submit").await.unwrap();
    browser
        .wait_for_text("main", "deleted", WAIT)
        .await
        .unwrap();
    assert!(shop.store.user_by_email(ALICE).await.unwrap().is_none());
    let bob_now = shop.store.membership(&org, &bob.id).await.unwrap().unwrap();
    assert_eq!(bob_now.role, Role::Owner, "ownership passed to Bob");
    browser.goto(&format!("{base}/sign-in")).await.unwrap();
    browser
        .fill("#sign-in input[name=email]", ALICE)
        .await
        .unwrap();
    browser
        .fill("#sign-in input[name=password]", ALICE_PASSWORD)
        .await
        .unwrap();
    browser.click("#sign-in-submit").await.unwrap();
    browser.wait_for("#errors", WAIT).await.unwrap();
    browser.close().await.unwrap();
}

/// Posts the export form with the browser's session cookie and CSRF token, as its button does,
/// and returns the ZIP. (A headless browser's download lands on disk where a test cannot
/// easily wait for it.)
async fn download_export(browser: &Browser, base: &str) -> Vec<u8> {
    browser.goto(&format!("{base}/account")).await.unwrap();
    let csrf = browser
        .client()
        .execute(
            "return document.querySelector('#export input[name=csrf]').value",
            vec![],
        )
        .await
        .unwrap();
    let csrf = csrf.as_str().unwrap().to_owned();
    let cookies = browser.client().get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|cookie| cookie.name() == "chatter_session")
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{base}/account/export"))
        .header("cookie", format!("chatter_session={}", session.value()))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    response.bytes().await.unwrap().to_vec()
}
