//! The driver's session, natively over real TCP, against the agent stand-in of
//! `chatter-replay` replaying a recorded log: everything arrives once, a buffer that moved on
//! is a recorded gap, and an agent restart is followed.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use chatter_mtconnect::devices::DeviceModel;
use chatter_replay::agent::{AgentEmulator, Feed, Options};
use chatter_sdk::{Error, ErrorCode, Observation, Value};
use mtconnect::convert::DATA_GAP;
use mtconnect::http::{Connector, Transport};
use mtconnect::session::{Host, Level, Session, counters};
use mtconnect::settings::{RawSettings, Settings};

fn fixtures() -> PathBuf {
    std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    )
}

fn okuma(test: &str) -> Option<(String, String)> {
    let folder = fixtures();
    if !folder.is_dir() {
        println!(
            "skipping {test}: fixtures not found at {}",
            folder.display()
        );
        return None;
    }
    let read = |path: &str| std::fs::read_to_string(folder.join(path)).unwrap();
    Some((
        read("mtconnect/cppagent/okuma.txt"),
        read("mtconnect/cppagent/demo-Devices.xml"),
    ))
}

struct TcpConnector(SocketAddr);
struct TcpTransport(TcpStream);

impl Connector for TcpConnector {
    type Connection = TcpTransport;
    fn connect(&mut self) -> Result<TcpTransport, Error> {
        TcpStream::connect_timeout(&self.0, Duration::from_secs(2))
            .map(TcpTransport)
            .map_err(|e| Error::unreachable(format!("cannot connect to {}: {e}", self.0)))
    }
}

impl Transport for TcpTransport {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.0
            .write_all(data)
            .map_err(|e| Error::unreachable(e.to_string()))
    }
    fn read(&mut self, max: usize, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        self.0
            .set_read_timeout(Some(Duration::from_millis(timeout_ms.into())))
            .unwrap();
        let mut buffer = vec![0; max];
        match self.0.read(&mut buffer) {
            Ok(n) => {
                buffer.truncate(n);
                Ok(buffer)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Error::new(ErrorCode::Timeout, "nothing in time"))
            }
            Err(e) => Err(Error::unreachable(e.to_string())),
        }
    }
}

#[derive(Default)]
struct TestHost {
    counters: HashMap<String, u64>,
    ticks: Cell<i64>,
}

impl Host for TestHost {
    /// A clock that moves a nanosecond per look: the poll's time budget never runs out.
    fn now(&self) -> i64 {
        self.ticks.set(self.ticks.get() + 1);
        self.ticks.get()
    }
    fn count(&mut self, name: &str, delta: u64) {
        *self.counters.entry(name.to_owned()).or_default() += delta;
    }
    fn log(&mut self, _level: Level, message: &str) {
        println!("{message}");
    }
}

fn session(
    agent: &AgentEmulator,
    raw: RawSettings,
    host: &mut TestHost,
) -> (Session<TcpConnector>, usize) {
    let address = agent.local_addr();
    let (session, items) = Session::open(
        TcpConnector(address),
        &address.to_string(),
        Settings::new(raw).unwrap(),
        None,
        host,
    )
    .unwrap();
    (session, items.len())
}

fn drain(session: &mut Session<TcpConnector>, host: &mut TestHost) -> Vec<Observation> {
    let mut all = Vec::new();
    loop {
        let batch = session.poll(host).unwrap();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn data_items(devices: &str) -> usize {
    let model = DeviceModel::parse(devices).unwrap();
    model.devices.iter().map(|d| d.data_items.len()).sum()
}

#[test]
fn the_driver_reads_a_replayed_log_whole_in_xml_and_in_json() {
    let Some((log, devices)) = okuma("the_driver_reads_a_replayed_log_whole_in_xml_and_in_json")
    else {
        return;
    };
    let runtime = runtime();
    let options = Options {
        feed: Feed::AllAtOnce,
        buffer_size: 1 << 20,
        device: None,
    };
    let agent = runtime
        .block_on(AgentEmulator::start(&log, &devices, options))
        .unwrap();
    let buffered = agent.log_stats().observations + data_items(&devices);
    for format in ["xml", "json"] {
        let mut host = TestHost::default();
        let raw = RawSettings {
            format: Some(format.to_owned()),
            ..RawSettings::default()
        };
        let (mut session, declared) = session(&agent, raw, &mut host);
        assert_eq!(declared, data_items(&devices) + 1);
        let all = drain(&mut session, &mut host);
        assert_eq!(all.len(), buffered, "{format}");
        assert!(all.iter().all(|o| o.data_item != DATA_GAP));
        assert_eq!(
            session.checkpoint().unwrap().next_sequence,
            agent.window().next_sequence
        );
        assert_eq!(host.counters.get(counters::PARSE_ERRORS), None);
    }
}

#[test]
fn a_replay_that_outran_the_driver_is_a_recorded_gap_and_a_restart_is_followed() {
    let test = "a_replay_that_outran_the_driver_is_a_recorded_gap_and_a_restart_is_followed";
    let Some((log, devices)) = okuma(test) else {
        return;
    };
    let runtime = runtime();
    let options = Options {
        feed: Feed::Manual,
        buffer_size: 1_000,
        device: None,
    };
    let agent = runtime
        .block_on(AgentEmulator::start(&log, &devices, options))
        .unwrap();
    let mut host = TestHost::default();
    let (mut session, _) = session(&agent, RawSettings::default(), &mut host);
    drain(&mut session, &mut host);
    let read_up_to = session.checkpoint().unwrap().next_sequence;

    agent.feed(3_000);
    let first_kept = agent.window().first_sequence;
    assert!(first_kept > read_up_to);
    let batch = drain(&mut session, &mut host);
    let gap = &batch[0];
    assert_eq!(gap.data_item, DATA_GAP);
    let Value::Event(text) = &gap.value else {
        panic!("a gap is an event");
    };
    assert!(
        text.starts_with(&format!(
            "agent sequences {read_up_to}–{} were no longer buffered",
            first_kept - 1
        )),
        "{text}"
    );
    assert_eq!(
        host.counters[counters::LOST_OBSERVATIONS],
        first_kept - read_up_to
    );
    assert_eq!(
        batch.len() as u64,
        1 + agent.window().next_sequence - first_kept
    );

    agent.restart();
    agent.feed(10);
    let after = drain(&mut session, &mut host);
    assert_eq!(host.counters[counters::AGENT_RESTARTS], 1);
    assert_eq!(after.len() as u64, agent.window().next_sequence - 1);
    assert!(
        after[..data_items(&devices)]
            .iter()
            .all(|o| matches!(&o.value, Value::Unavailable | Value::Condition(_)))
    );
}
