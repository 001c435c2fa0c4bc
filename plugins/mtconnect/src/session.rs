//! One driver's conversation with its agent: the probe at open, then per poll as many
//! `/sample` requests as the batch, the time budget and the agent's buffer allow, with the
//! tracker deciding what to ask and what each answer means.
//!
//! The session reaches the host only through [`Host`] (clock, counters, log) and the network
//! only through a [`Connector`], so it runs natively in tests against a scripted agent.

use std::collections::HashSet;

use chatter_mtconnect::devices::DeviceModel;
use chatter_mtconnect::streams::{
    self, ErrorCode as AgentErrorCode, StreamsDocument, StreamsError,
};
use chatter_sdk::{DataItem, Error, ErrorCode, Observation};

use crate::convert;
use crate::http::{Client, Connector, Response};
use crate::settings::{Format, Settings, Start};
use crate::tracker::{Checkpoint, Event, Outcome, Request, Tracker};

/// Requests one poll sends at most, whatever else allows more: a safety net against an agent
/// whose answers would keep the tracker asking forever.
const MAX_REQUESTS_PER_POLL: usize = 64;

/// Names of the diagnostics counters the driver keeps.
pub mod counters {
    /// HTTP requests sent to the agent.
    pub const REQUESTS: &str = "requests";
    /// Connections to the agent opened again after one was lost.
    pub const RECONNECTS: &str = "reconnects";
    /// Times the agent restarted (new instance id) or its sequence numbers went back.
    pub const AGENT_RESTARTS: &str = "agent-restarts";
    /// Times observations left the agent's buffer before the driver read them.
    pub const GAPS: &str = "gaps";
    /// Observations lost that way.
    pub const LOST_OBSERVATIONS: &str = "lost-observations";
    /// Agent answers the driver could not read.
    pub const PARSE_ERRORS: &str = "parse-errors";
    /// Observations of data items the probe did not declare (such as the agent's own device),
    /// left out.
    pub const SKIPPED_OBSERVATIONS: &str = "skipped-observations";
}

/// What the session needs from the host.
pub trait Host {
    /// The current time, ns since the Unix epoch.
    fn now(&self) -> i64;
    /// Adds `delta` to diagnostics counter `name`.
    fn count(&mut self, name: &str, delta: u64);
    /// Logs `message` at `level`.
    fn log(&mut self, level: Level, message: &str);
}

/// Log levels the session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Routine progress.
    Info,
    /// Something an operator should know about.
    Warn,
}

/// A driver's session with its agent.
pub struct Session<C: Connector> {
    client: Client<C>,
    settings: Settings,
    tracker: Tracker,
    /// The ids of the declared data items: observations of others are left out.
    declared: HashSet<String>,
    /// The agent, for messages: `host:port (endpoint `name`)`.
    agent: String,
    /// Most observations asked for per request: `count`, lowered to the agent's buffer size
    /// (a larger `count` is refused).
    count_limit: usize,
}

/// What an agent answered to a streams request.
enum Answer {
    Document(StreamsDocument),
    /// `OUT_OF_RANGE`, with what the error document's header said.
    OutOfRange {
        instance_id: Option<u64>,
        buffer_size: Option<u64>,
    },
}

impl<C: Connector> Session<C> {
    /// Probes the agent at `address` (`host:port`) through `connector` and returns the session
    /// with the data items to declare. `checkpoint` is where a previous run stopped.
    pub fn open(
        connector: C,
        address: &str,
        settings: Settings,
        checkpoint: Option<Checkpoint>,
        host: &mut impl Host,
    ) -> Result<(Self, Vec<DataItem>), Error> {
        let agent = format!(
            "MTConnect agent at {address} (endpoint `{}`)",
            settings.endpoint
        );
        let client = Client::new(connector, address, settings.timeout_ms);
        let tracker = Tracker::new(checkpoint, settings.start == Start::Current);
        let count_limit = settings.count as usize;
        let mut session = Session {
            client,
            settings,
            tracker,
            declared: HashSet::new(),
            agent,
            count_limit,
        };
        let probed = session.probe();
        session.flush_activity(host);
        let model = probed?;
        if let Some(device) = &session.settings.device
            && model.device(device).is_none()
        {
            let known: Vec<&str> = model.devices.iter().map(|d| d.name.as_str()).collect();
            return Err(Error::invalid_config(format!(
                "config `device`: the {} has no device `{device}` (it has: {})",
                session.agent,
                known.join(", ")
            )));
        }
        let data_items = convert::data_items(&model, session.settings.device.as_deref());
        session.declared = data_items.iter().map(|item| item.id.clone()).collect();
        Ok((session, data_items))
    }

