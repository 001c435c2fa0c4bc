//! The plugin manifest, `plugin.toml`: who a plugin is, what kind it is, which API version it
//! targets, what configuration it takes, which capabilities it asks for and which limits it
//! needs.
//!
//! ```toml
//! [plugin]
//! id = "simulator"
//! version = "0.1.0"
//! kind = "driver"
//! api-version = "0.1.0"
//! description = "Simulated CNC machines"
//! author = "Chatter contributors"
//! license = "Apache-2.0"
//!
//! [capabilities]
//! state = true                     # or e.g. [capabilities.authorized-http] provider = "…"
//!
//! [limits]
//! memory-mib = 16
//! call-timeout-ms = 1000
//!
//! [config.seed]
//! type = "integer"
//! description = "Seed of the random generator"
//! default = 1
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chatter_model::PluginId;
use serde::Deserialize;

use crate::API_VERSION;

/// The three kinds of plugin, one per WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Reads machines (world `driver`).
    Driver,
    /// Connects a third-party account (world `integration`).
    Integration,
    /// Writes reports (world `report`).
    Report,
}

impl PluginKind {
    /// The name of the kind, which is also the name of its WIT world.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Driver => "driver",
            PluginKind::Integration => "integration",
            PluginKind::Report => "report",
        }
    }

    /// Every kind.
    pub const ALL: [PluginKind; 3] = [
        PluginKind::Driver,
        PluginKind::Integration,
        PluginKind::Report,
    ];
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A capability a plugin can ask for. Logging and its own configuration are always available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Private key-value state that survives restarts (`state` interface).
    State,
    /// TCP to the endpoints of the machine a driver serves (`machine-network` interface).
    MachineNetwork,
    /// HTTP to the provider's API hosts with the host's credential (`authorized-http`).
    AuthorizedHttp,
    /// Storing imported artifacts in the organization's library (`artifacts`).
    Artifacts,
    /// Reading derived machine data of the organization (`machine-data`).
    MachineData,
}

impl Capability {
    /// Every capability, in manifest order.
    pub const ALL: [Capability; 5] = [
        Capability::State,
        Capability::MachineNetwork,
        Capability::AuthorizedHttp,
        Capability::Artifacts,
        Capability::MachineData,
    ];

    /// The capability's name in the manifest, which is also its WIT interface's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::State => "state",
            Capability::MachineNetwork => "machine-network",
            Capability::AuthorizedHttp => "authorized-http",
            Capability::Artifacts => "artifacts",
            Capability::MachineData => "machine-data",
        }
    }

    /// The kinds of plugin whose world offers this capability.
    pub fn kinds(self) -> &'static [PluginKind] {
        match self {
            Capability::State => &[PluginKind::Driver, PluginKind::Integration],
            Capability::MachineNetwork => &[PluginKind::Driver],
            Capability::AuthorizedHttp | Capability::Artifacts => &[PluginKind::Integration],
            Capability::MachineData => &[PluginKind::Report],
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits a plugin asks for. The host may lower them; absent values take the host default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestedLimits {
    /// Linear memory cap, in MiB.
    pub memory_mib: Option<u32>,
    /// Wall-clock deadline of one call into the plugin, in milliseconds.
    pub call_timeout_ms: Option<u32>,
    /// Instruction budget of one call (fuel units), when the host meters fuel.
    pub fuel: Option<u64>,
    /// Cap on the bytes moved by one call across the boundary (a returned batch, a log line, a
    /// state value), in KiB.
    pub host_call_kib: Option<u32>,
}

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigType {
    /// Any text.
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
}

impl fmt::Display for ConfigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigType::String => "string",
            ConfigType::Integer => "integer",
            ConfigType::Number => "number",
            ConfigType::Boolean => "boolean",
        })
    }
}

/// One configuration key a plugin takes; the UI builds its settings form from these.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigField {
    /// The value's type.
    #[serde(rename = "type")]
    pub kind: ConfigType,
    /// What the key means, shown next to the field.
    pub description: String,
    /// The value used when the organization sets none.
    pub default: Option<toml::Value>,
    /// Whether the organization must set a value (only meaningful without a default).
    #[serde(default)]
    pub required: bool,
}

/// A validated plugin manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The plugin's id.
    pub id: PluginId,
    /// The plugin's own version (semver).
    pub version: String,
    /// Its kind, which names the WIT world it implements.
    pub kind: PluginKind,
    /// The version of `chatter:plugin` it targets.
    pub api_version: String,
    /// One line saying what it does.
    pub description: String,
    /// Who wrote it.
    pub author: String,
    /// SPDX licence expression.
    pub license: String,
    /// The capabilities it asks for, with their parameters.
    pub capabilities: BTreeMap<Capability, toml::Table>,
    /// The limits it asks for.
    pub limits: RequestedLimits,
    /// The configuration keys it takes.
    pub config: BTreeMap<String, ConfigField>,
}

