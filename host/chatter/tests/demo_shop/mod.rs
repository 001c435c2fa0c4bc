//! A running `chatter demo`, as tests drive it: started on a free port, signed in to through
//! the sign-in form, stopped as an operator would.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A demo shop started by [`Demo::start`].
pub struct Shop {
    /// The process.
    pub demo: Demo,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// The demo user's address.
    pub email: String,
    /// Their password, printed by the demo.
    pub password: String,
    /// What the demo printed after its sign-in line, once it has exited.
    pub rest: JoinHandle<Vec<String>>,
}

/// Starts `chatter demo` with `machines` simulated machines on a free port.
pub fn start(machines: u32) -> Shop {
    start_with(&["--addr", "127.0.0.1:0", "--machines", &machines.to_string()])
}

/// Starts `chatter demo` with `args`.
pub fn start_with(args: &[&str]) -> Shop {
    let child = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .arg("demo")
        .args(args)
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
    Shop {
        demo,
        addr,
        email: words[3].to_owned(),
        password: words[words.len() - 1].to_owned(),
        rest,
    }
}

/// The running demo; killed when the test ends, whatever happens.
pub struct Demo(Child);

impl Demo {
    /// Asks the demo to stop as an operator's Ctrl-C or service manager would (SIGTERM) and
    /// returns whether it exited cleanly, within 10 s.
    pub fn terminate(&mut self) -> bool {
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
pub fn request(
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
pub fn sign_in(addr: &str, email: &str, password: &str) -> String {
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
