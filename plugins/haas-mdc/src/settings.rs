//! The driver's configuration, validated: the values of the manifest's `[config]` keys, checked
//! for what their TOML type cannot say.

use chatter_sdk::Error;
use chatter_sdk::net::Endpoint;

use crate::items;

/// The endpoint used unless configured.
pub const DEFAULT_ENDPOINT: &str = "mdc";
/// How long to wait for a connection or a reply unless configured, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 1_000;
/// The longest `timeout-ms` accepted: a poll waits for several replies, and the host stops a
/// call after a few seconds.
pub const LARGEST_TIMEOUT_MS: u32 = 10_000;
/// The MTConnect type of a macro sample unless its entry names one.
pub const DEFAULT_MACRO_TYPE: &str = "VARIABLE";

/// The largest variable number Q600 reads (Haas variable numbers have at most five digits).
const LARGEST_VARIABLE: u32 = 99_999;
/// The longest data item id accepted for a macro.
const LONGEST_ID: usize = 64;
/// How a `macros` entry is written, repeated in each error about one.
const MACRO_SYNTAX: &str = "write entries as NUMBER:ID or NUMBER:ID:TYPE or NUMBER:ID:TYPE:UNITS, \
                            separated by commas, e.g. \"5021:x-position:POSITION:MILLIMETER\"";

/// How the driver reads its machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The name of the machine's endpoint that is its MDC port.
    pub endpoint: String,
    /// The macro variables read with Q600 each poll, each reported as a sample.
    pub macros: Vec<MacroItem>,
    /// How long to wait for a connection or a reply, in milliseconds.
    pub timeout_ms: u32,
}

/// A macro variable the driver reads, and the data item it reports it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroItem {
    /// The variable number, e.g. `5021`.
    pub variable: u32,
    /// The data item id, e.g. `x-position`.
    pub id: String,
    /// The data item's MTConnect type, e.g. `POSITION`.
    pub kind: String,
    /// The data item's units, e.g. `MILLIMETER`.
    pub units: Option<String>,
}

