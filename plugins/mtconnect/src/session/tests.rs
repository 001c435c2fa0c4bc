//! The session against a scripted agent that keeps a bounded buffer of numbered observations,
//! restarts, and refuses a `from` outside its buffer like the reference agent.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use chatter_mtconnect::streams::{
    self, Category, ComponentRef, Condition as StreamCondition, ConditionLevel, ErrorDocument,
    Header, Representation, StreamsDocument, Value as StreamValue,
};
use chatter_sdk::{Error, Observation, Value};

use super::*;
use crate::http::Transport;
use crate::settings::RawSettings;

const BASE_TIME: i64 = 1_700_000_000_000_000_000;
const PROBE: &str = r#"<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.0">
  <Header instanceId="1" bufferSize="10" creationTime="2024-01-01T00:00:00Z" sender="a" version="2.0"/>
  <Devices><Device id="mill" name="Mill" uuid="mill-1"><DataItems>
    <DataItem id="exec" category="EVENT" type="EXECUTION"/>
    <DataItem id="load" category="SAMPLE" type="LOAD" units="PERCENT"/>
    <DataItem id="sys" category="CONDITION" type="SYSTEM"/>
  </DataItems></Device></Devices></MTConnectDevices>"#;

/// The data items the scripted agent reports, in turn; `other` is not in the probe.
const ITEMS: [&str; 3] = ["exec", "load", "sys"];

struct Agent {
    instance_id: u64,
    capacity: usize,
    buffer: VecDeque<streams::Observation>,
    next_sequence: u64,
    reachable: bool,
    /// Close the connection after each response, like an agent without keep-alive.
    close_each: bool,
    /// Answer the next streams request with this body instead.
    garbage: Option<String>,
    /// Go away (refuse writes and connections) once this many requests were answered.
    fail_from_request: Option<usize>,
    /// Leave the buffer size out of error documents.
    hide_buffer_size: bool,
    requests: Vec<String>,
    accepts: Vec<String>,
    /// Data item ids of the observations added, by sequence, to check what polls return.
    items: Vec<&'static str>,
}

impl Agent {
    fn new(capacity: usize) -> Rc<RefCell<Agent>> {
        Rc::new(RefCell::new(Agent {
            instance_id: 1_000,
            capacity,
            buffer: VecDeque::new(),
            next_sequence: 1,
            reachable: true,
            close_each: false,
            garbage: None,
            fail_from_request: None,
            hide_buffer_size: false,
            requests: Vec::new(),
            accepts: Vec::new(),
            items: Vec::new(),
        }))
    }

    fn add(&mut self, count: usize) {
        self.add_items(&ITEMS.repeat(count)[..count]);
    }

