//! The driver against the scripted Haas MDC port of `chatter-replay`, over real TCP: the
//! driver's own code, with the host's network replaced by std sockets.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatter_haas_mdc::{Framing, Mode, RunStatus};
use chatter_replay::haas::{Advance, HaasResponder, MachineState, Options, Quirks};
use chatter_sdk::{ConditionLevel, Error, ErrorCode, Observation, Value};
use haas_mdc::{BAD_REPLIES, Connection, HaasMdc, Host, RECONNECTS, REQUESTS, Settings};
use tokio::runtime::Runtime;

/// Generous: machines running the tests are shared.
const TIMEOUT_MS: i64 = 5_000;

/// The host's network, clock and counters, natively.
struct TcpHost {
    address: SocketAddr,
    counters: BTreeMap<String, u64>,
    warnings: Vec<String>,
}

struct TcpConnection(TcpStream);

impl Host for TcpHost {
    type Connection = TcpConnection;

    fn connect(&mut self, endpoint: &str, timeout_ms: u32) -> Result<TcpConnection, Error> {
        assert_eq!(endpoint, "mdc");
        let timeout = Duration::from_millis(timeout_ms.into());
        TcpStream::connect_timeout(&self.address, timeout)
            .map(TcpConnection)
            .map_err(|e| Error::new(ErrorCode::Unreachable, e.to_string()))
    }

    fn now(&self) -> i64 {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        i64::try_from(since_epoch.as_nanos()).unwrap()
    }

    fn count(&mut self, counter: &str, delta: u64) {
        *self.counters.entry(counter.to_owned()).or_default() += delta;
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }
}

impl Connection for TcpConnection {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.0
            .write_all(data)
            .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
    }

    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        let timeout = Duration::from_millis(timeout_ms.max(1).into());
        self.0.set_read_timeout(Some(timeout)).unwrap();
        let mut buffer = vec![0; max_bytes as usize];
        match self.0.read(&mut buffer) {
            Ok(count) => Ok(buffer[..count].to_vec()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Error::new(ErrorCode::Timeout, "nothing arrived"))
            }
            // A reset is the peer going away.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(Vec::new()),
            Err(e) => Err(Error::new(ErrorCode::Internal, e.to_string())),
        }
    }
}

/// A responder serving `script` with `options`, on a runtime of its own, and a driver for it.
fn setup(
    script: Vec<MachineState>,
    options: Options,
    macros: &str,
) -> (Runtime, HaasResponder, HaasMdc<TcpHost>) {
    let runtime = Runtime::new().unwrap();
    let responder = runtime
        .block_on(HaasResponder::start(script, options))
        .unwrap();
    let host = TcpHost {
        address: responder.local_addr(),
        counters: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let settings = Settings::new(None, Some(macros.into()), Some(TIMEOUT_MS)).unwrap();
    let address = responder.local_addr().to_string();
    (runtime, responder, HaasMdc::new(settings, address, host))
}

fn state(mode: Mode, status: RunStatus, parts: u64) -> MachineState {
    MachineState {
        mode,
        status,
        parts,
        ..MachineState::default()
    }
}

/// A job: setup in MDI, then cycles in MEM with a feed hold, a part, an alarm.
fn shift() -> Vec<MachineState> {
    vec![
        state(Mode::Mdi, RunStatus::Idle, 0),
        state(Mode::Memory, RunStatus::Idle, 0),
        state(Mode::Memory, RunStatus::Busy, 0),
        state(Mode::Memory, RunStatus::FeedHold, 0),
        state(Mode::Memory, RunStatus::Busy, 0),
        state(Mode::Memory, RunStatus::Idle, 1),
        state(Mode::Memory, RunStatus::Busy, 1),
        state(Mode::Memory, RunStatus::Alarm, 1),
        state(Mode::Jog, RunStatus::Idle, 1),
    ]
}

/// The documented mapping of Haas run statuses to MTConnect execution.
fn execution(status: &RunStatus) -> &'static str {
    match status {
        RunStatus::Idle => "READY",
        RunStatus::Busy => "ACTIVE",
        RunStatus::FeedHold => "FEED_HOLD",
        RunStatus::Alarm => "STOPPED",
        RunStatus::Other(_) => unreachable!("not in the script"),
    }
}

