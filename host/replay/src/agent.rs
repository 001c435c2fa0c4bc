//! An MTConnect agent stand-in: serves `/probe`, `/current` and `/sample` over HTTP on
//! 127.0.0.1 from a recorded SHDR log and the `Devices.xml` the log was recorded against, the
//! way the reference agent (cppagent) would have served it, so that drivers and tools can be
//! tested against real sockets without a machine.
//!
//! ```no_run
//! # async fn demo(log: &str, devices: &str) -> Result<(), chatter_replay::agent::AgentError> {
//! use chatter_replay::agent::{AgentEmulator, Feed, Options};
//! let options = Options { feed: Feed::Manual, ..Options::default() };
//! let agent = AgentEmulator::start(log, devices, options).await?;
//! agent.feed(100); // the first 100 lines of the log
//! println!("agent at http://{}/current", agent.local_addr());
//! # Ok(()) }
//! ```
//!
//! # What it does like a real agent
//!
//! - Every SHDR key/value of the log becomes one buffered observation with the next sequence
//!   number, under the data item the device model resolves the key to (name, then id, then
//!   `Source`). Keys the model does not know are left out and counted
//!   ([`LogStats::skipped_keys`]), as the reference agent does. The log feeds one device
//!   ([`Options::device`], the model's first by default).
//! - The buffer holds at most [`Options::buffer_size`] observations. A `from` older than its
//!   first sequence (or past its next one), an `at` outside it, or a `count` of 0 or above the
//!   buffer size is refused with an `OUT_OF_RANGE` error document (HTTP 400); an unknown device
//!   gets `NO_DEVICE` (HTTP 404).
//! - Each run has an instance id derived from the time it started, and starts — as the
//!   reference agent does — with an `UNAVAILABLE` observation of every data item of every
//!   device (conditions at level `Unavailable`), numbered from 1 in model order.
//!   [`AgentEmulator::restart`] simulates an agent restart: a new instance id, an empty buffer,
//!   sequences from 1 with those `UNAVAILABLE`s again, and feeding goes on with the next line
//!   of the log not fed yet.
//! - `/sample` takes `from` (default: the first buffered sequence) and `count` (default 100)
//!   and scans like the reference agent: the header's `nextSequence` is where the scan stopped,
//!   past observations of other devices for `/<device>/sample`. `/current` takes `at`.
//! - Answers are XML (MTConnect 2.0 streams documents), or JSON version 2 when the request's
//!   `Accept` header asks for `application/json`. `/probe` is the configured `Devices.xml` with
//!   this instance's header (and only the device asked for), always XML.
//!
//! # What it simplifies
//!
//! Every value is an observation (no duplicate filtering); `/current` shows the latest
//! observation of each data item, also for conditions (a real agent lists every active alarm of
//! a condition item); assets, `interval` streaming, negative `count`s, `to` and `path` are not
//! served; timestamps are the log's (lines without one get the time they were fed); message
//! codes and legacy alarm fields are reduced to their text.
//!
//! # Feeding
//!
//! [`Feed::Paced`] replays the log at the pace of its timestamps times a speed factor (a
//! timestamp going backwards — logs joined from several captures — does not wait),
//! [`Feed::AllAtOnce`] buffers the whole log before [`AgentEmulator::start`] returns, and
//! [`Feed::Manual`] feeds only when a test calls [`AgentEmulator::feed`] — deterministic. Any
//! mode may be combined with `feed`.

mod buffer;
mod http;
mod log;
mod probe;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatter_mtconnect::devices::{DeviceModel, DevicesError};
use chatter_mtconnect::streams::{ErrorCode, ErrorDocument, StreamsDocument};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

pub use log::LogStats;

use buffer::Buffer;
use log::{Log, Templates};
use probe::{HeaderValues, ProbeTemplate};

/// The buffer size of the reference agent unless configured.
pub const DEFAULT_BUFFER_SIZE: usize = 131_072;

/// How the log goes into the agent's buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feed {
    /// At the pace of the log's timestamps, `speed` times faster than recorded; a pause longer
    /// than `max_wait` (after the speed-up) is cut to `max_wait`, and a timestamp going backwards
    /// does not wait.
    Paced {
        /// How many times faster than recorded (> 0).
        speed: f64,
        /// The longest wait between two lines.
        max_wait: Duration,
    },
    /// The whole log, before the agent answers its first request.
    AllAtOnce,
    /// Only what [`AgentEmulator::feed`] feeds.
    Manual,
}

/// How the agent runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The device the log feeds, by name, uuid or id; `None`: the model's first device.
    pub device: Option<String>,
    /// How many observations the buffer holds (at least 1).
    pub buffer_size: usize,
    /// How the log is fed.
    pub feed: Feed,
}

