//! What the benchmarks share: an owner's API token for the served organization, and signing
//! that owner in through the form.

use chatter_model::{OrgId, Organization, Role};
use chatter_server::accounts::operator;

/// An owner's API token for `org`, made as `chatter user add` and `chatter token create` do.
pub async fn owner_token(store: &dyn chatter_store::Store, org: &OrgId) -> String {
    let shop = Organization::new(org.clone(), "Bench shop");
    store.put_organization(&shop).await.unwrap();
    let email = "bench@shop.example";
    operator::add_user(store, email, "Bench", "bench password", org, Role::Owner)
        .await
        .unwrap();
    operator::create_token(store, email, org, Role::Owner, "bench")
        .await
        .unwrap()
}

/// Signs the bench user in at `base` through the sign-in form; returns the session cookie
/// (`name=value`).
#[allow(dead_code, reason = "not every benchmark signs in through the form")]
pub async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let page = client.get(format!("{base}/sign-in")).send().await.unwrap();
    let form_cookie = page.headers()["set-cookie"].to_str().unwrap();
    let form_cookie = form_cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap();
    let csrf = csrf.split('"').next().unwrap();
    let form = [
        ("csrf", csrf),
        ("email", "bench@shop.example"),
        ("password", "bench password"),
    ];
    let response = client
        .post(format!("{base}/sign-in"))
        .header("cookie", form_cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let session = response.headers()["set-cookie"].to_str().unwrap();
    session.split(';').next().unwrap().to_owned()
}
