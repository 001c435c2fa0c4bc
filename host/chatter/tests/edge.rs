//! `chatter edge` against a real central `chatter serve`: observations recorded at the edge
//! reach central exactly once and in order whatever happens in between — central stopped for
//! a while, the edge killed at random moments, its token revoked — and configuration mistakes
//! are reported clearly.
//!
//! Machines are played by `chatter replay shdr` serving a NIST recording; the tests skip (with
//! a printed reason) when the fixtures are absent.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod operator;

/// The recording the replays serve.
const LOG: &str = "mtconnect/nist-smstestbed/Plate-Op2-Hurco04-01of20.txt";
/// The machine on both sides.
const MACHINE: &str = "mill-1";

/// The fixture `sub`, or `None` (with the reason printed) when the fixtures are absent.
fn fixtures(sub: &str) -> Option<PathBuf> {
    let path = std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    if path.is_dir() {
        Some(path.join(sub))
    } else {
        println!("skipping: fixtures not found at {}", path.display());
        None
    }
}

/// A port free right now on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `done` holds, or panics with `what` after `timeout`.
fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `chatter` process whose stderr goes to a file; killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
    /// Where this process's output starts in the log (restarts append to it).
    offset: usize,
}

impl Process {
    fn start(args: &[&str], log: &Path) -> Process {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let offset = usize::try_from(file.metadata().unwrap().len()).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chatter"))
            .args(args)
            .env("CHATTER_LOG", "info,tower_http=warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Process {
            child,
            log: log.to_owned(),
            offset,
        }
    }

    /// What this process wrote to its log.
    fn output(&self) -> String {
        let all = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(all.get(self.offset..).unwrap_or_default()).into_owned()
    }

    /// The `http://…` address the process printed, once it did.
    fn wait_for_addr(&mut self) -> String {
        let mut addr = None;
        wait_until(Duration::from_secs(60), "the server to listen", || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exited with {status}: {}", self.output());
            }
            addr = self
                .output()
                .lines()
                .rev()
                .find_map(|line| line.split("at http://").nth(1))
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned);
            addr.is_some()
        });
        addr.unwrap()
    }

    /// SIGTERM, as a service manager stops it; asserts a clean exit within 15 s.
    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit {status}: {}", self.output());
                return;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: a crash or a power cut.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP/1.1 request; returns the status and the body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// The owner token of each server the tests started, by address: [`json_of`] calls with it.
static OWNER_TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn remember_owner(addr: &str, token: String) {
    OWNER_TOKENS.lock().unwrap().push((addr.to_owned(), token));
}

fn owner_of(addr: &str) -> Option<String> {
    let tokens = OWNER_TOKENS.lock().unwrap();
    tokens
        .iter()
        .find(|(known, _)| known == addr)
        .map(|(_, token)| token.clone())
}

fn json_of(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    let owner = owner_of(addr);
    let (status, text) = http(addr, method, path, owner.as_deref(), body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap()
}

/// A machine's observations as (data item, timestamp, value), in sequence order, with the last
/// sequence number.
fn observations(addr: &str) -> (Vec<Value>, u64) {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = json_of(
            addr,
            "GET",
            &format!("/api/v1/machines/{MACHINE}/observations?after={after}&limit=1000"),
            None,
        );
        let items = page["observations"].as_array().unwrap();
        if items.is_empty() {
            return (all, after);
        }
        for item in items {
            after = item["sequence"].as_u64().unwrap();
            all.push(json!([item["data_item"], item["timestamp"], item["value"]]));
        }
    }
}

/// A central server on a fixed port (so it can be restarted where the edge expects it).
struct Central {
    dir: tempfile::TempDir,
    addr: String,
    process: Option<Process>,
}