/// Why a manifest was rejected. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{path}: cannot read the manifest: {source}")]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the manifest's shape.
    #[error("{path}: {message}")]
    Syntax {
        /// The manifest file.
        path: PathBuf,
        /// TOML's description, with line and column.
        message: String,
    },
    /// A field has a value the host does not accept.
    #[error("{path}: `{field}` {problem}")]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// The field, as written in the manifest (e.g. `plugin.id`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManifest {
    plugin: RawPlugin,
    #[serde(default)]
    capabilities: toml::Table,
    #[serde(default)]
    limits: RequestedLimits,
    #[serde(default)]
    config: BTreeMap<String, ConfigField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPlugin {
    id: String,
    version: String,
    kind: PluginKind,
    api_version: String,
    description: String,
    author: String,
    license: String,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates manifest `text`; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let invalid = |field: &str, problem: String| ManifestError::Invalid {
            path: path.to_owned(),
            field: field.to_owned(),
            problem,
        };

        let id = PluginId::new(&raw.plugin.id).map_err(|e| invalid("plugin.id", e.to_string()))?;
        check_semver(&raw.plugin.version).map_err(|p| invalid("plugin.version", p))?;
        check_semver(&raw.plugin.api_version).map_err(|p| invalid("plugin.api-version", p))?;
        if !api_version_supported(&raw.plugin.api_version) {
            return Err(invalid(
                "plugin.api-version",
                format!(
                    "is {}, but this host implements chatter:plugin@{API_VERSION}",
                    raw.plugin.api_version
                ),
            ));
        }
        for (field, value) in [
            ("plugin.description", &raw.plugin.description),
            ("plugin.author", &raw.plugin.author),
            ("plugin.license", &raw.plugin.license),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(field, "must not be empty".into()));
            }
        }
        let capabilities = parse_capabilities(raw.capabilities, raw.plugin.kind)
            .map_err(|(field, problem)| invalid(&field, problem))?;
        check_limits(&raw.limits).map_err(|(field, problem)| invalid(&field, problem))?;
        for (key, field) in &raw.config {
            check_config_field(key, field).map_err(|p| invalid(&format!("config.{key}"), p))?;
        }

        Ok(Manifest {
            id,
            version: raw.plugin.version,
            kind: raw.plugin.kind,
            api_version: raw.plugin.api_version,
            description: raw.plugin.description,
            author: raw.plugin.author,
            license: raw.plugin.license,
            capabilities,
            limits: raw.limits,
            config: raw.config,
        })
    }

    /// Whether the manifest asks for `capability`.
    pub fn requests(&self, capability: Capability) -> bool {
        self.capabilities.contains_key(&capability)
    }

    /// The OAuth provider an integration's `authorized-http` goes to, and the scopes it needs.
    pub fn provider(&self) -> Option<(&str, Vec<&str>)> {
        let parameters = self.capabilities.get(&Capability::AuthorizedHttp)?;
        let provider = parameters.get("provider")?.as_str()?;
        let scopes = parameters
            .get("scopes")
            .and_then(toml::Value::as_array)
            .map(|scopes| scopes.iter().filter_map(toml::Value::as_str).collect())
            .unwrap_or_default();
        Some((provider, scopes))
    }

    /// Checks an organization's configuration against the schema and fills in defaults. Values
    /// are text, as the `config` interface hands them to the plugin.
    pub fn resolve_config(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        if let Some(unknown) = given.keys().find(|key| !self.config.contains_key(*key)) {
            return Err(ConfigError::UnknownKey {
                plugin: self.id.clone(),
                key: unknown.clone(),
                known: self.config.keys().cloned().collect(),
            });
        }
        let mut resolved = BTreeMap::new();
        for (key, field) in &self.config {
            let value = match (given.get(key), &field.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => toml_value_text(default),
                (None, None) if field.required => {
                    return Err(ConfigError::Missing {
                        plugin: self.id.clone(),
                        key: key.clone(),
                    });
                }
                (None, None) => continue,
            };
            if !value_has_type(&value, field.kind) {
                return Err(ConfigError::WrongType {
                    plugin: self.id.clone(),
                    key: key.clone(),
                    value,
                    expected: field.kind,
                });
            }
            resolved.insert(key.clone(), value);
        }
        Ok(resolved)
    }
}

