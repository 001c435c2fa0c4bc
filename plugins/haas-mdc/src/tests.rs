//! Behaviour of the driver as the host sees it, against an in-memory Haas control that answers
//! through the real protocol crate.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use chatter_haas_mdc::{Framing, MacroValue, Mode, ProgramStatus, Reply, Request, RunStatus};
use chatter_sdk::{ConditionLevel, Error, ErrorCode, Observation, Value};

use crate::{BAD_REPLIES, Connection, HaasMdc, Host, RECONNECTS, REQUESTS, Settings};

const TIMEOUT_MS: u32 = 500;
const ADDRESS: &str = "10.1.2.3:5051";

/// An in-memory Haas control and the one connection to it.
struct Control {
    serial: String,
    mode: Mode,
    /// `None`: the control answers Q500 with `STATUS, BUSY`.
    status: Option<ProgramStatus>,
    macros: BTreeMap<u32, Option<f64>>,
    framing: Framing,
    /// Q-numbers answered `UNKNOWN`.
    refused: Vec<u16>,
    /// Bytes written before each reply.
    before_reply: Vec<u8>,
    /// Requests left unanswered before answering again.
    unanswered: usize,
    /// Bytes one read returns at most.
    read_size: usize,
    /// After this many replies the connection drops.
    drop_after: Option<usize>,
    reachable: bool,
    inbound: VecDeque<u8>,
    dropped: bool,
    replies: usize,
    requests: Vec<String>,
}

impl Control {
    fn new() -> Self {
        Control {
            serial: "1234567".into(),
            mode: Mode::Memory,
            status: Some(ProgramStatus {
                program: "O00012".into(),
                status: RunStatus::Idle,
                parts: 41,
            }),
            macros: BTreeMap::new(),
            framing: Framing::Setting143,
            refused: Vec::new(),
            before_reply: Vec::new(),
            unanswered: 0,
            read_size: 512,
            drop_after: None,
            reachable: true,
            inbound: VecDeque::new(),
            dropped: false,
            replies: 0,
            requests: Vec::new(),
        }
    }

    fn reply_to(&self, line: &str) -> Reply {
        let request = match Request::parse(line) {
            Ok(request) if self.refused.contains(&request.number()) => return Reply::Unknown,
            Ok(request) => request,
            Err(chatter_haas_mdc::RequestError::InvalidNumber(_)) => return Reply::InvalidNumber,
            Err(_) => return Reply::Unknown,
        };
        match request {
            Request::SerialNumber => Reply::SerialNumber(self.serial.clone()),
            Request::SoftwareVersion => Reply::SoftwareVersion("100.20.000.1110".into()),
            Request::Model => Reply::Model("VF-2".into()),
            Request::Mode => Reply::Mode(self.mode.clone()),
            Request::ProgramStatus => self
                .status
                .clone()
                .map_or(Reply::Busy, Reply::ProgramStatus),
            Request::Macro(variable) => match self.macros.get(&variable) {
                Some(value) => Reply::Macro(MacroValue {
                    variable: None,
                    value: *value,
                }),
                None => Reply::InvalidNumber,
            },
        }
    }

    fn receive(&mut self, line: &str) {
        self.requests.push(line.to_owned());
        if self.dropped {
            return;
        }
        if self.unanswered > 0 {
            self.unanswered -= 1;
            return;
        }
        if self.drop_after == Some(self.replies) {
            self.drop_after = None;
            self.dropped = true;
            self.inbound.clear();
            return;
        }
        let reply = self.reply_to(line).to_string();
        self.inbound.extend(self.before_reply.iter().copied());
        self.inbound.extend(self.framing.encode(&reply));
        self.replies += 1;
    }
}

type Shared = Rc<RefCell<Control>>;

struct FakeHost {
    control: Shared,
    clock: Rc<Cell<i64>>,
    counters: BTreeMap<String, u64>,
    warnings: Vec<String>,
}

struct FakeConnection {
    control: Shared,
    clock: Rc<Cell<i64>>,
}

impl Host for FakeHost {
    type Connection = FakeConnection;

