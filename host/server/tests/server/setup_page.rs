//! Setting machines up in the web pages: adding a machine through the form starts its driver;
//! a bad endpoint, a bad setting or a taken id shows the message beside its field (wired with
//! `aria-describedby`) and creates nothing; an existing machine is edited, disabled, enabled
//! and deleted, the deletion page saying what goes; a connection test reports what the driver
//! found — or why it could not connect — and stores nothing, in the page and in the API; a
//! viewer can open none of it. Then the same form in a real headless Chromium, at desktop and
//! phone width (screenshots in `target/artifacts/`).

use crate::common;

use std::time::Duration;

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Shop, ShopSetup, get, send, wait_for};
use chatter_model::{MachineId, OrgId, Role};
use chatter_store::{Accounts, Store};
use chatter_testkit::{Browser, skip};
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A shop with the simulator and the SHDR driver, whose drivers may reach loopback addresses.
async fn shop() -> Shop {
    common::serve(ShopSetup {
        plugins: &["shdr"],
        allow_loopback: true,
        ..ShopSetup::default()
    })
    .await
}

fn acme() -> OrgId {
    OrgId::new("acme").unwrap()
}

/// A signed-in browser, as plain HTTP: its session cookie and CSRF token.
struct Page {
    base: String,
    cookie: String,
    csrf: String,
    client: reqwest::Client,
}