impl Default for Options {
    /// The model's first device, the reference agent's buffer size, in real time (pauses of at
    /// most 10 s).
    fn default() -> Self {
        Options {
            device: None,
            buffer_size: DEFAULT_BUFFER_SIZE,
            feed: Feed::Paced {
                speed: 1.0,
                max_wait: Duration::from_secs(10),
            },
        }
    }
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The device model is not usable.
    #[error("the device model cannot be read: {0}")]
    Devices(#[from] DevicesError),
    /// [`Options::device`] names no device of the model.
    #[error("the device model has no device `{wanted}` (it has: {})", known.join(", "))]
    NoDevice {
        /// The device asked for.
        wanted: String,
        /// The devices of the model, by name.
        known: Vec<String>,
    },
    /// A [`Feed::Paced`] speed that is not a positive number.
    #[error("the replay speed must be a positive number, not {0}")]
    Speed(f64),
    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Where the buffer stands, for tests that wait for or check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The current instance id.
    pub instance_id: u64,
    /// The oldest buffered sequence.
    pub first_sequence: u64,
    /// The sequence the next observation gets.
    pub next_sequence: u64,
}

/// A running agent stand-in. Dropping it stops serving and feeding.
pub struct AgentEmulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl AgentEmulator {
    /// Serves `log` (SHDR text) against `devices_xml` (an `MTConnectDevices` document) on
    /// 127.0.0.1, on a port the system chooses.
    pub async fn start(log: &str, devices_xml: &str, options: Options) -> Result<Self, AgentError> {
        Self::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log,
            devices_xml,
            options,
        )
        .await
    }

    /// Serves on `address` (port 0: any free port).
    pub async fn bind(
        address: SocketAddr,
        log: &str,
        devices_xml: &str,
        options: Options,
    ) -> Result<Self, AgentError> {
        if let Feed::Paced { speed, .. } = options.feed
            && !(speed.is_finite() && speed > 0.0)
        {
            return Err(AgentError::Speed(speed));
        }
        let shared = Arc::new(Shared::new(log, devices_xml, &options)?);
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| AgentError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| AgentError::Bind { address, source })?;
        let stats = shared.log.stats;
        info!(
            %address, lines = stats.lines, observations = stats.observations,
            skipped_keys = stats.skipped_keys, "MTConnect agent replay listening"
        );
        let mut tasks = vec![tokio::spawn(serve(listener, Arc::clone(&shared)))];
        match options.feed {
            Feed::AllAtOnce => {
                shared.feed(usize::MAX);
            }
            Feed::Paced { speed, max_wait } => {
                tasks.push(tokio::spawn(pace(Arc::clone(&shared), speed, max_wait)));
            }
            Feed::Manual => {}
        }
        Ok(AgentEmulator {
            address,
            shared,
            tasks,
        })
    }

    /// Where the agent listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Feeds the next `lines` lines of the log (fewer at its end); returns how many were fed.
    pub fn feed(&self, lines: usize) -> usize {
        self.shared.feed(lines)
    }

    /// Simulates an agent restart: new instance id, empty buffer, sequences from 1 starting
    /// with an `UNAVAILABLE` of every data item; feeding goes on where it was.
    pub fn restart(&self) {
        self.shared.restart();
    }

    /// How many lines of the log were fed.
    pub fn fed_lines(&self) -> usize {
        *self.shared.fed.borrow()
    }

    /// How many lines the log has.
    pub fn total_lines(&self) -> usize {
        self.shared.log.steps.len()
    }

    /// Whether the whole log was fed.
    pub fn is_done(&self) -> bool {
        self.fed_lines() >= self.total_lines()
    }

    /// Waits until the whole log was fed.
    pub async fn wait_until_done(&self) {
        let total = self.total_lines();
        let mut fed = self.shared.fed.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = fed.wait_for(|lines| *lines >= total).await;
    }

    /// What the log holds.
    pub fn log_stats(&self) -> LogStats {
        self.shared.log.stats
    }

    /// The instance id and the buffered sequences now.
    pub fn window(&self) -> Window {
        let state = self.shared.state();
        Window {
            instance_id: state.buffer.instance_id(),
            first_sequence: state.buffer.first_sequence(),
            next_sequence: state.buffer.next_sequence(),
        }
    }
}

impl Drop for AgentEmulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What the server, the feeder and the test share.
struct Shared {
    model: DeviceModel,
    probe: ProbeTemplate,
    templates: Templates,
    log: Log,
    buffer_size: usize,
    state: Mutex<State>,
    /// Lines fed so far.
    fed: watch::Sender<usize>,
}

struct State {
    buffer: Buffer,
    /// The index of the next line to feed.
    next_line: usize,
}

