//! Webhooks: where they may point, how a body is signed, and one signed POST.
//!
//! A webhook may point only at `http(s)://` addresses that resolve to public addresses: a rule
//! is a member's to write, and a webhook to the server's own network (its loopback, the shop's
//! private ranges, a cloud's metadata service) would let them probe it. The operator opens
//! loopback and link-local with `[network]`, as for machines, and private ranges with
//! `[alerts] webhook-allow-private`. The address is checked when a rule is saved and again,
//! after resolving the host, on every attempt — and the request goes to the address checked,
//! so a name cannot resolve to a public address for the check and a private one for the post.
//!
//! # Signature
//!
//! Each attempt carries `X-Chatter-Timestamp` (Unix seconds) and `X-Chatter-Signature:
//! sha256=<hex>`, the HMAC-SHA256 with the rule's secret of `"<timestamp>.<body>"`. A receiver
//! recomputes it over the raw body, compares in constant time, and refuses timestamps far from
//! its clock, so a captured request cannot be replayed later.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use reqwest::Url;
use sha2::Sha256;

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long resolving a webhook's host may take when a rule is saved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The header with the attempt's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "x-chatter-timestamp";
/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "x-chatter-signature";
/// The header with the event's id (the same on every attempt, for receivers to drop repeats).
pub const EVENT_HEADER: &str = "x-chatter-event";

/// Which addresses webhooks may reach besides public ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback (127.0.0.0/8, ::1): `[network] allow-loopback`.
    pub loopback: bool,
    /// Link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10):
    /// `[network] allow-link-local`.
    pub link_local: bool,
    /// Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7):
    /// `[alerts] webhook-allow-private`.
    pub private: bool,
}

impl AddressPolicy {
    /// Why `address` is refused, if it is.
    pub fn refusal(&self, address: IpAddr) -> Option<&'static str> {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let (link_local, private, broadcast) = match address {
            IpAddr::V4(v4) => (v4.is_link_local(), is_private_v4(v4), v4.is_broadcast()),
            IpAddr::V6(v6) => (v6.is_unicast_link_local(), is_private_v6(v6), false),
        };
        if address.is_unspecified() || address.is_multicast() || broadcast {
            Some("an unspecified, broadcast or multicast address")
        } else if address.is_loopback() && !self.loopback {
            Some("a loopback address (the operator has not allowed loopback)")
        } else if link_local && !self.link_local {
            Some("a link-local or cloud metadata address")
        } else if private && !self.private {
            Some("a private address (the operator has not allowed private webhooks)")
        } else {
            None
        }
    }
}

fn is_private_v4(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    // RFC 1918, and the carrier-grade NAT range (RFC 6598) some shops' networks use.
    address.is_private() || (a == 100 && (64..128).contains(&b))
}

fn is_private_v6(address: Ipv6Addr) -> bool {
    // Unique local addresses, fc00::/7, and the deprecated site-local fec0::/10.
    let first = address.segments()[0];
    first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0
}

/// Why a webhook cannot be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not one webhooks may use; the message says why.
    #[error("{0}")]
    Refused(String),
    /// The attempt failed: the connection, the time limit, or an answer other than 2xx.
    #[error("{0}")]
    Failed(String),
}

