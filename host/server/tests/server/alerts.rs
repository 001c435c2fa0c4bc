//! Alert rules end to end: the NIST Mazak day is replayed over SHDR into a shop whose rules
//! watch for long alarms; the stretches in alarm are computed here from the log text, and each
//! one longer than the rule's minutes must fire once and resolve once — by e-mail through a
//! real SMTP server, to the rule's members who have not muted it, and by a webhook to a
//! receiver written here that checks every signature and fails its first request. A muted rule
//! records the same events and sends nothing. Then the refusals: who may manage rules, each
//! check a rule must pass, and where webhooks may point.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chatter_model::{OrgId, Role};
use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay, Speed};
use chatter_testkit::{MailServer, skip};
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{OWNER_EMAIL, ShopSetup, get, send};

/// The rule's minutes: below the longest stretches in alarm of the Mazak day (about 66 and
/// 34 minutes), above all the others.
const MINUTES: i64 = 30;
/// How far a receiver lets a request's timestamp be from its clock.
const TOLERANCE_S: i64 = 300;

// ---------------------------------------------------------------------------------------------
// The webhook receiver: what a customer would write, checking signatures its own way.

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq)]
enum Forged {
    NoTimestamp,
    Stale,
    NoSignature,
    BadSignature,
}

/// Checks a request as the documentation tells receivers to: the timestamp is recent, and the
/// signature is the HMAC-SHA256 of `"<timestamp>.<body>"` with the shared secret, compared in
/// constant time.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8], now_s: i64) -> Result<i64, Forged> {
    let timestamp: i64 = headers
        .get("x-chatter-timestamp")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(Forged::NoTimestamp)?;
    if (now_s - timestamp).abs() > TOLERANCE_S {
        return Err(Forged::Stale);
    }
    let signature = headers
        .get("x-chatter-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(Forged::NoSignature)?;
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| Forged::BadSignature)?;
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| Forged::BadSignature)?;
    Ok(timestamp)
}

fn now_s() -> i64 {
    chatter_model::now_ms() / 1000
}

/// What the receiver got, per hook.
#[derive(Default)]
struct Inbox {
    /// Verified bodies, in arrival order.
    bodies: Vec<Value>,
    /// Requests refused, and why.
    refused: Vec<Forged>,
    /// Requests answered 500 on purpose.
    failed: usize,
}

#[derive(Clone)]
struct Receiver {
    secrets: Arc<HashMap<String, String>>,
    inboxes: Arc<Mutex<HashMap<String, Inbox>>>,
    /// Hooks whose first verified request is answered 500.
    fail_first: Arc<HashSet<String>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    axum::extract::Path(hook): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(secret) = receiver.secrets.get(&hook) else {
        return StatusCode::NOT_FOUND;
    };
    let checked = verify(secret, &headers, &body, now_s());
    let mut inboxes = receiver.inboxes.lock().unwrap();
    let inbox = inboxes.entry(hook.clone()).or_default();
    match checked {
        Err(forged) => {
            inbox.refused.push(forged);
            StatusCode::UNAUTHORIZED
        }
        Ok(_) if receiver.fail_first.contains(&hook) && inbox.failed == 0 => {
            inbox.failed += 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        Ok(_) => {
            inbox.bodies.push(serde_json::from_slice(&body).unwrap());
            StatusCode::NO_CONTENT
        }
    }
}

/// Serves the receiver on 127.0.0.1: `POST /hooks/{name}`.
async fn start_receiver(secrets: &[(&str, &str)], fail_first: &[&str]) -> (String, Receiver) {
    let receiver = Receiver {
        secrets: Arc::new(
            secrets
                .iter()
                .map(|(hook, secret)| ((*hook).to_owned(), (*secret).to_owned()))
                .collect(),
        ),
        inboxes: Arc::default(),
        fail_first: Arc::new(fail_first.iter().map(|h| (*h).to_owned()).collect()),
    };
    let app = axum::Router::new()
        .route("/hooks/{hook}", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, receiver)
}

// ---------------------------------------------------------------------------------------------
// The log, read as a person would: when was the machine online with an alarm active?

fn nanos(timestamp: &str) -> i64 {
    let instant: jiff::Timestamp = timestamp.parse().unwrap();
    i64::try_from(instant.as_nanosecond()).unwrap()
}

/// The ids and names of the device's condition data items, from its Devices.xml.
fn condition_keys(devices_xml: &str, device: &str) -> HashSet<String> {
    let document = roxmltree::Document::parse(devices_xml).unwrap();
    let device = document
        .descendants()
        .find(|n| n.tag_name().name() == "Device" && n.attribute("name") == Some(device))
        .unwrap();
    device
        .descendants()
        .filter(|n| {
            n.tag_name().name() == "DataItem" && n.attribute("category") == Some("CONDITION")
        })
        .flat_map(|n| [n.attribute("id"), n.attribute("name")])
        .flatten()
        .map(str::to_owned)
        .collect()
}

/// The stretches `[start, end)` in which the machine was available with at least one warning or
/// fault active: a condition at WARNING or FAULT raises its (item, code); NORMAL with a code
/// clears that code; NORMAL without one, or UNAVAILABLE, clears the item.
fn alarm_stretches(log: &str, conditions: &HashSet<String>) -> Vec<(i64, i64)> {
    let mut active: HashSet<(String, String)> = HashSet::new();
    let mut available = false;
    let mut open: Option<i64> = None;
    let mut stretches = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.trim_end_matches('\r').split('|').collect();
        let at = nanos(fields[0]);
        let mut i = 1;
        while i < fields.len() {
            let key = fields[i];
            if conditions.contains(key) {
                let level = fields
                    .get(i + 1)
                    .copied()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                let code = fields.get(i + 2).copied().unwrap_or_default().to_owned();
                match level.as_str() {
                    "WARNING" | "FAULT" => {
                        active.insert((key.to_owned(), code));
                    }
                    "NORMAL" if !code.is_empty() => {
                        active.remove(&(key.to_owned(), code));
                    }
                    _ => active.retain(|(item, _)| item != key),
                }
                i += 6;
                continue;
            }
            if key == "avail" {
                available = fields.get(i + 1).is_some_and(|v| v.trim() == "AVAILABLE");
            }
            i += 2;
        }
        let on = available && !active.is_empty();
        match (on, open) {
            (true, None) => open = Some(at),
            (false, Some(start)) => {
                stretches.push((start, at));
                open = None;
            }
            _ => {}
        }
    }
    stretches
}

