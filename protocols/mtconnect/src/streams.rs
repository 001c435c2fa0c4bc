//! MTConnectStreams documents — what an agent answers to `/current` and `/sample` — and
//! MTConnectError documents, in both wire formats: XML (MTConnect 1.3 through 2.x) and JSON
//! version 2 (version 1 is read too).
//!
//! [`parse`] turns a response body into a [`StreamsDocument`]: the [`Header`] with the agent's
//! instance and buffer window, and every [`Observation`] sorted by sequence number. An agent's
//! error document comes back as [`StreamsError::Agent`] so a client can react to its
//! [`ErrorCode`] (`OUT_OF_RANGE` when a `from` fell out of the buffer). The writers
//! ([`write_xml`], [`write_json`], [`write_error_xml`], [`write_error_json`]) produce the same
//! documents from the same types, for agent stand-ins.
//!
//! What the parser reads from each observation:
//!
//! - the category from its container (`Samples`, `Events`, `Condition`);
//! - the type from its element name in upper snake case (`PartCount` → `PART_COUNT`), an
//!   extension prefix kept (`x:PalletNumber` → `x:PALLET_NUMBER`) and a representation suffix
//!   split off (`VariableDataSet` → `VARIABLE`, [`Representation::DataSet`]);
//! - for conditions, the level from the element name (`Normal`, `Warning`, `Fault`,
//!   `Unavailable`) and the type from the `type` attribute;
//! - the value as text: data set entries as `key=value` pairs separated by spaces, table rows
//!   as `key={cell=value …}`, the way SHDR writes them.
//!
//! ```
//! use chatter_mtconnect::streams::{self, Category};
//! let body = r#"<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">
//!   <Header instanceId="7" bufferSize="10" firstSequence="1" lastSequence="1" nextSequence="2"/>
//!   <Streams><DeviceStream name="M" uuid="m"><ComponentStream component="Controller" componentId="c">
//!     <Events><PartCount dataItemId="pc" timestamp="2024-01-02T03:04:05Z" sequence="1">3</PartCount></Events>
//!   </ComponentStream></DeviceStream></Streams></MTConnectStreams>"#;
//! let document = streams::parse(body).unwrap();
//! assert_eq!(document.header.next_sequence, 2);
//! assert_eq!(document.observations[0].kind, "PART_COUNT");
//! assert_eq!(document.observations[0].category, Category::Event);
//! ```

use std::fmt;
use std::sync::Arc;

mod entries;
mod json;
mod names;
mod xml;

#[cfg(test)]
mod tests;

/// The value text MTConnect uses for "no value right now".
pub const UNAVAILABLE: &str = "UNAVAILABLE";

/// A parsed MTConnectStreams document: the agent's header and its observations, sorted by
/// sequence number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamsDocument {
    /// The agent's instance and buffer window when it answered.
    pub header: Header,
    /// Every observation of the document, sorted by sequence number.
    pub observations: Vec<Observation>,
}

/// The header of a streams document: which agent instance answered, and the window of
/// sequence numbers its buffer held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// Identifies one run of the agent; a new value means the agent restarted and its
    /// sequence numbers started again.
    pub instance_id: u64,
    /// How many observations the agent's buffer holds.
    pub buffer_size: u64,
    /// The oldest sequence number still in the buffer.
    pub first_sequence: u64,
    /// The newest sequence number in the buffer.
    pub last_sequence: u64,
    /// Where the next `/sample?from=` should start to continue after this document.
    pub next_sequence: u64,
    /// When the agent wrote the document (ns since the Unix epoch), if it said.
    pub creation_time: Option<i64>,
    /// The agent's host name, if it said.
    pub sender: Option<String>,
    /// The agent's software version, if it said.
    pub version: Option<String>,
}

/// The device and component an observation was reported under: its `DeviceStream` and
/// `ComponentStream`. Shared by all observations of one component stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ComponentRef {
    /// The device's name (`DeviceStream@name`).
    pub device_name: String,
    /// The device's UUID (`DeviceStream@uuid`).
    pub device_uuid: String,
    /// The component's element type (`Device`, `Controller`, `Linear`, …).
    pub component: String,
    /// The component's id (`ComponentStream@componentId`).
    pub component_id: String,
    /// The component's name, if it has one.
    pub component_name: Option<String>,
}