    fn add_items(&mut self, items: &[&'static str]) {
        let component = Arc::new(ComponentRef {
            device_name: "Mill".to_owned(),
            device_uuid: "mill-1".to_owned(),
            component: "Device".to_owned(),
            component_id: "mill".to_owned(),
            component_name: None,
        });
        for &item in items {
            let sequence = self.next_sequence;
            self.next_sequence += 1;
            let (category, kind, value) = match item {
                "exec" => (
                    Category::Event,
                    "EXECUTION",
                    StreamValue::Text("active".to_owned()),
                ),
                "load" => (
                    Category::Sample,
                    "LOAD",
                    StreamValue::Text(format!("{sequence}.5")),
                ),
                "sys" => (
                    Category::Condition,
                    "SYSTEM",
                    StreamValue::Condition(StreamCondition::new(ConditionLevel::Normal)),
                ),
                _ => (Category::Event, "BLOCK", StreamValue::Text("G1".to_owned())),
            };
            self.buffer.push_back(streams::Observation {
                component: Arc::clone(&component),
                data_item_id: item.to_owned(),
                name: None,
                sequence,
                timestamp: time_of(sequence),
                category,
                kind: kind.to_owned(),
                sub_type: None,
                representation: Representation::Value,
                value,
            });
            self.items.push(item);
            if self.buffer.len() > self.capacity {
                self.buffer.pop_front();
            }
        }
    }

    fn restart(&mut self) {
        self.instance_id += 1;
        self.buffer.clear();
        self.next_sequence = 1;
        self.items.clear();
    }

    fn first_sequence(&self) -> u64 {
        self.buffer
            .front()
            .map_or(self.next_sequence, |o| o.sequence)
    }

    fn header(&self, next: u64) -> Header {
        Header {
            instance_id: self.instance_id,
            buffer_size: self.capacity as u64,
            first_sequence: self.first_sequence(),
            last_sequence: self.next_sequence - 1,
            next_sequence: next,
            ..Header::default()
        }
    }

    /// The body answering `target`, in JSON when `json`.
    fn answer(&mut self, target: &str, json: bool) -> (u16, String) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let parameter = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .map(|value| value.parse::<u64>().unwrap())
        };
        let endpoint = path.rsplit('/').next().unwrap();
        let device = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .filter(|d| *d != endpoint);
        if device.is_some_and(|d| d != "Mill") {
            let error = ErrorDocument::single(streams::ErrorCode::NoDevice, "no such device");
            return (404, streams::write_error_xml(&error));
        }
        if endpoint == "probe" {
            return (200, PROBE.to_owned());
        }
        if let Some(garbage) = self.garbage.take() {
            return (200, garbage);
        }
        let document = match endpoint {
            "current" => self.current(),
            "sample" => match self.sample(parameter("from"), parameter("count").unwrap_or(100)) {
                Ok(document) => document,
                Err(error) => return (400, streams::write_error_xml(&error)),
            },
            other => panic!("unexpected request {other}"),
        };
        let body = if json {
            streams::write_json(&document)
        } else {
            streams::write_xml(&document)
        };
        (200, body)
    }

    fn current(&self) -> StreamsDocument {
        let mut latest: Vec<streams::Observation> = Vec::new();
        for observation in self.buffer.iter().rev() {
            if !latest
                .iter()
                .any(|o| o.data_item_id == observation.data_item_id)
            {
                latest.push(observation.clone());
            }
        }
        latest.reverse();
        StreamsDocument {
            header: self.header(self.next_sequence),
            observations: latest,
        }
    }

    fn sample(&self, from: Option<u64>, count: u64) -> Result<StreamsDocument, ErrorDocument> {
        let first = self.first_sequence();
        if count > self.capacity as u64 {
            let mut error = ErrorDocument::single(
                streams::ErrorCode::OutOfRange,
                format!("'count' must be less than {}", self.capacity + 1),
            );
            error.instance_id = Some(self.instance_id);
            error.buffer_size = (!self.hide_buffer_size).then_some(self.capacity as u64);
            return Err(error);
        }
        let from = from.unwrap_or(first);
        if from < first || from > self.next_sequence {
            let mut error = ErrorDocument::single(
                streams::ErrorCode::OutOfRange,
                format!("'from' must be greater than {}", first - 1),
            );
            error.instance_id = Some(self.instance_id);
            return Err(error);
        }
        let observations: Vec<streams::Observation> = self
            .buffer
            .iter()
            .filter(|o| o.sequence >= from)
            .take(count as usize)
            .cloned()
            .collect();
        let next = observations.last().map_or(from, |o| o.sequence + 1);
        Ok(StreamsDocument {
            header: self.header(next),
            observations,
        })
    }
}

fn time_of(sequence: u64) -> i64 {
    BASE_TIME + sequence as i64 * 1_000
}

fn sequence_of(observation: &Observation) -> u64 {
    ((observation.timestamp - BASE_TIME) / 1_000) as u64
}

struct Connector(Rc<RefCell<Agent>>);
struct Connection {
    agent: Rc<RefCell<Agent>>,
    pending: Vec<u8>,
    closing: bool,
}