/// The documented mapping of Haas modes to MTConnect controller modes.
fn controller_mode(mode: &Mode) -> &'static str {
    match mode {
        Mode::Memory => "AUTOMATIC",
        Mode::Mdi => "MANUAL_DATA_INPUT",
        Mode::Jog | Mode::HandJog => "MANUAL",
        other => unreachable!("not in the script: {other:?}"),
    }
}

/// The values of data item `item`, as text, in the order reported.
fn reported(observations: &[Observation], item: &str) -> Vec<String> {
    observations
        .iter()
        .filter(|o| o.data_item == item)
        .map(|o| match &o.value {
            Value::Event(text) => text.clone(),
            Value::Sample(number) => number.to_string(),
            Value::Condition(c) if c.level == ConditionLevel::Normal => "Normal".into(),
            Value::Condition(c) if c.level == ConditionLevel::Fault => "Fault".into(),
            Value::Condition(_) => "other condition".into(),
            Value::Unavailable => "UNAVAILABLE".into(),
        })
        .collect()
}

/// `values` without consecutive repeats: what change detection reports.
fn changes<T: PartialEq + Clone>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut changes: Vec<T> = Vec::new();
    for value in values {
        if changes.last() != Some(&value) {
            changes.push(value);
        }
    }
    changes
}

fn poll_script(driver: &mut HaasMdc<TcpHost>, polls: usize) -> Vec<Observation> {
    (0..polls).flat_map(|_| driver.poll().unwrap()).collect()
}

#[test]
fn a_scripted_shift_is_reported_change_by_change() {
    let script = shift();
    let (_runtime, responder, mut driver) = setup(script.clone(), Options::default(), "");
    // The mode is asked before the program status, which moves the script on.
    let all = poll_script(&mut driver, script.len());

    let executions = changes(script.iter().map(|s| execution(&s.status).to_owned()));
    assert_eq!(reported(&all, "execution"), executions);
    let modes = changes(script.iter().map(|s| controller_mode(&s.mode).to_owned()));
    assert_eq!(reported(&all, "controller-mode"), modes);
    // `STATUS, BUSY` tells no parts: the count changes when an idle state says so.
    let parts = changes(
        script
            .iter()
            .filter(|s| s.status != RunStatus::Busy)
            .map(|s| s.parts.to_string()),
    );
    assert_eq!(reported(&all, "part-count"), parts);
    assert_eq!(reported(&all, "system"), ["Normal", "Fault", "Normal"]);
    assert_eq!(reported(&all, "serial"), [MachineState::default().serial]);
    assert_eq!(reported(&all, "availability"), ["AVAILABLE"]);

    let serial_requests = responder
        .requests()
        .iter()
        .filter(|r| *r == "?Q100")
        .count();
    assert_eq!(serial_requests, 1);
    assert_eq!(
        driver.host().counters.get(REQUESTS).copied(),
        Some(1 + 2 * script.len() as u64)
    );
    assert_eq!(driver.host().counters.get(BAD_REPLIES), None);
}

#[test]
fn every_framing_split_into_pieces_and_with_noise_reports_the_same() {
    let (_runtime, _responder, mut plain) = setup(shift(), Options::default(), "");
    let expected: Vec<(String, Vec<String>)> = {
        let all = poll_script(&mut plain, shift().len());
        ["execution", "controller-mode", "part-count", "system"]
            .map(|item| (item.to_owned(), reported(&all, item)))
            .to_vec()
    };
    for framing in Framing::ALL {
        let options = Options {
            framing,
            quirks: Quirks {
                split_replies: Some(4),
                noise: b"\x11\x13\r\n".to_vec(),
                ..Quirks::default()
            },
            ..Options::default()
        };
        let (_runtime, _responder, mut driver) = setup(shift(), options, "");
        let all = poll_script(&mut driver, shift().len());
        for (item, values) in &expected {
            assert_eq!(&reported(&all, item), values, "{framing:?} {item}");
        }
    }
}