impl Shared {
    fn new(log: &str, devices_xml: &str, options: &Options) -> Result<Self, AgentError> {
        let model = DeviceModel::parse(devices_xml)?;
        let device = match &options.device {
            Some(wanted) => model.device(wanted).ok_or_else(|| AgentError::NoDevice {
                wanted: wanted.clone(),
                known: model.devices.iter().map(|d| d.name.clone()).collect(),
            })?,
            None => model.devices.first().ok_or(DevicesError::NoDevices)?,
        };
        let templates = Templates::new(&model);
        let log = log::read(log, device, &templates);
        // The model parsed, so its text is well-formed XML.
        let probe = ProbeTemplate::new(devices_xml.to_owned())
            .map_err(|error| AgentError::Devices(DevicesError::Xml(error)))?;
        let buffer_size = options.buffer_size.max(1);
        let shared = Shared {
            model,
            probe,
            templates,
            log,
            buffer_size,
            state: Mutex::new(State {
                buffer: Buffer::new(0, buffer_size, 0),
                next_line: 0,
            }),
            fed: watch::Sender::new(0),
        };
        shared.restart();
        Ok(shared)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A handler that panicked must not take the agent down with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn restart(&self) {
        let now = now_ns();
        let mut state = self.state();
        let previous = state.buffer.instance_id();
        let instance_id = (now / 1_000_000_000).max(0) as u64;
        let instance_id = instance_id.max(previous + 1);
        state.buffer = Buffer::new(instance_id, self.buffer_size, now);
        for observation in self.templates.unavailable(now) {
            state.buffer.push(observation);
        }
        if previous != 0 {
            info!(previous, instance_id, "MTConnect agent replay restarted");
        }
    }

    /// Feeds up to `lines` lines; returns how many.
    fn feed(&self, lines: usize) -> usize {
        let mut state = self.state();
        let start = state.next_line;
        let end = start.saturating_add(lines).min(self.log.steps.len());
        let now = now_ns();
        for step in &self.log.steps[start..end] {
            for observation in &step.observations {
                let mut observation = observation.clone();
                if step.timestamp.is_none() {
                    observation.timestamp = now;
                }
                state.buffer.push(observation);
            }
        }
        state.next_line = end;
        drop(state);
        self.fed.send_replace(end);
        end - start
    }

    /// The timestamp of the next line to feed: `None` at the end of the log, `Some(None)` for
    /// a line without one.
    fn next_timestamp(&self) -> Option<Option<i64>> {
        let next_line = self.state().next_line;
        self.log.steps.get(next_line).map(|step| step.timestamp)
    }

    /// The uuid of the device `selector` names, or `NO_DEVICE`.
    fn device_uuid(&self, selector: &str) -> Result<String, ErrorDocument> {
        self.model
            .device(selector)
            .map(|device| log::device_uuid(device).to_owned())
            .ok_or_else(|| {
                self.error(
                    ErrorCode::NoDevice,
                    format!("Could not find the device '{selector}'"),
                )
            })
    }

    fn probe(&self, device: Option<&str>) -> Result<String, ErrorDocument> {
        let device_id = match device {
            Some(selector) => Some(
                self.model
                    .device(selector)
                    .map(|device| device.id.clone())
                    .ok_or_else(|| {
                        self.error(
                            ErrorCode::NoDevice,
                            format!("Could not find the device '{selector}'"),
                        )
                    })?,
            ),
            None => None,
        };
        let values = {
            let state = self.state();
            HeaderValues {
                instance_id: state.buffer.instance_id(),
                buffer_size: state.buffer.capacity(),
                creation_time: now_ns(),
            }
        };
        Ok(self.probe.render(&values, device_id.as_deref()))
    }

    fn current(
        &self,
        device: Option<&str>,
        at: Option<u64>,
    ) -> Result<StreamsDocument, ErrorDocument> {
        let uuid = device
            .map(|selector| self.device_uuid(selector))
            .transpose()?;
        self.state().buffer.current(uuid.as_deref(), at)
    }

    fn sample(
        &self,
        device: Option<&str>,
        from: Option<u64>,
        count: Option<u64>,
    ) -> Result<StreamsDocument, ErrorDocument> {
        let uuid = device
            .map(|selector| self.device_uuid(selector))
            .transpose()?;
        self.state().buffer.sample(uuid.as_deref(), from, count)
    }

    /// An error document of the current instance.
    fn error(&self, code: ErrorCode, message: String) -> ErrorDocument {
        self.state().buffer.error(code, message)
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    if let Err(error) = axum::serve(listener, http::router(shared)).await {
        tracing::error!(%error, "MTConnect agent replay stopped serving");
    }
}

/// Feeds the log line by line at the pace of its timestamps.
async fn pace(shared: Arc<Shared>, speed: f64, max_wait: Duration) {
    let mut previous: Option<i64> = None;
    while let Some(timestamp) = shared.next_timestamp() {
        if let (Some(previous), Some(timestamp)) = (previous, timestamp)
            && timestamp > previous
        {
            let seconds = (timestamp - previous) as f64 / 1e9 / speed;
            let wait = Duration::try_from_secs_f64(seconds).unwrap_or(max_wait);
            tokio::time::sleep(wait.min(max_wait)).await;
        }
        if timestamp.is_some() {
            previous = timestamp;
        }
        shared.feed(1);
    }
    info!("MTConnect agent replay fed the whole log");
}

fn now_ns() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}
