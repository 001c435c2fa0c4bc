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

/// A plain HTTP/1.1 request with `cookies`; returns the status line, the `Set-Cookie`
/// values and the body.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    cookies: &str,
    form: &str,
) -> (String, Vec<String>, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookies}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap_or_default().to_owned();
    let set_cookies = head
        .lines()
        .filter_map(|line| {
            line.strip_prefix("set-cookie: ")
                .or_else(|| line.strip_prefix("Set-Cookie: "))
        })
        .map(|cookie| cookie.split(';').next().unwrap_or_default().to_owned())
        .collect();
    (status, set_cookies, body.to_owned())
}

/// Signs in through the sign-in page as a browser would; returns the session cookie.
fn sign_in(addr: &str, email: &str, password: &str) -> String {
    let (status, cookies, page) = request(addr, "GET", "/sign-in", "", "");
    assert!(status.contains("200"), "{status}");
    let form_cookie = cookies.join("; ");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in form carries a CSRF token");
    let form = format!(
        "csrf={csrf}&email={}&password={password}",
        email.replace('@', "%40")
    );
    let (status, cookies, body) = request(addr, "POST", "/sign-in", &form_cookie, &form);
    assert!(status.contains("303"), "{status}: {body}");
    cookies
        .into_iter()
        .find(|cookie| cookie.starts_with("chatter_session="))
        .expect("signing in sets the session cookie")
}

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
    let sign_in_line = stderr
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("Sign in as "))
        .expect("the demo prints how to sign in");
    // Keep reading, so the demo never writes into a closed pipe.
    let rest = std::thread::spawn(move || stderr.map_while(Result::ok).collect::<Vec<_>>());
    let addr = url_line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let words: Vec<&str> = sign_in_line.split_whitespace().collect();
    let (email, password) = (words[3], words[words.len() - 1]);
    let (status, _, _) = request(&addr, "GET", "/api/v1/machines", "", "");
    assert!(
        status.contains("401"),
        "the API answers only signed-in callers: {status}"
    );
    let session = sign_in(&addr, email, password);

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
