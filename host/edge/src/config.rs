//! `edge.toml`: the server's configuration file (`[server]`, `[runtime]`, `[network]`,
//! `[supervision]`, `[[machines]]`, as for `chatter serve`) plus an `[edge]` section saying
//! where central is and how to authenticate to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chatter_server::ServerConfig;
use chatter_server::config::{
    EmailSection, IngestSection, MachineSection, NetworkSection, RetentionSection, RuntimeSection,
    ServerSection, SupervisionSection, TlsSection,
};
use serde::Deserialize;

/// Most observations central accepts in one batch.
pub const MAX_BATCH_SIZE: usize = 10_000;

/// The whole edge configuration.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// The local server: its store, drivers and machines.
    pub server: ServerConfig,
    /// Where and how to forward.
    pub edge: EdgeSettings,
}

/// The `[edge]` section, validated, with the token read.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Central's base URL, without a trailing slash (`http://host:port`, `https://…`).
    pub central: String,
    /// The device token.
    pub token: Token,
    /// Most observations per request.
    pub batch_size: usize,
    /// First wait before retrying a failed request.
    pub backoff_initial: Duration,
    /// Longest wait between retries; also the wait after an error only an operator can fix.
    pub backoff_max: Duration,
    /// Longest time one request may take.
    pub request_timeout: Duration,
}

/// A device token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into())
    }

    /// The token itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The file as written, before validation. Mirrors [`ServerConfig`] so that a typo anywhere is
/// reported with its line, as `chatter serve` reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EdgeFile {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    runtime: RuntimeSection,
    #[serde(default)]
    network: NetworkSection,
    #[serde(default)]
    supervision: SupervisionSection,
    #[serde(default)]
    retention: RetentionSection,
    #[serde(default)]
    ingest: IngestSection,
    #[serde(default)]
    tls: Option<TlsSection>,
    #[serde(default)]
    email: EmailSection,
    #[serde(default)]
    machines: Vec<MachineSection>,
    edge: EdgeSection,
}

/// `[edge]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EdgeSection {
    central: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
    #[serde(default = "default_backoff_initial_ms")]
    backoff_initial_ms: u64,
    #[serde(default = "default_backoff_max_ms")]
    backoff_max_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    request_timeout_ms: u64,
}

fn default_batch_size() -> usize {
    1_000
}
fn default_backoff_initial_ms() -> u64 {
    250
}
fn default_backoff_max_ms() -> u64 {
    30_000
}
fn default_request_timeout_ms() -> u64 {
    10_000
}

/// The edge configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EdgeConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown, missing or mistyped keys.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A field has a value that cannot be used.
    #[error("{path}: [edge] {field}: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The key, as written in the file.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl EdgeConfig {
    /// Reads and validates an edge configuration file, and reads the token it points to.
    pub fn from_file(path: &Path) -> Result<Self, EdgeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| EdgeConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path, &|name| std::env::var(name).ok())
    }

    /// Validates `text`, the contents of the file `path`; `env` looks up environment variables.
    #[allow(clippy::needless_update)]
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, EdgeConfigError> {
        let file: EdgeFile = toml::from_str(text).map_err(|e| EdgeConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let field = |field: &'static str, message: String| EdgeConfigError::Field {
            path: path.to_owned(),
            field,
            message,
        };
        let edge = file.edge;
        let central = validate_central(&edge.central).map_err(|m| field("central", m))?;
        let token = read_token(&edge, env).map_err(|(name, m)| field(name, m))?;
        if edge.batch_size == 0 || edge.batch_size > MAX_BATCH_SIZE {
            return Err(field(
                "batch-size",
                format!("{} is out of range: 1 to {MAX_BATCH_SIZE}", edge.batch_size),
            ));
        }
        if edge.backoff_initial_ms == 0 {
            return Err(field("backoff-initial-ms", "must be at least 1".into()));
        }
        if edge.backoff_max_ms < edge.backoff_initial_ms {
            return Err(field(
                "backoff-max-ms",
                "must be at least backoff-initial-ms".into(),
            ));
        }
        if edge.request_timeout_ms == 0 {
            return Err(field("request-timeout-ms", "must be at least 1".into()));
        }
        Ok(EdgeConfig {
            server: ServerConfig {
                server: file.server,
                runtime: file.runtime,
                network: file.network,
                supervision: file.supervision,
                retention: file.retention,
                ingest: file.ingest,
                tls: file.tls,
                email: file.email,
                machines: file.machines,
                // Sections the server gains later keep their defaults until mirrored here.
                ..ServerConfig::default()
            },
            edge: EdgeSettings {
                central,
                token,
                batch_size: edge.batch_size,
                backoff_initial: Duration::from_millis(edge.backoff_initial_ms),
                backoff_max: Duration::from_millis(edge.backoff_max_ms),
                request_timeout: Duration::from_millis(edge.request_timeout_ms),
            },
        })
    }
}

/// Central's base URL without its trailing slash, or why it cannot be used.
fn validate_central(central: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(central).map_err(|e| format!("`{central}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{central}` must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{central}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{central}` must be a base URL, without `?` or `#`"
        ));
    }
    Ok(central.trim_end_matches('/').to_owned())
}