// ---------------------------------------------------------------------------------------------

/// A member of `acme` with an API token: (user id, token).
async fn member(shop: &common::Shop, email: &str, name: &str, role: Role) -> (String, String) {
    let acme = OrgId::new("acme").unwrap();
    let user = chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        email,
        name,
        "member password 1",
        &acme,
        role,
    )
    .await
    .unwrap();
    let token = chatter_server::accounts::operator::create_token(
        shop.store.as_ref(),
        email,
        &acme,
        role,
        "alerts",
    )
    .await
    .unwrap();
    (user.id.to_string(), token)
}

/// Calls the API with `token` instead of the owner's.
async fn send_as(token: &str, method: Method, url: &str, body: Option<&Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The events of rule `rule` in the history, oldest first.
fn events_of<'a>(history: &'a Value, rule: &str) -> Vec<&'a Value> {
    let mut events: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rule"] == rule)
        .collect();
    events.reverse();
    events
}

fn all_delivered(events: &[&Value]) -> bool {
    events.iter().all(|event| {
        event["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] != "pending")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn long_alarms_of_a_replayed_day_fire_and_resolve_by_email_and_signed_webhook() {
    let Some(fixtures) = common::fixtures("mtconnect/nist-smstestbed") else {
        return;
    };
    if !skip::available("alert e-mail", MailServer::is_available) {
        return;
    }
    let mail = MailServer::start().unwrap();
    let (hooks, receiver) = start_receiver(
        &[
            ("long", "long-alarms-secret-0123"),
            ("quiet", "quiet-alarms-secret-0123"),
        ],
        &["long"],
    )
    .await;
    let shop = common::serve(ShopSetup {
        plugins: &["shdr"],
        allow_loopback: true,
        smtp_url: Some(mail.url()),
        alerts: chatter_server::config::AlertsSection {
            webhook_backoff_ms: 50,
            ..Default::default()
        },
        ..ShopSetup::default()
    })
    .await;
    let base = &shop.base;
    let (ann, _) = member(&shop, "ann@acme.example", "Ann", Role::Member).await;
    let (bob, bob_token) = member(&shop, "bob@acme.example", "Bob", Role::Member).await;
    let (_, me) = get(&format!("{base}/api/v1/me")).await;
    let owner = me["id"].as_str().unwrap().to_owned();

    // The machine, stopped until the rules are in place.
    let log_path = fixtures.join("Mazak03-20160510-20160511.txt");
    let devices = std::fs::read_to_string(fixtures.join("Devices.xml")).unwrap();
    let options = ReplayOptions {
        // The day 400 times as fast, each line at its moment: the rules see the stretches one
        // by one, as a live feed would show them, in batches of a few seconds of the log.
        speed: Speed::Factor(400.0),
        max_pause: Some(Duration::from_secs(60)),
        ..ReplayOptions::default()
    };
    let replay = ShdrReplay::start(ShdrLog::read(&log_path).unwrap(), options)
        .await
        .unwrap();
    let machine = json!({
        "id": "mazak",
        "name": "Mazak 3",
        "driver": "shdr",
        "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": replay.local_addr().port() }],
        "config": { "devices-xml": devices, "device": "Mazak03" },
        "poll_interval_ms": 10,
        "enabled": false,
    });
    let (status, answer) = send(
        Method::POST,
        &format!("{base}/api/v1/machines"),
        Some(&machine),
    )
    .await;
    assert_eq!(status, 201, "{answer}");

    // Two rules on the same condition: one heard by e-mail and webhook, one muted.
    let condition = json!({ "kind": "in_alarm", "minutes": MINUTES, "level": "warning" });
    let rules = format!("{base}/api/v1/alerts/rules");
    let long = json!({
        "name": "Long alarms",
        "condition": condition,
        "machines": ["mazak"],
        "channels": {
            "email": [owner, ann, bob],
            "webhook": { "url": format!("{hooks}/hooks/long"), "secret": "long-alarms-secret-0123" },
            "in_app": true,
        },
    });
    let (status, long) = send(Method::POST, &rules, Some(&long)).await;
    assert_eq!(status, 201, "{long}");
    assert_eq!(long["channels"]["webhook"]["secret_set"], true);
    assert!(!long.to_string().contains("long-alarms-secret"), "{long}");
    let long_id = long["id"].as_str().unwrap().to_owned();
    let quiet = json!({
        "name": "Quiet alarms",
        "condition": condition,
        "channels": {
            "email": [owner, ann],
            "webhook": { "url": format!("{hooks}/hooks/quiet"), "secret": "quiet-alarms-secret-0123" },
            "in_app": true,
        },
        "muted_until": "forever",
    });
    let (status, quiet) = send(Method::POST, &rules, Some(&quiet)).await;
    assert_eq!(status, 201, "{quiet}");
    assert_eq!(quiet["muted_until"], "forever");
    let quiet_id = quiet["id"].as_str().unwrap().to_owned();
    // Bob mutes the first rule for himself.
    let (status, muted) = send_as(
        &bob_token,
        Method::POST,
        &format!("{rules}/{long_id}/mute"),
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{muted}");
    assert_eq!(muted["until"], "forever");
    let (_, seen_by_bob) =
        send_as(&bob_token, Method::GET, &format!("{rules}/{long_id}"), None).await;
    assert_eq!(seen_by_bob["muted_for_me"], "forever");

    // What the log says.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let stretches = alarm_stretches(&log, &condition_keys(&devices, "Mazak03"));
    let n = MINUTES * 60 * 1_000_000_000;
    let long_ones: Vec<(i64, i64)> = stretches
        .iter()
        .copied()
        .filter(|(s, e)| e - s >= n)
        .collect();
    assert!(
        !long_ones.is_empty(),
        "the day has alarms longer than {MINUTES} min: {stretches:?}"
    );
    for (start, end) in &stretches {
        let minutes = (end - start) as f64 / 60e9;
        assert!(
            (minutes - MINUTES as f64).abs() > 1.0,
            "a stretch of {minutes} min is too close to the rule's {MINUTES} to judge"
        );
    }

    let (status, started) = send(
        Method::POST,
        &format!("{base}/api/v1/machines/mazak/start"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{started}");

    // Every long stretch fires and resolves, for both rules, and every delivery ends.
    let expected = 2 * long_ones.len();
    let deadline = Instant::now() + Duration::from_secs(240);
    let history = loop {
        let (_, history) = get(&format!("{base}/api/v1/alerts/events?limit=1000")).await;
        let long_events = events_of(&history, &long_id);
        let quiet_events = events_of(&history, &quiet_id);
        if long_events.len() >= expected
            && quiet_events.len() >= expected
            && all_delivered(&long_events)
        {
            break history;
        }
        assert!(
            Instant::now() < deadline,
            "expected {expected} events per rule for stretches {long_ones:?}; history: {history:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let long_events = events_of(&history, &long_id);
    assert_eq!(long_events.len(), expected, "{history:#}");
    for (pair, (start, end)) in long_events.chunks(2).zip(&long_ones) {
        let (fired, resolved) = (pair[0], pair[1]);
        assert_eq!(fired["kind"], "fired", "{fired}");
        assert_eq!(resolved["kind"], "resolved", "{resolved}");
        assert_eq!(resolved["resolves"], fired["id"]);
        let since = nanos(fired["since"].as_str().unwrap());
        let at = nanos(fired["at"].as_str().unwrap());
        let minute = 60_000_000_000;
        assert!(
            (*start..start + minute).contains(&since),
            "{fired} vs stretch from {start}"
        );
        assert!(
            at >= since + n && at < *end,
            "{fired} fires after {MINUTES} min, within its stretch"
        );
        // Dated by the observation that cleared the last alarm, not by the batch it came in.
        assert_eq!(nanos(resolved["at"].as_str().unwrap()), *end, "{resolved}");
        assert_eq!(resolved["since"], fired["since"]);
        assert!(
            fired["message"]
                .as_str()
                .unwrap()
                .starts_with("Mazak 3 with an active alarm for "),
            "{fired}"
        );
        assert!(fired["alarm"].is_object(), "the alarm is named: {fired}");
        assert_eq!(fired["muted"], false);
        // Owner and Ann by e-mail, not Bob; the webhook; the app.
        let deliveries = fired["deliveries"].as_array().unwrap();
        let channel = |d: &Value| (d["channel"]["kind"].clone(), d["channel"]["user"].clone());
        let mut channels: Vec<(Value, Value)> = deliveries.iter().map(channel).collect();
        channels.sort_by_key(|c| c.to_owned().0.to_string() + &c.1.to_string());
        let mut want = vec![
            (json!("email"), json!(owner)),
            (json!("email"), json!(ann)),
            (json!("in_app"), Value::Null),
            (json!("webhook"), Value::Null),
        ];
        want.sort_by_key(|c| c.0.to_string() + &c.1.to_string());
        assert_eq!(channels, want, "{fired}");
        assert!(
            deliveries.iter().all(|d| d["state"] == "delivered"),
            "{fired}"
        );
    }
    // The receiver failed the first attempt: the first event's webhook took two.
    let first_webhook = long_events[0]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"]["kind"] == "webhook")
        .unwrap();
    assert_eq!(first_webhook["attempts"], 2, "{first_webhook}");

    // The muted rule recorded the same events and sent nothing.
    let quiet_events = events_of(&history, &quiet_id);
    assert_eq!(quiet_events.len(), expected);
    for event in &quiet_events {
        assert_eq!(event["muted"], true, "{event}");
        assert_eq!(event["deliveries"], json!([]), "{event}");
    }
    let kinds = |events: &[&Value]| events.iter().map(|e| e["kind"].clone()).collect::<Vec<_>>();
    assert_eq!(kinds(&quiet_events), kinds(&long_events));

    // The webhook: every request signed, fired then resolved, in order.
    {
        let inboxes = receiver.inboxes.lock().unwrap();
        let inbox = &inboxes["long"];
        assert!(inbox.refused.is_empty(), "{:?}", inbox.refused);
        assert_eq!(inbox.failed, 1);
        let ids: Vec<&Value> = inbox.bodies.iter().map(|b| &b["event"]).collect();
        let want: Vec<&Value> = long_events.iter().map(|e| &e["id"]).collect();
        assert_eq!(ids, want, "delivered in order");
        let body = &inbox.bodies[0];
        assert_eq!(body["kind"], "fired");
        assert_eq!(body["rule"], json!(long_id));
        assert_eq!(body["rule_name"], "Long alarms");
        assert_eq!(body["machine"], "mazak");
        assert_eq!(body["machine_name"], "Mazak 3");
        assert_eq!(body["at"], long_events[0]["at"]);
        assert_eq!(body["message"], long_events[0]["message"]);
        assert_eq!(body["link"], format!("{base}/machines/mazak"));
        assert_eq!(inbox.bodies[1]["kind"], "resolved");
        assert!(
            !inboxes.contains_key("quiet"),
            "the muted rule posted nothing"
        );
    }

    // The e-mail: the owner and Ann each got every event of the first rule; Bob none; nobody
    // any of the muted rule's.
    let wanted = long_events.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    let messages = loop {
        let messages = mail.messages();
        let to = |address: &str| {
            messages
                .iter()
                .filter(|m| m.to.iter().any(|t| t == address))
                .count()
        };
        if to(OWNER_EMAIL) >= wanted && to("ann@acme.example") >= wanted {
            break messages;
        }
        assert!(Instant::now() < deadline, "{} messages", messages.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        messages
            .iter()
            .all(|m| !m.to.contains(&"bob@acme.example".to_owned()))
    );
    assert!(messages.iter().all(|m| !m.subject.contains("Quiet alarms")));
    for address in [OWNER_EMAIL, "ann@acme.example"] {
        let mine: Vec<_> = messages
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect();
        assert_eq!(mine.len(), wanted, "{address}");
        let fired: Vec<_> = mine
            .iter()
            .filter(|m| !m.subject.contains("Resolved:"))
            .collect();
        let resolved: Vec<_> = mine
            .iter()
            .filter(|m| m.subject.contains("Resolved:"))
            .collect();
        assert_eq!(
            (fired.len(), resolved.len()),
            (long_ones.len(), long_ones.len())
        );
        let first = fired
            .iter()
            .find(|m| {
                m.subject
                    == format!(
                        "[Chatter] {} — rule \"Long alarms\"",
                        long_events[0]["message"].as_str().unwrap()
                    )
            })
            .unwrap_or_else(|| {
                panic!("{:?}", fired.iter().map(|m| &m.subject).collect::<Vec<_>>())
            });
        assert!(
            first.text.contains("Machine: Mazak 3 (mazak)"),
            "{}",
            first.text
        );
        let since = jiff::Timestamp::from_nanosecond(i128::from(nanos(
            long_events[0]["since"].as_str().unwrap(),
        )))
        .unwrap();
        assert!(
            first.text.contains(&format!(
                "Since: {}",
                since.strftime("%Y-%m-%d %H:%M:%S UTC")
            )),
            "{}",
            first.text
        );
        assert!(first.text.contains("Alarm: "), "{}", first.text);
        assert_eq!(
            first.link_containing("/machines/mazak"),
            Some(format!("{base}/machines/mazak"))
        );
        assert!(
            first.html.as_deref().is_some_and(|h| h.contains("Mazak 3")),
            "{first:?}"
        );
        for message in &resolved {
            assert!(
                message
                    .subject
                    .starts_with("[Chatter] Resolved: Mazak 3 alarms cleared after "),
                "{}",
                message.subject
            );
            assert!(
                message.subject.ends_with(" — rule \"Long alarms\""),
                "{}",
                message.subject
            );
        }
    }

    // Nothing is open now; the page shows the history with its deliveries.
    assert_eq!(history["open"], json!([]));
    let page = common::get_text(&format!("{base}/alerts")).await;
    assert!(
        page.contains("Long alarms") && page.contains("Quiet alarms"),
        "{page}"
    );
    assert!(page.contains("Muted: nothing sent."), "{page}");
    assert!(page.contains("E-mail to Ann: delivered"), "{page}");
    assert!(
        page.contains("Webhook: delivered after 2 attempts"),
        "{page}"
    );
    assert!(page.contains("id=\"nav-alerts\""), "{page}");
    drop(replay);
}

#[tokio::test]
async fn a_forged_or_stale_webhook_is_refused_by_the_documented_check() {
    let secret = "a-receivers-secret-123";
    let body = br#"{"event":"1","kind":"fired"}"#;
    let now = now_s();
    let mut headers = HeaderMap::new();
    headers.insert("x-chatter-timestamp", now.to_string().parse().unwrap());
    let signature = chatter_server::alerts::webhook::sign(secret, now, body);
    headers.insert("x-chatter-signature", signature.parse().unwrap());
    assert_eq!(verify(secret, &headers, body, now), Ok(now));

    // A tampered body, the wrong secret, a signature moved to another time: refused.
    assert_eq!(
        verify(secret, &headers, br#"{"event":"1","kind":"resolved"}"#, now),
        Err(Forged::BadSignature)
    );
    assert_eq!(
        verify("another-secret-4567", &headers, body, now),
        Err(Forged::BadSignature)
    );
    let mut moved = headers.clone();
    moved.insert(
        "x-chatter-timestamp",
        (now - 1).to_string().parse().unwrap(),
    );
    assert_eq!(verify(secret, &moved, body, now), Err(Forged::BadSignature));
    // A replay of a real request, later.
    assert_eq!(
        verify(secret, &headers, body, now + TOLERANCE_S + 1),
        Err(Forged::Stale)
    );
    let mut unsigned = headers.clone();
    unsigned.remove("x-chatter-signature");
    assert_eq!(
        verify(secret, &unsigned, body, now),
        Err(Forged::NoSignature)
    );
    unsigned.remove("x-chatter-timestamp");
    assert_eq!(
        verify(secret, &unsigned, body, now),
        Err(Forged::NoTimestamp)
    );

    // The receiver answers a forged request 401 and keeps nothing.
    let (hooks, receiver) = start_receiver(&[("h", secret)], &[]).await;
    let response = reqwest::Client::new()
        .post(format!("{hooks}/hooks/h"))
        .header("x-chatter-timestamp", now.to_string())
        .header(
            "x-chatter-signature",
            chatter_server::alerts::webhook::sign(secret, now, body),
        )
        .body(r#"{"event":"1","kind":"resolved"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let inboxes = receiver.inboxes.lock().unwrap();
    assert_eq!(inboxes["h"].refused, [Forged::BadSignature]);
    assert!(inboxes["h"].bodies.is_empty());
}

/// A rule valid in every way but the one a case changes.
fn valid_rule() -> Value {
    json!({
        "name": "Offline machines",
        "condition": { "kind": "offline", "minutes": 10 },
        "channels": { "in_app": true },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_refused_with_the_field_at_fault_and_only_members_manage_them() {
    let shop = common::serve(ShopSetup::default()).await;
    let base = &shop.base;
    let rules = format!("{base}/api/v1/alerts/rules");
    let (_, viewer_token) = member(&shop, "viewer@acme.example", "Vera", Role::Viewer).await;
    let (_, member_token) = member(&shop, "member@acme.example", "Max", Role::Member).await;

    // A viewer reads rules and mutes them for themselves, but cannot create one.
    let (status, refused) = send_as(&viewer_token, Method::POST, &rules, Some(&valid_rule())).await;
    assert_eq!(status, 403, "{refused}");
    let (status, created) = send_as(&member_token, Method::POST, &rules, Some(&valid_rule())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["description"],
        "offline or silent for at least 10 min"
    );
    let (status, _) = send_as(&viewer_token, Method::GET, &rules, None).await;
    assert_eq!(status, 200);
    let (status, mute) = send_as(
        &viewer_token,
        Method::POST,
        &format!("{rules}/{id}/mute"),
        Some(&json!({ "until": "2099-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, 200, "{mute}");
    assert_eq!(mute["until"], "2099-01-01T00:00:00Z");
    let (status, _) = send_as(
        &viewer_token,
        Method::DELETE,
        &format!("{rules}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send_as(
        &viewer_token,
        Method::DELETE,
        &format!("{rules}/{id}/mute"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, rule) = send_as(&viewer_token, Method::GET, &format!("{rules}/{id}"), None).await;
    assert_eq!(rule["muted_for_me"], Value::Null);

    // Someone of the other organization, and a machine only it has.
    let other = OrgId::new("other").unwrap();
    let outsider = chatter_server::accounts::operator::add_user(
        shop.store.as_ref(),
        "outsider@other.example",
        "Outsider",
        "outsider password 1",
        &other,
        Role::Owner,
    )
    .await
    .unwrap();

    let with = |path: &[&str], value: Value| {
        let mut rule = valid_rule();
        let mut slot = &mut rule;
        for key in &path[..path.len() - 1] {
            slot = &mut slot[*key];
        }
        slot[path[path.len() - 1]] = value;
        rule
    };
    let hook = |url: &str, secret: &str| json!({ "url": url, "secret": secret });
    let cases = [
        (with(&["name"], json!("  ")), "name"),
        (
            with(&["condition"], json!({ "kind": "offline", "minutes": 0 })),
            "condition.minutes",
        ),
        (
            with(
                &["condition"],
                json!({ "kind": "in_alarm", "minutes": 10081 }),
            ),
            "condition.minutes",
        ),
        (
            with(
                &["condition"],
                json!({ "kind": "idle_during_shift", "minutes": 0 }),
            ),
            "condition.minutes",
        ),
        (
            with(&["condition"], json!({ "kind": "part_count", "parts": 0 })),
            "condition.parts",
        ),
        (with(&["machines"], json!(["mill-1"])), "machines"),
        (with(&["machines"], json!(["no-such-mill"])), "machines"),
        (
            with(&["channels", "email"], json!([outsider.id.as_str()])),
            "channels.email",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("ftp://hooks.example.com/x", "0123456789abcdef"),
            ),
            "channels.webhook.url",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("https://93.184.216.34/x", "too short"),
            ),
            "channels.webhook.secret",
        ),
        (
            with(
                &["channels", "webhook"],
                json!({ "url": "https://93.184.216.34/x" }),
            ),
            "channels.webhook.secret",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("http://10.1.2.3/hook", "0123456789abcdef"),
            ),
            "channels.webhook.url",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("http://127.0.0.1:9/hook", "0123456789abcdef"),
            ),
            "channels.webhook.url",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("http://169.254.169.254/latest", "0123456789abcdef"),
            ),
            "channels.webhook.url",
        ),
        (
            with(
                &["channels", "webhook"],
                hook("http://[fd00::1]/hook", "0123456789abcdef"),
            ),
            "channels.webhook.url",
        ),
        (with(&["muted_until"], json!("next tuesday")), "muted_until"),
    ];
    for (body, field) in &cases {
        let (status, answer) = send(Method::POST, &rules, Some(body)).await;
        assert_eq!(status, 422, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{body}: {message}"
        );
        assert!(!message.contains("Other's secret mill"), "{message}");
    }
    let (_, private) = send(Method::POST, &rules, Some(&cases[11].0)).await;
    let message = private["error"]["message"].as_str().unwrap();
    assert!(message.contains("private address"), "{message}");
    let (status, answer) = send(
        Method::POST,
        &rules,
        Some(&json!({ "name": "x", "condition": { "kind": "sometimes" } })),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    // Nothing refused was saved; a PUT of another id creates nothing.
    let (_, listed) = get(&rules).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let (status, _) = send(
        Method::PUT,
        &format!("{rules}/not-a-rule"),
        Some(&valid_rule()),
    )
    .await;
    assert_eq!(status, 404);

    // A PUT keeps the webhook's secret when it is left out, and never shows it.
    let with_hook = with(
        &["channels", "webhook"],
        hook("https://93.184.216.34/x", "a-long-enough-secret"),
    );
    let (status, _) = send(Method::PUT, &format!("{rules}/{id}"), Some(&with_hook)).await;
    assert_eq!(status, 200);
    let renamed = {
        let mut rule = with(
            &["channels", "webhook"],
            json!({ "url": "https://93.184.216.34/y" }),
        );
        rule["name"] = json!("Renamed");
        rule
    };
    let (status, saved) = send(Method::PUT, &format!("{rules}/{id}"), Some(&renamed)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["channels"]["webhook"],
        json!({ "url": "https://93.184.216.34/y", "secret_set": true })
    );
    let stored =
        chatter_store::Alerts::alert_rule(shop.store.as_ref(), &OrgId::new("acme").unwrap(), &id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        stored.channels.webhook.unwrap().secret,
        "a-long-enough-secret"
    );

    // Changes are audited by id and kind.
    let (_, audit) = get(&format!("{base}/api/v1/audit")).await;
    let text = audit.to_string();
    for action in ["alert.rule_create", "alert.rule_update"] {
        assert!(text.contains(action), "{action}: {audit}");
    }
    assert!(!text.contains("Renamed"), "names stay out of the audit log");
    let (status, _) = send(Method::DELETE, &format!("{rules}/{id}"), None).await;
    assert_eq!(status, 204);
    let (_, audit) = get(&format!("{base}/api/v1/audit")).await;
    assert!(audit.to_string().contains("alert.rule_delete"));
}

#[tokio::test(flavor = "multi_thread")]
async fn private_webhooks_are_accepted_where_the_operator_allows_them() {
    let shop = common::serve(ShopSetup {
        alerts: chatter_server::config::AlertsSection {
            webhook_allow_private: true,
            ..Default::default()
        },
        ..ShopSetup::default()
    })
    .await;
    let mut rule = valid_rule();
    rule["channels"]["webhook"] =
        json!({ "url": "http://10.1.2.3/hook", "secret": "0123456789abcdef" });
    let (status, answer) = send(
        Method::POST,
        &format!("{}/api/v1/alerts/rules", shop.base),
        Some(&rule),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    // Loopback and the metadata service still follow [network].
    rule["channels"]["webhook"]["url"] = json!("http://127.0.0.1:9/hook");
    let (status, _) = send(
        Method::POST,
        &format!("{}/api/v1/alerts/rules", shop.base),
        Some(&rule),
    )
    .await;
    assert_eq!(status, 422);
    rule["channels"]["webhook"]["url"] = json!("http://169.254.169.254/");
    let (status, _) = send(
        Method::POST,
        &format!("{}/api/v1/alerts/rules", shop.base),
        Some(&rule),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_says_idle_rules_need_shifts_and_counts_nothing_open() {
    let shop = common::serve(ShopSetup::default()).await;
    let mut rule = valid_rule();
    rule["condition"] = json!({ "kind": "idle_during_shift", "minutes": 20 });
    let (status, _) = send(
        Method::POST,
        &format!("{}/api/v1/alerts/rules", shop.base),
        Some(&rule),
    )
    .await;
    assert_eq!(status, 201);
    let page = common::get_text(&format!("{}/alerts", shop.base)).await;
    assert!(page.contains("id=\"no-shifts-note\""), "{page}");
    assert!(page.contains("(no shifts: never fires)"), "{page}");
    assert!(!page.contains("data-test=\"nav-open-alerts\""), "{page}");
}

/// An observation of an edge batch at `at`.
fn observed(sequence: u64, item: &str, at: jiff::Timestamp, value: Value) -> Value {
    json!({ "sequence": sequence, "data_item": item, "timestamp": at.to_string(), "value": value })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_machine_in_alarm_fires_by_the_clock_without_waiting_for_more_data() {
    let shop = common::serve(ShopSetup::default()).await;
    let base = &shop.base;
    let machine =
        json!({ "id": "edge-1", "name": "Edge mill", "driver": "simulator", "feed": "edge" });
    let (status, body) = send(
        Method::POST,
        &format!("{base}/api/v1/machines"),
        Some(&machine),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, token) = send(
        Method::POST,
        &format!("{base}/api/v1/device-tokens"),
        Some(&json!({ "name": "bay 1" })),
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let rule = json!({
        "name": "Stuck in alarm",
        "condition": { "kind": "in_alarm", "minutes": 1 },
        "machines": ["edge-1"],
        "channels": { "in_app": true },
    });
    let (status, rule) = send(
        Method::POST,
        &format!("{base}/api/v1/alerts/rules"),
        Some(&rule),
    )
    .await;
    assert_eq!(status, 201, "{rule}");

    // The machine went into alarm 50 s ago by its clock, and said so just now with its latest
    // data: the rule's minute runs out about 10 s from now, with nothing more arriving.
    let now = jiff::Timestamp::now();
    let raised = now - jiff::SignedDuration::from_secs(50);
    let before = raised - jiff::SignedDuration::from_secs(1);
    let fault = json!({ "type": "condition", "value": {
        "level": "fault", "native_code": "E42", "text": "SPINDLE OVERLOAD" } });
    let batch = json!({ "machine": "edge-1", "stream": "edge-a", "observations": [
        observed(1, "avail", before, json!({ "type": "event", "value": "AVAILABLE" })),
        observed(2, "execution", before, json!({ "type": "event", "value": "READY" })),
        observed(3, "system", raised, fault),
        observed(4, "spindle_speed", now, json!({ "type": "sample", "value": 0.0 })),
    ] });
    let (status, answer) = send_as(
        &token,
        Method::POST,
        &format!("{base}/api/v1/ingest"),
        Some(&batch),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let events = format!("{base}/api/v1/alerts/events");
    let history = common::wait_for(&events, Duration::from_secs(90), |h| {
        h["events"].as_array().is_some_and(|e| !e.is_empty())
    })
    .await;
    let fired = &history["events"][0];
    assert_eq!(fired["kind"], "fired", "{history:#}");
    assert_eq!(
        nanos(fired["since"].as_str().unwrap()),
        nanos(&raised.to_string())
    );
    let at = nanos(fired["at"].as_str().unwrap());
    assert!(at - nanos(&raised.to_string()) >= 60_000_000_000, "{fired}");
    assert_eq!(
        fired["alarm"],
        json!({ "code": "E42", "text": "SPINDLE OVERLOAD", "level": "fault" })
    );
    assert_eq!(fired["message"], "Edge mill in alarm for 1 min");
    assert_eq!(
        history["open"],
        json!([{ "rule": rule["id"], "machine": "edge-1" }])
    );
    // The menu counts it for the owner.
    let page = common::get_text(&format!("{base}/alerts")).await;
    assert!(
        page.contains("data-test=\"nav-open-alerts\" aria-label=\"1 open\""),
        "{page}"
    );

    // The alarm clears: resolved, once.
    let cleared = jiff::Timestamp::now();
    let normal = json!({ "type": "condition", "value": { "level": "normal" } });
    let batch = json!({ "machine": "edge-1", "stream": "edge-a", "observations": [
        observed(5, "system", cleared, normal),
    ] });
    let (status, answer) = send_as(
        &token,
        Method::POST,
        &format!("{base}/api/v1/ingest"),
        Some(&batch),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let history = common::wait_for(&events, Duration::from_secs(30), |h| {
        h["events"].as_array().is_some_and(|e| e.len() >= 2)
    })
    .await;
    let resolved = &history["events"][0];
    assert_eq!(resolved["kind"], "resolved", "{history:#}");
    assert_eq!(resolved["resolves"], fired["id"]);
    assert_eq!(history["open"], json!([]));
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_adds_mutes_unmutes_and_deletes_rules_with_its_forms() {
    let shop = common::serve(ShopSetup {
        simulated: 1,
        ..ShopSetup::default()
    })
    .await;
    let base = &shop.base;
    let (_, me) = get(&format!("{base}/api/v1/me")).await;
    let owner = chatter_model::UserId::new(me["id"].as_str().unwrap()).unwrap();
    let acme = OrgId::new("acme").unwrap();
    let (cookie, csrf) = common::session(&shop.store, &owner, &acme, 3_600_000).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.clone()));
        browser
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .form(&fields)
    };
    let page = || async {
        let response = browser
            .get(format!("{base}/alerts"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let added = post(
        "/alerts/rules".into(),
        vec![
            ("name", "Mill idle".into()),
            ("condition", "idle_during_shift".into()),
            ("minutes", "15".into()),
            ("parts", "100".into()),
            ("machine", "mill-1".into()),
            ("recipient", owner.to_string()),
            ("in_app", "on".into()),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(added.status(), 303);
    assert_eq!(added.headers()["location"], "/alerts?done=alert_rule_added");
    let shown = page().await;
    assert!(shown.contains("Mill idle"), "{shown}");
    assert!(
        shown.contains("idle for at least 15 min during a shift"),
        "{shown}"
    );
    assert!(shown.contains("<td>Mill 1</td>"), "{shown}");
    assert!(shown.contains("E-mail: Owner · In app"), "{shown}");
    let (_, rules) = get(&format!("{base}/api/v1/alerts/rules")).await;
    let id = rules[0]["id"].as_str().unwrap().to_owned();

    // For me, for 8 hours; for everyone, until unmuted.
    let muted = post(
        format!("/alerts/rules/{id}/mute"),
        vec![("hours", "8".into())],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(muted.status(), 303);
    let muted = post(
        format!("/alerts/rules/{id}/mute-rule"),
        vec![("hours", "forever".into())],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(muted.status(), 303);
    let shown = page().await;
    assert!(
        shown.contains("data-test=\"muted-for-me\">for me until "),
        "{shown}"
    );
    assert!(shown.contains("for everyone until unmuted"), "{shown}");
    let (_, rule) = get(&format!("{base}/api/v1/alerts/rules/{id}")).await;
    assert_eq!(rule["muted_until"], "forever");
    assert!(rule["muted_for_me"].is_string(), "{rule}");
    for path in ["unmute", "unmute-rule"] {
        let response = post(format!("/alerts/rules/{id}/{path}"), Vec::new())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
    }
    let (_, rule) = get(&format!("{base}/api/v1/alerts/rules/{id}")).await;
    assert_eq!(
        (&rule["muted_until"], &rule["muted_for_me"]),
        (&Value::Null, &Value::Null)
    );

    // A refused form says which field, and saves nothing.
    let refused = post(
        "/alerts/rules".into(),
        vec![
            ("name", "Never".into()),
            ("condition", "offline".into()),
            ("minutes", "0".into()),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("condition.minutes: minutes must be 1 to 10080"),
        "{text}"
    );

    let deleted = post(format!("/alerts/rules/{id}/delete"), Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 303);
    let (_, rules) = get(&format!("{base}/api/v1/alerts/rules")).await;
    assert_eq!(rules, json!([]));
}
