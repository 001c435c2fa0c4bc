//! Shift schedules through the API and the organization page: any member reads them with the
//! organization's time zone, only owners replace them, a schedule that does not hold together
//! is refused with what is wrong and nothing saved, and each replacement is audited.

use crate::common;

use crate::common::{OWNER_EMAIL, ShopSetup, get, send};
use chatter_model::{OrgId, Role};
use reqwest::Method;
use serde_json::json;

fn url(shop: &common::Shop, path: &str) -> String {
    format!("{}{path}", shop.base)
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_replace_the_schedule_and_everyone_reads_it() {
    let shop = common::serve(ShopSetup {
        time_zone: Some("America/Chicago"),
        ..ShopSetup::default()
    })
    .await;
    let shifts = url(&shop, "/api/v1/shifts");
    let (status, body) = get(&shifts).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "time_zone": "America/Chicago", "shifts": [] })
    );

    let schedule = json!({ "shifts": [
        { "name": " First ", "days": ["fri", "mon", "tue", "wed", "thu"], "start": "06:00", "end": "14:00" },
        { "name": "Night", "days": ["sunday", "mon"], "start": "22:00", "end": "06:00" },
    ] });
    let (status, body) = send(Method::PUT, &shifts, Some(&schedule)).await;
    assert_eq!(status, 200, "{body}");
    let saved = json!({ "time_zone": "America/Chicago", "shifts": [
        { "name": "First", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00" },
        { "name": "Night", "days": ["mon", "sun"], "start": "22:00", "end": "06:00" },
    ] });
    assert_eq!(body, saved);
    assert_eq!(get(&shifts).await.1, saved);

    // Sunday's night runs into Monday's early start.
    let overlapping = json!({ "shifts": [
        { "name": "Night", "days": ["sun"], "start": "22:00", "end": "06:00" },
        { "name": "Early", "days": ["mon"], "start": "05:00", "end": "13:00" },
    ] });
    let (status, body) = send(Method::PUT, &shifts, Some(&overlapping)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_shifts");
    assert_eq!(
        body["error"]["message"],
        "shifts: shifts `Night` (sun 22:00-06:00) and `Early` (mon 05:00-13:00) overlap"
    );
    let bad_time = json!({ "shifts": [
        { "name": "Late", "days": ["mon"], "start": "14:00", "end": "25:00" },
    ] });
    let (status, body) = send(Method::PUT, &shifts, Some(&bad_time)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_body");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`25:00` is not a time of day"),
        "{message}"
    );
    assert_eq!(
        get(&shifts).await.1,
        saved,
        "refused schedules change nothing"
    );

    // An admin reads but does not change them.
    let acme = OrgId::new("acme").unwrap();
    chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        "admin@acme.example",
        "Admin",
        "admin password 1",
        &acme,
        Role::Admin,
    )
    .await
    .unwrap();
    let admin = chatter_server::accounts::operator::create_token(
        shop.store.as_ref(),
        "admin@acme.example",
        &acme,
        Role::Admin,
        "tests",
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let read = client
        .get(&shifts)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let change = client
        .put(&shifts)
        .bearer_auth(&admin)
        .json(&json!({ "shifts": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 403);
    assert_eq!(get(&shifts).await.1, saved);

    let (_, audit) = get(&url(&shop, "/api/v1/audit")).await;
    let updates: Vec<&serde_json::Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["action"] == "org.shifts_update")
        .collect();
    assert_eq!(updates.len(), 1, "{audit}");
    assert_eq!(updates[0]["details"], json!([["shifts", "2"]]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_organization_page_writes_shifts_one_a_line() {
    use chatter_store::{Accounts as _, Store as _};
    let shop = common::serve(ShopSetup::default()).await;
    let acme = OrgId::new("acme").unwrap();
    let owner = shop
        .store
        .user_by_email(OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let (cookie, csrf) = common::session(&shop.store, &owner.id, &acme, 3_600_000).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |text: &str| {
        client
            .post(url(&shop, "/organization/shifts"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("shifts", text)])
            .send()
    };

    let refused = post("First: mon-fri 06:00-14:00\nSecond mon-fri 14:00-22:00")
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Line 2: write a shift as `Name: days start-end`"),
        "{page}"
    );
    // What was sent is still in the box, to correct.
    assert!(
        page.contains("Second mon-fri 14:00-22:00</textarea>"),
        "{page}"
    );

    let overlapping = post("First: mon-fri 06:00-14:00\nLate: wed 13:00-21:00")
        .await
        .unwrap();
    assert_eq!(overlapping.status(), 422);
    let page = overlapping.text().await.unwrap();
    assert!(
        page.contains("Shifts `First` (wed 06:00-14:00) and `Late` (wed 13:00-21:00) overlap"),
        "{page}"
    );

    let saved = post("First: mon-fri 06:00-14:00\nNight: sun-thu 22:00-06:00\n")
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(
        saved.headers()["location"],
        "/organization?done=shifts_saved"
    );
    let organization = shop.store.organization(&acme).await.unwrap().unwrap();
    assert_eq!(organization.shifts.len(), 2);

    let page = client
        .get(url(&shop, "/organization?done=shifts_saved"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Shifts saved."), "{page}");
    assert!(page.contains(r#"<tr data-shift="Night">"#), "{page}");
    assert!(page.contains("<td>sun-thu</td>"), "{page}");
    assert!(
        page.contains("First: mon-fri 06:00-14:00\nNight: sun-thu 22:00-06:00\n</textarea>"),
        "{page}"
    );
}
