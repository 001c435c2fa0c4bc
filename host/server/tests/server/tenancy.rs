//! Tenant isolation, generated from the route table: organization `acme` has a member of every
//! role, each signed in with a session and holding an API token, and a device token; every
//! route is called by each of them with the ids of another organization's machine, member,
//! tokens and invitation. Each such call must be refused (404 or 403, 401 for credentials that
//! do not fit the route, the sign-in page for a page asked for without them), no answer may
//! contain anything of the other organization that the request did not itself name, and the
//! other organization's data must be intact afterwards.
//! A route missing from [`cases`] fails the test, so a new route cannot go unchecked.

use crate::common;

use std::collections::BTreeMap;

use crate::common::ShopSetup;
use chatter_model::{
    ApiToken, DeviceToken, Invitation, Machine, MachineId, Observation, OrgId, Organization,
    PluginId, Role, UserId, Value,
};
use chatter_server::auth::{Access, secret};
use chatter_server::routes::{RouteSpec, table};
use chatter_store::{Accounts, Alerts, Library, Reports, SledStore, Store};
use reqwest::Method;

/// What the other organization holds, and the ids a caller of `acme` will try.
struct Other {
    org: OrgId,
    machine: MachineId,
    member: UserId,
    device_token: String,
    api_token: String,
    invitation: String,
    connection: String,
    library_entry: String,
    report_run: String,
    report_document: String,
    report_schedule: String,
    alert_rule: String,
    /// Text that must never appear in an answer to `acme`'s callers.
    secrets: Vec<String>,
}

/// One caller of `acme`.
struct Caller {
    label: String,
    session: Option<(String, String)>,
    bearer: Option<String>,
}

/// How to call a route: a body, whether the call only ever concerns the caller themselves
/// (then it is made last, as it may end the caller's session), and whether it creates what the
/// path names in the caller's own organization when it does not exist there (a `PUT`): then the
/// creation is allowed, must not touch the other organization, and is undone.
struct Case {
    body: Body,
    ends_session: bool,
    creates: bool,
}

enum Body {
    None,
    Json(serde_json::Value),
    Form,
}

