//! The driver's configuration, validated: the values of the manifest's `[config]` keys, checked
//! for what their TOML type cannot say, and the device model parsed.

use chatter_mtconnect::devices::{Device, DeviceModel};
use chatter_sdk::Error;

/// Observations per poll unless configured.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// The largest `max-batch` accepted: a batch of 100,000 observations stays within the host's
/// default per-call cap of 4 MiB.
pub const LARGEST_MAX_BATCH: usize = 100_000;

/// How the driver reaches and reads the adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The machine endpoint the adapter listens on.
    pub endpoint: String,
    /// The device the adapter feeds, when a device model is configured.
    pub device: Option<Device>,
    /// Most observations one poll returns.
    pub max_batch: usize,
    /// How long connecting may take, in ms.
    pub connect_timeout_ms: u32,
    /// How long a poll waits for the first bytes, in ms.
    pub read_timeout_ms: u32,
    /// Most time one poll spends reading, in ms.
    pub max_poll_ms: u32,
    /// Silence after which a legacy adapter (no PONG) is considered dead, in ms; `None`: never.
    pub heartbeat_timeout_ms: Option<u64>,
    /// Longest line accepted, in bytes.
    pub max_line_bytes: usize,
    /// Whether lines with an empty timestamp field are stamped with their arrival (else
    /// rejected).
    pub accept_empty_timestamps: bool,
}

impl Settings {
    /// Reads every key with `get` (the plugin's `config::get`), applying the defaults; errors
    /// are `invalid-config` and name the key.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let integer = |key: &str, default: i64, range: (i64, i64)| -> Result<i64, Error> {
            let Some(text) = get(key) else {
                return Ok(default);
            };
            match text.trim().parse::<i64>() {
                Ok(value) if (range.0..=range.1).contains(&value) => Ok(value),
                _ => Err(Error::invalid_config(format!(
                    "config `{key}` = {text:?} must be an integer from {} to {}",
                    range.0, range.1
                ))),
            }
        };
        let endpoint = get("endpoint").unwrap_or_else(|| "adapter".to_owned());
        if endpoint.trim().is_empty() {
            return Err(Error::invalid_config(
                "config `endpoint` is empty: name the machine endpoint of the adapter",
            ));
        }
        let heartbeat_timeout = integer("heartbeat-timeout-ms", 0, (0, 86_400_000))?;
        Ok(Settings {
            endpoint,
            device: select_device(get("devices-xml"), get("device"))?,
            max_batch: to_usize(integer(
                "max-batch",
                DEFAULT_MAX_BATCH as i64,
                (1, LARGEST_MAX_BATCH as i64),
            )?),
            connect_timeout_ms: to_u32(integer("connect-timeout-ms", 2_000, (1, 60_000))?),
            read_timeout_ms: to_u32(integer("read-timeout-ms", 20, (0, 1_000))?),
            max_poll_ms: to_u32(integer("max-poll-ms", 500, (10, 4_000))?),
            heartbeat_timeout_ms: (heartbeat_timeout > 0)
                .then_some(heartbeat_timeout.unsigned_abs()),
            max_line_bytes: to_usize(integer("max-line-bytes", 1 << 20, (1_024, 16 << 20))?),
            accept_empty_timestamps: boolean(get("accept-empty-timestamps"), true)?,
        })
    }
}

fn boolean(text: Option<String>, default: bool) -> Result<bool, Error> {
    match text.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(Error::invalid_config(format!(
            "config `accept-empty-timestamps` = {other:?} must be true or false"
        ))),
    }
}