    /// Where reading stands, to be saved with the poll's observations.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.tracker.checkpoint()
    }

    /// Forgets everything read since `checkpoint`: the host did not keep it.
    pub fn restore(&mut self, checkpoint: Option<Checkpoint>) {
        self.tracker = Tracker::new(checkpoint, self.settings.start == Start::Current);
    }

    /// Every observation the agent made since the previous poll, at most `max-batch` (the rest
    /// follows with the next polls), oldest first, with a `data_gap` observation where some were
    /// lost. A poll that fails leaves the session as it was.
    pub fn poll(&mut self, host: &mut impl Host) -> Result<Vec<Observation>, Error> {
        let before = self.tracker.clone();
        let started = host.now();
        let budget_ns = i64::from(self.settings.poll_budget_ms) * 1_000_000;
        let mut batch = Batch::default();
        for _ in 0..MAX_REQUESTS_PER_POLL {
            if batch.observations.len() >= self.settings.max_batch
                || host.now().saturating_sub(started) >= budget_ns
            {
                break;
            }
            let outcome = match self.step(batch.observations.len(), host) {
                Ok(Some(outcome)) => outcome,
                // The request is to be sent again, with a lower count.
                Ok(None) => continue,
                Err(error) if batch.observations.is_empty() => {
                    self.flush_activity(host);
                    self.tracker = before;
                    return Err(error);
                }
                Err(error) => {
                    // What was read stays read; the next poll tries again from there.
                    host.log(
                        Level::Warn,
                        &format!("{}; returning what was read", error.message),
                    );
                    break;
                }
            };
            for event in &outcome.events {
                self.record(event, host, &mut batch);
            }
            for observation in &outcome.observations {
                if self.declared.contains(&observation.data_item_id) {
                    batch.push(convert::observation(observation));
                } else {
                    batch.skipped += 1;
                }
            }
            if !outcome.more {
                break;
            }
        }
        self.flush_activity(host);
        if batch.skipped > 0 {
            host.count(counters::SKIPPED_OBSERVATIONS, batch.skipped);
        }
        Ok(batch.finish(host.now()))
    }

    fn probe(&mut self) -> Result<DeviceModel, Error> {
        let target = format!("{}/probe", self.prefix());
        // Device models are read as XML whatever `format` says: every agent serves XML.
        let response = self
            .client
            .get(&target, "application/xml")
            .map_err(|error| self.unreachable(error))?;
        let body = String::from_utf8_lossy(&response.body);
        DeviceModel::parse(&body).map_err(|error| self.probe_error(&target, &response, &error))
    }

    fn probe_error(
        &self,
        target: &str,
        response: &Response,
        error: &chatter_mtconnect::devices::DevicesError,
    ) -> Error {
        let message = format!(
            "{} answered GET {target} with HTTP {} {}: {error}",
            self.agent, response.status, response.reason
        );
        if response.status == 404 && self.settings.device.is_some() {
            Error::invalid_config(format!("config `device`: {message}"))
        } else {
            Error::protocol(message)
        }
    }

    /// The agent cannot be reached (or answered nothing): an `unreachable` error naming it.
    fn unreachable(&self, error: Error) -> Error {
        let code = match error.code {
            ErrorCode::Timeout | ErrorCode::Unreachable => ErrorCode::Unreachable,
            other => other,
        };
        Error::new(
            code,
            format!("{} is unreachable: {}", self.agent, error.message),
        )
    }

    /// Sends the tracker's next request and hands it the answer; `None` when the request must
    /// be sent again with a lower count.
    fn step(&mut self, batch_len: usize, host: &mut impl Host) -> Result<Option<Outcome>, Error> {
        let request = self.tracker.next_request();
        let count = self.count(batch_len);
        match self.ask(request, count, host)? {
            Answer::Document(document) => {
                self.fit_count(document.header.buffer_size);
                Ok(Some(self.tracker.on_document(document)))
            }
            Answer::OutOfRange {
                instance_id,
                buffer_size,
            } => {
                if self.lower_count(request, count, buffer_size)? {
                    Ok(None)
                } else {
                    Ok(Some(self.tracker.on_out_of_range(instance_id)))
                }
            }
        }
    }

    /// The count of the next request when the batch already holds `batch_len` observations.
    fn count(&self, batch_len: usize) -> usize {
        let room = self.settings.max_batch.saturating_sub(batch_len).max(1);
        room.min(self.count_limit)
    }

    /// Keeps requests within an agent buffer of `buffer_size`.
    fn fit_count(&mut self, buffer_size: u64) {
        if let Ok(size) = usize::try_from(buffer_size)
            && size >= 1
        {
            self.count_limit = self.count_limit.min(size);
        }
    }

    /// Whether an `OUT_OF_RANGE` refusal of `request` with `count` was about the count rather
    /// than about `from`, in which case the count is lowered: to the buffer size the error
    /// document gives, else by half. A request without `from` can only be refused for its
    /// count.
    fn lower_count(
        &mut self,
        request: Request,
        count: usize,
        buffer_size: Option<u64>,
    ) -> Result<bool, Error> {
        let limit = self.count_limit;
        if let Some(size) = buffer_size {
            self.fit_count(size);
        }
        if self.count_limit < limit {
            return Ok(true);
        }
        match request {
            Request::SampleFrom(_) => Ok(false),
            Request::SampleFromStart if count > 1 => {
                self.count_limit = count / 2;
                Ok(true)
            }
            Request::SampleFromStart | Request::Current => Err(Error::protocol(format!(
                "the {} refuses {} with OUT_OF_RANGE even without `from`",
                self.agent,
                self.target(request, count)
            ))),
        }
    }

    fn ask(
        &mut self,
        request: Request,
        count: usize,
        host: &mut impl Host,
    ) -> Result<Answer, Error> {
        let target = self.target(request, count);
        let accept = match self.settings.format {
            Format::Xml => "application/xml",
            Format::Json => "application/json",
        };
        let response = self.client.get(&target, accept).map_err(|error| {
            Error::new(error.code, format!("{}: {}", self.agent, error.message))
        })?;
        let body = String::from_utf8_lossy(&response.body);
        match streams::parse(&body) {
            Ok(document) => Ok(Answer::Document(document)),
            Err(StreamsError::Agent(refusal)) if refusal.has(&AgentErrorCode::OutOfRange) => {
                Ok(Answer::OutOfRange {
                    instance_id: refusal.instance_id,
                    buffer_size: refusal.buffer_size,
                })
            }
            Err(StreamsError::Agent(refusal)) if refusal.has(&AgentErrorCode::NoDevice) => {
                Err(Error::invalid_config(format!(
                    "config `device`: the {} refused GET {target}: {refusal}",
                    self.agent
                )))
            }
            Err(StreamsError::Agent(refusal)) => Err(Error::protocol(format!(
                "the {} refused GET {target}: {refusal}",
                self.agent
            ))),
            Err(error) => {
                host.count(counters::PARSE_ERRORS, 1);
                Err(Error::protocol(format!(
                    "cannot read the {}'s answer to GET {target} (HTTP {} {}): {error}",
                    self.agent, response.status, response.reason
                )))
            }
        }
    }

    /// The request target of `request` asking for at most `count` observations.
    fn target(&self, request: Request, count: usize) -> String {
        let prefix = self.prefix();
        match request {
            Request::Current => format!("{prefix}/current"),
            Request::SampleFromStart => format!("{prefix}/sample?count={count}"),
            Request::SampleFrom(from) => format!("{prefix}/sample?from={from}&count={count}"),
        }
    }

    fn prefix(&self) -> String {
        self.settings
            .device
            .as_deref()
            .map(|device| format!("/{}", percent_encode(device)))
            .unwrap_or_default()
    }

    fn record(&self, event: &Event, host: &mut impl Host, batch: &mut Batch) {
        let description = convert::describe(event);
        match event {
            Event::Restart { .. } | Event::Rewound { .. } => {
                host.count(counters::AGENT_RESTARTS, 1);
                host.log(Level::Warn, &format!("{}: {description}", self.agent));
            }
            Event::Gap { .. } => {
                host.count(counters::GAPS, 1);
                host.count(counters::LOST_OBSERVATIONS, event.lost());
                host.log(Level::Warn, &format!("{}: {description}", self.agent));
                batch.gap(event);
            }
        }
    }

    fn flush_activity(&mut self, host: &mut impl Host) {
        let activity = self.client.take_activity();
        if activity.requests > 0 {
            host.count(counters::REQUESTS, activity.requests);
        }
        if activity.reconnects > 0 {
            host.count(counters::RECONNECTS, activity.reconnects);
            host.log(
                Level::Info,
                &format!(
                    "reconnected to the {} {} time(s)",
                    self.agent, activity.reconnects
                ),
            );
        }
    }
}

/// The observations of one poll being gathered.
#[derive(Default)]
struct Batch {
    observations: Vec<Observation>,
    /// Gap observations waiting for a timestamp: that of the first observation after them, so
    /// a gap sits in time where the data resumed.
    unstamped_gaps: Vec<usize>,
    skipped: u64,
}

impl Batch {
    fn gap(&mut self, event: &Event) {
        if let Some(observation) = convert::gap_observation(event, 0) {
            self.unstamped_gaps.push(self.observations.len());
            self.observations.push(observation);
        }
    }

    fn push(&mut self, observation: Observation) {
        self.stamp_gaps(observation.timestamp);
        self.observations.push(observation);
    }

    fn stamp_gaps(&mut self, timestamp: i64) {
        for index in self.unstamped_gaps.drain(..) {
            if let Some(gap) = self.observations.get_mut(index) {
                gap.timestamp = timestamp;
            }
        }
    }

    /// The observations, gaps without a following observation stamped `now`.
    fn finish(mut self, now: i64) -> Vec<Observation> {
        self.stamp_gaps(now);
        self.observations
    }
}

/// `text` safe in a URL path segment.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
