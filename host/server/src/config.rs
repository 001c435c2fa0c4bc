//! The server's configuration file, `chatter.toml`. Every field has a default, so an empty file
//! is a valid configuration; `examples/chatter.toml` documents each one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chatter_model::{Endpoint, Feed, MachineId, OrgId, PluginId, Retention, SignalMapping};
use chatter_runtime::capabilities::machine_network::NetworkPolicy;
use chatter_runtime::{EffectiveLimits, RuntimeConfig, SupervisionPolicy};
use serde::Deserialize;

pub use crate::integrations::provider::ProviderSection;
pub use crate::vault::KeySources;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Where and what to serve.
    #[serde(default)]
    pub server: ServerSection,
    /// The plugin runtime's size and ceilings.
    #[serde(default)]
    pub runtime: RuntimeSection,
    /// What machine connections may reach.
    #[serde(default)]
    pub network: NetworkSection,
    /// How drivers are supervised.
    #[serde(default)]
    pub supervision: SupervisionSection,
    /// How long the organization's data is kept.
    #[serde(default)]
    pub retention: RetentionSection,
    /// Limits of the edge ingestion API.
    #[serde(default)]
    pub ingest: IngestSection,
    /// HTTPS: the certificate and key to serve with.
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// How e-mail is sent.
    #[serde(default)]
    pub email: EmailSection,
    /// Machines to create or update in the configured organization at start.
    #[serde(default)]
    pub machines: Vec<MachineSection>,
    /// The key that seals integrations' tokens at rest.
    #[serde(default)]
    pub vault: KeySources,
    /// OAuth providers integrations may connect to, by the name plugin manifests use.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderSection>,
    /// How integrations run.
    #[serde(default)]
    pub integrations: IntegrationsSection,
    /// How reports run.
    #[serde(default)]
    pub reports: ReportsSection,
    /// How alerts are delivered.
    #[serde(default)]
    pub alerts: AlertsSection,
}

/// `[alerts]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AlertsSection {
    /// Retries of a webhook after its first attempt fails (an error or an answer other than
    /// 2xx).
    pub webhook_retries: u32,
    /// Milliseconds before the first retry; doubled after each, up to 5 minutes.
    pub webhook_backoff_ms: u64,
    /// Let webhooks reach private addresses (10/8, 172.16/12, 192.168/16, 100.64/10,
    /// fc00::/7). Loopback and link-local follow `[network]`.
    pub webhook_allow_private: bool,
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            webhook_retries: 5,
            webhook_backoff_ms: 1000,
            webhook_allow_private: false,
        }
    }
}

/// `[reports]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportsSection {
    /// Seconds one run of a report plugin may take before it is stopped.
    pub timeout_s: u64,
    /// Runs of a scheduled report that fails, the first included, before it is archived and
    /// e-mailed as failed.
    pub attempts: u32,
    /// Seconds between two runs of a scheduled report that failed.
    pub retry_delay_s: u64,
}

impl Default for ReportsSection {
    fn default() -> Self {
        ReportsSection {
            timeout_s: 60,
            attempts: 3,
            retry_delay_s: 60,
        }
    }
}

/// `[integrations]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct IntegrationsSection {
    /// Minutes between two automatic syncs of every connection; 0: only "Sync now".
    pub sync_interval_min: u64,
}

impl Default for IntegrationsSection {
    fn default() -> Self {
        IntegrationsSection {
            sync_interval_min: 60,
        }
    }
}

/// `[tls]`: serve HTTPS with this certificate chain and private key (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsSection {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// `[email]`: the SMTP server that sends account e-mail. Without `smtp-url`, messages are
/// written to the log instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EmailSection {
    /// `smtp://host:port`, `smtp://host:port?tls=required` (STARTTLS) or `smtps://host:port`,
    /// optionally with `user:password@` before the host.
    pub smtp_url: Option<String>,
    /// The sender of every message.
    pub from: String,
}