/// One observation of one data item.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The device and component it belongs to.
    pub component: Arc<ComponentRef>,
    /// The id of the data item (`dataItemId`).
    pub data_item_id: String,
    /// The data item's name, if the document gave one.
    pub name: Option<String>,
    /// The agent's sequence number for it.
    pub sequence: u64,
    /// When it was observed, ns since the Unix epoch (UTC).
    pub timestamp: i64,
    /// Sample, event or condition: the container it was reported in.
    pub category: Category,
    /// The MTConnect type in upper snake case (`PART_COUNT`, `x:PALLET_NUMBER`).
    pub kind: String,
    /// The data item's subtype (`ACTUAL`, `x:AUTO`), if any.
    pub sub_type: Option<String>,
    /// How the value is structured.
    pub representation: Representation,
    /// The reported value.
    pub value: Value,
}

impl Observation {
    /// Whether the data item had no value (`UNAVAILABLE`, or a condition at level
    /// `Unavailable`).
    pub fn is_unavailable(&self) -> bool {
        self.value.is_unavailable()
    }
}

/// The MTConnect category of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A continuously varying number (reported under `Samples`).
    Sample,
    /// A discrete value (reported under `Events`).
    Event,
    /// The health of a component (reported under `Condition`).
    Condition,
}

impl Category {
    /// The container element a streams document reports this category in.
    pub fn container(self) -> &'static str {
        match self {
            Category::Sample => "Samples",
            Category::Event => "Events",
            Category::Condition => "Condition",
        }
    }

    /// The category reported in container `name`, if it is one.
    pub fn from_container(name: &str) -> Option<Self> {
        match name {
            "Samples" => Some(Category::Sample),
            "Events" => Some(Category::Event),
            "Condition" => Some(Category::Condition),
            _ => None,
        }
    }
}

/// How an observation's value is structured; the element name carries it as a suffix
/// (`…TimeSeries`, `…DataSet`, `…Table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Representation {
    /// A single value.
    #[default]
    Value,
    /// Samples at a fixed rate, as numbers separated by spaces.
    TimeSeries,
    /// `key=value` pairs.
    DataSet,
    /// Rows of `key={cell=value …}`.
    Table,
}

impl Representation {
    /// The suffix the element name of such an observation ends with.
    pub fn element_suffix(self) -> &'static str {
        match self {
            Representation::Value => "",
            Representation::TimeSeries => "TimeSeries",
            Representation::DataSet => "DataSet",
            Representation::Table => "Table",
        }
    }
}

/// An observation's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A sample's or event's value as the document wrote it (`UNAVAILABLE` included).
    Text(String),
    /// A condition report.
    Condition(Condition),
}

impl Value {
    /// Whether this is `UNAVAILABLE` or a condition at level `Unavailable`.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Value::Text(text) => text == UNAVAILABLE,
            Value::Condition(condition) => condition.level == ConditionLevel::Unavailable,
        }
    }
}

/// A condition report: its level and the controller's own code, severity and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Normal, warning, fault or unavailable (the element name).
    pub level: ConditionLevel,
    /// The controller's alarm code (`nativeCode`).
    pub native_code: Option<String>,
    /// The controller's severity (`nativeSeverity`).
    pub native_severity: Option<String>,
    /// `HIGH` or `LOW` when the controller says which limit was crossed.
    pub qualifier: Option<String>,
    /// The alarm text (the element's text).
    pub text: Option<String>,
}

impl Condition {
    /// A condition at `level` without code or text.
    pub fn new(level: ConditionLevel) -> Self {
        Condition {
            level,
            native_code: None,
            native_severity: None,
            qualifier: None,
            text: None,
        }
    }
}

/// The level of a condition; a streams document names it with the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionLevel {
    /// No problem.
    Normal,
    /// Attention needed, the machine goes on.
    Warning,
    /// The machine cannot go on.
    Fault,
    /// The condition is unknown.
    Unavailable,
}

impl ConditionLevel {
    /// The element name of a condition at this level.
    pub fn element(self) -> &'static str {
        match self {
            ConditionLevel::Normal => "Normal",
            ConditionLevel::Warning => "Warning",
            ConditionLevel::Fault => "Fault",
            ConditionLevel::Unavailable => "Unavailable",
        }
    }

    /// The level named by element `name`.
    pub fn from_element(name: &str) -> Option<Self> {
        match name {
            "Normal" => Some(ConditionLevel::Normal),
            "Warning" => Some(ConditionLevel::Warning),
            "Fault" => Some(ConditionLevel::Fault),
            "Unavailable" => Some(ConditionLevel::Unavailable),
            _ => None,
        }
    }
}

