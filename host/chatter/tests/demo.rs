//! `chatter demo` as the README runs it: it serves simulated machines whose state changes, and
//! stops cleanly (removing its temporary data) when asked to.

#![allow(clippy::unwrap_used)]

mod demo_shop;

use std::time::{Duration, Instant};

use demo_shop::{request, sign_in};

/// GET `path` with the session `cookie`; returns the body of a 200 answer.
fn get(addr: &str, path: &str, cookie: &str) -> String {
    let (status, _, body) = request(addr, "GET", path, cookie, "");
    assert!(status.contains("200"), "{status}: {body}");
    body
}

fn max_sequence(machine: &serde_json::Value) -> u64 {
    let current = machine["current"].as_array().cloned().unwrap_or_default();
    current
        .iter()
        .filter_map(|o| o["sequence"].as_u64())
        .max()
        .unwrap_or(0)
}

#[test]
fn the_demo_serves_machines_whose_state_changes() {
    let demo_shop::Shop {
        mut demo,
        addr,
        email,
        password,
        rest,
    } = demo_shop::start(3);
    let (status, _, _) = request(&addr, "GET", "/api/v1/machines", "", "");
    assert!(
        status.contains("401"),
        "the API answers only signed-in callers: {status}"
    );
    let session = sign_in(&addr, &email, &password);

    let machines: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/v1/machines", &session)).unwrap();
    let ids: Vec<&str> = machines["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["machine-1", "machine-2", "machine-3"]);

    let started = Instant::now();
    let first = loop {
        let machine: serde_json::Value =
            serde_json::from_str(&get(&addr, "/api/v1/machines/machine-1", &session)).unwrap();
        if max_sequence(&machine) > 0 || started.elapsed() > Duration::from_secs(30) {
            break max_sequence(&machine);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(first > 0, "no observation stored within 30 s");
    let later = loop {
        std::thread::sleep(Duration::from_millis(500));
        let machine: serde_json::Value =
            serde_json::from_str(&get(&addr, "/api/v1/machines/machine-1", &session)).unwrap();
        if max_sequence(&machine) > first || started.elapsed() > Duration::from_secs(60) {
            break max_sequence(&machine);
        }
    };
    assert!(
        later > first,
        "machine-1 did not change: sequence stayed at {first}"
    );
    assert!(
        demo.terminate(),
        "the demo did not shut down cleanly on SIGTERM"
    );
    let output = rest.join().unwrap();
    assert!(
        !output
            .iter()
            .any(|line| line.contains("warning: could not remove")),
        "{output:?}"
    );
}