impl Default for EmailSection {
    fn default() -> Self {
        EmailSection {
            smtp_url: None,
            from: "Chatter <chatter@localhost>".into(),
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerSection {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Folder of the embedded store and the compiled-plugin cache.
    pub data_dir: PathBuf,
    /// The address users reach the server at, for links in e-mail (like
    /// `https://chatter.example.com`); by default `http(s)://` and `addr`. Set it when a proxy
    /// is in front; an `https://` address makes cookies secure.
    pub public_url: Option<String>,
    /// The organization the `[[machines]]` of this file belong to.
    pub organization: OrgId,
    /// The organization's display name, used when it is created.
    pub organization_name: String,
    /// The organization's IANA time zone, in which its days and shifts begin.
    pub time_zone: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("chatter-data"),
            public_url: None,
            organization: OrgId::new("default").unwrap_or_else(|_| unreachable!("valid literal")),
            organization_name: "My shop".into(),
            time_zone: "UTC".into(),
        }
    }
}

/// `[runtime]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuntimeSection {
    /// Live plugin instances to size the pool for (at most ~11,000 per process: see `RuntimeConfig::max_instances`).
    pub max_instances: u32,
    /// Memory cap of one instance, in MiB (plugins may ask for less).
    pub memory_mib: u32,
    /// Longest call into a plugin, in milliseconds (plugins may ask for less).
    pub call_timeout_ms: u32,
    /// Cap on bytes moved by one call across the plugin boundary, in KiB.
    pub host_call_kib: u32,
    /// Meter fuel so plugins' instruction budgets apply (~25 % slower on tight loops).
    pub fuel_metering: bool,
}

impl Default for RuntimeSection {
    fn default() -> Self {
        let limits = EffectiveLimits::default();
        RuntimeSection {
            max_instances: RuntimeConfig::default().max_instances,
            memory_mib: u32::try_from(limits.memory_bytes >> 20).unwrap_or(64),
            call_timeout_ms: u32::try_from(limits.call_timeout.as_millis()).unwrap_or(5_000),
            host_call_kib: u32::try_from(limits.host_call_bytes >> 10).unwrap_or(4_096),
            fuel_metering: false,
        }
    }
}

/// `[network]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkSection {
    /// Let drivers reach machines on loopback addresses (a local agent or a replay).
    #[serde(default)]
    pub allow_loopback: bool,
    /// Let drivers reach link-local addresses (never the cloud metadata service unless set).
    #[serde(default)]
    pub allow_link_local: bool,
    /// Connections one driver instance may hold open at once (default 4).
    #[serde(default)]
    pub max_connections: Option<usize>,
}

/// `[supervision]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SupervisionSection {
    /// First wait before restarting a faulted driver, in milliseconds; doubles each time.
    pub backoff_initial_ms: u64,
    /// Longest wait between restarts, in milliseconds.
    pub backoff_max_ms: u64,
    /// Restarts allowed within the window before a driver is quarantined.
    pub restart_budget: u32,
    /// The window, in seconds.
    pub budget_window_s: u64,
}

impl Default for SupervisionSection {
    fn default() -> Self {
        let policy = SupervisionPolicy::default();
        SupervisionSection {
            backoff_initial_ms: u64::try_from(policy.backoff_initial.as_millis()).unwrap_or(1_000),
            backoff_max_ms: u64::try_from(policy.backoff_max.as_millis()).unwrap_or(300_000),
            restart_budget: policy.restart_budget,
            budget_window_s: policy.budget_window.as_secs(),
        }
    }
}

/// `[retention]`: how long the served organization's data is kept, in days counted from the
/// data's own timestamps; 0 keeps it forever.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionSection {
    /// Days raw observations are kept.
    pub raw_days: u32,
    /// Days derived data (timelines, parts, cycles, alarms) is kept.
    pub derived_days: u32,
    /// Seconds between two passes of the retention task.
    pub interval_s: u64,
}