    fn connect(&mut self, endpoint: &str, _timeout_ms: u32) -> Result<FakeConnection, Error> {
        assert_eq!(endpoint, "mdc");
        let mut control = self.control.borrow_mut();
        if !control.reachable {
            return Err(Error::new(ErrorCode::Unreachable, "connection refused"));
        }
        control.inbound.clear();
        control.dropped = false;
        control.replies = 0;
        Ok(FakeConnection {
            control: Rc::clone(&self.control),
            clock: Rc::clone(&self.clock),
        })
    }

    fn now(&self) -> i64 {
        self.clock.get()
    }

    fn count(&mut self, counter: &str, delta: u64) {
        *self.counters.entry(counter.to_owned()).or_default() += delta;
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }
}

impl Connection for FakeConnection {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let text = String::from_utf8_lossy(data).into_owned();
        let mut control = self.control.borrow_mut();
        for line in text.split(['\r', '\n']).filter(|l| !l.is_empty()) {
            control.receive(line);
        }
        Ok(())
    }

    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        let mut control = self.control.borrow_mut();
        let take = control
            .read_size
            .min(max_bytes as usize)
            .min(control.inbound.len());
        if take > 0 {
            return Ok(control.inbound.drain(..take).collect());
        }
        if control.dropped {
            return Ok(Vec::new());
        }
        self.clock
            .set(self.clock.get() + i64::from(timeout_ms) * 1_000_000);
        Err(Error::new(ErrorCode::Timeout, "nothing arrived"))
    }
}

fn driver_with(control: Control, macros: &str) -> (HaasMdc<FakeHost>, Shared) {
    let control = Rc::new(RefCell::new(control));
    let host = FakeHost {
        control: Rc::clone(&control),
        clock: Rc::new(Cell::new(1_000)),
        counters: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let settings =
        Settings::new(None, Some(macros.to_owned()), Some(i64::from(TIMEOUT_MS))).unwrap();
    (HaasMdc::new(settings, ADDRESS.into(), host), control)
}

fn driver(control: Control) -> (HaasMdc<FakeHost>, Shared) {
    driver_with(control, "")
}

/// (data item, value as text) of each observation.
fn values(observations: &[Observation]) -> Vec<(String, String)> {
    observations
        .iter()
        .map(|o| {
            let value = match &o.value {
                Value::Event(text) => text.clone(),
                Value::Sample(number) => number.to_string(),
                Value::Condition(c) if c.level == ConditionLevel::Normal => "NORMAL".into(),
                Value::Condition(c) => {
                    format!("{:?}: {}", c.level, c.text.clone().unwrap_or_default())
                }
                Value::Unavailable => "UNAVAILABLE".into(),
            };
            (o.data_item.clone(), value)
        })
        .collect()
}

fn value_of(observations: &[Observation], item: &str) -> Option<String> {
    values(observations)
        .into_iter()
        .find(|(id, _)| id == item)
        .map(|(_, value)| value)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(id, value)| ((*id).to_owned(), (*value).to_owned()))
        .collect()
}

fn counter(driver: &HaasMdc<FakeHost>, name: &str) -> u64 {
    driver.host().counters.get(name).copied().unwrap_or(0)
}

fn idle_control_with_macros() -> Control {
    let mut control = Control::new();
    control.macros.insert(5021, Some(-234.5));
    control.macros.insert(1094, Some(80.0));
    control
}

#[test]
fn the_first_poll_reports_every_data_item_mapped_to_mtconnect() {
    let (mut driver, _) = driver_with(
        idle_control_with_macros(),
        "5021:x-position:POSITION:MILLIMETER,1094:coolant-level",
    );
    let first = driver.poll().unwrap();
    assert_eq!(
        values(&first),
        pairs(&[
            ("availability", "AVAILABLE"),
            ("serial", "1234567"),
            ("controller-mode", "AUTOMATIC"),
            ("execution", "READY"),
            ("program", "O00012"),
            ("part-count", "41"),
            ("system", "NORMAL"),
            ("x-position", "-234.5"),
            ("coolant-level", "80"),
        ])
    );
    let declared: Vec<String> = driver.data_items().into_iter().map(|d| d.id).collect();
    let reported: Vec<String> = first.iter().map(|o| o.data_item.clone()).collect();
    assert_eq!(reported, declared);
}