// The ranges checked above make these conversions lossless.
fn to_usize(value: i64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// The configured device: `device` of the model in `devices_xml`, or its first device.
fn select_device(
    devices_xml: Option<String>,
    device: Option<String>,
) -> Result<Option<Device>, Error> {
    let Some(xml) = devices_xml.filter(|xml| !xml.trim().is_empty()) else {
        return match device {
            Some(name) => Err(Error::invalid_config(format!(
                "config `device` = {name:?} needs `devices-xml`, the model it is a device of"
            ))),
            None => Ok(None),
        };
    };
    let model = DeviceModel::parse(&xml).map_err(|error| {
        Error::invalid_config(format!(
            "config `devices-xml` is not a device model: {error}"
        ))
    })?;
    let chosen = match &device {
        Some(selector) => model.device(selector),
        None => model.devices.first(),
    };
    match chosen {
        Some(device) => Ok(Some(device.clone())),
        None => {
            let known: Vec<&str> = model.devices.iter().map(|d| d.name.as_str()).collect();
            Err(Error::invalid_config(format!(
                "config `device` = {:?} is not a device of `devices-xml` (it has: {})",
                device.unwrap_or_default(),
                known.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use chatter_sdk::ErrorCode;

    use super::*;

    const MODEL: &str = r#"<MTConnectDevices><Devices>
        <Device id="d1" name="Lathe"><DataItems/></Device>
        <Device id="d2" name="Mill" uuid="mill-1"><DataItems/></Device>
      </Devices></MTConnectDevices>"#;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, Error> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_config(|key| map.get(key).cloned())
    }

    fn rejected(pairs: &[(&str, &str)]) -> String {
        let error = settings(pairs).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidConfig);
        error.message
    }

    #[test]
    fn unset_keys_take_the_documented_defaults() {
        let settings = settings(&[]).unwrap();
        assert_eq!(
            settings,
            Settings {
                endpoint: "adapter".into(),
                device: None,
                max_batch: DEFAULT_MAX_BATCH,
                connect_timeout_ms: 2_000,
                read_timeout_ms: 20,
                max_poll_ms: 500,
                heartbeat_timeout_ms: None,
                max_line_bytes: 1 << 20,
                accept_empty_timestamps: true,
            }
        );
    }

    #[test]
    fn the_manifest_defaults_are_the_code_defaults() {
        let manifest = include_str!("../plugin.toml");
        for (key, default) in [
            ("endpoint", "\"adapter\""),
            ("max-batch", "10000"),
            ("connect-timeout-ms", "2000"),
            ("read-timeout-ms", "20"),
            ("max-poll-ms", "500"),
            ("heartbeat-timeout-ms", "0"),
            ("max-line-bytes", "1048576"),
            ("accept-empty-timestamps", "true"),
        ] {
            let section = manifest
                .split(&format!("[config.{key}]"))
                .nth(1)
                .unwrap_or_else(|| panic!("no [config.{key}]"));
            let section = section.split("\n[").next().unwrap();
            assert!(section.contains(&format!("default = {default}")), "{key}");
        }
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.max_batch, 10000);
        assert!(LARGEST_MAX_BATCH >= defaults.max_batch);
    }

    #[test]
    fn the_device_is_chosen_by_name_uuid_or_id_and_defaults_to_the_first() {
        let first = settings(&[("devices-xml", MODEL)]).unwrap();
        assert_eq!(first.device.unwrap().name, "Lathe");
        for selector in ["Mill", "mill-1", "d2"] {
            let chosen = settings(&[("devices-xml", MODEL), ("device", selector)]).unwrap();
            assert_eq!(chosen.device.unwrap().id, "d2");
        }
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        for (pairs, expected) in [
            (
                vec![("devices-xml", "<nope")],
                "config `devices-xml` is not a device model: not well-formed XML",
            ),
            (
                vec![("devices-xml", MODEL), ("device", "Drill")],
                "config `device` = \"Drill\" is not a device of `devices-xml` (it has: Lathe, Mill)",
            ),
            (
                vec![("device", "Mill")],
                "config `device` = \"Mill\" needs `devices-xml`",
            ),
            (
                vec![("max-batch", "0")],
                "config `max-batch` = \"0\" must be an integer from 1 to 100000",
            ),
            (vec![("max-batch", "many")], "config `max-batch` = \"many\""),
            (
                vec![("read-timeout-ms", "5000")],
                "config `read-timeout-ms`",
            ),
            (
                vec![("heartbeat-timeout-ms", "-1")],
                "config `heartbeat-timeout-ms`",
            ),
            (vec![("endpoint", " ")], "config `endpoint` is empty"),
            (
                vec![("accept-empty-timestamps", "maybe")],
                "config `accept-empty-timestamps` = \"maybe\" must be true or false",
            ),
        ] {
            let message = rejected(&pairs);
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn empty_timestamps_can_be_refused() {
        let settings = settings(&[("accept-empty-timestamps", "false")]).unwrap();
        assert!(!settings.accept_empty_timestamps);
    }

    #[test]
    fn a_legacy_heartbeat_timeout_is_optional() {
        let settings = settings(&[("heartbeat-timeout-ms", "30000")]).unwrap();
        assert_eq!(settings.heartbeat_timeout_ms, Some(30_000));
    }
}