#[test]
fn macro_variables_are_samples_and_vacant_ones_are_unavailable() {
    let mut first = MachineState::default();
    first.macros.insert(5021, -234.567);
    let mut second = first.clone();
    second.macros.insert(5021, -230.0);
    second.macros.insert(1094, 80.0);
    let (_runtime, _responder, mut driver) = setup(
        vec![first, second],
        Options::default(),
        "5021:x-position:POSITION:MILLIMETER,1094:coolant-level",
    );
    // Macros are asked after Q500: the first poll reads them from the second state.
    let all = poll_script(&mut driver, 1);
    assert_eq!(reported(&all, "x-position"), ["-230"]);
    assert_eq!(reported(&all, "coolant-level"), ["80"]);
}

#[test]
fn a_dropped_connection_is_reported_unavailable_and_the_next_poll_reconnects() {
    let options = Options {
        advance: Advance::OnDemand,
        quirks: Quirks {
            // Q100, Q104, Q500, then Q104 and the connection goes.
            drop_after: Some(4),
            ..Quirks::default()
        },
        ..Options::default()
    };
    let (_runtime, responder, mut driver) = setup(vec![], options, "");
    let first = driver.poll().unwrap();
    let ids: Vec<String> = driver.data_items().into_iter().map(|d| d.id).collect();
    assert_eq!(first.len(), ids.len());

    let lost = driver.poll().unwrap();
    assert_eq!(lost.len(), ids.len());
    assert!(lost.iter().all(|o| matches!(o.value, Value::Unavailable)));

    let again = driver.poll().unwrap();
    assert_eq!(reported(&again, "serial"), [MachineState::default().serial]);
    assert_eq!(reported(&again, "execution"), ["READY"]);
    assert_eq!(driver.host().counters.get(RECONNECTS), Some(&1));
    assert_eq!(*responder.connections().borrow(), 2);
}

#[test]
fn a_refused_mode_request_leaves_the_mode_unavailable_and_the_rest_reported() {
    let options = Options {
        quirks: Quirks {
            refuse: vec![104],
            ..Quirks::default()
        },
        ..Options::default()
    };
    let (_runtime, _responder, mut driver) = setup(vec![], options, "");
    let first = driver.poll().unwrap();
    assert_eq!(reported(&first, "controller-mode"), ["UNAVAILABLE"]);
    assert_eq!(reported(&first, "execution"), ["READY"]);
    assert_eq!(driver.host().counters.get(BAD_REPLIES), Some(&1));
}

#[test]
fn an_alarm_is_a_fault_condition() {
    let (_runtime, _responder, mut driver) = setup(
        vec![state(Mode::Memory, RunStatus::Alarm, 3)],
        Options::default(),
        "",
    );
    let first = driver.poll().unwrap();
    let system = first.iter().find(|o| o.data_item == "system").unwrap();
    let Value::Condition(condition) = &system.value else {
        panic!("{:?}", system.value)
    };
    assert_eq!(condition.level, ConditionLevel::Fault);
}

#[test]
fn a_closed_port_is_unreachable_naming_its_address() {
    let (runtime, responder, mut driver) = setup(vec![], Options::default(), "");
    let address = responder.local_addr().to_string();
    drop(responder);
    // The listener closes with its task.
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    let error = driver.poll().expect_err("nothing listens");
    assert_eq!(error.code, ErrorCode::Unreachable);
    assert!(error.message.contains(&address), "{}", error.message);
}