#[test]
fn later_polls_report_only_what_changed() {
    let (mut driver, control) = driver_with(idle_control_with_macros(), "5021:x");
    driver.poll().unwrap();
    assert!(driver.poll().unwrap().is_empty());

    control.borrow_mut().status = Some(ProgramStatus {
        program: "O00012".into(),
        status: RunStatus::FeedHold,
        parts: 41,
    });
    control.borrow_mut().macros.insert(5021, Some(-100.0));
    assert_eq!(
        values(&driver.poll().unwrap()),
        pairs(&[("execution", "FEED_HOLD"), ("x", "-100")])
    );

    control.borrow_mut().mode = Mode::Mdi;
    assert_eq!(
        values(&driver.poll().unwrap()),
        pairs(&[("controller-mode", "MANUAL_DATA_INPUT")])
    );
}

#[test]
fn the_serial_number_is_asked_once_per_connection_and_every_request_is_counted() {
    let (mut driver, control) = driver_with(idle_control_with_macros(), "5021:x");
    for _ in 0..3 {
        driver.poll().unwrap();
    }
    let requests = control.borrow().requests.clone();
    assert_eq!(
        requests,
        [
            "?Q100",
            "?Q104",
            "?Q500",
            "?Q600 5021",
            "?Q104",
            "?Q500",
            "?Q600 5021",
            "?Q104",
            "?Q500",
            "?Q600 5021"
        ]
    );
    assert_eq!(counter(&driver, REQUESTS), 10);
    assert_eq!(counter(&driver, BAD_REPLIES), 0);
}

#[test]
fn every_framing_delivered_a_byte_per_read_decodes_the_same() {
    let expected = values(&driver(Control::new()).0.poll().unwrap());
    for framing in Framing::ALL {
        let mut control = Control::new();
        control.framing = framing;
        control.read_size = 1;
        let (mut driver, _) = driver(control);
        assert_eq!(values(&driver.poll().unwrap()), expected, "{framing:?}");
        assert_eq!(counter(&driver, BAD_REPLIES), 0, "{framing:?}");
    }
}

#[test]
fn an_alarm_stops_execution_with_a_fault_that_clears_when_the_alarm_does() {
    let (mut driver, control) = driver(Control::new());
    driver.poll().unwrap();
    let status = |status| {
        Some(ProgramStatus {
            program: "O00012".into(),
            status,
            parts: 41,
        })
    };
    control.borrow_mut().status = status(RunStatus::Alarm);
    let alarm = driver.poll().unwrap();
    assert_eq!(value_of(&alarm, "execution").as_deref(), Some("STOPPED"));
    let system = value_of(&alarm, "system").unwrap();
    assert!(
        system.contains("Fault") && system.contains("ALARM"),
        "{system}"
    );

    control.borrow_mut().status = status(RunStatus::Idle);
    assert_eq!(
        values(&driver.poll().unwrap()),
        pairs(&[("execution", "READY"), ("system", "NORMAL")])
    );
}

#[test]
fn status_busy_is_an_active_program_and_keeps_program_and_parts() {
    let (mut driver, control) = driver(Control::new());
    driver.poll().unwrap();
    control.borrow_mut().status = None;
    assert_eq!(
        values(&driver.poll().unwrap()),
        pairs(&[("execution", "ACTIVE")])
    );
    control.borrow_mut().status = Some(ProgramStatus {
        program: "O00012".into(),
        status: RunStatus::Idle,
        parts: 42,
    });
    assert_eq!(
        values(&driver.poll().unwrap()),
        pairs(&[("execution", "READY"), ("part-count", "42")])
    );
}

