//! The driver's configuration, validated: the values of the manifest's `[config]` keys, checked
//! for what their TOML type cannot say.

use chatter_sdk::Error;

/// Observations asked for per `/sample` request unless configured.
pub const DEFAULT_COUNT: u32 = 1_000;
/// Observations per poll unless configured.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// The largest `count` and `max-batch` accepted: a batch of 100,000 observations is about the
/// most one call may move across the host boundary.
pub const LARGEST_BATCH: usize = 100_000;
/// Connect and read timeout unless configured.
pub const DEFAULT_TIMEOUT_MS: u32 = 2_000;
/// Time one poll may spend asking for more unless configured; below the host's default call
/// deadline of 5 s.
pub const DEFAULT_POLL_BUDGET_MS: u32 = 3_000;

/// Which format the agent is asked to answer streams requests in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// MTConnectStreams XML (every agent speaks it).
    Xml,
    /// MTConnect JSON version 2 (`Accept: application/json`).
    Json,
}

/// Where a driver without a checkpoint starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Everything the agent still buffers.
    Buffer,
    /// The agent's current value of every data item.
    Current,
}

/// How the driver reads its agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The name of the machine's endpoint that is the agent's HTTP port.
    pub endpoint: String,
    /// The device to read (by name or uuid); `None`: every device of the agent.
    pub device: Option<String>,
    /// The format of streams requests.
    pub format: Format,
    /// Most observations asked for per `/sample` request.
    pub count: u32,
    /// Most observations returned by one poll.
    pub max_batch: usize,
    /// Where a fresh driver starts.
    pub start: Start,
    /// Connect timeout and read timeout of each response, in milliseconds.
    pub timeout_ms: u32,
    /// After this long, a poll asks for nothing more, in milliseconds.
    pub poll_budget_ms: u32,
}

/// The raw configured values (`None`: unset), as the config interface hands them over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSettings {
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `device`.
    pub device: Option<String>,
    /// `format`.
    pub format: Option<String>,
    /// `count`.
    pub count: Option<i64>,
    /// `max-batch`.
    pub max_batch: Option<i64>,
    /// `start`.
    pub start: Option<String>,
    /// `timeout-ms`.
    pub timeout_ms: Option<i64>,
    /// `poll-budget-ms`.
    pub poll_budget_ms: Option<i64>,
}

impl Settings {
    /// Validates the configured values, applying the defaults.
    pub fn new(raw: RawSettings) -> Result<Self, Error> {
        Ok(Settings {
            endpoint: endpoint(raw.endpoint)?,
            device: raw
                .device
                .map(|device| device.trim().to_owned())
                .filter(|device| !device.is_empty()),
            format: format(raw.format.as_deref())?,
            count: in_range("count", raw.count, DEFAULT_COUNT as usize, LARGEST_BATCH)? as u32,
            max_batch: in_range("max-batch", raw.max_batch, DEFAULT_MAX_BATCH, LARGEST_BATCH)?,
            start: start(raw.start.as_deref())?,
            timeout_ms: in_range(
                "timeout-ms",
                raw.timeout_ms,
                DEFAULT_TIMEOUT_MS as usize,
                60_000,
            )? as u32,
            poll_budget_ms: in_range(
                "poll-budget-ms",
                raw.poll_budget_ms,
                DEFAULT_POLL_BUDGET_MS as usize,
                60_000,
            )? as u32,
        })
    }
}

fn endpoint(value: Option<String>) -> Result<String, Error> {
    let endpoint = value.unwrap_or_else(|| "agent".to_owned());
    if endpoint.trim().is_empty() {
        return Err(Error::invalid_config(
            "config `endpoint` is empty: name the machine's endpoint that is its MTConnect agent",
        ));
    }
    Ok(endpoint.trim().to_owned())
}

fn format(value: Option<&str>) -> Result<Format, Error> {
    match value.map(str::trim) {
        None | Some("xml") => Ok(Format::Xml),
        Some("json") => Ok(Format::Json),
        Some(other) => Err(Error::invalid_config(format!(
            "config `format` = {other:?} must be \"xml\" or \"json\""
        ))),
    }
}

fn start(value: Option<&str>) -> Result<Start, Error> {
    match value.map(str::trim) {
        None | Some("buffer") => Ok(Start::Buffer),
        Some("current") => Ok(Start::Current),
        Some(other) => Err(Error::invalid_config(format!(
            "config `start` = {other:?} must be \"buffer\" (read everything the agent still \
             buffers) or \"current\" (start at the agent's current values)"
        ))),
    }
}

fn in_range(key: &str, value: Option<i64>, default: usize, largest: usize) -> Result<usize, Error> {
    let Some(value) = value else {
        return Ok(default);
    };
    match usize::try_from(value) {
        Ok(n) if (1..=largest).contains(&n) => Ok(n),
        _ => Err(Error::invalid_config(format!(
            "config `{key}` = {value} must be between 1 and {largest}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::ErrorCode;

    use super::*;

    #[test]
    fn unset_keys_take_the_documented_defaults() {
        let settings = Settings::new(RawSettings::default()).unwrap();
        assert_eq!(
            settings,
            Settings {
                endpoint: "agent".to_owned(),
                device: None,
                format: Format::Xml,
                count: 1_000,
                max_batch: 10_000,
                start: Start::Buffer,
                timeout_ms: 2_000,
                poll_budget_ms: 3_000,
            }
        );
    }

    #[test]
    fn values_are_read() {
        let settings = Settings::new(RawSettings {
            endpoint: Some("mtc".to_owned()),
            device: Some(" Mazak ".to_owned()),
            format: Some("json".to_owned()),
            count: Some(50),
            max_batch: Some(200),
            start: Some("current".to_owned()),
            timeout_ms: Some(500),
            poll_budget_ms: Some(1_000),
        })
        .unwrap();
        assert_eq!(settings.device.as_deref(), Some("Mazak"));
        assert_eq!(settings.format, Format::Json);
        assert_eq!(settings.start, Start::Current);
        assert_eq!((settings.count, settings.max_batch), (50, 200));
    }

    #[test]
    fn an_empty_device_means_every_device() {
        let raw = RawSettings {
            device: Some(String::new()),
            ..RawSettings::default()
        };
        assert_eq!(Settings::new(raw).unwrap().device, None);
    }

    #[test]
    fn wrong_values_are_rejected_naming_the_key() {
        let cases = [
            (
                RawSettings {
                    format: Some("yaml".to_owned()),
                    ..RawSettings::default()
                },
                "`format`",
            ),
            (
                RawSettings {
                    start: Some("now".to_owned()),
                    ..RawSettings::default()
                },
                "`start`",
            ),
            (
                RawSettings {
                    count: Some(0),
                    ..RawSettings::default()
                },
                "`count`",
            ),
            (
                RawSettings {
                    max_batch: Some(100_001),
                    ..RawSettings::default()
                },
                "`max-batch`",
            ),
            (
                RawSettings {
                    endpoint: Some(" ".to_owned()),
                    ..RawSettings::default()
                },
                "`endpoint`",
            ),
        ];
        for (raw, key) in cases {
            let error = Settings::new(raw).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidConfig);
            assert!(error.message.contains(key), "{}", error.message);
        }
    }
}