/// An MTConnectError document: an agent refusing a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDocument {
    /// The instance of the agent that refused, when the header said (it lets a client notice
    /// an agent restart even from an error).
    pub instance_id: Option<u64>,
    /// The agent's buffer size, when the header said.
    pub buffer_size: Option<u64>,
    /// What was wrong; agents send one error, the format allows several.
    pub errors: Vec<AgentError>,
}

impl ErrorDocument {
    /// An error document with a single error.
    pub fn single(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorDocument {
            instance_id: None,
            buffer_size: None,
            errors: vec![AgentError {
                code,
                message: message.into(),
            }],
        }
    }

    /// Whether any error has `code`.
    pub fn has(&self, code: &ErrorCode) -> bool {
        self.errors.iter().any(|error| &error.code == code)
    }
}

impl fmt::Display for ErrorDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return f.write_str("the agent answered with an error document listing no error");
        }
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.code, error.message)?;
        }
        Ok(())
    }
}

/// One error of an MTConnectError document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentError {
    /// The MTConnect error code.
    pub code: ErrorCode,
    /// The agent's explanation.
    pub message: String,
}

/// MTConnect error codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A sequence number (`from`, `at`) or `count` outside what the agent can serve: for `from`,
    /// the observations asked for are no longer (or not yet) in the buffer.
    OutOfRange,
    /// The device named in the request does not exist.
    NoDevice,
    /// The request is not one the agent understands.
    InvalidRequest,
    /// The `path` parameter is not a valid XPath.
    InvalidXpath,
    /// The request was understood but the agent cannot serve it.
    Unsupported,
    /// The requested asset does not exist.
    AssetNotFound,
    /// A query parameter has an invalid value.
    InvalidParameterValue,
    /// The agent is too busy.
    TooMany,
    /// A query parameter could not be understood (`from=abc`).
    QueryError,
    /// The request's path is not one the agent serves.
    InvalidUri,
    /// Any other code, verbatim.
    Other(String),
}