impl crate::http::Connector for Connector {
    type Connection = Connection;
    fn connect(&mut self) -> Result<Connection, Error> {
        if !self.0.borrow().reachable {
            return Err(Error::unreachable(
                "cannot connect to 127.0.0.1:5000: connection refused",
            ));
        }
        Ok(Connection {
            agent: Rc::clone(&self.0),
            pending: Vec::new(),
            closing: false,
        })
    }
}

impl Transport for Connection {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.closing {
            return Err(Error::unreachable("connection reset"));
        }
        let request = String::from_utf8(data.to_vec()).unwrap();
        let target = request.split(' ').nth(1).unwrap().to_owned();
        let accept = request
            .lines()
            .find_map(|line| line.strip_prefix("Accept: "))
            .unwrap()
            .to_owned();
        let mut agent = self.agent.borrow_mut();
        if agent
            .fail_from_request
            .is_some_and(|limit| agent.requests.len() >= limit)
        {
            agent.reachable = false;
            return Err(Error::unreachable("connection reset by peer"));
        }
        agent.requests.push(target.clone());
        agent.accepts.push(accept.clone());
        let (status, body) = agent.answer(&target, accept == "application/json");
        // Chunked when keeping alive, to exercise both framings.
        let framed = if agent.close_each {
            self.closing = true;
            format!(
                "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        } else {
            format!(
                "HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            )
        };
        self.pending.extend_from_slice(framed.as_bytes());
        Ok(())
    }

    fn read(&mut self, max: usize, _timeout_ms: u32) -> Result<Vec<u8>, Error> {
        // Small reads, so responses arrive split.
        let take = max.min(700).min(self.pending.len());
        Ok(self.pending.drain(..take).collect())
    }
}

#[derive(Default)]
struct TestHost {
    clock: Cell<i64>,
    /// How far the clock moves each time it is read.
    tick: i64,
    counters: HashMap<String, u64>,
    logs: Vec<(Level, String)>,
}

impl Host for TestHost {
    fn now(&self) -> i64 {
        let now = self.clock.get();
        self.clock.set(now + self.tick);
        now
    }
    fn count(&mut self, name: &str, delta: u64) {
        *self.counters.entry(name.to_owned()).or_default() += delta;
    }
    fn log(&mut self, level: Level, message: &str) {
        self.logs.push((level, message.to_owned()));
    }
}

impl TestHost {
    fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or_default()
    }
}

fn settings(raw: RawSettings) -> Settings {
    Settings::new(raw).unwrap()
}

fn open(
    agent: &Rc<RefCell<Agent>>,
    settings: Settings,
    checkpoint: Option<Checkpoint>,
    host: &mut TestHost,
) -> Result<(Session<Connector>, Vec<DataItem>), Error> {
    Session::open(
        Connector(Rc::clone(agent)),
        "127.0.0.1:5000",
        settings,
        checkpoint,
        host,
    )
}

fn raw(count: i64, max_batch: i64) -> RawSettings {
    RawSettings {
        count: Some(count),
        max_batch: Some(max_batch),
        ..RawSettings::default()
    }
}