/// The token from its one configured source, or the offending key and why.
fn read_token(
    edge: &EdgeSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Token, (&'static str, String)> {
    let sources: Vec<&'static str> = [
        ("token", edge.token.is_some()),
        ("token-file", edge.token_file.is_some()),
        ("token-env", edge.token_env.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let token = match (sources.as_slice(), edge) {
        ([], _) => {
            return Err((
                "token",
                "missing: set one of `token`, `token-file` or `token-env` to a device token \
                 created on central (POST /api/v1/device-tokens)"
                    .into(),
            ));
        }
        ([_], EdgeSection { token: Some(t), .. }) => t.clone(),
        (
            [_],
            EdgeSection {
                token_file: Some(file),
                ..
            },
        ) => std::fs::read_to_string(file)
            .map_err(|e| ("token-file", format!("cannot read {}: {e}", file.display())))?,
        (
            [_],
            EdgeSection {
                token_env: Some(var),
                ..
            },
        ) => env(var).ok_or_else(|| {
            (
                "token-env",
                format!("the environment variable `{var}` is not set"),
            )
        })?,
        (several, _) => {
            let names: Vec<String> = several.iter().map(|n| format!("`{n}`")).collect();
            return Err((
                several[1],
                format!(
                    "set only one of `token`, `token-file` and `token-env` (found {})",
                    names.join(" and ")
                ),
            ));
        }
    };
    let token = token.trim();
    let source = sources.first().copied().unwrap_or("token");
    if token.is_empty() {
        return Err((source, "the token is empty".into()));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            source,
            "the token contains spaces or control characters".into(),
        ));
    }
    Ok(Token::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EdgeConfig, String> {
        EdgeConfig::parse(text, Path::new("edge.toml"), &|name| {
            (name == "CHATTER_TOKEN").then(|| "chd_fromenv\n".to_owned())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply_and_the_server_sections_are_read() {
        let config = parse(
            "[server]\naddr = \"127.0.0.1:0\"\ndata-dir = \"d\"\norganization = \"shop\"\n\
             organization-name = \"Shop\"\n[network]\nallow-loopback = true\n\
             [[machines]]\nid = \"mill-1\"\nname = \"Mill\"\ndriver = \"shdr\"\n\
             [edge]\ncentral = \"http://central:8080/\"\ntoken = \"chd_x\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.edge.central, "http://central:8080");
        assert_eq!(config.edge.token.expose(), "chd_x");
        assert_eq!(config.edge.batch_size, 1_000);
        assert_eq!(config.edge.backoff_initial, Duration::from_millis(250));
        assert_eq!(config.edge.backoff_max, Duration::from_secs(30));
        assert_eq!(config.edge.request_timeout, Duration::from_secs(10));
        assert!(config.server.network.allow_loopback);
        assert_eq!(config.server.machines.len(), 1);
        assert_eq!(config.server.server.organization.as_str(), "shop");
        assert!(
            !format!("{config:?}").contains("chd_x"),
            "the token is never printed"
        );
    }

    #[test]
    fn the_token_comes_from_the_environment() {
        let config =
            parse("[edge]\ncentral = \"https://c.example\"\ntoken-env = \"CHATTER_TOKEN\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.edge.token.expose(), "chd_fromenv");
        let error = parse("[edge]\ncentral = \"https://c.example\"\ntoken-env = \"NOPE\"\n");
        assert_eq!(
            error.err().as_deref(),
            Some("edge.toml: [edge] token-env: the environment variable `NOPE` is not set")
        );
    }

    #[test]
    fn the_token_comes_from_a_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("token");
        std::fs::write(&file, "chd_file\n").unwrap_or_else(|e| panic!("{e}"));
        let text = format!(
            "[edge]\ncentral = \"http://c\"\ntoken-file = {:?}\n",
            file.display().to_string()
        );
        let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.edge.token.expose(), "chd_file");
        let missing = text.replace("token\"", "absent\"");
        let error = parse(&missing).err().unwrap_or_default();
        assert!(
            error.starts_with("edge.toml: [edge] token-file: cannot read "),
            "{error}"
        );
    }

    #[test]
    fn every_section_of_the_server_configuration_is_accepted() {
        // The server's documented example uses every section: an edge configuration is that
        // file plus `[edge]`. Fails when the server gains a section this crate does not mirror.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/chatter.toml");
        let server = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = format!("{server}\n[edge]\ncentral = \"http://c\"\ntoken = \"chd_x\"\n");
        let config = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.server.machines.len(), 1);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("[edge]\ntoken = \"t\"\n", "missing field `central`"),
            ("[server]\naddr = \"127.0.0.1:1\"\n", "missing field `edge`"),
            (
                "[edge]\ncentral = \"http://c\"\n",
                "[edge] token: missing: set one of",
            ),
            (
                "[edge]\ncentral = \"http://c\"\ntoken = \"a\"\ntoken-env = \"B\"\n",
                "[edge] token-env: set only one of `token`, `token-file` and `token-env` (found `token` and `token-env`)",
            ),
            (
                "[edge]\ncentral = \"ftp://c\"\ntoken = \"a\"\n",
                "[edge] central: `ftp://c` must start with http:// or https://",
            ),
            (
                "[edge]\ncentral = \"http://c\"\ntoken = \"a\"\nbatch-size = 10001\n",
                "[edge] batch-size: 10001 is out of range: 1 to 10000",
            ),
            (
                "[edge]\ncentral = \"http://c\"\ntoken = \"a\"\nbackof-max-ms = 1\n",
                "unknown field `backof-max-ms`",
            ),
            (
                "[edge]\ncentral = \"http://c\"\ntoken = \"  \"\n",
                "[edge] token: the token is empty",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).err().unwrap_or_default();
            assert!(error.starts_with("edge.toml: "), "{error}");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
