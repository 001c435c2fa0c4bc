//! A machine's page against the API. A machine is fed the NIST Mazak day, a real production
//! log, moved to end before now and span the last midnight of the organization's time zone
//! (New York); then, for today, yesterday, this week and a custom range, every state's total
//! on the page — in the HTML, and read from the DOM of a real headless Chromium — equals what
//! `GET /api/v1/machines/{id}/timeline` answers for the same range, and so do utilization,
//! parts and cycle times. A range the page cannot read says why; another organization's
//! machine is refused without a trace of it; viewers see no setup links; and the page fits a
//! phone's width.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::{OWNER_EMAIL, OWNER_PASSWORD, Shop, ShopSetup, send};
use chatter_model::{OrgId, Role};
use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay};
use chatter_store::{Accounts as _, Store as _};
use chatter_testkit::{Browser, skip};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

/// The organization's time zone.
const ZONE: &str = "America/New_York";
const STATES: [&str; 6] = ["running", "idle", "paused", "setup", "alarm", "offline"];
const WAIT: Duration = Duration::from_secs(20);

/// A shop in New York with machine `mazak` fed the Mazak day, and the replay feeding it.
async fn mazak_shop() -> Option<(Shop, ShdrReplay)> {
    let fixtures = common::fixtures("mtconnect/nist-smstestbed")?;
    let shop = common::serve(ShopSetup {
        plugins: &["shdr"],
        allow_loopback: true,
        time_zone: Some(ZONE),
        ..ShopSetup::default()
    })
    .await;
    let log = std::fs::read_to_string(fixtures.join("Mazak03-20160510-20160511.txt")).unwrap();
    let devices = std::fs::read_to_string(fixtures.join("Devices.xml")).unwrap();
    let replay = ShdrReplay::start(
        ShdrLog::from_bytes(moved(&log).into_bytes()),
        ReplayOptions::default(),
    )
    .await
    .unwrap();
    let body = json!({
        "id": "mazak",
        "name": "Mazak 03",
        "driver": "shdr",
        "endpoints": [{ "name": "adapter", "host": "127.0.0.1", "port": replay.local_addr().port() }],
        "config": { "devices-xml": devices, "device": "Mazak03" },
        "poll_interval_ms": 10,
    });
    let url = format!("{}/api/v1/machines", shop.base);
    let (status, answer) = send(Method::POST, &url, Some(&body)).await;
    assert_eq!(status, 201, "{answer}");
    // Stored once the sequence stops moving.
    let org = OrgId::new("acme").unwrap();
    let machine = chatter_model::MachineId::new("mazak").unwrap();
    let mut last = (0, Instant::now());
    loop {
        let now = shop.store.last_sequence(&org, &machine).await.unwrap();
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_secs(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some((shop, replay))
}

/// The log with its times moved, by whole seconds, so that it ends at least ten minutes
/// before now and its first 11 hours (6 offline, then the first cycles) are yesterday's in
/// New York: it starts 11 hours before the last midnight, or earlier. Its busy afternoon then
/// spans midnight, unless it is early in the day.
fn moved(log: &str) -> String {
    let time = |line: &str| {
        line.split('|')
            .next()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap()
    };
    let first = time(log.lines().next().unwrap());
    let last = time(log.lines().rev().find(|l| !l.trim().is_empty()).unwrap());
    let now = Timestamp::now();
    let midnight = now.to_zoned(zone()).start_of_day().unwrap().timestamp();
    let latest_start = now - Span::new().minutes(10) - last.duration_since(first);
    let start = latest_start.min(midnight - Span::new().hours(11));
    let shift = Span::new().seconds(start.as_second() - first.as_second());
    log.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (at, rest) = line.split_once('|').unwrap();
            let at: Timestamp = at.parse().unwrap();
            let moved = (at + shift).strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
            format!("{moved}|{rest}\n")
        })
        .collect()
}

fn zone() -> TimeZone {
    TimeZone::get(ZONE).unwrap()
}

/// A signed-in browser's `Cookie` header for a new member of `acme` with `role`, or for its
/// owner.
async fn cookie(shop: &Shop, role: Role) -> String {
    let acme = OrgId::new("acme").unwrap();
    let user = if role == Role::Owner {
        shop.store
            .user_by_email(OWNER_EMAIL)
            .await
            .unwrap()
            .unwrap()
    } else {
        let email = format!("{role}@acme.example");
        chatter_server::accounts::operator::add_user(
            shop.store.as_ref(),
            &email,
            &format!("Acme {role}"),
            "acme member password",
            &acme,
            role,
        )
        .await
        .unwrap()
    };
    common::session(shop.store.as_ref(), &user.id, &acme, 3_600_000)
        .await
        .0
}

