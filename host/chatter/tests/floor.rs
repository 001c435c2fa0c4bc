//! The shop-floor screens of `chatter demo` in a real headless Chromium: the dashboard shows
//! every simulated machine and follows their state changes without reloading, filters by state,
//! fits a phone; TV mode fits 8 and 50 machines on a 1920×1080 screen without scrolling.
//! Screenshots go to `target/artifacts/`.

#![allow(clippy::unwrap_used)]

mod demo_shop;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chatter_testkit::{Browser, BrowserOptions, skip};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

async fn sign_in(browser: &Browser, shop: &demo_shop::Shop) {
    let base = format!("http://{}", shop.addr);
    browser
        .sign_in(&base, &shop.email, &shop.password)
        .await
        .unwrap();
}

/// Resizes the window to a phone's width and checks nothing spills sideways.
async fn assert_fits_a_phone(browser: &Browser) {
    browser.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = run(
        browser,
        "return document.documentElement.scrollWidth - window.innerWidth;",
    )
    .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "overflows by {overflow} px"
    );
}

/// Runs `script` (a function body) in the page and returns what it returns.
async fn run(browser: &Browser, script: &str) -> Value {
    browser.client().execute(script, Vec::new()).await.unwrap()
}

/// Each tile's machine id and shown state.
async fn shown_states(browser: &Browser) -> BTreeMap<String, String> {
    let states = run(
        browser,
        "return Array.from(document.querySelectorAll('#tiles .tile'))
           .map((tile) => [tile.dataset.machine, tile.dataset.status,
                           tile.querySelector('.tile-label').textContent]);",
    )
    .await;
    states
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let status = entry[1].as_str().unwrap();
            let label = entry[2].as_str().unwrap();
            assert_eq!(
                label.to_lowercase(),
                status,
                "the label says what the colour does"
            );
            (entry[0].as_str().unwrap().to_owned(), status.to_owned())
        })
        .collect()
}

