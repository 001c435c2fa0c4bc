//! Floor screens: the tiles the dashboard and TV mode draw, and wall displays — connected with
//! a revocable display token that reaches TV mode and its data and nothing else, and that a
//! display notices being revoked (in a real headless Chromium).

use crate::common;

use std::time::Duration;

use crate::common::{Shop, send};
use chatter_model::{OrgId, Role};
use chatter_store::Accounts as _;
use chatter_testkit::{Browser, skip};
use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

/// A client that shows redirects instead of following them, with no credentials of its own.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn create_display(shop: &Shop, name: &str) -> (String, String) {
    let (status, body) = send(
        Method::POST,
        &format!("{}/api/v1/device-tokens", shop.base),
        Some(&json!({ "name": name, "kind": "display" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("chs_"), "{token}");
    (token, body["id"].as_str().unwrap().to_owned())
}

/// Connects a display with `code` through the connect form; returns the answer's status,
/// `Location` and the display cookie it set, if any.
async fn connect(shop: &Shop, code: &str) -> (u16, String, Option<String>) {
    let client = bare_client();
    let page = client
        .get(format!("{}/tv/connect", shop.base))
        .send()
        .await
        .unwrap();
    let form_cookie = cookie_named(&page, "chatter_form").unwrap();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let answer = client
        .post(format!("{}/tv/connect", shop.base))
        .header("cookie", form_cookie)
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap();
    let location = answer
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let display = cookie_named(&answer, "chatter_display");
    (answer.status().as_u16(), location, display)
}

/// `name=value` of the cookie `name` a response sets.
fn cookie_named(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap().to_owned())
}

async fn get_with(shop: &Shop, path: &str, cookie: &str) -> reqwest::Response {
    bare_client()
        .get(format!("{}{path}", shop.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wall_display_sees_its_organization_until_revoked() {
    let shop = common::shop(2).await;
    let (code, id) = create_display(&shop, "Bay 2 TV").await;

    // A wrong code, and an edge connector's token, connect nothing.
    let (status, _, cookie) = connect(&shop, "chs_0123456789").await;
    assert_eq!((status, cookie), (422, None));
    let (status, edge) = send(
        Method::POST,
        &format!("{}/api/v1/device-tokens", shop.base),
        Some(&json!({ "name": "Edge box" })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, cookie) = connect(&shop, edge["token"].as_str().unwrap()).await;
    assert_eq!((status, cookie), (422, None));

    let (status, location, cookie) = connect(&shop, &code).await;
    assert_eq!((status, location.as_str()), (303, "/tv"));
    let display = cookie.expect("connecting sets the display cookie");

    // TV mode and its data show this organization's machines, not another's.
    let tv = get_with(&shop, "/tv", &display).await;
    assert_eq!(tv.status(), 200);
    let html = tv.text().await.unwrap();
    assert!(html.contains("Mill 1") && html.contains("Mill 2"), "{html}");
    assert!(!html.contains("secret"), "{html}");
    assert!(
        !html.contains("/machines/mill-1"),
        "tiles do not link on a display"
    );
    let tiles: Value = get_with(&shop, "/floor/tiles", &display)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = tiles["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tile| tile["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mill-1", "mill-2"]);

    // Nothing else: not the dashboard, a machine's page, the API, or sending data.
    for path in ["/", "/members", "/displays"] {
        let answer = get_with(&shop, path, &display).await;
        let location = answer.headers().get("location").unwrap().to_str().unwrap();
        assert!(location.starts_with("/sign-in"), "{path}: {location}");
    }
    let api = get_with(&shop, "/api/v1/machines", &display).await;
    assert_eq!(api.status(), 401);
    let bearer = bare_client()
        .get(format!("{}/api/v1/machines", shop.base))
        .bearer_auth(&code)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401);
    let ingest = bare_client()
        .post(format!("{}/api/v1/ingest", shop.base))
        .bearer_auth(&code)
        .json(&json!({ "items": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 401);

    // An open stream ends once the display is revoked; from then on it is refused.
    let mut stream = get_with(&shop, "/floor/events", &display).await;
    assert_eq!(stream.status(), 200);
    let (status, _) = send(
        Method::DELETE,
        &format!("{}/api/v1/device-tokens/{id}", shop.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let ended = tokio::time::timeout(Duration::from_secs(45), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the revoked display's stream stayed open");
    assert_eq!(
        get_with(&shop, "/floor/tiles", &display).await.status(),
        401
    );
    let tv = get_with(&shop, "/tv", &display).await;
    assert_eq!(
        tv.headers().get("location").unwrap().to_str().unwrap(),
        "/tv/connect"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tiles_count_todays_parts_and_hide_setup_from_viewers() {
    let shop = common::shop(1).await;
    let machine = format!("{}/api/v1/machines/mill-1", shop.base);
    let (status, body) = send(
        Method::PUT,
        &machine,
        Some(&json!({
            "driver": "simulator",
            "name": "Mill 1",
            "group": "Cell A",
            "daily_part_goal": 250,
            "poll_interval_ms": 50,
            "config": { "seed": 1, "speed": 600 },
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Let parts accumulate, then freeze the machine so the counts can be compared.
    common::wait_for(
        &format!("{}/api/v1/summary", shop.base),
        Duration::from_secs(60),
        |summary| summary["totals"]["parts"].as_u64().unwrap_or(0) > 0,
    )
    .await;
    let (status, _) = send(Method::POST, &format!("{machine}/stop"), None).await;
    assert_eq!(status, 200);

    let acme = OrgId::new("acme").unwrap();
    let owner = shop
        .store
        .user_by_email(common::OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let (owner_cookie, _) = common::session(&shop.store, &owner.id, &acme, 60_000).await;
    let tiles: Value = get_with(&shop, "/floor/tiles", &owner_cookie)
        .await
        .json()
        .await
        .unwrap();
    let tile = &tiles["tiles"][0];
    let (_, summary) = common::get(&format!("{}/api/v1/summary", shop.base)).await;
    assert_eq!(
        tile["parts_today"], summary["totals"]["parts"],
        "{tile} {summary}"
    );
    assert_eq!(tile["goal"], 250);
    assert_eq!(tile["group"], "Cell A");
    assert_eq!(tile["collection"], "Not collecting");

    let dashboard = get_with(&shop, "/?state=offline&group=Cell%20A", &owner_cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("id=\"add-machine\""));
    assert!(dashboard.contains("<option value=\"Cell A\" selected>"));
    assert!(dashboard.contains("of 250"), "the goal is shown");

    let viewer = chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        "viewer@acme.example",
        "Viewer",
        "viewer password 1",
        &acme,
        Role::Viewer,
    )
    .await
    .unwrap();
    let (viewer_cookie, _) = common::session(&shop.store, &viewer.id, &acme, 60_000).await;
    let dashboard = get_with(&shop, "/", &viewer_cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Mill 1"));
    assert!(!dashboard.contains("/machines/new"), "{dashboard}");
    let displays = get_with(&shop, "/displays", &viewer_cookie).await;
    assert_eq!(displays.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_display_says_so_on_screen() {
    if !skip::available("the wall display in a browser", Browser::is_available) {
        return;
    }
    let shop = common::shop(3).await;
    let (code, id) = create_display(&shop, "Shop floor TV").await;
    let browser = Browser::start().await.unwrap();
    // The link an admin opens on the display: the code rides in the fragment.
    browser
        .goto(&format!("{}/tv/connect#{code}", shop.base))
        .await
        .unwrap();
    browser
        .wait_for("body.layout-tv #tiles .tile", Duration::from_secs(20))
        .await
        .unwrap();
    browser
        .wait_for_text("#connection", "Live", Duration::from_secs(20))
        .await
        .unwrap();
    let (status, _) = send(
        Method::DELETE,
        &format!("{}/api/v1/device-tokens/{id}", shop.base),
        None,
    )
    .await;
    assert_eq!(status, 204);
    browser
        .wait_for_text("#tv-notice", "disconnected", Duration::from_secs(90))
        .await
        .unwrap();
    browser.screenshot("tv-disconnected").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machines_page_follows_its_state_live() {
    if !skip::available("the machine page in a browser", Browser::is_available) {
        return;
    }
    let shop = common::shop(1).await;
    let browser = Browser::start().await.unwrap();
    browser
        .sign_in(&shop.base, common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await
        .unwrap();
    browser
        .goto(&format!("{}/machines/mill-1", shop.base))
        .await
        .unwrap();
    let status = || async {
        browser
            .client()
            .execute(
                "window.chatterSamePage = window.chatterSamePage || 'set';
                 return [document.getElementById('machine-status').dataset.status,
                         document.getElementById('machine-status').textContent,
                         window.chatterSamePage];",
                Vec::new(),
            )
            .await
            .unwrap()
    };
    let before = status().await;
    let started = std::time::Instant::now();
    let mut after = before.clone();
    while after[0] == before[0] && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = status().await;
    }
    assert_ne!(after[0], before[0], "the state never changed on the page");
    assert_eq!(
        after[1].as_str().unwrap().to_lowercase(),
        after[0].as_str().unwrap(),
        "the label follows the state"
    );
    assert_eq!(after[2], "set", "the page was reloaded");
}