/// Polls until a poll returns nothing.
fn drain(session: &mut Session<Connector>, host: &mut TestHost) -> Vec<Observation> {
    let mut all = Vec::new();
    loop {
        let batch = session.poll(host).unwrap();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

fn sequences(observations: &[Observation]) -> Vec<u64> {
    observations
        .iter()
        .filter(|o| o.data_item != convert::DATA_GAP)
        .map(sequence_of)
        .collect()
}

#[test]
fn open_declares_the_probed_data_items_and_the_gap_item() {
    let agent = Agent::new(100);
    let mut host = TestHost::default();
    let (_, items) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    let ids: Vec<&str> = items.iter().map(|item| item.id.as_str()).collect();
    assert_eq!(ids, ["exec", "load", "sys", convert::DATA_GAP]);
    assert_eq!(items[1].units.as_deref(), Some("PERCENT"));
    assert_eq!(agent.borrow().requests, ["/probe"]);
    assert_eq!(host.counter(counters::REQUESTS), 1);
}

#[test]
fn an_unreachable_agent_is_an_unreachable_error_naming_it() {
    let agent = Agent::new(100);
    agent.borrow_mut().reachable = false;
    let mut host = TestHost::default();
    let Err(error) = open(&agent, settings(RawSettings::default()), None, &mut host) else {
        panic!("the agent cannot be reached");
    };
    assert_eq!(error.code, chatter_sdk::ErrorCode::Unreachable);
    assert!(
        error
            .message
            .starts_with("MTConnect agent at 127.0.0.1:5000 (endpoint `agent`) is unreachable"),
        "{}",
        error.message
    );
}

#[test]
fn a_fresh_driver_reads_everything_buffered_in_requests_of_count_and_polls_of_max_batch() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(250);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(40, 100)), None, &mut host).unwrap();

    let first = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&first), (1..=100).collect::<Vec<_>>());
    let rest = drain(&mut session, &mut host);
    assert_eq!(sequences(&rest), (101..=250).collect::<Vec<_>>());

    let requests = agent.borrow().requests.clone();
    assert_eq!(requests[1], "/sample?count=40");
    assert_eq!(requests[2], "/sample?from=41&count=40");
    // The third request of the first poll asks only for what fits in the batch.
    assert_eq!(requests[3], "/sample?from=81&count=20");
    assert_eq!(session.checkpoint().unwrap().next_sequence, 251);
    assert_eq!(host.counter(counters::GAPS), 0);
}

#[test]
fn observations_convert_with_their_category() {
    let agent = Agent::new(100);
    agent.borrow_mut().add(3);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    assert!(matches!(&batch[0].value, Value::Event(text) if text == "ACTIVE"));
    assert!(matches!(batch[1].value, Value::Sample(value) if value == 2.5));
    assert!(matches!(batch[2].value, Value::Condition(_)));
}

#[test]
fn a_restarted_driver_resumes_at_its_checkpoint_without_gap_or_duplicate() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(50);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(1_000, 30)), None, &mut host).unwrap();
    let before = session.poll(&mut host).unwrap();
    let checkpoint = session.checkpoint();
    drop(session);

    agent.borrow_mut().add(20);
    let (mut session, _) = open(&agent, settings(raw(1_000, 30)), checkpoint, &mut host).unwrap();
    let after = drain(&mut session, &mut host);
    let mut all = sequences(&before);
    all.extend(sequences(&after));
    assert_eq!(all, (1..=70).collect::<Vec<_>>());
}

#[test]
fn after_an_agent_restart_the_new_buffer_is_read_from_its_start() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(500);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    drain(&mut session, &mut host);

    agent.borrow_mut().restart();
    agent.borrow_mut().add(600);
    let after = drain(&mut session, &mut host);
    assert_eq!(sequences(&after), (1..=600).collect::<Vec<_>>());
    assert!(after.iter().all(|o| o.data_item != convert::DATA_GAP));
    assert_eq!(host.counter(counters::AGENT_RESTARTS), 1);
    assert!(
        host.logs
            .iter()
            .any(|(level, message)| *level == Level::Warn
                && message.contains("the agent restarted (instance 1000 → 1001)"))
    );
    assert_eq!(session.checkpoint().unwrap().instance_id, 1_001);
}

#[test]
fn observations_the_agent_dropped_are_recorded_as_a_gap_and_reading_goes_on() {
    let capacity = 100;
    let agent = Agent::new(capacity);
    agent.borrow_mut().add(60);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    assert_eq!(drain(&mut session, &mut host).len(), 60);

    agent.borrow_mut().add(250);
    let first_kept = agent.borrow().first_sequence();
    let lost = first_kept - 61;
    let batch = session.poll(&mut host).unwrap();

    let gap = &batch[0];
    assert_eq!(gap.data_item, convert::DATA_GAP);
    let Value::Event(text) = &gap.value else {
        panic!("a gap is an event");
    };
    assert_eq!(
        *text,
        format!(
            "agent sequences 61–{} were no longer buffered (agent instance 1000); {lost} \
             observations lost",
            first_kept - 1
        )
    );
    // The gap sits where the data resumed.
    assert_eq!(gap.timestamp, batch[1].timestamp);
    assert_eq!(sequences(&batch), (first_kept..=310).collect::<Vec<_>>());
    assert_eq!(batch.len(), capacity + 1);
    assert_eq!(host.counter(counters::GAPS), 1);
    assert_eq!(host.counter(counters::LOST_OBSERVATIONS), lost);
}