impl Default for RetentionSection {
    fn default() -> Self {
        let retention = Retention::default();
        RetentionSection {
            raw_days: retention.raw_days.unwrap_or(0),
            derived_days: retention.derived_days.unwrap_or(0),
            interval_s: 3_600,
        }
    }
}

impl RetentionSection {
    /// The retention this section describes.
    pub fn retention(&self) -> Retention {
        let days = |d: u32| (d > 0).then_some(d);
        Retention {
            raw_days: days(self.raw_days),
            derived_days: days(self.derived_days),
        }
    }
}

/// `[ingest]`: limits on edge connectors.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestSection {
    /// Observations a second one device token may send, on average.
    pub rate_per_token: u64,
    /// Observations one device token may send at once (at least one full batch).
    pub burst_per_token: u64,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            rate_per_token: 50_000,
            burst_per_token: 500_000,
        }
    }
}

/// `[[machines]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MachineSection {
    /// The machine's id.
    pub id: MachineId,
    /// Its display name.
    pub name: String,
    /// Its driver plugin.
    pub driver: PluginId,
    /// Time between polls, in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u32,
    /// The driver's configuration (values as text, checked against the plugin's schema).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Where the machine can be reached.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Whether its driver runs here (`driver`) or an edge connector forwards it (`edge`).
    #[serde(default)]
    pub feed: Feed,
    /// Which data items its timeline reads, where its driver's types do not say.
    #[serde(default)]
    pub signals: SignalMapping,
    /// The cell or department it stands in.
    #[serde(default)]
    pub group: Option<String>,
    /// How many parts it should make a day.
    #[serde(default)]
    pub daily_part_goal: Option<u64>,
}

fn default_poll_interval_ms() -> u32 {
    1_000
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

impl ServerConfig {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigFileError::Invalid {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// The address users reach the server at, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{}", self.server.addr)
            }
        }
    }

    /// The runtime configuration this file describes.
    pub fn runtime_config(&self) -> RuntimeConfig {
        let r = &self.runtime;
        RuntimeConfig {
            max_instances: r.max_instances,
            limits: EffectiveLimits {
                memory_bytes: usize::try_from(r.memory_mib)
                    .unwrap_or(64)
                    .saturating_mul(1 << 20),
                call_timeout: Duration::from_millis(r.call_timeout_ms.into()),
                host_call_bytes: usize::try_from(r.host_call_kib)
                    .unwrap_or(4096)
                    .saturating_mul(1 << 10),
                ..EffectiveLimits::default()
            },
            fuel_metering: r.fuel_metering,
            cache_dir: Some(self.server.data_dir.join("compiled")),
            ..RuntimeConfig::default()
        }
    }

    /// The network policy for machine connections.
    pub fn network_policy(&self) -> NetworkPolicy {
        NetworkPolicy {
            allow_loopback: self.network.allow_loopback,
            allow_link_local: self.network.allow_link_local,
            max_connections: self
                .network
                .max_connections
                .unwrap_or(NetworkPolicy::default().max_connections),
        }
    }

    /// The supervision policy (the poll interval is each machine's own).
    pub fn supervision_policy(&self) -> SupervisionPolicy {
        let s = &self.supervision;
        SupervisionPolicy {
            backoff_initial: Duration::from_millis(s.backoff_initial_ms),
            backoff_max: Duration::from_millis(s.backoff_max_ms),
            restart_budget: s.restart_budget,
            budget_window: Duration::from_secs(s.budget_window_s),
            ..SupervisionPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/chatter.toml");
        let config = ServerConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.machines.len(), 1);
        assert_eq!(config.runtime.max_instances, 10_000);
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config: ServerConfig = toml::from_str("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.server.addr.port(), 8080);
        assert!(!config.network.allow_loopback);
    }

    #[test]
    fn a_typo_is_named_with_its_line() {
        let error = toml::from_str::<ServerConfig>("[server]\nadress = \"x\"\n").err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("unknown field `adress`"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }
}
