//! `chatter demo` as the README runs it: it serves simulated machines whose state changes, and
//! stops cleanly (removing its temporary data) when asked to.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running demo; killed when the test ends, whatever happens.
struct Demo(Child);

impl Demo {
    /// Asks the demo to stop as an operator's Ctrl-C or service manager would (SIGTERM) and
    /// returns whether it exited cleanly, within 10 s.
    fn terminate(&mut self) -> bool {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !sent.is_ok_and(|s| s.success()) {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET; returns the body.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
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
    let child = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(["demo", "--addr", "127.0.0.1:0", "--machines", "3"])
        .env("CHATTER_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut demo = Demo(child);
    let mut stderr = BufReader::new(demo.0.stderr.take().unwrap()).lines();
    let url_line = stderr
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("http://"))
        .expect("the demo prints its URL");
    // Keep reading, so the demo never writes into a closed pipe.
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect::<Vec<_>>());
    let addr = url_line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();

    let machines: serde_json::Value =
        serde_json::from_str(&get(&addr, "/api/v1/machines")).unwrap();
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
            serde_json::from_str(&get(&addr, "/api/v1/machines/machine-1")).unwrap();
        if max_sequence(&machine) > 0 || started.elapsed() > Duration::from_secs(30) {
            break max_sequence(&machine);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(first > 0, "no observation stored within 30 s");
    let later = loop {
        std::thread::sleep(Duration::from_millis(500));
        let machine: serde_json::Value =
            serde_json::from_str(&get(&addr, "/api/v1/machines/machine-1")).unwrap();
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
