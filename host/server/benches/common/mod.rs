//! What the benchmarks share: an owner's API token for the served organization, and the
//! sign-in form's cookie and CSRF token.

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

/// The form cookie and CSRF token of the sign-in page at `base`.
#[allow(dead_code, reason = "not every benchmark signs in through the form")]
pub async fn sign_in_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client.get(format!("{base}/sign-in")).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap();
    (cookie, csrf.split('"').next().unwrap().to_owned())
}