/// An organization's configuration does not fit the plugin's schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A key the plugin does not take.
    #[error("plugin `{plugin}` has no config key `{key}` (it takes: {})", known.join(", "))]
    UnknownKey {
        /// The plugin.
        plugin: PluginId,
        /// The unknown key.
        key: String,
        /// The keys it takes.
        known: Vec<String>,
    },
    /// A required key without value.
    #[error("plugin `{plugin}` needs a value for config key `{key}`")]
    Missing {
        /// The plugin.
        plugin: PluginId,
        /// The key.
        key: String,
    },
    /// A value of the wrong type.
    #[error("plugin `{plugin}` config `{key}` = {value:?} is not a valid {expected}")]
    WrongType {
        /// The plugin.
        plugin: PluginId,
        /// The key.
        key: String,
        /// The rejected value.
        value: String,
        /// The type the schema asks for.
        expected: ConfigType,
    },
}

fn api_version_supported(version: &str) -> bool {
    // 0.x: only the same minor is compatible (semver rules for pre-1.0 versions).
    fn minor(v: &str) -> Vec<&str> {
        v.split('.').take(2).collect()
    }
    minor(version) == minor(API_VERSION)
}

fn check_semver(version: &str) -> Result<(), String> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    if parts.len() == 3 && parts.iter().all(numeric) {
        Ok(())
    } else {
        Err(format!(
            "is {version:?}, which is not a semantic version such as \"1.2.3\""
        ))
    }
}

fn parse_capabilities(
    table: toml::Table,
    kind: PluginKind,
) -> Result<BTreeMap<Capability, toml::Table>, (String, String)> {
    let mut capabilities = BTreeMap::new();
    for (name, value) in table {
        let field = format!("capabilities.{name}");
        let Some(capability) = Capability::from_name(&name) else {
            let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
            return Err((
                field,
                format!("is not a known capability (known: {})", known.join(", ")),
            ));
        };
        if !capability.kinds().contains(&kind) {
            return Err((field, format!("is not offered to {kind} plugins")));
        }
        let parameters = match value {
            toml::Value::Boolean(true) => toml::Table::new(),
            toml::Value::Boolean(false) => continue,
            toml::Value::Table(parameters) => parameters,
            other => {
                return Err((
                    field,
                    format!("must be `true` or a table, not {}", other.type_str()),
                ));
            }
        };
        check_capability_parameters(capability, &parameters).map_err(|p| (field.clone(), p))?;
        capabilities.insert(capability, parameters);
    }
    Ok(capabilities)
}

fn check_capability_parameters(
    capability: Capability,
    parameters: &toml::Table,
) -> Result<(), String> {
    let allowed: &[&str] = match capability {
        Capability::AuthorizedHttp => &["provider", "scopes"],
        _ => &[],
    };
    if let Some(unknown) = parameters.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("has no parameter `{unknown}`"));
    }
    if capability == Capability::AuthorizedHttp {
        let provider = parameters.get("provider").and_then(toml::Value::as_str);
        if !provider.is_some_and(is_provider_name) {
            return Err(
                "needs `provider`, the name of an OAuth provider the operator configures \
                 (lower-case letters, digits and `-`)"
                    .into(),
            );
        }
        let scopes = parameters.get("scopes").map(toml::Value::as_array);
        let valid = match scopes {
            None => true,
            Some(None) => false,
            Some(Some(scopes)) => scopes.iter().all(|s| {
                s.as_str()
                    .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()))
            }),
        };
        if !valid {
            return Err("`scopes` must be a list of OAuth scope names without spaces".into());
        }
    }
    Ok(())
}

/// Whether `name` can name an OAuth provider: what the operator's `[providers.NAME]` accepts.
pub fn is_provider_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_limits(limits: &RequestedLimits) -> Result<(), (String, String)> {
    let positive = [
        ("limits.memory-mib", limits.memory_mib.map(u64::from)),
        (
            "limits.call-timeout-ms",
            limits.call_timeout_ms.map(u64::from),
        ),
        ("limits.fuel", limits.fuel),
        ("limits.host-call-kib", limits.host_call_kib.map(u64::from)),
    ];
    match positive.into_iter().find(|(_, value)| *value == Some(0)) {
        Some((field, _)) => Err((field.to_owned(), "must be greater than zero".into())),
        None => Ok(()),
    }
}

fn check_config_field(key: &str, field: &ConfigField) -> Result<(), String> {
    let valid_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_key {
        return Err("keys may contain only lower-case letters, digits, `-` and `_`".into());
    }
    if let Some(default) = &field.default
        && !value_has_type(&toml_value_text(default), field.kind)
    {
        return Err(format!(
            "has a default of the wrong type (expected {})",
            field.kind
        ));
    }
    Ok(())
}