async fn start_browser(window: (u32, u32)) -> Browser {
    Browser::start_with(BrowserOptions {
        window,
        ..BrowserOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_follows_the_demo_shop_live() {
    if !skip::available("the floor screens", Browser::is_available) {
        return;
    }
    let shop = demo_shop::start(8);
    let browser = start_browser((1440, 1000)).await;
    sign_in(&browser, &shop).await;
    browser
        .wait_for_text("#connection", "Live", WAIT)
        .await
        .unwrap();
    let names = run(
        &browser,
        "return Array.from(document.querySelectorAll('#tiles .tile-name')).map((n) => n.textContent);",
    )
    .await;
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        8,
        "every simulated machine has a tile: {names:?}"
    );
    assert!(names.contains(&"Haas VF-2 #1") && names.contains(&"Haas ST-20 #6"));

    // A state change reaches the open page without a reload.
    run(&browser, "window.chatterSamePage = true; return true;").await;
    let before = shown_states(&browser).await;
    let started = Instant::now();
    let after = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = shown_states(&browser).await;
        if now != before || started.elapsed() > Duration::from_secs(90) {
            break now;
        }
    };
    assert_ne!(before, after, "no tile changed state within 90 s");
    let same_page = run(&browser, "return window.chatterSamePage === true;").await;
    assert_eq!(same_page, Value::Bool(true), "the page was reloaded");
    browser.screenshot("floor-dashboard-desktop").await.unwrap();

    // The state filter shows only the machines in that state, and says so in the address.
    // The commonest state, so some machine is still in it when the filter is checked.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for status in after.values() {
        *counts.entry(status.as_str()).or_default() += 1;
    }
    let (state, _) = counts.iter().max_by_key(|(_, count)| **count).unwrap();
    let state = (*state).to_owned();
    browser
        .click(&format!(".chip-{state} input"))
        .await
        .unwrap();
    // Tiles keep changing state: the filter is re-applied on the next frame after each change.
    let filter_holds = |filtered: &Value| {
        let shown = filtered.as_array().unwrap();
        !shown.is_empty() && shown.iter().all(|status| status.as_str() == Some(&state))
    };
    let started = Instant::now();
    let filtered = loop {
        let filtered = run(
            &browser,
            "return Array.from(document.querySelectorAll('#tiles .tile'))
               .filter((tile) => !tile.hidden).map((tile) => tile.dataset.status);",
        )
        .await;
        if filter_holds(&filtered) || started.elapsed() > Duration::from_secs(10) {
            break filtered;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(filter_holds(&filtered), "{filtered}");
    let url = browser.client().current_url().await.unwrap();
    assert!(url.as_str().ends_with(&format!("?state={state}")), "{url}");
    browser.click(".chip-all input").await.unwrap();

    // At phone width everything fits across.
    assert_fits_a_phone(&browser).await;
    browser.screenshot("floor-dashboard-phone").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tv_mode_fits_8_and_50_machines_on_a_full_hd_screen() {
    if !skip::available("TV mode", Browser::is_available) {
        return;
    }
    for machines in [8, 50] {
        let shop = demo_shop::start(machines);
        let browser = start_browser((1920, 1080)).await;
        sign_in(&browser, &shop).await;
        browser
            .goto(&format!("http://{}/tv", shop.addr))
            .await
            .unwrap();
        browser
            .wait_for_text("#connection", "Live", WAIT)
            .await
            .unwrap();
        let fit = run(
            &browser,
            "const tiles = Array.from(document.querySelectorAll('#tiles .tile'));
             const rects = tiles.map((tile) => tile.getBoundingClientRect());
             return {
               tiles: tiles.length,
               width: window.innerWidth,
               height: window.innerHeight,
               scrollWidth: document.documentElement.scrollWidth,
               scrollHeight: document.documentElement.scrollHeight,
               right: Math.max(...rects.map((r) => r.right)),
               bottom: Math.max(...rects.map((r) => r.bottom)),
               smallest: Math.min(...rects.map((r) => r.height)),
               clipped: tiles.filter((tile) => {
                 const body = tile.querySelector('.tile-body');
                 const name = tile.querySelector('.tile-name');
                 return body.scrollHeight > body.clientHeight + 1 || name.clientWidth < 40;
               }).length,
             };",
        )
        .await;
        browser
            .screenshot(&format!("tv-{machines}-machines"))
            .await
            .unwrap();
        assert_eq!(fit["tiles"], machines, "{fit}");
        let number = |key: &str| fit[key].as_f64().unwrap();
        assert!(number("width") >= 1900.0, "{fit}");
        assert!(number("scrollHeight") <= number("height"), "scrolls: {fit}");
        assert!(number("scrollWidth") <= number("width"), "scrolls: {fit}");
        assert!(
            number("bottom") <= number("height"),
            "a tile is cut off: {fit}"
        );
        assert!(
            number("right") <= number("width"),
            "a tile is cut off: {fit}"
        );
        assert_eq!(fit["clipped"], 0, "a tile's content does not fit: {fit}");
        assert!(
            number("smallest") >= 100.0,
            "tiles too small to read: {fit}"
        );
        if machines == 8 {
            // A phone makes a poor wall, but the page still must not spill sideways.
            assert_fits_a_phone(&browser).await;
            browser.screenshot("tv-phone").await.unwrap();
        }
        browser.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_reconnects_by_itself_after_the_server_restarts() {
    if !skip::available("the floor screens", Browser::is_available) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let data_dir = data.path().to_str().unwrap().to_owned();
    let args = ["--addr", &addr, "--machines", "3", "--data", &data_dir];
    let mut shop = demo_shop::start_with(&args);
    let browser = start_browser((1280, 900)).await;
    sign_in(&browser, &shop).await;
    browser
        .wait_for_text("#connection", "Live", WAIT)
        .await
        .unwrap();
    run(&browser, "window.chatterSamePage = true; return true;").await;

    assert!(shop.demo.terminate(), "the demo did not stop cleanly");
    browser
        .wait_for_text("#connection", "Reconnecting", WAIT)
        .await
        .unwrap();
    // The same data, so the browser's session is still good.
    let _restarted = demo_shop::start_with(&args);
    browser
        .wait_for_text("#connection", "Live", Duration::from_secs(60))
        .await
        .unwrap();
    let before = shown_states(&browser).await;
    let started = Instant::now();
    while shown_states(&browser).await == before && started.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_ne!(
        shown_states(&browser).await,
        before,
        "no state change reached the page after the restart"
    );
    let same_page = run(&browser, "return window.chatterSamePage === true;").await;
    assert_eq!(same_page, Value::Bool(true), "the page was reloaded");
}