impl Settings {
    /// Validates the configured values (`None`: unset), applying the defaults.
    pub fn new(
        endpoint: Option<String>,
        macros: Option<String>,
        timeout_ms: Option<i64>,
    ) -> Result<Self, Error> {
        Ok(Settings {
            endpoint: check_endpoint(endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()))?,
            macros: parse_macros(macros.as_deref().unwrap_or_default())?,
            timeout_ms: timeout_ms.map_or(Ok(DEFAULT_TIMEOUT_MS), check_timeout)?,
        })
    }

    /// The `host:port` of the configured endpoint among the machine's `endpoints`.
    pub fn address_in(&self, endpoints: &[Endpoint]) -> Result<String, Error> {
        match endpoints.iter().find(|e| e.name == self.endpoint) {
            Some(endpoint) => Ok(format!("{}:{}", endpoint.host, endpoint.port)),
            None => {
                let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
                Err(Error::invalid_config(format!(
                    "config `endpoint` = {:?}: the machine has no endpoint of that name (it has: {})",
                    self.endpoint,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }
}

fn check_endpoint(endpoint: String) -> Result<String, Error> {
    if endpoint.trim().is_empty() {
        return Err(Error::invalid_config(
            "config `endpoint` is empty: name the machine's endpoint that is its MDC port",
        ));
    }
    Ok(endpoint)
}

fn check_timeout(timeout_ms: i64) -> Result<u32, Error> {
    match u32::try_from(timeout_ms) {
        Ok(ms) if (1..=LARGEST_TIMEOUT_MS).contains(&ms) => Ok(ms),
        _ => Err(Error::invalid_config(format!(
            "config `timeout-ms` = {timeout_ms} must be between 1 and {LARGEST_TIMEOUT_MS}"
        ))),
    }
}

/// Reads the `macros` list; an empty or blank list configures none.
fn parse_macros(list: &str) -> Result<Vec<MacroItem>, Error> {
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut items: Vec<MacroItem> = Vec::new();
    for entry in list.split(',').map(str::trim) {
        let item = parse_macro(entry).map_err(|problem| bad_entry(entry, &problem))?;
        if items.iter().any(|other| other.variable == item.variable) {
            return Err(bad_entry(entry, "the variable is listed twice"));
        }
        if items.iter().any(|other| other.id == item.id) {
            return Err(bad_entry(entry, "the id is used twice"));
        }
        items.push(item);
    }
    Ok(items)
}

fn bad_entry(entry: &str, problem: &str) -> Error {
    Error::invalid_config(format!(
        "config `macros`: entry {entry:?}: {problem} ({MACRO_SYNTAX})"
    ))
}

fn parse_macro(entry: &str) -> Result<MacroItem, String> {
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let (variable, id, kind, units) = match parts.as_slice() {
        [] | [""] => return Err("the entry is empty".into()),
        [variable, id] => (*variable, *id, DEFAULT_MACRO_TYPE, None),
        [variable, id, kind] => (*variable, *id, *kind, None),
        [variable, id, kind, units] => (*variable, *id, *kind, Some(*units)),
        _ => return Err("expected 2 to 4 parts separated by `:`".into()),
    };
    Ok(MacroItem {
        variable: check_variable(variable)?,
        id: check_id(id)?,
        kind: check_upper(kind, "type", |c| c == '_')?,
        units: units
            .map(|units| check_upper(units, "units", |c| "_/^".contains(c)))
            .transpose()?,
    })
}

fn check_variable(text: &str) -> Result<u32, String> {
    text.parse()
        .ok()
        .filter(|n| (1..=LARGEST_VARIABLE).contains(n))
        .ok_or_else(|| {
            format!("the variable {text:?} must be a number from 1 to {LARGEST_VARIABLE}")
        })
}

fn check_id(id: &str) -> Result<String, String> {
    let well_formed = id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.len() <= LONGEST_ID
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(format!(
            "the id {id:?} must start with a lower-case letter and have at most {LONGEST_ID} \
             lower-case letters, digits and `-`"
        ));
    }
    if items::FIXED_IDS.contains(&id) {
        return Err(format!(
            "the id {id:?} is one of the driver's own data items ({})",
            items::FIXED_IDS.join(", ")
        ));
    }
    Ok(id.to_owned())
}

fn check_upper(text: &str, what: &str, also: impl Fn(char) -> bool) -> Result<String, String> {
    let well_formed = text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || also(c));
    if well_formed {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "the {what} {text:?} must be MTConnect upper case, e.g. {}",
            if what == "type" {
                "POSITION"
            } else {
                "MILLIMETER"
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::ErrorCode;

    use super::*;

    fn macros(list: &str) -> Result<Vec<MacroItem>, Error> {
        Settings::new(None, Some(list.to_owned()), None).map(|s| s.macros)
    }

    fn item(variable: u32, id: &str, kind: &str, units: Option<&str>) -> MacroItem {
        MacroItem {
            variable,
            id: id.into(),
            kind: kind.into(),
            units: units.map(Into::into),
        }
    }

    fn endpoint(name: &str, host: &str, port: u16) -> Endpoint {
        Endpoint {
            name: name.into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn unset_keys_take_the_documented_defaults() {
        let settings = Settings::new(None, None, None).unwrap();
        assert_eq!(
            settings,
            Settings {
                endpoint: "mdc".into(),
                macros: vec![],
                timeout_ms: 1_000
            }
        );
    }

    #[test]
    fn macros_are_listed_as_number_id_and_optionally_type_and_units() {
        assert_eq!(
            macros(" 5021:x-position:POSITION:MILLIMETER , 1094:coolant-level,3027:spindle:SPINDLE_SPEED").unwrap(),
            vec![
                item(5021, "x-position", "POSITION", Some("MILLIMETER")),
                item(1094, "coolant-level", "VARIABLE", None),
                item(3027, "spindle", "SPINDLE_SPEED", None),
            ]
        );
        assert_eq!(macros("  ").unwrap(), vec![]);
        assert_eq!(
            macros("1:a:SPINDLE_SPEED:REVOLUTION/MINUTE").unwrap()[0]
                .units
                .as_deref(),
            Some("REVOLUTION/MINUTE")
        );
    }

    #[test]
    fn a_bad_macro_entry_is_rejected_naming_the_key_and_the_entry() {
        for (list, bad) in [
            ("5021", "5021"),
            ("5021:x,", ""),
            ("x:pos", "x:pos"),
            ("0:pos", "0:pos"),
            ("100000:pos", "100000:pos"),
            ("5021:X-Pos", "5021:X-Pos"),
            ("5021:-x", "5021:-x"),
            ("5021:x pos", "5021:x pos"),
            ("5021:execution", "5021:execution"),
            ("5021:x:position", "5021:x:position"),
            ("5021:x:POSITION:mm", "5021:x:POSITION:mm"),
            (
                "5021:x:POSITION:MILLIMETER:MORE",
                "5021:x:POSITION:MILLIMETER:MORE",
            ),
            ("5021:x,5021:y", "5021:y"),
            ("5021:x,5022:x", "5022:x"),
        ] {
            let error = macros(list).expect_err(list);
            assert_eq!(error.code, ErrorCode::InvalidConfig, "{list}");
            assert!(
                error.message.starts_with("config `macros`: entry ")
                    && error.message.contains(&format!("{bad:?}")),
                "{list}: {}",
                error.message
            );
        }
    }

    #[test]
    fn a_timeout_out_of_range_is_rejected_naming_the_key() {
        for timeout in [0, -1, 10_001, i64::MAX] {
            let error = Settings::new(None, None, Some(timeout)).expect_err("invalid");
            assert_eq!(error.code, ErrorCode::InvalidConfig);
            assert!(error.message.contains("`timeout-ms`"), "{}", error.message);
        }
        assert_eq!(
            Settings::new(None, None, Some(10_000)).unwrap().timeout_ms,
            10_000
        );
    }

    #[test]
    fn an_empty_endpoint_is_rejected() {
        let error = Settings::new(Some(" ".into()), None, None).expect_err("invalid");
        assert!(error.message.contains("`endpoint`"), "{}", error.message);
    }

    #[test]
    fn the_endpoint_resolves_to_host_and_port_or_names_the_ones_there_are() {
        let settings = Settings::new(None, None, None).unwrap();
        let endpoints = [
            endpoint("agent", "10.0.0.5", 5000),
            endpoint("mdc", "10.0.0.7", 5051),
        ];
        assert_eq!(settings.address_in(&endpoints).unwrap(), "10.0.0.7:5051");
        let error = settings.address_in(&endpoints[..1]).expect_err("missing");
        assert_eq!(error.code, ErrorCode::InvalidConfig);
        assert!(
            error.message.contains("\"mdc\"") && error.message.contains("it has: agent"),
            "{}",
            error.message
        );
    }
}