#[test]
fn a_refused_request_makes_its_items_unavailable_and_is_counted_and_logged_once() {
    let mut control = idle_control_with_macros();
    control.refused.push(104);
    let (mut driver, _) = driver_with(control, "5021:x,777:vacant");
    let first = driver.poll().unwrap();
    assert_eq!(
        value_of(&first, "controller-mode").as_deref(),
        Some("UNAVAILABLE")
    );
    // Variable 777 is not one the control has: INVALID NUMBER.
    assert_eq!(value_of(&first, "vacant").as_deref(), Some("UNAVAILABLE"));
    assert_eq!(value_of(&first, "execution").as_deref(), Some("READY"));
    assert_eq!(value_of(&first, "x").as_deref(), Some("-234.5"));
    assert!(driver.poll().unwrap().is_empty());
    assert_eq!(counter(&driver, BAD_REPLIES), 4);
    let warnings = &driver.host().warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("?Q104") && warnings[0].contains("UNKNOWN"));
    assert!(warnings[1].contains("?Q600 777") && warnings[1].contains("INVALID NUMBER"));
}

#[test]
fn garbage_and_answers_to_other_questions_are_skipped_and_counted() {
    let mut control = Control::new();
    // Before each reply: noise, then a reply meant for another client of the control.
    control.before_reply = b"\x00noise\r\n>".to_vec();
    control
        .before_reply
        .extend(Framing::Setting143.encode("MODEL, VF-2"));
    let (mut driver, _) = driver(control);
    let expected = values(&self::driver(Control::new()).0.poll().unwrap());
    assert_eq!(values(&driver.poll().unwrap()), expected);
    // Three replies, each preceded by garbage and a foreign reply.
    assert_eq!(counter(&driver, BAD_REPLIES), 6);
}

#[test]
fn a_dropped_connection_makes_everything_unavailable_then_reconnects_and_reports_all_again() {
    let mut control = Control::new();
    control.drop_after = Some(5);
    let (mut driver, control) = driver(control);
    assert_eq!(driver.poll().unwrap().len(), 7); // replies 1-3
    assert!(driver.poll().unwrap().is_empty()); // replies 4-5
    let lost = driver.poll().unwrap();
    assert_eq!(lost.len(), 7);
    assert!(lost.iter().all(|o| matches!(o.value, Value::Unavailable)));
    assert!(driver.host().warnings[0].contains(ADDRESS));

    let again = driver.poll().unwrap();
    assert_eq!(
        values(&again),
        values(&self::driver(Control::new()).0.poll().unwrap())
    );
    assert_eq!(counter(&driver, RECONNECTS), 1);
    let requests = control.borrow().requests.clone();
    assert_eq!(requests.iter().filter(|r| *r == "?Q100").count(), 2);
}

#[test]
fn a_silent_control_is_given_up_after_the_timeout() {
    let (mut driver, control) = driver(Control::new());
    driver.poll().unwrap();
    control.borrow_mut().unanswered = usize::MAX;
    let started = driver.host().now();
    let lost = driver.poll().unwrap();
    assert!(lost.iter().all(|o| matches!(o.value, Value::Unavailable)));
    let waited_ms = (driver.host().now() - started) / 1_000_000;
    assert_eq!(waited_ms, i64::from(TIMEOUT_MS));
    assert!(driver.host().warnings[0].contains("no answer to ?Q104"));
}

#[test]
fn an_unanswered_first_serial_number_request_is_sent_again() {
    let mut control = Control::new();
    control.unanswered = 1;
    let (mut driver, control) = driver(control);
    let first = driver.poll().unwrap();
    assert_eq!(value_of(&first, "serial").as_deref(), Some("1234567"));
    assert_eq!(control.borrow().requests[..2], ["?Q100", "?Q100"]);
}

#[test]
fn an_unreachable_machine_is_an_unreachable_error_naming_host_and_port() {
    let mut control = Control::new();
    control.reachable = false;
    let (mut driver, _) = driver(control);
    let error = driver.poll().expect_err("unreachable");
    assert_eq!(error.code, ErrorCode::Unreachable);
    assert!(
        error.message.contains(ADDRESS) && error.message.contains("connection refused"),
        "{}",
        error.message
    );
}