/// Every route of the table with how to call it. A route missing here fails the test.
fn cases(other: &Other) -> BTreeMap<(String, &'static str), Case> {
    use Body::{Form, Json, None};
    let json = |value: serde_json::Value| Json(value);
    let plain = |body| Case {
        body,
        ends_session: false,
        creates: false,
    };
    let own = |body| Case {
        body,
        ends_session: true,
        creates: false,
    };
    let upsert = |body| Case {
        body,
        ends_session: false,
        creates: true,
    };
    let machine = serde_json::json!({ "name": "Intruder", "driver": "simulator" });
    let list: Vec<(Method, &'static str, Case)> = vec![
        (Method::GET, "/healthz", plain(None)),
        (Method::GET, "/api/v1/me", plain(None)),
        (Method::GET, "/api/v1/tokens", plain(None)),
        (
            Method::POST,
            "/api/v1/tokens",
            plain(json(serde_json::json!({ "name": "t", "role": "viewer" }))),
        ),
        (Method::DELETE, "/api/v1/tokens/{id}", plain(None)),
        (Method::GET, "/api/v1/members", plain(None)),
        (
            Method::PUT,
            "/api/v1/members/{user}",
            plain(json(serde_json::json!({ "role": "viewer" }))),
        ),
        (Method::DELETE, "/api/v1/members/{user}", plain(None)),
        (Method::GET, "/api/v1/invitations", plain(None)),
        (
            Method::POST,
            "/api/v1/invitations",
            plain(json(
                serde_json::json!({ "email": "new@acme.example", "role": "viewer" }),
            )),
        ),
        (Method::DELETE, "/api/v1/invitations/{id}", plain(None)),
        (Method::GET, "/api/v1/audit", plain(None)),
        (Method::GET, "/api/v1/machines", plain(None)),
        (
            Method::POST,
            "/api/v1/machines",
            plain(json(
                serde_json::json!({ "id": "intruder-mill", "name": "Intruder", "driver": "simulator", "enabled": false }),
            )),
        ),
        (
            Method::POST,
            "/api/v1/machines/test",
            plain(json(
                serde_json::json!({ "id": "intruder-mill", "name": "Intruder", "driver": "simulator" }),
            )),
        ),
        (Method::GET, "/api/v1/machines/{id}", plain(None)),
        (Method::PUT, "/api/v1/machines/{id}", upsert(json(machine))),
        (Method::DELETE, "/api/v1/machines/{id}", plain(None)),
        (Method::POST, "/api/v1/machines/{id}/start", plain(None)),
        (Method::POST, "/api/v1/machines/{id}/stop", plain(None)),
        (
            Method::GET,
            "/api/v1/machines/{id}/observations",
            plain(None),
        ),
        (Method::GET, "/api/v1/machines/{id}/timeline", plain(None)),
        (Method::GET, "/api/v1/machines/{id}/cycles", plain(None)),
        (Method::GET, "/api/v1/machines/{id}/parts", plain(None)),
        (Method::GET, "/api/v1/machines/{id}/alarms", plain(None)),
        (Method::GET, "/api/v1/summary", plain(None)),
        (Method::GET, "/api/v1/shifts", plain(None)),
        (
            Method::PUT,
            "/api/v1/shifts",
            plain(json(serde_json::json!({ "shifts": [
                { "name": "Intruder", "days": ["mon"], "start": "06:00", "end": "14:00" }
            ] }))),
        ),
        (Method::GET, "/api/v1/device-tokens", plain(None)),
        (
            Method::POST,
            "/api/v1/device-tokens",
            plain(json(serde_json::json!({ "name": "edge" }))),
        ),
        (Method::DELETE, "/api/v1/device-tokens/{id}", plain(None)),
        (
            Method::POST,
            "/api/v1/ingest",
            plain(json(
                serde_json::json!({ "machine": other.machine.as_str(), "stream": "s", "observations": [] }),
            )),
        ),
        (Method::GET, "/api/v1/ingest/machines/{id}", plain(None)),
        (Method::GET, "/api/v1/plugins", plain(None)),
        (Method::GET, "/api/v1/events", plain(None)),
        (Method::GET, "/assets/app.css", plain(None)),
        (Method::GET, "/assets/dashboard.js", plain(None)),
        (Method::GET, "/assets/setup.js", plain(None)),
        (Method::GET, "/assets/machine.js", plain(None)),
        (Method::GET, "/sign-up", plain(None)),
        (Method::POST, "/sign-up", plain(Form)),
        (Method::GET, "/sign-in", plain(None)),
        (Method::POST, "/sign-in", plain(Form)),
        (Method::POST, "/sign-out", own(Form)),
        (Method::GET, "/verify", plain(None)),
        (Method::GET, "/forgot", plain(None)),
        (Method::POST, "/forgot", plain(Form)),
        (Method::GET, "/reset", plain(None)),
        (Method::POST, "/reset", plain(Form)),
        (Method::GET, "/invitations/accept", plain(None)),
        (Method::POST, "/invitations/accept", plain(Form)),
        (Method::GET, "/unsubscribe", plain(None)),
        (Method::POST, "/unsubscribe", plain(Form)),
        (Method::GET, "/", plain(None)),
        (Method::GET, "/floor/tiles", plain(None)),
        (Method::GET, "/floor/events", plain(None)),
        (Method::GET, "/tv", plain(None)),
        (Method::GET, "/tv/connect", plain(None)),
        (Method::POST, "/tv/connect", plain(Form)),
        (Method::GET, "/displays", plain(None)),
        (Method::POST, "/displays", plain(Form)),
        (Method::POST, "/displays/{id}/revoke", plain(Form)),
        (Method::POST, "/organizations", plain(Form)),
        (Method::POST, "/org/switch", plain(Form)),
        (Method::GET, "/machines/new", plain(None)),
        (Method::POST, "/machines", plain(Form)),
        (Method::POST, "/machines/test", plain(Form)),
        (Method::GET, "/machines/{id}/edit", plain(None)),
        (Method::POST, "/machines/{id}", plain(Form)),
        (Method::POST, "/machines/{id}/disable", plain(Form)),
        (Method::POST, "/machines/{id}/enable", plain(Form)),
        (Method::GET, "/machines/{id}/delete", plain(None)),
        (Method::POST, "/machines/{id}/delete", plain(Form)),
        (Method::GET, "/machines/{id}", plain(None)),
        (Method::GET, "/organization", plain(None)),
        (Method::POST, "/organization/shifts", plain(Form)),
        (Method::POST, "/organization/delete", plain(Form)),
        (Method::GET, "/members", plain(None)),
        (Method::POST, "/members/invite", plain(Form)),
        (Method::POST, "/members/{user}/role", plain(Form)),
        (Method::POST, "/members/{user}/remove", plain(Form)),
        (Method::POST, "/invitations/{id}/revoke", plain(Form)),
        (Method::GET, "/audit", plain(None)),
        (Method::GET, "/account", plain(None)),
        (Method::POST, "/account/profile", plain(Form)),
        (Method::POST, "/account/password", plain(Form)),
        (Method::POST, "/account/sessions/revoke", own(Form)),
        (Method::POST, "/account/tokens", plain(Form)),
        (Method::POST, "/account/tokens/{id}/revoke", plain(Form)),
        (Method::POST, "/account/export", plain(Form)),
        (Method::POST, "/account/marketing", plain(Form)),
        (Method::GET, "/account/delete", plain(None)),
        (Method::POST, "/account/delete", plain(Form)),
        (Method::GET, "/api/v1/connections", plain(None)),
        (Method::POST, "/api/v1/connections/{id}/sync", plain(None)),
        (Method::DELETE, "/api/v1/connections/{id}", plain(None)),
        (Method::GET, "/api/v1/library", plain(None)),
        (Method::GET, "/api/v1/library/{id}", plain(None)),
        (
            Method::PUT,
            "/api/v1/library/{id}/machine",
            plain(json(serde_json::json!({ "machine": null }))),
        ),
        (Method::GET, "/integrations", plain(None)),
        (Method::POST, "/integrations/{plugin}/connect", plain(Form)),
        (Method::GET, "/integrations/callback", plain(None)),
        (
            Method::POST,
            "/integrations/connections/{id}/sync",
            plain(Form),
        ),
        (
            Method::POST,
            "/integrations/connections/{id}/disconnect",
            plain(Form),
        ),
        (Method::GET, "/library", plain(None)),
        (Method::GET, "/library/{id}", plain(None)),
        (Method::POST, "/library/{id}/machine", plain(Form)),
        (Method::GET, "/api/v1/reports", plain(None)),
        (
            Method::POST,
            "/api/v1/reports/runs",
            plain(json(serde_json::json!({
                "plugin": "simulator",
                "from": "2024-01-01",
                "to": "2024-01-02",
                "machines": [other.machine.as_str()],
            }))),
        ),
        (Method::GET, "/api/v1/reports/runs", plain(None)),
        (Method::GET, "/api/v1/reports/runs/{id}", plain(None)),
        (
            Method::GET,
            "/api/v1/reports/runs/{id}/documents/{name}",
            plain(None),
        ),
        (Method::GET, "/reports", plain(None)),
        (Method::POST, "/reports/run", plain(Form)),
        (Method::GET, "/reports/runs/{id}", plain(None)),
        (Method::GET, "/reports/runs/{id}/view/{name}", plain(None)),
        (Method::GET, "/api/v1/reports/schedules", plain(None)),
        (
            Method::POST,
            "/api/v1/reports/schedules",
            plain(json(serde_json::json!({
                "name": "Intruder",
                "plugin": "utilization",
                "cadence": { "every": "day", "at": "06:00" },
                "period": "previous_day",
                "machines": [other.machine.as_str()],
                "recipients": [other.member.as_str()],
            }))),
        ),
        (Method::GET, "/api/v1/reports/schedules/{id}", plain(None)),
        (
            Method::DELETE,
            "/api/v1/reports/schedules/{id}",
            plain(None),
        ),
        (
            Method::POST,
            "/api/v1/reports/schedules/{id}/run",
            plain(None),
        ),
        (Method::POST, "/reports/schedules", plain(Form)),
        (Method::POST, "/reports/schedules/{id}/delete", plain(Form)),
        (Method::POST, "/reports/schedules/{id}/run", plain(Form)),
        (Method::GET, "/api/v1/alerts/rules", plain(None)),
        (
            Method::POST,
            "/api/v1/alerts/rules",
            plain(json(alert_rule_body(other))),
        ),
        (Method::GET, "/api/v1/alerts/rules/{id}", plain(None)),
        (
            Method::PUT,
            "/api/v1/alerts/rules/{id}",
            plain(json(alert_rule_body(other))),
        ),
        (Method::DELETE, "/api/v1/alerts/rules/{id}", plain(None)),
        (
            Method::POST,
            "/api/v1/alerts/rules/{id}/mute",
            plain(json(serde_json::json!({}))),
        ),
        (
            Method::DELETE,
            "/api/v1/alerts/rules/{id}/mute",
            plain(None),
        ),
        (Method::GET, "/api/v1/alerts/events", plain(None)),
        (Method::GET, "/alerts", plain(None)),
        (Method::POST, "/alerts/rules", plain(Form)),
        (Method::POST, "/alerts/rules/{id}/delete", plain(Form)),
        (Method::POST, "/alerts/rules/{id}/mute", plain(Form)),
        (Method::POST, "/alerts/rules/{id}/unmute", plain(Form)),
        (Method::POST, "/alerts/rules/{id}/mute-rule", plain(Form)),
        (Method::POST, "/alerts/rules/{id}/unmute-rule", plain(Form)),
    ];
    list.into_iter()
        .map(|(method, path, case)| ((method.to_string(), path), case))
        .collect()
}

