//! Forged and replayed requests fail: a state-changing request without its session's CSRF
//! token or from another site, a session's CSRF token used with another session, expired and
//! revoked sessions and API tokens, a tampered unsubscribe link, a reused password-reset link.
//! And the sign-in page says nothing about which addresses have accounts.

use crate::common;

use std::time::Duration;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Shop, ShopSetup};
use chatter_model::{ApiToken, OrgId, Role};
use chatter_server::auth::secret;
use chatter_store::Accounts;
use chatter_testkit::{MailServer, skip};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The shop's owner.
async fn owner(shop: &Shop) -> chatter_model::User {
    let found = shop.store.user_by_email(OWNER_EMAIL).await.unwrap();
    found.expect("every test shop has its owner")
}

/// A session of the shop's owner made directly in the store: its cookie and CSRF token.
async fn owner_session(shop: &Shop, expires_in_ms: i64) -> (String, String) {
    let owner = owner(shop).await;
    common::session(
        &shop.store,
        &owner.id,
        &OrgId::new("acme").unwrap(),
        expires_in_ms,
    )
    .await
}

async fn marketing(shop: &Shop) -> bool {
    let owner = owner(shop).await;
    owner.marketing_opt_in
}

#[tokio::test(flavor = "multi_thread")]
async fn state_changes_need_the_sessions_csrf_token_and_this_site() {
    let shop = common::serve(ShopSetup::default()).await;
    let (cookie, csrf) = owner_session(&shop, 3_600_000).await;
    let other_user = chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        "viewer@acme.example",
        "Viewer",
        "viewer password 1",
        &OrgId::new("acme").unwrap(),
        Role::Viewer,
    )
    .await
    .unwrap();
    let (_, other_csrf) = common::session(
        &shop.store,
        &other_user.id,
        &OrgId::new("acme").unwrap(),
        3_600_000,
    )
    .await;
    let url = format!("{}/account/marketing", shop.base);
    let post = |fields: Vec<(&'static str, String)>| {
        client().post(&url).header("cookie", &cookie).form(&fields)
    };
    let opt_in = |csrf: &str| vec![("csrf", csrf.to_owned()), ("marketing", "on".to_owned())];

    let missing = post(vec![("marketing", "on".to_owned())])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    let borrowed = post(opt_in(&other_csrf)).send().await.unwrap();
    assert_eq!(borrowed.status(), 403, "another session's token");
    let wrong_header = client()
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "0000")
        .form(&[("marketing", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_header.status(), 403);
    let cross_site = post(opt_in(&csrf))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403, "started by another site");
    let foreign_origin = post(opt_in(&csrf))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), 403, "from another origin");
    assert!(!marketing(&shop).await, "a refused request changed nothing");

    let genuine = post(opt_in(&csrf)).send().await.unwrap();
    assert!(genuine.status().is_redirection() || genuine.status().is_success());
    assert!(marketing(&shop).await, "the genuine request took effect");

    // JSON calls with a session carry the token in a header.
    let api = format!("{}/api/v1/tokens", shop.base);
    let body = serde_json::json!({ "name": "script", "role": "viewer" });
    let without = client()
        .post(&api)
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let with = client()
        .post(&api)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_sessions_and_expired_or_revoked_tokens_are_refused() {
    let shop = common::serve(ShopSetup::default()).await;
    let me = format!("{}/api/v1/me", shop.base);
    let (expired, _) = owner_session(&shop, -1).await;
    let refused = client()
        .get(&me)
        .header("cookie", &expired)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let page = client()
        .get(format!("{}/account", shop.base))
        .header("cookie", &expired)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "a page sends the browser to sign in");
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in?next=")
    );

    let owner = owner(&shop).await;
    let old = secret::new_secret(secret::API_TOKEN_PREFIX).unwrap();
    shop.store
        .put_api_token(
            &old.hash,
            &ApiToken {
                id: old.public_id.clone(),
                user: owner.id.clone(),
                org: OrgId::new("acme").unwrap(),
                role: Role::Owner,
                name: "expired".into(),
                created_at_ms: 1,
                last_used_ms: None,
                expires_at_ms: Some(2),
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    let answer = client()
        .get(&me)
        .bearer_auth(&old.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401, "an expired token");

    let created: serde_json::Value = client()
        .post(format!("{}/api/v1/tokens", shop.base))
        .bearer_auth(&shop.token)
        .json(&serde_json::json!({ "name": "short-lived", "role": "viewer", "days": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("cht_"));
    let answer = client().get(&me).bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let viewer_write = client()
        .post(format!("{}/api/v1/machines/nope/start", shop.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        viewer_write.status(),
        403,
        "a viewer token cannot operate machines"
    );
    let id = created["id"].as_str().unwrap();
    let revoked = client()
        .delete(format!("{}/api/v1/tokens/{id}", shop.base))
        .bearer_auth(&shop.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let answer = client().get(&me).bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), 401, "a revoked token");
    let listed: serde_json::Value = client()
        .get(format!("{}/api/v1/tokens", shop.base))
        .bearer_auth(&shop.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    assert!(shown["revoked_at_ms"].is_i64());
    assert!(
        shown["last_used_ms"].is_i64(),
        "the last use is shown: {shown}"
    );
    assert!(
        !listed.to_string().contains(token),
        "a token is never shown again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_unsubscribe_link_does_nothing() {
    let shop = common::serve(ShopSetup::default()).await;
    let acme = OrgId::new("acme").unwrap();
    let operator = chatter_server::accounts::operator::add_user;
    let victim = operator(
        shop.store.as_ref(),
        "v@acme.example",
        "V",
        "victim password",
        &acme,
        Role::Viewer,
    )
    .await
    .unwrap();
    let mut opted_in = victim.clone();
    opted_in.marketing_opt_in = true;
    shop.store.put_user(&opted_in).await.unwrap();
    let owner = owner(&shop).await;
    let key = shop.store.server_secret().await.unwrap();
    let owners_signature = secret::sign(&key, &format!("unsubscribe:{}", owner.id));

    let post = |user: &str, signature: &str| {
        client()
            .post(format!("{}/unsubscribe", shop.base))
            .form(&[("user", user), ("signature", signature)])
            .send()
    };
    let forged = post(victim.id.as_str(), &owners_signature).await.unwrap();
    assert_eq!(forged.status(), 400, "someone else's signature");
    let garbled = post(victim.id.as_str(), "zz").await.unwrap();
    assert_eq!(garbled.status(), 400);
    let victim_now = shop.store.user(&victim.id).await.unwrap().unwrap();
    assert!(victim_now.marketing_opt_in, "a forged link changed nothing");

    let genuine = secret::sign(&key, &format!("unsubscribe:{}", victim.id));
    let page = client()
        .get(format!(
            "{}/unsubscribe?user={}&signature={genuine}",
            shop.base, victim.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let done = post(victim.id.as_str(), &genuine).await.unwrap();
    assert!(done.status().is_success(), "{}", done.status());
    let victim_now = shop.store.user(&victim.id).await.unwrap().unwrap();
    assert!(!victim_now.marketing_opt_in);
}

/// The hidden CSRF field of a public form page and the cookie it pairs with.
async fn public_form(base: &str, path: &str) -> (String, String) {
    let page = client().get(format!("{base}{path}")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .find(|cookie| cookie.starts_with("chatter_form="))
        .expect("a public form sets its cookie");
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_reset_link_works_once() {
    if !skip::available("the password-reset test", MailServer::is_available) {
        return;
    }
    let mail = MailServer::start().unwrap();
    let shop = common::serve(ShopSetup {
        smtp_url: Some(mail.url()),
        ..ShopSetup::default()
    })
    .await;
    let (cookie, csrf) = public_form(&shop.base, "/forgot").await;
    let asked = client()
        .post(format!("{}/forgot", shop.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("email", OWNER_EMAIL)])
        .send()
        .await
        .unwrap();
    assert!(asked.status().is_success() || asked.status().is_redirection());
    let message = mail
        .wait_for(
            |m| m.to.iter().any(|to| to.contains(OWNER_EMAIL)),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let link = message
        .link_containing("/reset?token=")
        .expect("the message has the link");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    assert!(
        message.link_containing("/unsubscribe?").is_some(),
        "every message can unsubscribe"
    );

    let reset = |password: &'static str| {
        let (cookie, csrf, token) = (cookie.clone(), csrf.clone(), token.clone());
        let base = shop.base.clone();
        async move {
            client()
                .post(format!("{base}/reset"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("token", token.as_str()),
                    ("password", password),
                    ("password_confirm", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first = reset("a brand new password").await;
    assert!(first.status().is_success(), "{}", first.status());
    let again = reset("an attacker's password").await;
    assert_eq!(again.status(), 400, "the link works once");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("invalid or has expired")
    );

    let (cookie, csrf) = public_form(&shop.base, "/sign-in").await;
    let sign_in = |password: &'static str| {
        client()
            .post(format!("{}/sign-in", shop.base))
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", OWNER_EMAIL),
                ("password", password),
            ])
            .send()
    };
    assert_eq!(sign_in("a brand new password").await.unwrap().status(), 303);
    assert_ne!(
        sign_in(OWNER_PASSWORD).await.unwrap().status(),
        303,
        "the old password is gone"
    );
    assert_ne!(
        sign_in("an attacker's password").await.unwrap().status(),
        303
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_says_nothing_about_which_addresses_exist_and_slows_guessing() {
    let shop = common::serve(ShopSetup::default()).await;
    let (cookie, csrf) = public_form(&shop.base, "/sign-in").await;
    let attempt = |email: &'static str, password: &'static str| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        let base = shop.base.clone();
        async move {
            let response = client()
                .post(format!("{base}/sign-in"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let page = response.text().await.unwrap();
            let notice = page
                .split("id=\"errors\"")
                .nth(1)
                .map(|rest| rest.split("</").next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            (status, notice)
        }
    };
    let unknown = attempt("nobody@acme.example", "some password 1").await;
    let wrong = attempt(OWNER_EMAIL, "some password 1").await;
    assert_eq!(
        unknown, wrong,
        "an unknown address and a wrong password look alike"
    );
    for _ in 0..4 {
        attempt(OWNER_EMAIL, "some password 1").await;
    }
    let (status, _) = attempt(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_ne!(
        status, 303,
        "after 5 failures even the right password waits"
    );
    let records = shop
        .store
        .audit_records(&chatter_store::AuditFilter::All, 0, 1000)
        .await
        .unwrap();
    let failed = records
        .iter()
        .filter(|r| r.entry.action == "session.sign_in_failed")
        .count();
    assert_eq!(failed, 6, "every failed sign-in is in the audit log");
}