/// The page at `path` (and query) with `cookie`: status and HTML.
async fn page(shop: &Shop, cookie: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", shop.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the attribute that `start` (`… name="`) opens in `html`.
fn attribute<'a>(html: &'a str, start: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let length = html[from..].find('"')?;
    Some(&html[from..from + length])
}

/// What the page shows for a range, as its data attributes give it.
#[derive(Debug)]
struct Shown {
    from: String,
    to: String,
    end: String,
    /// Nanoseconds per state, in [`STATES`]' order.
    ns: Vec<i64>,
    utilization: Option<f64>,
    parts: u64,
    cycles: u64,
    average: Option<f64>,
    best: Option<f64>,
}

fn shown(html: &str) -> Shown {
    let number = |start: &str| attribute(html, start).map(|text| text.parse::<f64>().unwrap());
    Shown {
        from: attribute(html, "data-from=\"").unwrap().to_owned(),
        to: attribute(html, "data-to=\"").unwrap().to_owned(),
        end: attribute(html, "data-end=\"").unwrap().to_owned(),
        ns: STATES
            .iter()
            .map(|state| {
                let start = format!("<tr data-state=\"{state}\" data-ns=\"");
                let text = attribute(html, &start).unwrap_or_else(|| panic!("no {state} total"));
                text.parse().unwrap()
            })
            .collect(),
        utilization: number("data-utilization=\""),
        parts: attribute(html, "data-parts=\"").unwrap().parse().unwrap(),
        cycles: attribute(html, "data-cycles=\"").unwrap().parse().unwrap(),
        average: number("<dd id=\"average-cycle\" data-seconds=\""),
        best: number("<dd id=\"best-cycle\" data-seconds=\""),
    }
}

/// The numbers of the API's timeline and cycles, read exactly: `serde_json`'s own reading of
/// floats may be a unit in the last place off, so they are kept as text and parsed here.
#[derive(Deserialize)]
struct Exact<'a> {
    #[serde(borrow)]
    totals: ExactTotals<'a>,
}

#[derive(Deserialize)]
struct ExactTotals<'a> {
    #[serde(borrow)]
    seconds: BTreeMap<String, &'a RawValue>,
    #[serde(borrow)]
    utilization: &'a RawValue,
    parts: u64,
    cycles: u64,
    #[serde(borrow)]
    average_cycle_seconds: &'a RawValue,
}

#[derive(Deserialize)]
struct ExactCycles<'a> {
    count: u64,
    #[serde(borrow)]
    best_seconds: &'a RawValue,
}

/// A JSON number or `null`, read exactly.
fn exact(raw: &RawValue) -> Option<f64> {
    (raw.get() != "null").then(|| raw.get().parse().unwrap())
}

/// The API's answer to GET `url`, as text.
async fn api_text(url: &str) -> String {
    let response = common::request(Method::GET, url).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{url}: {text}");
    text
}

/// Every number of `shown` equals the API's for `range` (a query string).
async fn same_as_api(shop: &Shop, what: &str, shown: &Shown, range: &str) {
    let base = format!("{}/api/v1/machines/mazak", shop.base);
    let timeline = api_text(&format!("{base}/timeline?{range}")).await;
    let cycles = api_text(&format!("{base}/cycles?{range}")).await;
    let Exact { totals } = serde_json::from_str(&timeline).unwrap();
    let cycles: ExactCycles = serde_json::from_str(&cycles).unwrap();
    for (state, ns) in STATES.iter().zip(&shown.ns) {
        let api = exact(totals.seconds[*state]).unwrap();
        assert_eq!(
            *ns as f64 / 1e9,
            api,
            "{what}: {state} is {ns} ns on the page, {api} s in the API ({range})"
        );
    }
    let accounted: i64 = shown.ns.iter().sum();
    assert!(accounted > 0, "{what}: {shown:?}");
    assert_eq!(
        shown.utilization,
        exact(totals.utilization),
        "{what}: utilization"
    );
    assert_eq!(shown.parts, totals.parts, "{what}: parts");
    assert_eq!(shown.cycles, totals.cycles, "{what}: cycles");
    assert_eq!(
        shown.average,
        exact(totals.average_cycle_seconds),
        "{what}: average cycle"
    );
    assert_eq!(shown.cycles, cycles.count, "{what}: cycles listed");
    assert_eq!(shown.best, exact(cycles.best_seconds), "{what}: best cycle");
}

/// A date of New York as the range's bounds give it.
fn date(rfc3339: &str) -> String {
    let at: Timestamp = rfc3339.parse().unwrap();
    let local = at.to_zoned(zone());
    assert_eq!(
        (local.hour(), local.minute(), local.second()),
        (0, 0, 0),
        "{rfc3339} is midnight in {ZONE}"
    );
    local.date().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_what_the_api_answers() {
    let Some((shop, _replay)) = mazak_shop().await else {
        return;
    };
    let owner = cookie(&shop, Role::Owner).await;

    // Today so far: the page's range up to when it was drawn.
    let (status, html) = page(&shop, &owner, "/machines/mazak?range=today").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Mazak 03"));
    let today = shown(&html);
    let (from, end) = (&today.from, &today.end);
    date(from);
    same_as_api(&shop, "today", &today, &format!("from={from}&to={end}")).await;
    assert!(today.ns.iter().sum::<i64>() > 0, "{today:?}");
    let (status, plain) = page(&shop, &owner, "/machines/mazak").await;
    assert_eq!(status, 200);
    assert_eq!(shown(&plain).from, today.from, "the page opens on today");

    // Yesterday, named by its dates as a client of the API would.
    let (status, html) = page(&shop, &owner, "/machines/mazak?range=yesterday").await;
    assert_eq!(status, 200, "{html}");
    let yesterday = shown(&html);
    assert_eq!(yesterday.to, today.from);
    assert_eq!(yesterday.end, yesterday.to, "yesterday is over");
    let (first, last) = (date(&yesterday.from), date(&yesterday.to));
    let range = format!("from={first}&to={last}");
    same_as_api(&shop, "yesterday", &yesterday, &range).await;
    let running = yesterday.ns[0];
    assert!(running > 0, "the machine ran yesterday: {yesterday:?}");
    assert!(
        yesterday.cycles > 0 && yesterday.best.is_some(),
        "{yesterday:?}"
    );

    // A custom range: the day before yesterday (no data: offline) and yesterday.
    let before: jiff::civil::Date = first.parse().unwrap();
    let before = before.yesterday().unwrap();
    let range = format!("from={before}&to={last}");
    let (status, html) = page(&shop, &owner, &format!("/machines/mazak?{range}")).await;
    assert_eq!(status, 200, "{html}");
    let custom = shown(&html);
    same_as_api(&shop, "custom", &custom, &range).await;
    assert_eq!(custom.ns[0], running, "the day before had no running time");
    assert!(custom.ns[5] > yesterday.ns[5] + 20 * 3_600 * 1_000_000_000);
    assert!(
        html.contains(&format!("value=\"{before}\"")),
        "the form shows the range"
    );

    // This week, up to now.
    let (status, html) = page(&shop, &owner, "/machines/mazak?range=week").await;
    assert_eq!(status, 200, "{html}");
    let week = shown(&html);
    let range = format!("from={}&to={}", week.from, week.end);
    same_as_api(&shop, "this week", &week, &range).await;

    // Ranges the page cannot read say why, on the page.
    for (query, says) in [
        ("from=2024-13-40&to=2024-05-01", "must be a date like"),
        ("from=2024-05-02&to=2024-05-02", "must be a later day"),
        ("from=2024-05-03&to=2024-05-01", "must be a later day"),
        ("from=2024-01-01&to=2024-06-01", "at most 31 days"),
        ("from=2024-05-01", "Give a date"),
        ("range=fortnight", "There is no range"),
    ] {
        let (status, html) = page(&shop, &owner, &format!("/machines/mazak?{query}")).await;
        assert_eq!(status, 400, "{query}: {html}");
        assert!(html.contains(says), "{query} says {says:?}: {html}");
        assert!(html.contains("id=\"errors\""), "{query}");
        assert!(
            html.contains("Current values"),
            "the rest of the page stays"
        );
    }

    // Setup links for those who may change machines, and only them.
    assert!(html.contains("href=\"/machines/mazak/edit\""));
    assert!(html.contains("href=\"/machines/mazak/delete\""));
    let viewer = cookie(&shop, Role::Viewer).await;
    let (status, html) = page(&shop, &viewer, "/machines/mazak?range=yesterday").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(shown(&html).ns, yesterday.ns, "viewers see the same");
    assert!(!html.contains("/machines/mazak/edit"), "{html}");
    assert!(!html.contains("/machines/mazak/delete"), "{html}");

    // Another organization's machine (`other` has a `mill-1`) is none of acme's business.
    for path in [
        "/machines/mill-1",
        "/machines/mill-1?range=yesterday",
        "/machines/no%20such",
    ] {
        let (status, html) = page(&shop, &owner, path).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert!(html.contains("No such machine"), "{path}: {html}");
        for secret in ["secret mill", "Other shop", "data-ns"] {
            assert!(!html.contains(secret), "{path} shows {secret:?}: {html}");
        }
    }
    let (status, _) = page(&shop, "", "/machines/mazak").await;
    assert_eq!(status, 200, "the sign-in page, after a redirect");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_in_a_browser_matches_the_api_and_fits_a_phone() {
    if !skip::available("the machine page in a browser", Browser::is_available) {
        return;
    }
    let Some((shop, _replay)) = mazak_shop().await else {
        return;
    };
    let base = shop.base.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .sign_in(&base, OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .unwrap();

    // The dashboard links to the machine.
    browser.click("#tiles a.tile-body").await.unwrap();
    browser.wait_for("#state-totals", WAIT).await.unwrap();

    for range in ["today", "yesterday"] {
        browser
            .goto(&format!("{base}/machines/mazak?range={range}"))
            .await
            .unwrap();
        browser.wait_for("#state-totals", WAIT).await.unwrap();
        let dom = browser
            .client()
            .execute(
                r##"const totals = {};
                for (const row of document.querySelectorAll("#state-totals tbody tr")) {
                  totals[row.dataset.state] = row.dataset.ns;
                }
                const section = document.getElementById("timeline").dataset;
                const text = (id, key) => document.getElementById(id).dataset[key] ?? null;
                return {
                  totals, from: section.from, to: section.to, end: section.end,
                  utilization: text("utilization", "utilization"),
                  parts: text("parts", "parts"), cycles: text("cycles", "cycles"),
                  average: text("average-cycle", "seconds"), best: text("best-cycle", "seconds"),
                };"##,
                vec![],
            )
            .await
            .unwrap();
        // Numbers as the page wrote them, read here rather than by the WebDriver's JSON.
        let text = |key: &str| dom[key].as_str().map(str::to_owned);
        let number = |key: &str| text(key).map(|text| text.parse::<f64>().unwrap());
        let shown = Shown {
            from: text("from").unwrap(),
            to: text("to").unwrap(),
            end: text("end").unwrap(),
            ns: STATES
                .iter()
                .map(|state| dom["totals"][state].as_str().unwrap().parse().unwrap())
                .collect(),
            utilization: number("utilization"),
            parts: text("parts").unwrap().parse().unwrap(),
            cycles: text("cycles").unwrap().parse().unwrap(),
            average: number("average"),
            best: number("best"),
        };
        let query = format!("from={}&to={}", shown.from, shown.end);
        same_as_api(&shop, &format!("{range} in the browser"), &shown, &query).await;
        assert!(shown.to >= shown.end);
    }

    // The timeline reads out by keyboard: the first interval, then the next.
    let readout = browser
        .client()
        .execute(
            r##"const chart = document.getElementById("timeline-chart");
            chart.focus();
            const key = (key) => chart.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
            key("ArrowRight");
            const first = document.getElementById("timeline-readout").textContent;
            key("ArrowRight");
            const second = document.getElementById("timeline-readout").textContent;
            const tooltip = document.getElementById("chart-tooltip");
            return [first, second, tooltip.hidden, document.activeElement === chart];"##,
            vec![],
        )
        .await
        .unwrap();
    let first = readout[0].as_str().unwrap();
    assert!(
        STATES
            .iter()
            .any(|state| first.to_lowercase().contains(state)),
        "{readout}"
    );
    assert_ne!(readout[0], readout[1], "{readout}");
    assert_eq!(readout[2], false, "the tooltip shows: {readout}");
    assert_eq!(readout[3], true, "the chart takes focus: {readout}");
    browser.screenshot("machine-detail-desktop").await.unwrap();

    // A phone: the page is as wide as the screen, no wider.
    browser.set_window_size(390, 844).await.unwrap();
    browser
        .goto(&format!("{base}/machines/mazak?range=yesterday"))
        .await
        .unwrap();
    browser.wait_for("#state-totals", WAIT).await.unwrap();
    let layout = browser
        .client()
        .execute(
            r##"const root = document.documentElement;
            const wide = [];
            for (const element of document.querySelectorAll("body *")) {
              const box = element.getBoundingClientRect();
              if (box.width > 0 && box.right > root.clientWidth + 1 && !element.closest(".table-wrap")) {
                wide.push((element.id ? "#" + element.id : element.tagName) + " " + Math.round(box.right));
              }
            }
            return { width: window.innerWidth, client: root.clientWidth, scroll: root.scrollWidth, wide: wide.slice(0, 20) };"##,
            vec![],
        )
        .await
        .unwrap();
    let width = layout["width"].as_u64().unwrap();
    assert!(width <= 400, "the window is a phone's: {layout}");
    assert!(
        layout["scroll"].as_u64().unwrap() <= layout["client"].as_u64().unwrap(),
        "the page overflows sideways at {width} px: {layout}"
    );
    browser
        .client()
        .execute("document.getElementById('range').scrollIntoView()", vec![])
        .await
        .unwrap();
    browser.screenshot("machine-detail-phone").await.unwrap();
    browser.close().await.unwrap();
}
