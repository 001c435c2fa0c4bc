//! Report runs through the API and the pages: the catalog with each report's parameters, a run
//! archived with its documents and recommendations, a run that fails keeping what it made,
//! refused requests that run nothing, documents served sandboxed, and who may run reports.

use std::time::Duration;

use crate::common::{self, ShopSetup, get, send};
use chatter_model::{OrgId, Role};
use chatter_store::{Accounts as _, Store as _};
use chatter_testkit::{MailServer, skip};
use reqwest::Method;
use serde_json::{Value, json};

async fn run(base: &str, body: Value) -> (u16, Value) {
    send(
        Method::POST,
        &format!("{base}/api/v1/reports/runs"),
        Some(&body),
    )
    .await
}

/// A shop with two simulated machines that have made some history, and the hostile report.
async fn shop() -> common::Shop {
    let shop = common::serve(ShopSetup {
        simulated: 2,
        plugins: &["hostile-report", "utilization"],
        ..ShopSetup::default()
    })
    .await;
    // The simulators run 600 times faster than real time: a few seconds make an hour or so.
    tokio::time::sleep(Duration::from_secs(3)).await;
    shop
}

fn today() -> (String, String) {
    let now = jiff::Timestamp::now();
    let from = now - jiff::SignedDuration::from_hours(24);
    (from.to_string(), now.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_runs_and_is_archived_with_its_documents() {
    let shop = shop().await;
    let base = &shop.base;

    let (status, catalog) = get(&format!("{base}/api/v1/reports")).await;
    assert_eq!(status, 200, "{catalog}");
    let hostile = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|kind| kind["plugin"] == "hostile-report")
        .unwrap_or_else(|| panic!("{catalog}"));
    assert_eq!(hostile["parameters"]["behaviour"]["type"], "string");
    assert_eq!(
        hostile["parameters"]["behaviour"]["default"],
        "well-behaved"
    );

    let (from, to) = today();
    let (status, run_view) = run(
        base,
        json!({ "plugin": "hostile-report", "from": from, "to": to }),
    )
    .await;
    assert_eq!(status, 201, "{run_view}");
    assert_eq!(run_view["status"]["state"], "succeeded", "{run_view}");
    assert_eq!(run_view["machines"], json!(["mill-1", "mill-2"]));
    assert_eq!(run_view["parameters"]["behaviour"], "well-behaved");
    assert_eq!(run_view["attempts"], 1);
    let id = run_view["id"].as_str().unwrap();

    let csv = common::get_text(&format!(
        "{base}/api/v1/reports/runs/{id}/documents/summary.csv"
    ))
    .await;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "machine,name,running_s,parts,cycles,days");
    assert!(rows[1].starts_with("mill-1,Mill 1,"), "{csv}");
    assert!(rows[2].starts_with("mill-2,Mill 2,"), "{csv}");

    let response = common::request(
        Method::GET,
        &format!("{base}/api/v1/reports/runs/{id}/documents/summary.csv"),
    )
    .send()
    .await
    .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"summary.csv\""
    );
    assert!(header("content-security-policy").starts_with("sandbox;"));

    let (status, runs) = get(&format!("{base}/api/v1/reports/runs")).await;
    assert_eq!(status, 200);
    assert_eq!(runs[0]["id"], id, "newest first: {runs}");
    let (status, missing) = get(&format!(
        "{base}/api/v1/reports/runs/{id}/documents/other.csv"
    ))
    .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("document_not_found"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_archived_as_failed_with_what_it_made() {
    let shop = shop().await;
    let base = &shop.base;
    let (from, to) = today();
    let (status, failed) = run(
        base,
        json!({
            "plugin": "hostile-report",
            "from": from,
            "to": to,
            "parameters": { "behaviour": "fail-after-output" },
        }),
    )
    .await;
    assert_eq!(status, 201, "{failed}");
    assert_eq!(failed["status"]["state"], "failed");
    assert_eq!(failed["status"]["kind"], "plugin_error");
    assert!(
        failed["status"]["message"]
            .as_str()
            .unwrap()
            .contains("gave up after the summary"),
        "{failed}"
    );
    assert_eq!(failed["documents"][0]["name"], "summary.csv", "{failed}");

    let (status, looping) = run(
        base,
        json!({
            "plugin": "hostile-report",
            "from": from,
            "to": to,
            "parameters": { "behaviour": "memory-bomb" },
        }),
    )
    .await;
    assert_eq!(status, 201, "{looping}");
    assert_eq!(looping["status"]["kind"], "memory_limit", "{looping}");
    assert_eq!(looping["documents"][0]["name"], "before.csv", "{looping}");

    // The archive page shows both as failed.
    let page = common::get_text(&format!("{base}/reports")).await;
    assert_eq!(page.matches("data-status=\"failed\"").count(), 2, "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_run_nothing() {
    let shop = shop().await;
    let base = &shop.base;
    let (from, to) = today();
    let cases = [
        (
            json!({ "plugin": "no-such-report", "from": from, "to": to }),
            404,
            "no report `no-such-report` is installed",
        ),
        (
            json!({ "plugin": "simulator", "from": from, "to": to }),
            404,
            "no report `simulator` is installed",
        ),
        (
            json!({ "plugin": "hostile-report", "from": to, "to": from }),
            422,
            "the period must end after it starts",
        ),
        (
            json!({ "plugin": "hostile-report", "from": "2020-01-01", "to": "2022-01-01" }),
            422,
            "at most 400 days",
        ),
        (
            json!({ "plugin": "hostile-report", "from": "2200-01-01", "to": "2200-01-02" }),
            422,
            "the period has not begun yet",
        ),
        (
            json!({ "plugin": "hostile-report", "from": "2999-01-01", "to": "2999-01-02" }),
            400,
            "`2999-01-01` is out of range",
        ),
        (
            json!({ "plugin": "hostile-report", "from": from, "to": to, "machines": ["umbrella-mill"] }),
            422,
            "the organization has no machine `umbrella-mill`",
        ),
        (
            json!({ "plugin": "hostile-report", "from": from, "to": to, "parameters": { "colour": "red" } }),
            422,
            "has no config key `colour`",
        ),
        (
            json!({ "plugin": "utilization", "from": from, "to": to, "parameters": { "long-idle-min": "soon" } }),
            422,
            "is not a valid integer",
        ),
        (
            json!({ "plugin": "hostile-report", "from": "yesterday", "to": to }),
            400,
            "`yesterday`",
        ),
    ];
    for (body, want_status, want_message) in cases {
        let (status, answer) = run(base, body.clone()).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, want_status, "{body}: {answer}");
        assert!(message.contains(want_message), "{body}: {message}");
    }
    let (_, runs) = get(&format!("{base}/api/v1/reports/runs")).await;
    assert_eq!(runs, json!([]), "nothing was archived");
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_read_the_archive_but_do_not_run_reports() {
    let shop = shop().await;
    let base = &shop.base;
    let acme = OrgId::new("acme").unwrap();
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
    let (cookie, csrf) = common::session(&shop.store, &viewer.id, &acme, 60_000).await;
    let (from, to) = today();
    let (status, owners_run) = run(
        base,
        json!({ "plugin": "hostile-report", "from": from, "to": to }),
    )
    .await;
    assert_eq!(status, 201);
    let id = owners_run["id"].as_str().unwrap();

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = client
        .post(format!("{base}/api/v1/reports/runs"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({ "plugin": "hostile-report", "from": from, "to": to }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let page = client
        .get(format!("{base}/reports/runs/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = client
        .get(format!("{base}/reports"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Members and above can run reports"), "{page}");
    assert!(!page.contains("data-test=\"run-report\""), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_page_shows_advice_and_frames_the_html_sandboxed() {
    let shop = shop().await;
    let base = &shop.base;
    let (from, to) = today();
    let (status, run_view) = run(
        base,
        json!({ "plugin": "utilization", "from": from, "to": to }),
    )
    .await;
    assert_eq!(status, 201, "{run_view}");
    assert_eq!(run_view["status"]["state"], "succeeded", "{run_view}");
    let names: Vec<&str> = run_view["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["utilization.csv", "utilization.json", "utilization.html"]
    );
    let id = run_view["id"].as_str().unwrap();

    let page = common::get_text(&format!("{base}/reports/runs/{id}")).await;
    assert!(
        page.contains(&format!(
            "src=\"/reports/runs/{id}/view/utilization.html\" sandbox>"
        )),
        "{page}"
    );
    let framed = common::request(
        Method::GET,
        &format!("{base}/reports/runs/{id}/view/utilization.html"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(framed.status(), 200);
    let csp = framed.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    let html = framed.text().await.unwrap();
    assert!(html.contains("<svg"), "a timeline per machine");
    assert!(!html.contains("<script"), "no scripts");
}

/// A shop that e-mails through `mail`, with a second member (an admin) besides the owner and
/// a viewer; returns the shop and the user ids of owner, admin and viewer.
async fn mailing_shop(mail: &MailServer) -> (common::Shop, [String; 3]) {
    let shop = common::serve(ShopSetup {
        simulated: 2,
        plugins: &["hostile-report", "utilization"],
        smtp_url: Some(mail.url()),
        report_retry_delay_s: Some(0),
        ..ShopSetup::default()
    })
    .await;
    let acme = OrgId::new("acme").unwrap();
    let owner = shop
        .store
        .user_by_email(common::OWNER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let mut ids = vec![owner.id.to_string()];
    for (email, role) in [
        ("planner@acme.example", Role::Admin),
        ("viewer@acme.example", Role::Viewer),
    ] {
        let user = chatter_server::accounts::operator::add_user(
            shop.store.as_ref(),
            email,
            email,
            "member password 1",
            &acme,
            role,
        )
        .await
        .unwrap();
        ids.push(user.id.to_string());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    (shop, ids.try_into().unwrap())
}

async fn create_schedule(base: &str, body: Value) -> (u16, Value) {
    send(
        Method::POST,
        &format!("{base}/api/v1/reports/schedules"),
        Some(&body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_report_arrives_by_e_mail_with_its_documents() {
    if !skip::available("the scheduled report e-mail test", MailServer::is_available) {
        return;
    }
    let mail = MailServer::start().unwrap();
    let (shop, [owner, planner, _viewer]) = mailing_shop(&mail).await;
    let base = &shop.base;
    let (status, schedule) = create_schedule(
        base,
        json!({
            "name": "Morning utilization",
            "plugin": "utilization",
            "cadence": { "every": "day", "at": "06:30" },
            "period": "previous_day",
            "recipients": [owner, planner],
        }),
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    assert!(
        schedule["next_run"]
            .as_str()
            .unwrap()
            .ends_with("06:30:00Z"),
        "{schedule}"
    );
    let id = schedule["id"].as_str().unwrap();

    let (status, run) = send(
        Method::POST,
        &format!("{base}/api/v1/reports/schedules/{id}/run"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"]["state"], "succeeded", "{run}");
    assert_eq!(run["title"], "Morning utilization");
    assert_eq!(
        run["trigger"],
        json!({ "kind": "schedule", "schedule": id })
    );
    let run_id = run["id"].as_str().unwrap();
    let yesterday = (jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date())
    .yesterday()
    .unwrap()
    .to_string();
    assert!(
        run["from"].as_str().unwrap().starts_with(&yesterday),
        "{run}"
    );

    let csv = common::get_text(&format!(
        "{base}/api/v1/reports/runs/{run_id}/documents/utilization.csv"
    ))
    .await;
    for recipient in [common::OWNER_EMAIL, "planner@acme.example"] {
        let message = mail
            .wait_for(|m| m.to == [recipient], Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(message.subject, format!("Morning utilization: {yesterday}"));
        assert!(
            message.text.contains(&format!("/reports/runs/{run_id}")),
            "{}",
            message.text
        );
        let attached: Vec<(&str, &str)> = message
            .attachments
            .iter()
            .map(|(name, media, _)| (name.as_str(), media.as_str()))
            .collect();
        assert_eq!(
            attached,
            [
                ("utilization.csv", "text/csv"),
                ("utilization.json", "application/json"),
                ("utilization.html", "text/html"),
            ]
        );
        assert_eq!(message.attachments[0].2, csv.as_bytes(), "the archived CSV");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        mail.messages()
            .iter()
            .all(|m| m.to != ["viewer@acme.example"]),
        "only the recipients"
    );
    let (_, schedule) = get(&format!("{base}/api/v1/reports/schedules/{id}")).await;
    assert_eq!(schedule["last_run"], run_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_schedule_is_retried_then_archived_and_mailed_as_failed() {
    if !skip::available("the failing schedule test", MailServer::is_available) {
        return;
    }
    let mail = MailServer::start().unwrap();
    let (shop, [owner, ..]) = mailing_shop(&mail).await;
    let base = &shop.base;
    let (status, schedule) = create_schedule(
        base,
        json!({
            "name": "Fragile report",
            "plugin": "hostile-report",
            "parameters": { "behaviour": "fail-after-output" },
            "cadence": { "every": "week", "day": "mon", "at": "07:00" },
            "period": "previous_week",
            "recipients": [owner],
        }),
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    let id = schedule["id"].as_str().unwrap();
    let (status, run) = send(
        Method::POST,
        &format!("{base}/api/v1/reports/schedules/{id}/run"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"]["state"], "failed", "{run}");
    assert_eq!(run["attempts"], 3, "retried: {run}");
    assert_eq!(run["documents"][0]["name"], "summary.csv", "kept: {run}");
    let message = mail
        .wait_for(|m| m.to == [common::OWNER_EMAIL], Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        message.subject.starts_with("Fragile report failed: "),
        "{}",
        message.subject
    );
    assert!(
        message.text.contains("did not finish after 3 attempts"),
        "{}",
        message.text
    );
    assert_eq!(message.attachments.len(), 1, "what it made is attached");
    let page = common::get_text(&format!("{base}/reports")).await;
    assert!(page.contains("data-status=\"failed\""), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_are_checked_before_they_are_saved() {
    let shop = shop().await;
    let base = &shop.base;
    let good = json!({
        "name": "Nightly",
        "plugin": "utilization",
        "cadence": { "every": "day", "at": "06:30" },
        "period": "previous_day",
    });
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("name", json!("  ")), "1 to 100 characters"),
        (
            with("plugin", json!("simulator")),
            "no report `simulator` is installed",
        ),
        (
            with(
                "cadence",
                json!({ "every": "cron", "expression": "0 25 * * *" }),
            ),
            "cron field hour `25`: 25 is outside 0–23",
        ),
        (
            with(
                "cadence",
                json!({ "every": "cron", "expression": "0 0 31 2 *" }),
            ),
            "never runs",
        ),
        (
            with("recipients", json!(["someone-else"])),
            "`someone-else` is not a member",
        ),
        (
            with("machines", json!(["umbrella-mill"])),
            "no machine `umbrella-mill`",
        ),
        (
            with("parameters", json!({ "long-idle-min": "soon" })),
            "is not a valid integer",
        ),
        (
            with("cadence", json!({ "every": "day", "at": "25:00" })),
            "25:00",
        ),
    ];
    for (body, want) in cases {
        let (status, answer) = create_schedule(base, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(want), "{body}: {message}");
    }
    let (_, schedules) = get(&format!("{base}/api/v1/reports/schedules")).await;
    assert_eq!(schedules, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_runs_by_itself_when_it_is_due() {
    let shop = shop().await;
    let base = &shop.base;
    let (status, schedule) = create_schedule(
        base,
        json!({
            "name": "Every minute",
            "plugin": "hostile-report",
            "cadence": { "every": "cron", "expression": "* * * * *" },
            "period": "previous_day",
        }),
    )
    .await;
    assert_eq!(status, 201, "{schedule}");
    let id = schedule["id"].as_str().unwrap().to_owned();
    let runs = common::wait_for(
        &format!("{base}/api/v1/reports/runs"),
        Duration::from_secs(90),
        |runs| {
            runs.as_array().is_some_and(|runs| {
                runs.iter().any(|r| {
                    r["trigger"]["schedule"] == id.as_str() && r["status"]["state"] != "running"
                })
            })
        },
    )
    .await;
    let run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["trigger"]["schedule"] == id.as_str())
        .unwrap_or_else(|| panic!("no scheduled run within 90 s: {runs}"));
    assert_eq!(run["status"]["state"], "succeeded", "{run}");
    assert_eq!(run["title"], "Every minute");
}

/// Stores `days` days of a realistic shop (`chatter_testkit::sample`) for three machines fed by
/// an edge, ending at today's midnight (UTC), and a two-shift schedule.
async fn realistic_history(shop: &common::Shop, days: i64) {
    use chatter_testkit::sample::{DAY, Random, edge_machine, machine_day};
    let acme = OrgId::new("acme").unwrap();
    let midnight = chatter_model::now_ms() * 1_000_000 / DAY * DAY;
    for (n, name) in ["Mill 1", "Lathe 2", "5-axis 3"].into_iter().enumerate() {
        let id = chatter_model::MachineId::new(format!("cell-{}", n + 1)).unwrap();
        let machine = edge_machine(&acme, id.as_str(), name);
        shop.store.put_machine(&machine).await.unwrap();
        let mut random = Random::new(n as u64 + 11);
        let mut counter = 0;
        for d in (1..=days).rev() {
            let records = machine_day(&mut random, midnight - d * DAY, &mut counter);
            let derived = chatter_store::DerivedRecords {
                intervals: &records.intervals,
                parts: &records.parts,
                cycles: &records.cycles,
                alarms: &records.alarms,
                snapshot: b"{}",
            };
            shop.store.put_derived(&acme, &id, derived).await.unwrap();
        }
    }
    let shifts = json!({ "shifts": [
        { "name": "First", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "06:00", "end": "14:00" },
        { "name": "Second", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "14:00", "end": "22:00" },
    ]});
    let (status, answer) = send(
        Method::PUT,
        &format!("{}/api/v1/shifts", shop.base),
        Some(&shifts),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_renders_in_chromium() {
    if !skip::available(
        "the report screenshot",
        chatter_testkit::Browser::is_available,
    ) {
        return;
    }
    let shop = common::serve(ShopSetup {
        plugins: &["utilization"],
        ..ShopSetup::default()
    })
    .await;
    realistic_history(&shop, 3).await;
    let browser = chatter_testkit::Browser::start().await.unwrap();
    browser.set_window_size(1280, 1600).await.unwrap();
    browser
        .sign_in(&shop.base, common::OWNER_EMAIL, common::OWNER_PASSWORD)
        .await
        .unwrap();
    browser
        .goto(&format!("{}/reports", shop.base))
        .await
        .unwrap();
    // The form's period is yesterday and today: yesterday has a full day of history.
    browser
        .click("form[data-report=utilization] [data-test=run-report]")
        .await
        .unwrap();
    let status = browser
        .wait_for("#run-status", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(status.text().await.unwrap(), "succeeded");
    let advice = browser.text("#recommendations").await.unwrap();
    assert!(
        advice.contains("Second") || advice.contains("First"),
        "{advice}"
    );
    browser.screenshot("report-run").await.unwrap();

    let frame = browser
        .wait_for("#report-frame", Duration::from_secs(5))
        .await
        .unwrap();
    let src = frame.attr("src").await.unwrap().unwrap();
    browser.goto(&format!("{}{src}", shop.base)).await.unwrap();
    let heading = browser
        .wait_for("h1", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!heading.text().await.unwrap().is_empty());
    let page = browser.client().source().await.unwrap();
    let charts = page.matches("<svg").count();
    assert!(charts >= 3, "a timeline per machine: {charts}");
    for name in ["Mill 1", "Lathe 2", "5-axis 3", "First", "Second"] {
        assert!(page.contains(name), "{name} in the report");
    }
    let saved = browser.screenshot("report-utilization").await.unwrap();
    assert!(
        std::fs::metadata(saved).unwrap().len() > 10_000,
        "a real picture"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn oee_and_downtime_run_over_a_realistic_shop() {
    let shop = common::serve(ShopSetup {
        plugins: &["oee", "downtime"],
        ..ShopSetup::default()
    })
    .await;
    realistic_history(&shop, 2).await;
    let midnight = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .unwrap();
    let from = midnight.yesterday().unwrap().timestamp().to_string();
    let to = midnight.timestamp().to_string();
    let machines = json!(["cell-1", "cell-2", "cell-3"]);

    let (status, oee) = run(
        &shop.base,
        json!({
            "plugin": "oee",
            "from": from,
            "to": to,
            "machines": machines,
            "parameters": { "ideal-cycle-s": "O1234=420", "scrap": "cell-1=2, cell-2=0" },
        }),
    )
    .await;
    assert_eq!(status, 201, "{oee}");
    assert_eq!(oee["status"]["state"], "succeeded", "{oee}");
    let csv = common::get_text(&format!(
        "{}/api/v1/reports/runs/{}/documents/oee.csv",
        shop.base,
        oee["id"].as_str().unwrap()
    ))
    .await;
    let all_row = |machine: &str| {
        csv.lines()
            .find(|line| line.starts_with(&format!("{machine},")) && line.contains(",all,"))
            .unwrap_or_else(|| panic!("no `all` row of {machine} in {csv}"))
            .to_owned()
    };
    // Scrap was recorded for cell-1 and cell-2 only: cell-3's quality and OEE are unknown.
    assert!(all_row("cell-3").contains("scrap not recorded"), "{csv}");
    assert!(!all_row("cell-1").contains("scrap not recorded"), "{csv}");

    let (status, bad) = run(
        &shop.base,
        json!({
            "plugin": "oee",
            "from": from,
            "to": to,
            "parameters": { "ideal-cycle-s": "O1234=abc" },
        }),
    )
    .await;
    assert_eq!(status, 201, "{bad}");
    assert_eq!(bad["status"]["kind"], "plugin_error", "{bad}");
    assert!(
        bad["status"]["message"]
            .as_str()
            .unwrap()
            .contains("O1234=abc"),
        "{bad}"
    );

    let (status, downtime) = run(
        &shop.base,
        json!({ "plugin": "downtime", "from": from, "to": to, "machines": machines }),
    )
    .await;
    assert_eq!(status, 201, "{downtime}");
    assert_eq!(downtime["status"]["state"], "succeeded", "{downtime}");
    let names: Vec<&str> = downtime["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"downtime.csv") && names.contains(&"downtime.html"),
        "{names:?}"
    );
    let alarms = common::get_text(&format!(
        "{}/api/v1/reports/runs/{}/documents/downtime-alarms.csv",
        shop.base,
        downtime["id"].as_str().unwrap()
    ))
    .await;
    assert!(alarms.contains("1010"), "the sample shop's alarm: {alarms}");
}