#[test]
fn a_fresh_driver_may_start_at_the_current_values() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(30);
    let mut host = TestHost::default();
    let start_current = RawSettings {
        start: Some("current".to_owned()),
        ..RawSettings::default()
    };
    let (mut session, _) = open(&agent, settings(start_current), None, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&batch), [28, 29, 30]);
    assert_eq!(agent.borrow().requests[1], "/current");
    agent.borrow_mut().add(2);
    assert_eq!(sequences(&session.poll(&mut host).unwrap()), [31, 32]);
}

#[test]
fn json_is_asked_for_when_configured() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(5);
    let mut host = TestHost::default();
    let json = RawSettings {
        format: Some("json".to_owned()),
        ..RawSettings::default()
    };
    let (mut session, _) = open(&agent, settings(json), None, &mut host).unwrap();
    assert_eq!(
        sequences(&session.poll(&mut host).unwrap()),
        [1, 2, 3, 4, 5]
    );
    let accepts = agent.borrow().accepts.clone();
    assert_eq!(accepts, ["application/xml", "application/json"]);
}

#[test]
fn a_configured_device_is_asked_for_by_name() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(2);
    let mut host = TestHost::default();
    let mill = RawSettings {
        device: Some("Mill".to_owned()),
        ..RawSettings::default()
    };
    let (mut session, _) = open(&agent, settings(mill), None, &mut host).unwrap();
    session.poll(&mut host).unwrap();
    assert_eq!(
        agent.borrow().requests,
        ["/Mill/probe", "/Mill/sample?count=1000"]
    );

    let unknown = RawSettings {
        device: Some("Lathe 2".to_owned()),
        ..RawSettings::default()
    };
    let Err(error) = open(&agent, settings(unknown), None, &mut host) else {
        panic!("no such device");
    };
    assert_eq!(error.code, chatter_sdk::ErrorCode::InvalidConfig);
    assert!(
        error.message.contains("GET /Lathe%202/probe"),
        "{}",
        error.message
    );
}

#[test]
fn an_unreadable_answer_is_counted_and_changes_nothing() {
    let agent = Agent::new(100);
    agent.borrow_mut().add(5);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    agent.borrow_mut().garbage = Some("<html>proxy error</html>".to_owned());
    let error = session.poll(&mut host).unwrap_err();
    assert_eq!(error.code, chatter_sdk::ErrorCode::Protocol);
    assert!(
        error.message.contains("GET /sample?count=1000"),
        "{}",
        error.message
    );
    assert_eq!(host.counter(counters::PARSE_ERRORS), 1);
    assert_eq!(session.checkpoint(), None);
    assert_eq!(
        sequences(&session.poll(&mut host).unwrap()),
        [1, 2, 3, 4, 5]
    );
}

#[test]
fn an_agent_closing_every_connection_is_reconnected() {
    let agent = Agent::new(100);
    agent.borrow_mut().add(90);
    agent.borrow_mut().close_each = true;
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(30, 1_000)), None, &mut host).unwrap();
    assert_eq!(sequences(&session.poll(&mut host).unwrap()).len(), 90);
    // probe, then three requests of 30 and one answering that nothing is left.
    assert_eq!(host.counter(counters::REQUESTS), 4);
    assert_eq!(host.counter(counters::RECONNECTS), 3);
}

