//! OAuth providers as the operator configures them (`[providers.NAME]` in `chatter.toml`): the
//! endpoints, the client credentials, which hosts get the connection's token and which may be
//! reached without it, and the HTTP client that talks to them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

/// `[providers.NAME]`: one OAuth2 provider integrations may connect to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProviderSection {
    /// What users see (`Autodesk`).
    pub display_name: String,
    /// The authorization endpoint the user's browser is sent to.
    pub authorize_url: String,
    /// The token endpoint (code exchange and refresh).
    pub token_url: String,
    /// The RFC 7009 revocation endpoint, used on disconnect.
    #[serde(default)]
    pub revoke_url: Option<String>,
    /// The user-info endpoint, handed to plugins as their `userinfo-url` setting.
    #[serde(default)]
    pub userinfo_url: Option<String>,
    /// The API's base URL, handed to plugins as their `api-url` setting.
    #[serde(default)]
    pub api_url: Option<String>,
    /// The OAuth client id.
    pub client_id: String,
    /// The environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The file holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// How the client authenticates at the token endpoint: `basic` (HTTP Basic) or `post`
    /// (in the form body).
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Scopes always asked for, on top of those the plugin's manifest names.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Hosts (`host` or `host:port`) that receive the connection's bearer token.
    pub api_hosts: Vec<String>,
    /// Further hosts plugins may fetch from without the token (signed download URLs);
    /// `*.example.com` matches every subdomain.
    #[serde(default)]
    pub download_hosts: Vec<String>,
    /// A PEM file of extra root certificates to trust for this provider's hosts.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// How long one request may take, in seconds.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
    /// The largest response body a plugin may receive, in MiB.
    #[serde(default = "default_max_response_mib")]
    pub max_response_mib: u64,
}

fn default_request_timeout_s() -> u64 {
    30
}

fn default_max_response_mib() -> u64 {
    64
}

/// How the client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// `Authorization: Basic`.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// Why a provider's configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A URL does not parse or is not http(s).
    #[error("`[providers.{provider}] {field}`: {message}")]
    Invalid {
        /// The provider's name.
        provider: String,
        /// The offending key.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The client secret could not be read.
    #[error("`[providers.{provider}]`: reading the client secret from {source_name}: {message}")]
    Secret {
        /// The provider's name.
        provider: String,
        /// Where it was read from.
        source_name: String,
        /// Why it failed.
        message: String,
    },
}

/// A configured provider, ready to use.
pub struct Provider {
    /// Its name in the configuration (`autodesk`), which plugin manifests refer to.
    pub name: String,
    /// What users see.
    pub display_name: String,
    pub(super) authorize_url: Url,
    pub(super) token_url: Url,
    pub(super) revoke_url: Option<Url>,
    pub(super) client_id: String,
    pub(super) client_secret: Option<String>,
    pub(super) client_auth: ClientAuth,
    pub(super) scopes: Vec<String>,
    /// Settings handed to the provider's plugins (`api-url`, `userinfo-url`).
    pub(super) plugin_settings: Vec<(String, String)>,
    api_hosts: Vec<HostPattern>,
    download_hosts: Vec<HostPattern>,
    /// Talks to every endpoint of the provider: redirects off, its own roots, its timeout.
    pub(super) http: reqwest::Client,
    pub(super) max_response_bytes: u64,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Whether a request's destination may get the token, may be reached without it, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// One of the provider's API hosts: the token goes with the request.
    Api,
    /// An allowed download host: the request goes without the token.
    Download,
    /// Not allowed.
    Refused,
}