/// The URL, if it is `http(s)` with a host: what [`AddressPolicy`] is checked against.
pub fn parse(url: &str) -> Result<Url, WebhookError> {
    let parsed = Url::parse(url.trim())
        .map_err(|e| WebhookError::Refused(format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(WebhookError::Refused(
            "the webhook URL must start with http:// or https://".into(),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(WebhookError::Refused("the webhook URL needs a host".into()));
    }
    Ok(parsed)
}

/// Resolves the URL's host and checks every address it has: the one to connect to, when all
/// are allowed.
pub async fn resolve(url: &Url, policy: &AddressPolicy) -> Result<SocketAddr, WebhookError> {
    let host = url
        .host_str()
        .ok_or_else(|| WebhookError::Refused("the webhook URL needs a host".into()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    // A bracketed IPv6 literal is given to the resolver without its brackets.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| WebhookError::Failed(format!("resolving `{host}` took too long")))?
            .map_err(|e| WebhookError::Failed(format!("`{host}` does not resolve: {e}")))?
            .collect();
    let Some(first) = addresses.first().copied() else {
        return Err(WebhookError::Failed(format!("`{host}` has no address")));
    };
    // Every address, not just the first: a resolver may rotate them between check and use.
    if let Some((address, why)) = addresses
        .iter()
        .find_map(|a| policy.refusal(a.ip()).map(|why| (a, why)))
    {
        return Err(WebhookError::Refused(format!(
            "`{host}` resolves to {}, {why}",
            address.ip()
        )));
    }
    Ok(first)
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
        // HMAC takes keys of any length.
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One attempt: POSTs `body` to `url`, signed with `secret` at `timestamp`, at the address the
/// policy allows, without following redirects. Succeeds on a 2xx answer.
pub async fn post(
    url: &Url,
    secret: &str,
    event: &str,
    body: &[u8],
    timestamp: i64,
    policy: &AddressPolicy,
) -> Result<u16, WebhookError> {
    let address = resolve(url, policy).await?;
    let host = url.host_str().unwrap_or_default();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .no_proxy()
        .resolve(host, address)
        .user_agent(concat!("Chatter-Alerts/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| WebhookError::Failed(format!("no HTTP client: {e}")))?;
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(secret, timestamp, body))
        .header(EVENT_HEADER, event)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| {
            let what = if e.is_timeout() {
                format!("no answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("could not reach it: {}", without_url(&e))
            };
            WebhookError::Failed(what)
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(WebhookError::Failed(format!("it answered {status}")))
    }
}

/// The error and its causes, without the URL (which may carry a token in its query).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the webhook");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently, with Python's hmac module.
        let signature = sign("0123456789abcdef", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            signature,
            "sha256=9eb18f493f8ec135d9eb2dad817c369bb4e9cbfa818657897a7437c1cd8c3a23"
        );
        assert_ne!(
            signature,
            sign("0123456789abcdef", 1_700_000_001, br#"{"a":1}"#)
        );
        assert_ne!(
            signature,
            sign("0123456789abcdef", 1_700_000_000, br#"{"a":2}"#)
        );
        assert_ne!(
            signature,
            sign("fedcba9876543210", 1_700_000_000, br#"{"a":1}"#)
        );
    }

    #[test]
    fn private_loopback_and_metadata_addresses_are_refused_unless_allowed() {
        let strict = AddressPolicy::default();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        for refused in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "100.64.0.1",
            "169.254.169.254",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(strict.refusal(ip(refused)).is_some(), "{refused}");
        }
        for allowed in ["93.184.216.34", "2606:2800:220:1::1", "172.32.0.1"] {
            assert_eq!(strict.refusal(ip(allowed)), None, "{allowed}");
        }
        let open = AddressPolicy {
            loopback: true,
            link_local: false,
            private: true,
        };
        assert_eq!(open.refusal(ip("127.0.0.1")), None);
        assert_eq!(open.refusal(ip("10.1.2.3")), None);
        assert!(open.refusal(ip("169.254.169.254")).is_some());
    }

    #[test]
    fn only_http_urls_with_a_host_are_webhooks() {
        assert!(parse("https://hooks.example.com/x?y=1").is_ok());
        assert!(parse("ftp://example.com").is_err());
        assert!(parse("file:///etc/passwd").is_err());
        assert!(parse("not a url").is_err());
    }

    #[tokio::test]
    async fn an_address_literal_is_checked_without_a_lookup() {
        let strict = AddressPolicy::default();
        let url = parse("http://10.0.0.5:8080/hook").unwrap();
        assert!(matches!(
            resolve(&url, &strict).await,
            Err(WebhookError::Refused(_))
        ));
        let url = parse("http://[::1]:8080/hook").unwrap();
        assert!(matches!(
            resolve(&url, &strict).await,
            Err(WebhookError::Refused(_))
        ));
        let loopback = AddressPolicy {
            loopback: true,
            ..AddressPolicy::default()
        };
        let url = parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(
            resolve(&url, &loopback).await.unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
    }
}