/// An alert rule watching the other organization's machine and e-mailing its member: refused
/// (422) for those who may manage rules, 403 for the others.
fn alert_rule_body(other: &Other) -> serde_json::Value {
    serde_json::json!({
        "name": "Intruder rule",
        "condition": { "kind": "offline", "minutes": 5 },
        "machines": [other.machine.as_str()],
        "channels": { "email": [other.member.as_str()], "in_app": true },
    })
}

/// The path with the other organization's ids in place of its parameters; `None` if it has
/// none.
fn foreign_path(route: &RouteSpec, other: &Other) -> Option<String> {
    // A plugin's id names no organization's data: such routes are called as they are.
    if !route.path.contains('{') || route.path.contains("{plugin}") {
        return None;
    }
    let id = if route.path.contains("/schedules/") {
        other.report_schedule.clone()
    } else if route.path.contains("/alerts/rules/") {
        other.alert_rule.clone()
    } else if route.path.contains("/runs/") {
        other.report_run.clone()
    } else if route.path.contains("/connections/") {
        other.connection.clone()
    } else if route.path.contains("/library/") {
        other.library_entry.clone()
    } else if route.path.contains("/machines/") {
        other.machine.to_string()
    } else if route.path.contains("/device-tokens/") || route.path.contains("/displays/") {
        other.device_token.clone()
    } else if route.path.contains("/tokens/") {
        other.api_token.clone()
    } else {
        other.invitation.clone()
    };
    Some(
        route
            .path
            .replace("{id}", &id)
            .replace("{user}", other.member.as_str())
            .replace("{name}", &other.report_document),
    )
}