impl ErrorCode {
    /// The code as MTConnect writes it (`OUT_OF_RANGE`).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::OutOfRange => "OUT_OF_RANGE",
            ErrorCode::NoDevice => "NO_DEVICE",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::InvalidXpath => "INVALID_XPATH",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::AssetNotFound => "ASSET_NOT_FOUND",
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::TooMany => "TOO_MANY",
            ErrorCode::QueryError => "QUERY_ERROR",
            ErrorCode::InvalidUri => "INVALID_URI",
            ErrorCode::Other(code) => code,
        }
    }

    /// The code written `text`.
    pub fn parse(text: &str) -> Self {
        match text {
            "OUT_OF_RANGE" => ErrorCode::OutOfRange,
            "NO_DEVICE" => ErrorCode::NoDevice,
            "INVALID_REQUEST" => ErrorCode::InvalidRequest,
            "INVALID_XPATH" => ErrorCode::InvalidXpath,
            "UNSUPPORTED" => ErrorCode::Unsupported,
            "ASSET_NOT_FOUND" => ErrorCode::AssetNotFound,
            "INVALID_PARAMETER_VALUE" => ErrorCode::InvalidParameterValue,
            "TOO_MANY" => ErrorCode::TooMany,
            "QUERY_ERROR" => ErrorCode::QueryError,
            "INVALID_URI" => ErrorCode::InvalidUri,
            other => ErrorCode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a response body could not be read as a streams document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamsError {
    /// The body is empty or blank.
    #[error("the response body is empty, expected an MTConnectStreams document")]
    Empty,
    /// The body is neither XML nor JSON.
    #[error("the response body is neither XML nor JSON (it starts with {start:?})")]
    UnknownFormat {
        /// The first characters of the body.
        start: String,
    },
    /// The body is not well-formed XML.
    #[error("malformed XML at line {line}, column {column}: {message}")]
    Xml {
        /// What the XML parser said.
        message: String,
        /// Line of the problem, from 1.
        line: u32,
        /// Column of the problem, from 1.
        column: u32,
    },
    /// The body is not well-formed JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        /// What the JSON parser said.
        message: String,
        /// Line of the problem, from 1.
        line: usize,
        /// Column of the problem, from 1.
        column: usize,
    },
    /// The document is some other MTConnect document (a probe, assets) or something else.
    #[error("expected an MTConnectStreams document, found {found}")]
    NotStreams {
        /// What the document's root is.
        found: String,
    },
    /// A required part of the document is missing or wrong.
    #[error("{problem} (at {location})")]
    Invalid {
        /// What is wrong, e.g. ``attribute `sequence` = "x" is not an unsigned integer``.
        problem: String,
        /// Where: an XML element and line, or a JSON path.
        location: String,
    },
    /// The agent answered with an MTConnectError document.
    #[error("the agent refused the request: {0}")]
    Agent(ErrorDocument),
}

impl StreamsError {
    fn invalid(problem: impl Into<String>, location: impl Into<String>) -> Self {
        StreamsError::Invalid {
            problem: problem.into(),
            location: location.into(),
        }
    }
}

/// Reads a streams document from a response body, XML or JSON (told apart by the first
/// character). An MTConnectError document becomes [`StreamsError::Agent`].
pub fn parse(body: &str) -> Result<StreamsDocument, StreamsError> {
    let body = body.trim_start_matches('\u{feff}');
    match body.trim_start().chars().next() {
        None => Err(StreamsError::Empty),
        Some('<') => parse_xml(body),
        Some('{') => parse_json(body),
        Some(_) => Err(StreamsError::UnknownFormat {
            start: body.trim_start().chars().take(40).collect(),
        }),
    }
}

/// Reads an XML streams document (MTConnect 1.3 through 2.x).
pub fn parse_xml(body: &str) -> Result<StreamsDocument, StreamsError> {
    xml::parse(body).map(sorted)
}

/// Reads a JSON streams document (version 2; version 1 is read too).
pub fn parse_json(body: &str) -> Result<StreamsDocument, StreamsError> {
    json::parse(body).map(sorted)
}

fn sorted(mut document: StreamsDocument) -> StreamsDocument {
    document
        .observations
        .sort_by_key(|observation| observation.sequence);
    document
}

/// Writes `document` as an MTConnect 2.0 XML streams document. Observations are grouped by
/// device and component stream in the order they first appear, then by category, in sequence
/// order. Timestamps are written to the microsecond, as agents write them.
pub fn write_xml(document: &StreamsDocument) -> String {
    xml::write(document)
}

/// Writes `document` as a JSON version 2 streams document, grouped like [`write_xml`].
pub fn write_json(document: &StreamsDocument) -> String {
    json::write(document)
}

/// Writes `error` as an MTConnect 2.0 XML error document.
pub fn write_error_xml(error: &ErrorDocument) -> String {
    xml::write_error(error)
}

/// Writes `error` as a JSON version 2 error document.
pub fn write_error_json(error: &ErrorDocument) -> String {
    json::write_error(error)
}

/// The observations of one component stream, for writing: per category, in sequence order.
struct ComponentGroup<'a> {
    component: &'a ComponentRef,
    categories: Vec<(Category, Vec<&'a Observation>)>,
}

/// Observations grouped for writing: per component stream (in order of first appearance, a
/// device's component streams together), per category, in sequence order.
fn grouped(observations: &[Observation]) -> Vec<ComponentGroup<'_>> {
    let mut streams: Vec<(&ComponentRef, Vec<&Observation>)> = Vec::new();
    for observation in observations {
        let component = observation.component.as_ref();
        match streams.iter_mut().find(|(c, _)| *c == component) {
            Some((_, members)) => members.push(observation),
            None => streams.push((component, vec![observation])),
        }
    }
    let mut devices: Vec<&str> = Vec::new();
    for (component, _) in &streams {
        if !devices.contains(&component.device_uuid.as_str()) {
            devices.push(&component.device_uuid);
        }
    }
    // Stable: component streams keep their order within a device.
    streams.sort_by_key(|(component, _)| {
        devices
            .iter()
            .position(|uuid| *uuid == component.device_uuid)
    });
    streams
        .into_iter()
        .map(|(component, mut members)| {
            members.sort_by_key(|o| o.sequence);
            let categories = [Category::Sample, Category::Event, Category::Condition]
                .into_iter()
                .map(|category| {
                    let of_category: Vec<&Observation> = members
                        .iter()
                        .copied()
                        .filter(|o| o.category == category)
                        .collect();
                    (category, of_category)
                })
                .filter(|(_, of_category)| !of_category.is_empty())
                .collect();
            ComponentGroup {
                component,
                categories,
            }
        })
        .collect()
}

/// Whether `text` can be written as a JSON number and read back as the same text.
fn as_json_number(text: &str) -> Option<serde_json::Number> {
    let number: serde_json::Number = text.parse().ok()?;
    (number.to_string() == text).then_some(number)
}