/// What the server answered: status, where it redirects, and the body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Page {
    async fn of(shop: &Shop, user: &chatter_model::UserId) -> Page {
        let (cookie, csrf) = common::session(&shop.store, user, &acme(), 3_600_000).await;
        Page {
            base: shop.base.clone(),
            cookie,
            csrf,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn owner(shop: &Shop) -> Page {
        let owner = shop
            .store
            .user_by_email(OWNER_EMAIL)
            .await
            .unwrap()
            .unwrap();
        Page::of(shop, &owner.id).await
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        Answer {
            status,
            location,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// Posts `fields` and the CSRF token as the page's form would.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }
}

/// The start tag of the element whose id is `id`.
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(" id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no element #{id} in the page:\n{html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The text of the element whose id is `id`, tags removed.
fn text_of(html: &str, id: &str) -> String {
    let open = tag(html, id);
    let start = html.find(open).unwrap() + open.len();
    let name = open[1..]
        .split(|c: char| c.is_whitespace() || c == '>')
        .next()
        .unwrap();
    let end = start + html[start..].find(&format!("</{name}>")).unwrap();
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Asserts that the input `input` shows `message` beside it: marked invalid, described by its
/// error, which says `message`, and listed in the summary above the form.
fn assert_beside(html: &str, input: &str, message: &str) {
    let element = tag(html, input);
    assert!(
        element.contains("aria-invalid=\"true\""),
        "#{input} is not marked invalid: {element}"
    );
    let described = element
        .split("aria-describedby=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("#{input} has no aria-describedby: {element}"));
    let error_id = format!("{input}-error");
    assert!(
        described.split(' ').any(|id| id == error_id),
        "#{input} is not described by its error: {element}"
    );
    let error = text_of(html, &error_id);
    assert!(
        error.contains(message),
        "#{error_id} says {error:?}, not {message:?}"
    );
    let summary = text_of(html, "errors");
    assert!(
        summary.contains(message),
        "the summary says {summary:?}, not {message:?}"
    );
    assert!(
        html.contains(&format!("href=\"#{input}\"")),
        "the summary does not link to #{input}"
    );
}

/// A simulated machine's form fields.
fn simulator_form<'a>(id: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("driver", "simulator"),
        ("name", name),
        ("id", id),
        ("group", "Cell A"),
        ("daily_part_goal", "120"),
        ("endpoints[0].name", ""),
        ("endpoints[0].host", ""),
        ("endpoints[0].port", ""),
        ("poll_interval_ms", "50"),
        ("config.seed", "7"),
        ("config.speed", "600"),
        ("config.start", ""),
        ("config.max-batch", ""),
    ]
}

/// An SHDR machine's form fields, its adapter at `host:port`.
fn shdr_form<'a>(id: &'a str, host: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("driver", "shdr"),
        ("name", "Okuma lathe"),
        ("id", id),
        ("group", ""),
        ("daily_part_goal", ""),
        ("endpoints[0].name", "adapter"),
        ("endpoints[0].host", host),
        ("endpoints[0].port", port),
        ("poll_interval_ms", "100"),
        ("config.connect-timeout-ms", "500"),
    ]
}

async fn machine_ids(shop: &Shop) -> Vec<String> {
    let (status, listed) = get(&format!("{}/api/v1/machines", shop.base)).await;
    assert_eq!(status, 200, "{listed}");
    listed["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|machine| machine["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn audit_actions(shop: &Shop) -> Vec<Value> {
    let (status, audit) = get(&format!("{}/api/v1/audit?limit=100", shop.base)).await;
    assert_eq!(status, 200, "{audit}");
    audit["records"].as_array().unwrap().clone()
}

/// A port of 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_added_through_the_form_runs_its_driver() {
    let shop = shop().await;
    let page = Page::owner(&shop).await;

    // The dashboard leads to the form, which offers each installed driver with its description.
    let dashboard = page.get("/").await;
    assert!(dashboard.body.contains("href=\"/machines/new\""));
    let form = page.get("/machines/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    for driver in ["simulator", "shdr"] {
        tag(&form.body, &format!("driver-{driver}"));
    }
    assert!(text_of(&form.body, "driver-shdr-about").contains("MTConnect adapter"));

    // Choosing a driver draws its settings from its manifest: the description as the hint,
    // the default as the placeholder, the type deciding the input.
    let form = page.get("/machines/new?driver=simulator").await;
    let speed = tag(&form.body, "config-speed");
    assert!(speed.contains("placeholder=\"60.0\""), "{speed}");
    assert!(speed.contains("inputmode=\"decimal\""), "{speed}");
    assert!(text_of(&form.body, "config-speed-hint").contains("faster than real time"));
    let shdr = page.get("/machines/new?driver=shdr").await;
    assert!(
        tag(&shdr.body, "endpoint-0-name").contains("value=\"adapter\""),
        "the row is named as the driver reads it"
    );
    let flag = tag(&shdr.body, "config-accept-empty-timestamps");
    assert!(flag.starts_with("<select"), "{flag}");

    let added = page
        .post("/machines", &simulator_form("lathe-7", "Lathe 7"))
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        added.location.as_deref(),
        Some("/machines/lathe-7?done=machine_added")
    );
    assert_eq!(machine_ids(&shop).await, ["lathe-7"]);
    let machine_url = format!("{}/api/v1/machines/lathe-7", shop.base);
    let machine = wait_for(&machine_url, WAIT, |m| {
        m["driver_health"]["status"]["state"] == "running" && m["last_update_ms"].is_i64()
    })
    .await;
    assert_eq!(
        machine["driver_health"]["status"]["state"], "running",
        "{machine}"
    );
    assert_eq!(machine["name"], "Lathe 7");
    assert_eq!(machine["group"], "Cell A");
    assert_eq!(machine["daily_part_goal"], 120);
    assert_eq!(machine["poll_interval_ms"], 50);
    assert_eq!(machine["config"], json!({ "seed": "7", "speed": "600" }));
    assert_eq!(machine["endpoints"], json!([]));

    // The audit log says who added which machine, and nothing of its settings.
    let records = audit_actions(&shop).await;
    let created = records
        .iter()
        .find(|record| record["action"] == "machine.create")
        .expect("machine.create is recorded");
    let details = created["details"].to_string();
    assert_eq!(
        created["details"],
        json!([["driver", "simulator"], ["machine", "lathe-7"]]),
        "{created}"
    );
    assert!(!details.contains("600"), "{details}");
    assert!(!created.to_string().contains("Lathe 7"), "{created}");
    assert!(created["actor"].is_string(), "{created}");

    // Its group is offered for the next machine.
    let form = page.get("/machines/new").await;
    assert!(form.body.contains("<option value=\"Cell A\">"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_setups_show_the_error_beside_the_field_and_save_nothing() {
    let shop = shop().await;
    let page = Page::owner(&shop).await;

    let bad_host = page
        .post("/machines", &shdr_form("okuma", "10.0.0.300", "7878"))
        .await;
    assert_eq!(bad_host.status, 422, "{}", bad_host.body);
    assert_beside(
        &bad_host.body,
        "endpoint-0-host",
        "“10.0.0.300” is not a host name or IP address.",
    );
    // What was typed is kept, and the port, which was right, is not blamed.
    assert!(tag(&bad_host.body, "endpoint-0-host").contains("value=\"10.0.0.300\""));
    assert!(tag(&bad_host.body, "machine-id").contains("value=\"okuma\""));
    assert!(!tag(&bad_host.body, "endpoint-0-port").contains("aria-invalid"));

    for (port, message) in [
        ("70000", "70000 is not a TCP port (1–65535)."),
        ("7878x", "“7878x” is not a TCP port (1–65535)."),
        ("", "Enter the TCP port (1–65535)."),
    ] {
        let bad_port = page
            .post("/machines", &shdr_form("okuma", "10.0.4.21", port))
            .await;
        assert_eq!(bad_port.status, 422, "{port}: {}", bad_port.body);
        assert_beside(&bad_port.body, "endpoint-0-port", message);
    }

    // A driver that connects needs the endpoint it reads.
    let mut unnamed = shdr_form("okuma", "10.0.4.21", "7878");
    unnamed[5] = ("endpoints[0].name", "agent");
    let wrong_name = page.post("/machines", &unnamed).await;
    assert_eq!(wrong_name.status, 422);
    assert_beside(
        &wrong_name.body,
        "endpoint-0-host",
        "The driver reads the endpoint named “adapter”",
    );

    let mut fast = simulator_form("lathe-7", "Lathe 7");
    fast[10] = ("config.speed", "fast");
    let bad_setting = page.post("/machines", &fast).await;
    assert_eq!(bad_setting.status, 422, "{}", bad_setting.body);
    assert_beside(&bad_setting.body, "config-speed", "“fast” is not a number.");
    assert!(tag(&bad_setting.body, "config-speed").contains("value=\"fast\""));

    // Several mistakes at once are all named, each beside its field.
    let mut many = simulator_form("Lathe 7!", "Lathe 7");
    many[4] = ("daily_part_goal", "lots");
    many[8] = ("poll_interval_ms", "5");
    let several = page.post("/machines", &many).await;
    assert_eq!(several.status, 422);
    assert_beside(&several.body, "machine-id", "may contain only lower-case");
    assert_beside(
        &several.body,
        "machine-goal",
        "“lots” is not a whole number",
    );
    assert_beside(&several.body, "machine-poll", "5 is outside 10–3600000.");
    let no_driver = page
        .post("/machines", &[("name", "Mill"), ("id", "mill")])
        .await;
    // The radios are marked invalid; their group is described by the error.
    assert_eq!(no_driver.status, 422);
    let group = tag(&no_driver.body, "machine-driver");
    assert!(
        group.contains("aria-describedby=\"machine-driver-error\""),
        "{group}"
    );
    assert!(tag(&no_driver.body, "driver-simulator").contains("aria-invalid=\"true\""));
    assert_eq!(
        text_of(&no_driver.body, "machine-driver-error"),
        "Error: Choose the driver that reads the machine."
    );
    assert!(no_driver.body.contains("href=\"#machine-driver\""));
    let reserved = page
        .post("/machines", &simulator_form("new", "New mill"))
        .await;
    assert_beside(&reserved.body, "machine-id", "“new” is reserved");

    assert_eq!(
        machine_ids(&shop).await,
        Vec::<String>::new(),
        "a refused machine was saved"
    );
    assert!(
        !audit_actions(&shop)
            .await
            .iter()
            .any(|record| record["action"] == "machine.create")
    );

    // A taken id is a conflict, beside the id.
    let first = page
        .post("/machines", &simulator_form("lathe-7", "Lathe 7"))
        .await;
    assert_eq!(first.status, 303, "{}", first.body);
    let again = page
        .post("/machines", &simulator_form("lathe-7", "Another lathe"))
        .await;
    assert_eq!(again.status, 409);
    assert_beside(&again.body, "machine-id", "already exists");
    let (_, machine) = get(&format!("{}/api/v1/machines/lathe-7", shop.base)).await;
    assert_eq!(machine["name"], "Lathe 7");
}

#[tokio::test(flavor = "multi_thread")]
async fn machines_are_edited_disabled_enabled_and_deleted_from_the_pages() {
    let shop = shop().await;
    let page = Page::owner(&shop).await;
    let added = page
        .post("/machines", &simulator_form("lathe-7", "Lathe 7"))
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let machine_url = format!("{}/api/v1/machines/lathe-7", shop.base);
    wait_for(&machine_url, WAIT, |m| m["last_update_ms"].is_i64()).await;

    // The edit form holds the machine's setup; its id is fixed.
    let edit = page.get("/machines/lathe-7/edit").await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(tag(&edit.body, "machine-name").contains("value=\"Lathe 7\""));
    assert!(tag(&edit.body, "config-seed").contains("value=\"7\""));
    assert!(!edit.body.contains("id=\"machine-id\""), "the id is fixed");
    assert!(tag(&edit.body, "machine-form").contains("action=\"/machines/lathe-7\""));

    let mut changed = simulator_form("ignored", "Lathe 7 (rebuilt)");
    changed[3] = ("group", "Cell B");
    changed[9] = ("config.seed", "8");
    let saved = page.post("/machines/lathe-7", &changed).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some("/machines/lathe-7?done=machine_saved")
    );
    let (_, machine) = get(&machine_url).await;
    assert_eq!(machine["id"], "lathe-7");
    assert_eq!(machine["name"], "Lathe 7 (rebuilt)");
    assert_eq!(machine["group"], "Cell B");
    assert_eq!(machine["config"]["seed"], "8");
    assert_eq!(machine["enabled"], true);

    let mut bad = changed.clone();
    bad[9] = ("config.seed", "eight");
    let refused = page.post("/machines/lathe-7", &bad).await;
    assert_eq!(refused.status, 422);
    assert_beside(
        &refused.body,
        "config-seed",
        "“eight” is not a whole number.",
    );
    let (_, machine) = get(&machine_url).await;
    assert_eq!(
        machine["config"]["seed"], "8",
        "a refused edit changed the machine"
    );

    // Disabling keeps the machine and its data; enabling starts it again.
    let disabled = page.post("/machines/lathe-7/disable", &[]).await;
    assert_eq!(disabled.status, 303);
    assert_eq!(
        disabled.location.as_deref(),
        Some("/machines/lathe-7?done=machine_disabled")
    );
    let (_, machine) = get(&machine_url).await;
    assert_eq!(machine["enabled"], false);
    assert!(machine["driver_health"].is_null(), "{machine}");
    let stored = shop
        .store
        .last_sequence(&acme(), &MachineId::new("lathe-7").unwrap())
        .await
        .unwrap();
    assert!(stored > 0, "the disabled machine kept its observations");
    let edit = page.get("/machines/lathe-7/edit").await;
    assert!(edit.body.contains("id=\"enable-form\""));
    let enabled = page.post("/machines/lathe-7/enable", &[]).await;
    assert_eq!(
        enabled.location.as_deref(),
        Some("/machines/lathe-7?done=machine_enabled")
    );
    let machine = wait_for(&machine_url, WAIT, |m| {
        m["enabled"] == true && m["driver_health"]["status"]["state"] == "running"
    })
    .await;
    assert_eq!(machine["enabled"], true, "{machine}");

    // The deletion page says what goes, and that disabling keeps it.
    let confirm = page.get("/machines/lathe-7/delete").await;
    assert_eq!(confirm.status, 200);
    let deleted = text_of(&confirm.body, "deleted-data");
    for what in [
        "setup",
        "every observation",
        "latest values",
        "timeline",
        "parts, cycles and alarms",
        "hourly and daily totals",
        "data items",
    ] {
        assert!(deleted.contains(what), "{what:?} not in {deleted:?}");
    }
    let instead = text_of(&confirm.body, "disable-instead");
    assert!(
        instead.contains("Disabling") && instead.contains("keeps its setup and all its data"),
        "{instead}"
    );
    let gone = page.post("/machines/lathe-7/delete", &[]).await;
    assert_eq!(gone.status, 303);
    assert_eq!(gone.location.as_deref(), Some("/?done=machine_deleted"));
    let (status, _) = get(&machine_url).await;
    assert_eq!(status, 404);
    let (_, observations) = get(&format!("{machine_url}/observations")).await;
    assert_eq!(observations["error"]["code"], "machine_not_found");
    let missing = page.get("/machines/lathe-7/edit").await;
    assert_eq!(missing.status, 404);

    let actions: Vec<String> = audit_actions(&shop)
        .await
        .iter()
        .map(|record| record["action"].as_str().unwrap().to_owned())
        .collect();
    for action in [
        "machine.create",
        "machine.update",
        "machine.disable",
        "machine.enable",
        "machine.delete",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_test_reports_what_the_driver_found_and_stores_nothing() {
    let shop = shop().await;
    let page = Page::owner(&shop).await;
    let port = closed_port().to_string();

    // Nothing listens: the report says so, and so does the endpoint's host.
    let tested = page
        .post("/machines/test", &shdr_form("okuma", "127.0.0.1", &port))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert!(tag(&tested.body, "probe-report").contains("data-ok=\"false\""));
    let report = text_of(&tested.body, "probe-report");
    assert!(report.contains("failed"), "{report}");
    assert!(report.contains("unreachable"), "{report}");
    assert!(report.contains("Nothing was saved"), "{report}");
    assert_beside(&tested.body, "endpoint-0-host", "Could not connect");
    assert!(tag(&tested.body, "endpoint-0-port").contains(&format!("value=\"{port}\"")));

    // A simulated machine works: the report lists its data items and first observations.
    let works = page
        .post("/machines/test", &simulator_form("lathe-7", "Lathe 7"))
        .await;
    assert_eq!(works.status, 200);
    assert!(tag(&works.body, "probe-report").contains("data-ok=\"true\""));
    assert!(text_of(&works.body, "probe-items").contains("EXECUTION"));
    tag(&works.body, "probe-observations");

    // A setup that is wrong is refused as a save is.
    let mut fast = simulator_form("lathe-7", "Lathe 7");
    fast[10] = ("config.speed", "fast");
    let refused = page.post("/machines/test", &fast).await;
    assert_eq!(refused.status, 422);
    assert_beside(&refused.body, "config-speed", "“fast” is not a number.");

    // The API answers the same test as JSON.
    let url = format!("{}/api/v1/machines/test", shop.base);
    let body = json!({
        "name": "Okuma lathe",
        "driver": "shdr",
        "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": port.parse::<u16>().unwrap() }],
    });
    let (status, report) = send(Method::POST, &url, Some(&body)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["failure"]["stage"], "poll", "{report}");
    assert_eq!(report["failure"]["kind"], "unreachable", "{report}");
    assert!(
        report["failure"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{report}"
    );
    let simulated = json!({ "id": "lathe-7", "driver": "simulator", "config": { "seed": 3 } });
    let (status, report) = send(Method::POST, &url, Some(&simulated)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(!report["data_items"].as_array().unwrap().is_empty());
    let observations = report["observations"].as_array().unwrap().len();
    assert!((1..=20).contains(&observations), "{report}");
    assert!(report["observations_total"].as_u64().unwrap() >= observations as u64);
    let bad = json!({ "driver": "simulator", "config": { "speed": "fast" } });
    let (status, answer) = send(Method::POST, &url, Some(&bad)).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("invalid_config"))
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("config.speed: "),
        "{answer}"
    );

    assert_eq!(machine_ids(&shop).await, Vec::<String>::new());
    for id in ["okuma", "lathe-7", "connection-test"] {
        let id = MachineId::new(id).unwrap();
        assert!(shop.store.machine(&acme(), &id).await.unwrap().is_none());
        assert_eq!(shop.store.last_sequence(&acme(), &id).await.unwrap_or(0), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_can_open_no_setup_page_and_is_offered_none() {
    let shop = shop().await;
    let owner = Page::owner(&shop).await;
    let added = owner
        .post("/machines", &simulator_form("lathe-7", "Lathe 7"))
        .await;
    assert_eq!(added.status, 303);
    let viewer = chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        "viewer@acme.example",
        "Vera Viewer",
        "viewer password 1",
        &acme(),
        Role::Viewer,
    )
    .await
    .unwrap();
    let page = Page::of(&shop, &viewer.id).await;

    for path in [
        "/machines/new",
        "/machines/new?driver=simulator",
        "/machines/lathe-7/edit",
        "/machines/lathe-7/delete",
    ] {
        let refused = page.get(path).await;
        assert_eq!(refused.status, 403, "GET {path}");
        assert!(
            refused.body.contains("You cannot do this here"),
            "GET {path}: {}",
            refused.body
        );
    }
    for path in [
        "/machines",
        "/machines/test",
        "/machines/lathe-7",
        "/machines/lathe-7/disable",
        "/machines/lathe-7/enable",
        "/machines/lathe-7/delete",
    ] {
        let refused = page
            .post(path, &simulator_form("viewer-mill", "Viewer's mill"))
            .await;
        assert_eq!(refused.status, 403, "POST {path}");
    }
    let (_, machine) = get(&format!("{}/api/v1/machines/lathe-7", shop.base)).await;
    assert_eq!(machine["name"], "Lathe 7");
    assert_eq!(machine["enabled"], true);
    assert_eq!(machine_ids(&shop).await, ["lathe-7"]);

    // Nothing they see offers what they may not do.
    for path in ["/", "/members", "/account", "/organization"] {
        let shown = page.get(path).await;
        assert_eq!(shown.status, 200, "{path}");
        assert!(
            !shown.body.contains("/machines/new"),
            "{path} offers to add"
        );
        assert!(!shown.body.contains("/edit\""), "{path} offers to edit");
    }

    // The API refuses them the connection test too.
    let token = chatter_server::accounts::operator::create_token(
        shop.store.as_ref(),
        "viewer@acme.example",
        &acme(),
        Role::Viewer,
        "viewer script",
    )
    .await
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/machines/test", shop.base))
        .bearer_auth(token)
        .json(&json!({ "driver": "simulator" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "forbidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_form_in_a_browser_at_desktop_and_phone_width() {
    if !skip::available("the machine setup browser test", Browser::is_available) {
        return;
    }
    let shop = shop().await;
    let base = shop.base.clone();
    let browser = Browser::start().await.unwrap();

    browser
        .sign_in(&base, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .unwrap();

    // From the dashboard to the form; choosing the driver shows its settings in place.
    browser.click("#add-machine").await.unwrap();
    browser.wait_for("#machine-form", WAIT).await.unwrap();
    browser
        .fill("#machine-name", "Okuma lathe 2")
        .await
        .unwrap();
    browser.click("#driver-shdr").await.unwrap();
    browser.wait_for("#config-devices-xml", WAIT).await.unwrap();
    let suggested = browser
        .client()
        .execute("return document.getElementById('machine-id').value", vec![])
        .await
        .unwrap();
    assert_eq!(
        suggested, "okuma-lathe-2",
        "the id is suggested from the name"
    );
    let kept = browser
        .client()
        .execute(
            "return document.getElementById('machine-name').value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        kept, "Okuma lathe 2",
        "choosing a driver keeps what was typed"
    );

    // A bad endpoint: the error is beside the host, and nothing is saved.
    browser
        .fill("#endpoint-0-host", "10.0.0.300")
        .await
        .unwrap();
    browser.fill("#endpoint-0-port", "7878").await.unwrap();
    browser.click("#machine-submit").await.unwrap();
    browser
        .wait_for_text("#endpoint-0-host-error", "not a host name", WAIT)
        .await
        .unwrap();
    let wiring = browser
        .client()
        .execute(
            "const host = document.getElementById('endpoint-0-host'); \
             return [host.getAttribute('aria-invalid'), host.getAttribute('aria-describedby')]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(wiring[0], "true");
    assert!(
        wiring[1]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|id| id == "endpoint-0-host-error"),
        "{wiring}"
    );
    browser
        .wait_for_text("#errors", "not a host name", WAIT)
        .await
        .unwrap();
    assert!(machine_ids(&shop).await.is_empty());
    let show_host = "document.getElementById('endpoints-heading').scrollIntoView()";
    browser.client().execute(show_host, vec![]).await.unwrap();
    browser.screenshot("setup-desktop").await.unwrap();

    // At phone width the page fits: nothing scrolls sideways.
    browser.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .client()
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, 0, "the page scrolls sideways at 390 pixels");
    browser.client().execute(show_host, vec![]).await.unwrap();
    browser.screenshot("setup-phone").await.unwrap();
    browser.set_window_size(1280, 900).await.unwrap();

    // Fixed, it is saved.
    browser.fill("#endpoint-0-host", "127.0.0.1").await.unwrap();
    browser.click("#machine-submit").await.unwrap();
    let id = MachineId::new("okuma-lathe-2").unwrap();
    let mut saved = None;
    let deadline = std::time::Instant::now() + WAIT;
    while saved.is_none() && std::time::Instant::now() < deadline {
        saved = shop.store.machine(&acme(), &id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let saved = saved.expect("the fixed machine was saved");
    assert_eq!(saved.name, "Okuma lathe 2");
    assert_eq!(saved.driver.as_str(), "shdr");
    assert_eq!(saved.endpoints[0].host, "127.0.0.1");
    assert_eq!(saved.endpoints[0].name, "adapter");
    browser.close().await.unwrap();
}