/// Form fields that fill every form of the site, pointing at the other organization where a
/// field names something.
fn form(other: &Other, csrf: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("org", other.org.to_string()),
        ("role", "viewer".to_owned()),
        ("name", "Intruder".to_owned()),
        ("email", "intruder@acme.example".to_owned()),
        ("organization", "Intruder shop".to_owned()),
        ("confirm", "Umbrella Works".to_owned()),
        ("password", "wrong password 123".to_owned()),
        ("current_password", "wrong password 123".to_owned()),
        ("new_password", "another password 1".to_owned()),
        ("password_confirm", "another password 1".to_owned()),
        ("token", "not-a-token".to_owned()),
        ("marketing", "on".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_reaches_another_organization() {
    let shop = common::serve(ShopSetup::default()).await;
    let other = other_organization(&shop.store).await;
    let routes = table();
    let cases = cases(&other);
    let uncovered: Vec<String> = routes
        .iter()
        .filter(|route| !cases.contains_key(&(route.method.to_string(), route.path)))
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    assert!(
        uncovered.is_empty(),
        "routes without a tenant-isolation case (add them to `cases`): {uncovered:?}"
    );

    let callers = acme_callers(&shop.store).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut ordered: Vec<&RouteSpec> = routes.iter().collect();
    // Calls that may end the caller's session go last.
    ordered.sort_by_key(|route| cases[&(route.method.to_string(), route.path)].ends_session);
    let mut calls = 0;
    // Once a `PUT` has created a machine of that id in acme, acme's own audit log names it.
    let mut acme_used_the_machine_id = false;
    for caller in &callers {
        for route in &ordered {
            let case = &cases[&(route.method.to_string(), route.path)];
            let foreign = foreign_path(route, &other);
            let path = foreign.clone().unwrap_or_else(|| route.path.to_owned());
            let (status, body, sent, location) =
                call(&client, &shop.base, caller, route, &path, case, &other).await;
            calls += 1;
            let what = format!("{} {path} as {}", route.method, caller.label);
            if case.creates && (200..300).contains(&status) {
                let acme = OrgId::new("acme").unwrap();
                let created = shop.store.machine(&acme, &other.machine).await.unwrap();
                assert_eq!(
                    created.unwrap().name,
                    "Intruder",
                    "{what} created in its own shop"
                );
                shop.store
                    .remove_machine(&acme, &other.machine)
                    .await
                    .unwrap();
                acme_used_the_machine_id = true;
            } else if foreign.is_some() {
                // A page refuses a browser without a live session (none, a wall display's, or
                // one a public form called before ended) by sending it to sign in.
                let to_sign_in = status == 303
                    && caller.bearer.is_none()
                    && location
                        .as_deref()
                        .is_some_and(|to| to.starts_with("/sign-in?"));
                assert!(
                    matches!(status, 401 | 403 | 404) || to_sign_in,
                    "{what} answered {status} {location:?}: {body}"
                );
            }
            for secret in &other.secrets {
                let acmes_own = acme_used_the_machine_id && *secret == other.machine.as_str();
                if !sent.contains(secret.as_str()) && !acmes_own {
                    assert!(
                        !body.contains(secret.as_str()),
                        "{what} leaked `{secret}`: {body}"
                    );
                }
            }
            if route.access == Access::Device
                && caller
                    .bearer
                    .as_deref()
                    .is_some_and(|t| t.starts_with("cht_"))
            {
                assert_eq!(
                    status, 401,
                    "{what}: a personal token is not a device token"
                );
            }
        }
    }
    assert!(calls > 500, "only {calls} calls were made");
    still_intact(&shop.store, &other).await;
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    caller: &Caller,
    route: &RouteSpec,
    path: &str,
    case: &Case,
    other: &Other,
) -> (u16, String, String, Option<String>) {
    let url = format!("{base}{path}");
    let mut request = client.request(route.method.clone(), &url);
    let mut sent = url.clone();
    let csrf = caller
        .session
        .as_ref()
        .map_or("", |(_, csrf)| csrf.as_str());
    if let Some((cookie, csrf)) = &caller.session {
        request = request
            .header("cookie", cookie)
            .header("x-csrf-token", csrf);
    }
    if let Some(token) = &caller.bearer {
        request = request.bearer_auth(token);
    }
    match &case.body {
        Body::None => {}
        Body::Json(value) => {
            sent.push_str(&value.to_string());
            request = request.json(value);
        }
        Body::Form => {
            let fields = form(other, csrf);
            sent.push_str(&format!("{fields:?}"));
            request = request.form(&fields);
        }
    }
    let response = if route.path.ends_with("/events") {
        // The event stream never ends: read its start only.
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = tokio::time::timeout(std::time::Duration::from_millis(300), response.text())
            .await
            .map(Result::unwrap_or_default)
            .unwrap_or_default();
        return (status, body, sent, None);
    } else {
        request.send().await.unwrap()
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|to| to.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    (status, body, sent, location)
}

/// Organization `umbrella-works`: a machine with data, a member, a device token, an API token
/// and a pending invitation.
async fn other_organization(store: &SledStore) -> Other {
    let org = OrgId::new("umbrella-works").unwrap();
    let mut organization = Organization::new(org.clone(), "Umbrella Works");
    organization.shifts = vec![umbrella_shift()];
    store.put_organization(&organization).await.unwrap();
    let machine = MachineId::new("vault-mill").unwrap();
    store
        .put_machine(&Machine {
            org: org.clone(),
            id: machine.clone(),
            name: "Umbrella vault mill".into(),
            driver: PluginId::new("simulator").unwrap(),
            config: BTreeMap::from([(
                "secret-setting".to_owned(),
                "umbrella-config-value".to_owned(),
            )]),
            endpoints: Vec::new(),
            poll_interval_ms: 1000,
            enabled: false,
            feed: chatter_model::Feed::Edge,
            signals: Default::default(),
            group: None,
            daily_part_goal: None,
        })
        .await
        .unwrap();
    let observation = Observation {
        data_item: "umbrella_spindle".into(),
        timestamp: 1_700_000_000_000_000_000,
        value: Value::Sample(1234.5),
    };
    store
        .append_observations(&org, &machine, &[observation])
        .await
        .unwrap();
    let member = chatter_server::accounts::operator::add_user(
        store,
        "boss@umbrella.example",
        "Albert Umbrella",
        "umbrella password",
        &org,
        Role::Owner,
    )
    .await
    .unwrap();
    let device = secret::new_secret(secret::DEVICE_TOKEN_PREFIX).unwrap();
    store
        .put_device_token(
            &device.hash,
            &DeviceToken {
                kind: chatter_model::DeviceKind::Edge,
                id: device.public_id.clone(),
                org: org.clone(),
                name: "Umbrella edge".into(),
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    let api = secret::new_secret(secret::API_TOKEN_PREFIX).unwrap();
    store
        .put_api_token(
            &api.hash,
            &ApiToken {
                id: api.public_id.clone(),
                user: member.id.clone(),
                org: org.clone(),
                role: Role::Owner,
                name: "Umbrella script".into(),
                created_at_ms: 1,
                last_used_ms: None,
                expires_at_ms: None,
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    let invitation = secret::new_secret("").unwrap();
    store
        .put_invitation(
            &invitation.hash,
            &Invitation {
                id: invitation.public_id.clone(),
                org: org.clone(),
                email: "recruit@umbrella.example".into(),
                role: Role::Admin,
                invited_by: member.id.clone(),
                created_at_ms: 1,
                expires_at_ms: i64::MAX,
                accepted: None,
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    let connection = chatter_model::Connection {
        id: "c0ffee0000000001".into(),
        org: org.clone(),
        provider: "autodesk".into(),
        plugin: PluginId::new("autodesk-fusion").unwrap(),
        account: Some(chatter_model::Account {
            id: "umbrella-autodesk-id".into(),
            name: "Umbrella Autodesk account".into(),
        }),
        scopes: vec!["data:read".into()],
        status: chatter_model::ConnectionStatus::Connected,
        created_by: member.id.clone(),
        created_at_ms: 1,
        last_sync: None,
        tokens: None,
    };
    store.put_connection(&connection).await.unwrap();
    let entry = chatter_model::LibraryEntry {
        id: "e0ffee0000000001".into(),
        org: org.clone(),
        connection: connection.id.clone(),
        item_id: "urn:umbrella:item".into(),
        source_id: "urn:umbrella:item?version=1".into(),
        version: "v1".into(),
        kind: chatter_model::library::ArtifactKind::NcProgram,
        name: "umbrella-secret-program.nc".into(),
        location: "Umbrella hub / Secret project".into(),
        modified_at_ms: 1,
        imported_at_ms: 1,
        content: "O9999 (UMBRELLA SECRET PROGRAM)".into(),
        machine: Some(machine.clone()),
    };
    store.put_library_entry(&entry).await.unwrap();
    let run = umbrella_report_run(&org, &machine);
    let document = chatter_model::Document {
        name: "umbrella-secret-report.csv".into(),
        media_type: "text/csv".into(),
        content: b"UMBRELLA REPORT CONTENT".to_vec(),
    };
    store.put_report_run(&run).await.unwrap();
    store
        .put_report_document(&org, &run.id, &document)
        .await
        .unwrap();
    let schedule = umbrella_schedule(&org, &member.id);
    store.put_report_schedule(&schedule).await.unwrap();
    let rule = umbrella_alert_rule(&org, &machine, &member.id);
    store.put_alert_rule(&rule).await.unwrap();
    store
        .put_alert_event(&umbrella_alert_event(&org, &machine))
        .await
        .unwrap();
    store
        .put_user_mute(&org, &umbrella_mute(&member.id))
        .await
        .unwrap();
    Other {
        report_schedule: schedule.id.clone(),
        alert_rule: rule.id.clone(),
        report_run: run.id.clone(),
        report_document: document.name.clone(),
        connection: connection.id,
        library_entry: entry.id,
        secrets: vec![
            "c0ffee0000000001".into(),
            "e0ffee0000000001".into(),
            "Umbrella Autodesk account".into(),
            "umbrella-secret-program".into(),
            "UMBRELLA SECRET PROGRAM".into(),
            "Umbrella hub".into(),
            "Umbrella graveyard shift".into(),
            run.id.clone(),
            "Umbrella quarterly report".into(),
            "umbrella-secret-report".into(),
            "UMBRELLA REPORT CONTENT".into(),
            "Umbrella advice".into(),
            schedule.id.clone(),
            "Umbrella weekly digest".into(),
            "Umbrella secret alert rule".into(),
            "hooks.umbrella.example".into(),
            "umbrella-webhook-secret-value".into(),
            "Umbrella alarm message".into(),
            "UMBRELLA ALARM TEXT".into(),
            org.to_string(),
            "Umbrella Works".into(),
            "Umbrella vault mill".into(),
            "Albert Umbrella".into(),
            "boss@umbrella.example".into(),
            "recruit@umbrella.example".into(),
            "umbrella-config-value".into(),
            "umbrella_spindle".into(),
            machine.to_string(),
            member.id.to_string(),
            device.public_id.clone(),
            api.public_id.clone(),
            invitation.public_id.clone(),
            "1234.5".into(),
        ],
        org,
        machine,
        member: member.id,
        device_token: device.public_id,
        api_token: api.public_id,
        invitation: invitation.public_id,
    }
}

/// The other organization's report schedule.
fn umbrella_schedule(org: &OrgId, member: &UserId) -> chatter_model::ReportSchedule {
    chatter_model::ReportSchedule {
        id: "0000000000002-feedfeed".into(),
        org: org.clone(),
        name: "Umbrella weekly digest".into(),
        plugin: PluginId::new("utilization").unwrap(),
        parameters: BTreeMap::new(),
        machines: Vec::new(),
        cadence: chatter_model::Cadence::Cron {
            expression: "0 0 1 1 *".into(),
        },
        period: chatter_model::SchedulePeriod::PreviousWeek,
        recipients: vec![member.clone()],
        created_by: member.clone(),
        created_ms: 1,
        last_run: None,
    }
}

/// The other organization's archived report run.
fn umbrella_report_run(org: &OrgId, machine: &MachineId) -> chatter_model::ReportRun {
    chatter_model::ReportRun {
        id: "0000000000001-beefbeef".into(),
        org: org.clone(),
        plugin: PluginId::new("utilization").unwrap(),
        plugin_version: "0.1.0".into(),
        title: "Umbrella quarterly report".into(),
        period: (0, 86_400_000_000_000),
        machines: vec![machine.clone()],
        parameters: BTreeMap::new(),
        trigger: chatter_model::RunTrigger::Schedule {
            schedule: "umbrella".into(),
        },
        created_ms: 1,
        finished_ms: Some(2),
        attempts: 1,
        status: chatter_model::RunStatus::Succeeded,
        documents: vec![chatter_model::report::DocumentInfo {
            name: "umbrella-secret-report.csv".into(),
            media_type: "text/csv".into(),
            bytes: 23,
        }],
        recommendations: vec![chatter_model::Recommendation {
            severity: chatter_model::Severity::Warning,
            machine: Some(machine.clone()),
            text: "Umbrella advice".into(),
            evidence: Vec::new(),
        }],
    }
}

/// The other organization's alert rule.
fn umbrella_alert_rule(
    org: &OrgId,
    machine: &MachineId,
    member: &UserId,
) -> chatter_model::AlertRule {
    use chatter_model::alert::{Channels, Condition, Webhook};
    chatter_model::AlertRule {
        id: "a1e47a1e47a1e470".into(),
        org: org.clone(),
        name: "Umbrella secret alert rule".into(),
        condition: Condition::Offline { minutes: 5 },
        machines: vec![machine.clone()],
        channels: Channels {
            email: vec![member.clone()],
            webhook: Some(Webhook {
                url: "https://hooks.umbrella.example/secret-hook".into(),
                secret: "umbrella-webhook-secret-value".into(),
            }),
            in_app: true,
        },
        enabled: true,
        muted_until_ms: None,
        created_by: member.clone(),
        created_ms: 1,
    }
}

/// The other organization's alert event.
fn umbrella_alert_event(org: &OrgId, machine: &MachineId) -> chatter_model::AlertEvent {
    chatter_model::AlertEvent {
        id: "0000000000001-00000001".into(),
        org: org.clone(),
        rule: "a1e47a1e47a1e470".into(),
        rule_name: "Umbrella secret alert rule".into(),
        machine: machine.clone(),
        machine_name: "Umbrella vault mill".into(),
        kind: chatter_model::alert::EventKind::Fired,
        at: 1_700_000_000_000_000_000,
        since: Some(1_699_999_000_000_000_000),
        message: "Umbrella alarm message".into(),
        alarm: Some(chatter_model::alert::AlarmNote {
            code: Some("U-1".into()),
            text: Some("UMBRELLA ALARM TEXT".into()),
            level: "fault".into(),
        }),
        resolves: None,
        muted: false,
        deliveries: Vec::new(),
        created_ms: 1,
    }
}

/// The other organization's member's mute of its rule.
fn umbrella_mute(member: &UserId) -> chatter_model::UserMute {
    chatter_model::UserMute {
        user: member.clone(),
        rule: "a1e47a1e47a1e470".into(),
        until_ms: None,
    }
}

/// The other organization's only shift, whose name no answer to `acme` may hold.
fn umbrella_shift() -> chatter_model::Shift {
    serde_json::from_value(serde_json::json!({
        "name": "Umbrella graveyard shift",
        "days": ["fri"],
        "start": "23:00",
        "end": "07:00",
    }))
    .unwrap()
}

/// A member of `acme` of every role, signed in and with a token of that role; acme's device
/// token; and nobody.
async fn acme_callers(store: &SledStore) -> Vec<Caller> {
    let acme = OrgId::new("acme").unwrap();
    let mut callers = vec![Caller {
        label: "anonymous".into(),
        session: None,
        bearer: None,
    }];
    for role in Role::ALL {
        let email = format!("{role}@acme.example");
        let user = chatter_server::accounts::operator::add_user(
            store,
            &email,
            &format!("Acme {role}"),
            "acme member password",
            &acme,
            role,
        )
        .await
        .unwrap();
        let token =
            chatter_server::accounts::operator::create_token(store, &email, &acme, role, "tenancy")
                .await
                .unwrap();
        // The session first: the token's calls sign the user out everywhere.
        let session = common::session(store, &user.id, &acme, 3_600_000).await;
        callers.push(Caller {
            label: format!("{role} (session)"),
            session: Some(session),
            bearer: None,
        });
        callers.push(Caller {
            label: format!("{role} (API token)"),
            session: None,
            bearer: Some(token),
        });
    }
    let device = secret::new_secret(secret::DEVICE_TOKEN_PREFIX).unwrap();
    store
        .put_device_token(
            &device.hash,
            &DeviceToken {
                kind: chatter_model::DeviceKind::Edge,
                id: device.public_id,
                org: acme,
                name: "Acme edge".into(),
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    callers.push(Caller {
        label: "acme's device token".into(),
        session: None,
        bearer: Some(device.secret),
    });
    let display = secret::new_secret(secret::DISPLAY_TOKEN_PREFIX).unwrap();
    store
        .put_device_token(
            &display.hash,
            &DeviceToken {
                kind: chatter_model::DeviceKind::Display,
                id: display.public_id,
                org: OrgId::new("acme").unwrap(),
                name: "Acme wall display".into(),
                created_at_ms: 1,
                revoked_at_ms: None,
            },
        )
        .await
        .unwrap();
    callers.push(Caller {
        label: "acme's wall display".into(),
        session: Some((format!("chatter_display={}", display.secret), String::new())),
        bearer: None,
    });
    callers
}

async fn still_intact(store: &SledStore, other: &Other) {
    let machine = store.machine(&other.org, &other.machine).await.unwrap();
    assert_eq!(machine.unwrap().name, "Umbrella vault mill");
    assert_eq!(
        store
            .last_sequence(&other.org, &other.machine)
            .await
            .unwrap(),
        1
    );
    let members = store.members(&other.org).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::Owner);
    let tokens = store.device_tokens(&other.org).await.unwrap();
    assert!(
        tokens
            .iter()
            .all(|(_, token)| token.revoked_at_ms.is_none())
    );
    let api = store.api_tokens_of(&other.member).await.unwrap();
    assert!(api.iter().all(|(_, token)| token.revoked_at_ms.is_none()));
    let invitations = store.invitations(&other.org).await.unwrap();
    assert!(
        invitations
            .iter()
            .all(|(_, i)| i.revoked_at_ms.is_none() && i.accepted.is_none())
    );
    let organization = store.organization(&other.org).await.unwrap().unwrap();
    assert_eq!(organization.shifts, [umbrella_shift()]);
    let connection = store
        .connection(&other.org, &other.connection)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        connection.status,
        chatter_model::ConnectionStatus::Connected
    );
    let entry = store
        .library_entry(&other.org, &other.library_entry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.machine.as_ref(), Some(&other.machine));
    let runs = store.report_runs(&other.org, 10).await.unwrap();
    assert_eq!(runs, [umbrella_report_run(&other.org, &other.machine)]);
    let schedules = store.report_schedules(&other.org).await.unwrap();
    assert_eq!(schedules, [umbrella_schedule(&other.org, &other.member)]);
    let rules = store.alert_rules(&other.org).await.unwrap();
    assert_eq!(
        rules,
        [umbrella_alert_rule(
            &other.org,
            &other.machine,
            &other.member
        )]
    );
    let events = store.alert_events(&other.org, 10).await.unwrap();
    assert_eq!(events, [umbrella_alert_event(&other.org, &other.machine)]);
    let mutes = store.user_mutes(&other.org).await.unwrap();
    assert_eq!(mutes, [umbrella_mute(&other.member)]);
}