impl Central {
    fn start() -> Central {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "[server]\naddr = \"{addr}\"\ndata-dir = {:?}\norganization = \"hq\"\n\
             [network]\nallow-loopback = true\n",
            dir.path().join("data").display().to_string()
        );
        std::fs::write(dir.path().join("central.toml"), config).unwrap();
        remember_owner(
            &addr,
            operator::owner_token(&dir.path().join("central.toml")),
        );
        let mut central = Central {
            dir,
            addr,
            process: None,
        };
        central.restart();
        json_of(
            &central.addr,
            "POST",
            "/api/v1/machines",
            Some(&json!({"id": MACHINE, "name": "Mill 1", "driver": "shdr",
                         "feed": "edge", "config": {}})),
        );
        central
    }

    fn restart(&mut self) {
        let config = self.dir.path().join("central.toml");
        let mut process = Process::start(
            &["serve", "--config", config.to_str().unwrap()],
            &self.dir.path().join("central.log"),
        );
        assert_eq!(process.wait_for_addr(), self.addr);
        self.process = Some(process);
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.terminate();
        }
    }

    /// A new device token: (id, token).
    fn token(&self) -> (String, String) {
        let created = json_of(
            &self.addr,
            "POST",
            "/api/v1/device-tokens",
            Some(&json!({"name": "bay 2"})),
        );
        (
            created["id"].as_str().unwrap().to_owned(),
            created["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Central's last stored sequence number of the edge's stream, and the stream.
    fn position(&self, token: &str) -> (Option<String>, u64) {
        let (status, body) = http(
            &self.addr,
            "GET",
            &format!("/api/v1/ingest/machines/{MACHINE}"),
            Some(token),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        (
            body["stream"].as_str().map(str::to_owned),
            body["last_sequence"].as_u64().unwrap(),
        )
    }
}

/// `chatter replay shdr` serving the recording at ten times its pace.
fn replay(log: &Path, dir: &Path) -> (Process, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let mut process = Process::start(
        &[
            "replay",
            "shdr",
            log.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--speed",
            "10",
            "--max-pause-s",
            "1",
        ],
        &dir.join("replay.log"),
    );
    wait_until(Duration::from_secs(30), "the replay to listen", || {
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("replay exited with {status}: {}", process.output());
        }
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (process, port)
}

/// An edge's data folder and configuration.
struct Edge {
    dir: tempfile::TempDir,
    replay_port: u16,
    central: String,
}

impl Edge {
    fn new(replay_port: u16, central: &str, token: &str) -> Edge {
        let edge = Edge {
            dir: tempfile::tempdir().unwrap(),
            replay_port,
            central: central.to_owned(),
        };
        edge.configure(token);
        edge
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("edge.toml")
    }

    fn configure(&self, token: &str) {
        let text = format!(
            "[server]\naddr = \"127.0.0.1:0\"\ndata-dir = {:?}\norganization = \"bay\"\n\
             [network]\nallow-loopback = true\n\
             [[machines]]\nid = \"{MACHINE}\"\nname = \"Mill 1\"\ndriver = \"shdr\"\n\
             poll-interval-ms = 100\n\
             endpoints = [{{ name = \"adapter\", host = \"127.0.0.1\", port = {} }}]\n\
             [edge]\ncentral = \"http://{}\"\ntoken = \"{token}\"\nbatch-size = 100\n\
             backoff-initial-ms = 50\nbackoff-max-ms = 1000\nrequest-timeout-ms = 3000\n",
            self.dir.path().join("data").display().to_string(),
            self.replay_port,
            self.central,
        );
        std::fs::write(self.config(), text).unwrap();
    }

    /// Starts `chatter edge`; returns it and its local address. The first start adds the
    /// edge's owner, whose token the tests read the edge's API with.
    fn start(&self) -> (Process, String) {
        let owner_file = self.dir.path().join("owner-token");
        if !owner_file.exists() {
            std::fs::write(&owner_file, operator::owner_token(&self.config())).unwrap();
        }
        let mut process = Process::start(
            &[
                "edge",
                "--config",
                self.config().to_str().unwrap(),
                "--status-interval-s",
                "1",
            ],
            &self.dir.path().join("edge.log"),
        );
        let addr = process.wait_for_addr();
        remember_owner(&addr, std::fs::read_to_string(owner_file).unwrap());
        (process, addr)
    }

    fn stream(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/edge-stream"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// Waits until the replay is over (the edge's store stops growing) and central holds all of
/// it; returns the edge's observations after checking central holds the same, once each, in
/// order.
fn assert_drained(central: &Central, edge: &Edge, edge_addr: &str, token: &str) -> Vec<Value> {
    let mut last = (0, Instant::now());
    wait_until(
        Duration::from_secs(60),
        "the edge's store to settle",
        || {
            let (_, local_last) = observations(edge_addr);
            if local_last != last.0 {
                last = (local_last, Instant::now());
            }
            local_last > 0 && last.1.elapsed() > Duration::from_secs(2)
        },
    );
    let local_last = last.0;
    wait_until(Duration::from_secs(30), "central to catch up", || {
        central.position(token) == (Some(edge.stream()), local_last)
    });
    let (local, _) = observations(edge_addr);
    let (forwarded, _) = observations(&central.addr);
    assert_eq!(local.len(), forwarded.len(), "central holds another count");
    assert!(local == forwarded, "central differs from the edge");
    local
}

#[test]
fn an_outage_of_central_loses_and_duplicates_nothing() {
    let Some(log) = fixtures(LOG) else { return };
    let work = tempfile::tempdir().unwrap();
    // Two shops: one whose central goes down for a while, one undisturbed.
    let mut central = Central::start();
    let calm_central = Central::start();
    let (_, token) = central.token();
    let (_, calm_token) = calm_central.token();
    let (_replay, port) = replay(&log, &work.path().join("a"));
    let (_calm_replay, calm_port) = replay(&log, &work.path().join("b"));
    let edge = Edge::new(port, &central.addr, &token);
    let calm_edge = Edge::new(calm_port, &calm_central.addr, &calm_token);
    let (edge_process, edge_addr) = edge.start();
    let (_calm_process, calm_addr) = calm_edge.start();

    wait_until(
        Duration::from_secs(30),
        "the first forwarded observations",
        || central.position(&token).1 > 0,
    );
    central.stop();
    // The edge keeps recording while central is away.
    let (_, at_stop) = observations(&edge_addr);
    wait_until(
        Duration::from_secs(30),
        "the edge to record during the outage",
        || observations(&edge_addr).1 > at_stop + 20,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        edge_process.output().contains("central is unavailable"),
        "{}",
        edge_process.output()
    );
    central.restart();

    let data = assert_drained(&central, &edge, &edge_addr, &token);
    assert!(
        edge_process.output().contains("central is reachable again"),
        "{}",
        edge_process.output()
    );
    let calm = assert_drained(&calm_central, &calm_edge, &calm_addr, &calm_token);
    assert!(data.len() > 100, "only {} observations", data.len());
    assert!(data == calm, "the two centrals hold different data");
}

#[test]
fn an_edge_killed_at_random_moments_forwards_everything_once() {
    let Some(log) = fixtures(LOG) else { return };
    let work = tempfile::tempdir().unwrap();
    let central = Central::start();
    let (_, token) = central.token();
    let (_replay, port) = replay(&log, work.path());
    let edge = Edge::new(port, &central.addr, &token);

    // xorshift64*, seeded: the same delays every run.
    let mut seed: u64 = 0x5eed_ed9e_2024_0001;
    let mut next_delay = || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        Duration::from_millis(200 + seed.wrapping_mul(0x2545_f491_4f6c_dd1d) % 1_800)
    };
    for round in 0..4 {
        let (mut process, _) = edge.start();
        let delay = next_delay();
        println!("round {round}: killing the edge after {delay:?}");
        std::thread::sleep(delay);
        process.kill();
    }
    let (_process, edge_addr) = edge.start();
    let data = assert_drained(&central, &edge, &edge_addr, &token);
    assert!(!data.is_empty());
}

#[test]
fn a_revoked_token_keeps_the_data_until_a_new_one_is_configured() {
    let Some(log) = fixtures(LOG) else { return };
    let work = tempfile::tempdir().unwrap();
    let central = Central::start();
    let (token_id, token) = central.token();
    let (_replay, port) = replay(&log, work.path());
    let edge = Edge::new(port, &central.addr, &token);
    let (mut process, edge_addr) = edge.start();
    wait_until(
        Duration::from_secs(30),
        "the first forwarded observations",
        || central.position(&token).1 > 0,
    );

    let (status, body) = http(
        &central.addr,
        "DELETE",
        &format!("/api/v1/device-tokens/{token_id}"),
        owner_of(&central.addr).as_deref(),
        None,
    );
    assert!((200..300).contains(&status), "{status} {body}");
    wait_until(
        Duration::from_secs(20),
        "the edge to report the token",
        || process.output().contains("invalid_token"),
    );
    assert!(
        process
            .output()
            .contains("device token is wrong or revoked")
    );
    let (recorded, _) = observations(&edge_addr);
    process.terminate();

    let (_, new_token) = central.token();
    edge.configure(&new_token);
    let (_process, edge_addr) = edge.start();
    let data = assert_drained(&central, &edge, &edge_addr, &new_token);
    assert!(data.len() >= recorded.len(), "the edge lost observations");
    assert!(data[..recorded.len()] == recorded[..]);
}

/// Runs `chatter edge` with `config` and returns its error output, asserting it failed cleanly.
fn edge_fails(dir: &Path, config: &str) -> String {
    let path = dir.join("edge.toml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(["edge", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "accepted: {error}");
    assert!(
        !error.contains("panicked")
            && !error.contains("RUST_BACKTRACE")
            && !error.contains("Backtrace"),
        "{error}"
    );
    assert!(error.starts_with("error: "), "{error}");
    error
}

#[test]
fn configuration_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!(
        "[server]\naddr = \"127.0.0.1:0\"\ndata-dir = {:?}\n",
        dir.path().join("data").display().to_string()
    );
    let error = edge_fails(dir.path(), &format!("{server}[edge]\ntoken = \"chd_x\"\n"));
    assert!(error.contains("missing field `central`"), "{error}");
    assert!(error.contains("edge.toml"), "{error}");

    let error = edge_fails(
        dir.path(),
        &format!(
            "{server}[edge]\ncentral = \"http://127.0.0.1:1\"\ntoken = \"chd_x\"\ntoken-env = \"T\"\n"
        ),
    );
    assert!(
        error.contains("[edge] token-env: set only one of"),
        "{error}"
    );

    let missing = dir.path().join("no-such-token");
    let error = edge_fails(
        dir.path(),
        &format!(
            "{server}[edge]\ncentral = \"http://127.0.0.1:1\"\ntoken-file = {:?}\n",
            missing.display().to_string()
        ),
    );
    assert!(error.contains("[edge] token-file: cannot read"), "{error}");
    assert!(error.contains("no-such-token"), "{error}");

    let error = edge_fails(dir.path(), &server);
    assert!(error.contains("missing field `edge`"), "{error}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created for a bad configuration"
    );
}