impl Provider {
    /// Builds a provider from its section, reading its client secret.
    pub fn from_section(name: &str, section: &ProviderSection) -> Result<Self, ProviderError> {
        let invalid = |field: &'static str, message: String| ProviderError::Invalid {
            provider: name.to_owned(),
            field,
            message,
        };
        let url = |field: &'static str, text: &str| -> Result<Url, ProviderError> {
            let url = Url::parse(text).map_err(|e| invalid(field, format!("{text:?}: {e}")))?;
            match url.scheme() {
                "https" | "http" => Ok(url),
                other => Err(invalid(field, format!("scheme `{other}` is not http(s)"))),
            }
        };
        let mut plugin_settings = Vec::new();
        if let Some(api) = &section.api_url {
            url("api-url", api)?;
            plugin_settings.push(("api-url".to_owned(), api.trim_end_matches('/').to_owned()));
        }
        if let Some(userinfo) = &section.userinfo_url {
            url("userinfo-url", userinfo)?;
            plugin_settings.push(("userinfo-url".to_owned(), userinfo.clone()));
        }
        if section.api_hosts.is_empty() {
            return Err(invalid("api-hosts", "lists no host".into()));
        }
        let patterns = |field: &'static str, hosts: &[String]| {
            hosts
                .iter()
                .map(|h| {
                    HostPattern::parse(h)
                        .ok_or_else(|| invalid(field, format!("{h:?} is not a host or host:port")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let http = http_client(section.ca_file.as_deref(), section.request_timeout_s)
            .map_err(|message| invalid("ca-file", message))?;
        Ok(Provider {
            name: name.to_owned(),
            display_name: section.display_name.clone(),
            authorize_url: url("authorize-url", &section.authorize_url)?,
            token_url: url("token-url", &section.token_url)?,
            revoke_url: section
                .revoke_url
                .as_deref()
                .map(|u| url("revoke-url", u))
                .transpose()?,
            client_id: section.client_id.clone(),
            client_secret: client_secret(name, section)?,
            client_auth: section.client_auth,
            scopes: section.scopes.clone(),
            plugin_settings,
            api_hosts: patterns("api-hosts", &section.api_hosts)?,
            download_hosts: patterns("download-hosts", &section.download_hosts)?,
            http,
            max_response_bytes: section.max_response_mib.saturating_mul(1 << 20),
        })
    }

    /// Where `url` may go. Only `https://` URLs go anywhere.
    pub fn destination(&self, url: &Url) -> Destination {
        if url.scheme() != "https" {
            return Destination::Refused;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Destination::Refused;
        };
        let host = host.to_ascii_lowercase();
        if self.api_hosts.iter().any(|p| p.matches(&host, port)) {
            Destination::Api
        } else if self.download_hosts.iter().any(|p| p.matches(&host, port)) {
            Destination::Download
        } else {
            Destination::Refused
        }
    }

    /// The scopes to ask for: the provider's own and the plugin's, each once.
    pub fn scopes_with(&self, plugin_scopes: &[&str]) -> Vec<String> {
        let mut scopes = self.scopes.clone();
        for scope in plugin_scopes {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push((*scope).to_owned());
            }
        }
        scopes
    }
}

fn client_secret(name: &str, section: &ProviderSection) -> Result<Option<String>, ProviderError> {
    let failed = |source_name: String, message: String| ProviderError::Secret {
        provider: name.to_owned(),
        source_name,
        message,
    };
    if let Some(variable) = &section.client_secret_env {
        let secret = std::env::var(variable)
            .map_err(|e| failed(format!("environment variable {variable}"), e.to_string()))?;
        return Ok(Some(secret.trim().to_owned()));
    }
    if let Some(path) = &section.client_secret_file {
        let secret = std::fs::read_to_string(path)
            .map_err(|e| failed(path.display().to_string(), e.to_string()))?;
        return Ok(Some(secret.trim().to_owned()));
    }
    Ok(None)
}

/// The client for one provider. Redirects are never followed: a redirect to another host
/// would otherwise carry the token there, and plugins see redirects and decide themselves.
fn http_client(ca_file: Option<&Path>, timeout_s: u64) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(timeout_s.max(1)))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Chatter/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for certificate in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?
        {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder.build().map_err(|e| e.to_string())
}

/// `host`, `host:port` or `*.domain` (any port 443 subdomain).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
    host: String,
    wildcard: bool,
    port: u16,
}

impl HostPattern {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse().ok()?),
            None => (text.clone(), 443),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_owned(), true),
            None => (host, false),
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        valid.then_some(HostPattern {
            host,
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        if port != self.port {
            return false;
        }
        if self.wildcard {
            host.strip_suffix(&self.host)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            host == self.host
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_match_exactly_or_by_subdomain_and_port() {
        let api = HostPattern::parse("developer.api.autodesk.com").expect("valid");
        assert!(api.matches("developer.api.autodesk.com", 443));
        assert!(!api.matches("developer.api.autodesk.com", 8443));
        assert!(!api.matches("evil-developer.api.autodesk.com", 443));
        let local = HostPattern::parse("127.0.0.1:4433").expect("valid");
        assert!(local.matches("127.0.0.1", 4433));
        assert!(!local.matches("127.0.0.1", 443));
        let s3 = HostPattern::parse("*.amazonaws.com").expect("valid");
        assert!(s3.matches("bucket.s3.amazonaws.com", 443));
        assert!(!s3.matches("amazonaws.com", 443));
        assert!(!s3.matches("evilamazonaws.com", 443));
        assert!(HostPattern::parse("https://x/").is_none());
        assert!(HostPattern::parse("x:notaport").is_none());
    }
}