#[test]
fn observations_of_undeclared_data_items_are_left_out_and_counted() {
    let agent = Agent::new(100);
    agent
        .borrow_mut()
        .add_items(&["exec", "other", "load", "other"]);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    let items: Vec<&str> = batch.iter().map(|o| o.data_item.as_str()).collect();
    assert_eq!(items, ["exec", "load"]);
    assert_eq!(host.counter(counters::SKIPPED_OBSERVATIONS), 2);
}

#[test]
fn a_poll_stops_asking_when_its_time_budget_is_spent() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(100);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(10, 1_000)), None, &mut host).unwrap();
    // Every look at the clock takes a second: the 3 s budget allows a few requests only.
    host.tick = 1_000_000_000;
    let batch = session.poll(&mut host).unwrap();
    assert!(!batch.is_empty() && batch.len() < 100, "{}", batch.len());
    host.tick = 0;
    let rest = drain(&mut session, &mut host);
    assert_eq!(batch.len() + rest.len(), 100);
}

#[test]
fn a_failure_after_some_answers_returns_what_was_read() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(50);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(20, 1_000)), None, &mut host).unwrap();
    // The agent goes away after answering the probe and two samples.
    agent.borrow_mut().fail_from_request = Some(3);
    let batch = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&batch), (1..=40).collect::<Vec<_>>());
    assert!(host.logs.iter().any(
        |(level, message)| *level == Level::Warn && message.contains("returning what was read")
    ));
    assert_eq!(session.checkpoint().unwrap().next_sequence, 41);

    let error = session.poll(&mut host).unwrap_err();
    assert_eq!(error.code, chatter_sdk::ErrorCode::Unreachable);
    assert_eq!(session.checkpoint().unwrap().next_sequence, 41);

    agent.borrow_mut().fail_from_request = None;
    agent.borrow_mut().reachable = true;
    assert_eq!(
        sequences(&drain(&mut session, &mut host)),
        (41..=50).collect::<Vec<_>>()
    );
}

#[test]
fn a_count_above_the_agent_buffer_is_lowered_to_its_size() {
    let agent = Agent::new(50);
    agent.borrow_mut().add(120);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&batch), (71..=120).collect::<Vec<_>>());
    let requests = agent.borrow().requests.clone();
    assert_eq!(requests[1..], ["/sample?count=1000", "/sample?count=50"]);
    assert_eq!(host.counter(counters::GAPS), 0);
}

#[test]
fn a_count_refused_without_a_buffer_size_is_halved_until_accepted() {
    let agent = Agent::new(200);
    agent.borrow_mut().add(30);
    agent.borrow_mut().hide_buffer_size = true;
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(RawSettings::default()), None, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&batch), (1..=30).collect::<Vec<_>>());
    let requests = agent.borrow().requests.clone();
    assert_eq!(
        requests[1..],
        [
            "/sample?count=1000",
            "/sample?count=500",
            "/sample?count=250",
            "/sample?count=125"
        ]
    );
    // The agent's buffer size, learnt from its header, caps the later requests.
    agent.borrow_mut().add(5);
    session.poll(&mut host).unwrap();
    assert_eq!(
        agent.borrow().requests.last().unwrap(),
        "/sample?from=31&count=125"
    );
}

#[test]
fn a_count_refused_with_a_from_is_lowered_before_the_from_is_doubted() {
    let agent = Agent::new(1_000);
    agent.borrow_mut().add(40);
    let mut host = TestHost::default();
    let (mut session, _) = open(&agent, settings(raw(500, 1_000)), None, &mut host).unwrap();
    session.poll(&mut host).unwrap();
    let checkpoint = session.checkpoint();
    drop(session);

    // The agent came back with a smaller buffer (same instance, say a configuration change).
    agent.borrow_mut().capacity = 100;
    agent.borrow_mut().add(10);
    let (mut session, _) = open(&agent, settings(raw(500, 1_000)), checkpoint, &mut host).unwrap();
    let batch = session.poll(&mut host).unwrap();
    assert_eq!(sequences(&batch), (41..=50).collect::<Vec<_>>());
    assert_eq!(host.counter(counters::GAPS), 0);
}