fn toml_value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn value_has_type(value: &str, kind: ConfigType) -> bool {
    match kind {
        ConfigType::String => true,
        ConfigType::Integer => value.parse::<i64>().is_ok(),
        ConfigType::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
        ConfigType::Boolean => matches!(value, "true" | "false"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[plugin]
id = "sim"
version = "0.1.0"
kind = "driver"
api-version = "0.1.0"
description = "A driver"
author = "Me"
license = "MIT"

[capabilities]
state = true

[limits]
memory-mib = 16

[config.seed]
type = "integer"
description = "Seed"
default = 1

[config.name]
type = "string"
description = "Name"
required = true
"#;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("plugins/sim/plugin.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_a_complete_manifest() {
        let manifest = parse(VALID).unwrap();
        assert_eq!(manifest.id.as_str(), "sim");
        assert_eq!(manifest.kind, PluginKind::Driver);
        assert!(manifest.requests(Capability::State));
        assert!(!manifest.requests(Capability::MachineNetwork));
        assert_eq!(manifest.limits.memory_mib, Some(16));
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse(&VALID.replace("kind = \"driver\"\n", "")).unwrap_err();
        assert!(err.starts_with("plugins/sim/plugin.toml: "), "{err}");
        assert!(err.contains("missing field `kind`"), "{err}");
    }

    #[test]
    fn an_unknown_capability_is_named_with_the_known_ones() {
        let err = parse(&VALID.replace("state = true", "filesystem = true")).unwrap_err();
        assert_eq!(
            err,
            "plugins/sim/plugin.toml: `capabilities.filesystem` is not a known capability \
             (known: state, machine-network, authorized-http, artifacts, machine-data)"
        );
    }

    #[test]
    fn a_capability_of_another_kind_is_refused() {
        let err = parse(&VALID.replace("state = true", "machine-data = true")).unwrap_err();
        assert_eq!(
            err,
            "plugins/sim/plugin.toml: `capabilities.machine-data` is not offered to driver plugins"
        );
    }

    #[test]
    fn an_unknown_kind_or_field_is_refused() {
        assert!(
            parse(&VALID.replace("\"driver\"", "\"exporter\""))
                .unwrap_err()
                .contains("unknown variant `exporter`")
        );
        assert!(
            parse(&VALID.replace("memory-mib", "memory-gb"))
                .unwrap_err()
                .contains("unknown field `memory-gb`")
        );
    }

    #[test]
    fn an_unsupported_api_version_is_refused() {
        let err = parse(&VALID.replace("api-version = \"0.1.0\"", "api-version = \"0.2.0\""))
            .unwrap_err();
        assert_eq!(
            err,
            "plugins/sim/plugin.toml: `plugin.api-version` is 0.2.0, but this host implements chatter:plugin@0.1.0"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            parse(&VALID.replace("id = \"sim\"", "id = \"Sim!\""))
                .unwrap_err()
                .contains("`plugin.id`")
        );
        assert!(
            parse(&VALID.replace("version = \"0.1.0\"", "version = \"one\""))
                .unwrap_err()
                .contains("`plugin.version`")
        );
        assert!(
            parse(&VALID.replace("memory-mib = 16", "memory-mib = 0"))
                .unwrap_err()
                .contains("`limits.memory-mib` must be greater than zero")
        );
        assert!(
            parse(&VALID.replace("default = 1", "default = \"x\""))
                .unwrap_err()
                .contains("`config.seed` has a default of the wrong type")
        );
    }

    #[test]
    fn config_is_resolved_against_the_schema() {
        let manifest = parse(VALID).unwrap();
        let given = BTreeMap::from([("name".to_owned(), "vf2".to_owned())]);
        let resolved = manifest.resolve_config(&given).unwrap();
        assert_eq!(resolved.get("seed").map(String::as_str), Some("1"));

        let missing = manifest.resolve_config(&BTreeMap::new()).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "plugin `sim` needs a value for config key `name`"
        );

        let mut wrong = given.clone();
        wrong.insert("seed".into(), "abc".into());
        assert_eq!(
            manifest.resolve_config(&wrong).unwrap_err().to_string(),
            "plugin `sim` config `seed` = \"abc\" is not a valid integer"
        );

        let mut unknown = given;
        unknown.insert("speed".into(), "2".into());
        assert_eq!(
            manifest.resolve_config(&unknown).unwrap_err().to_string(),
            "plugin `sim` has no config key `speed` (it takes: name, seed)"
        );
    }
}
