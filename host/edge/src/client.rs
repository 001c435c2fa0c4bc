//! The HTTP client of central's ingest API, and what its answers mean for the forwarder.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use crate::config::{EdgeSettings, Token};
use crate::wire::{ErrorBody, IngestResponse, Position, gzip};

/// A request to central failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Central could not be reached, timed out, had a server error or asked to slow down: the
    /// same request is retried with backoff.
    #[error("central is unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// How long central asked to wait (`429` with `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Central refused the request for a reason only an operator can fix (a revoked token, a
    /// machine missing on central, …): retried after the longest backoff, data kept meanwhile.
    #[error("central refused the request ({status} {code}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Central's error code.
        code: String,
        /// Central's message.
        message: String,
    },
    /// The request could not be built.
    #[error("cannot encode the request: {0}")]
    Encode(String),
}

impl SendError {
    /// Whether the error goes away by itself (so retrying soon makes sense).
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Unavailable { .. })
    }

    /// Whether central found the batch too large.
    pub fn is_too_large(&self) -> bool {
        matches!(self, SendError::Refused { status: 413, .. })
    }

    /// What the operator should do about it, for the log.
    pub fn hint(&self, machine: &str) -> Option<String> {
        let SendError::Refused { status, .. } = self else {
            return None;
        };
        Some(match status {
            401 => "the device token is wrong or revoked: create one on central \
                    (POST /api/v1/device-tokens), put it in [edge] token, token-file or \
                    token-env and restart the edge"
                .into(),
            404 => format!(
                "central has no machine `{machine}`: create it there with \"feed\": \"edge\""
            ),
            409 => format!(
                "central reads machine `{machine}` with its own driver: set its feed to \"edge\" \
                 on central, or give this machine another id"
            ),
            413 => "central finds the batch too large: lower [edge] batch-size".into(),
            _ => "central cannot use what this edge sends: are central and the edge the same \
                  version of Chatter?"
                .into(),
        })
    }
}

/// Central's ingest API.
#[derive(Debug, Clone)]
pub struct Central {
    base: String,
    token: Token,
    http: reqwest::Client,
}

impl Central {
    /// A client of the central server `settings` name.
    pub fn new(settings: &EdgeSettings) -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("chatter-edge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Encode(error_chain(&e)))?;
        Ok(Central {
            base: settings.central.clone(),
            token: settings.token.clone(),
            http,
        })
    }

    /// Central's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How far central got with `machine`: its stream and last sequence number.
    pub async fn position(&self, machine: &str) -> Result<Position, SendError> {
        let url = format!("{}/api/v1/ingest/machines/{machine}", self.base);
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .send()
            .await
            .map_err(unavailable)?;
        read_json(response).await
    }

    /// Posts a batch, `body` being its JSON (compressed here).
    pub async fn ingest(&self, body: &[u8]) -> Result<IngestResponse, SendError> {
        let compressed = gzip(body).map_err(|e| SendError::Encode(e.to_string()))?;
        let response = self
            .http
            .post(format!("{}/api/v1/ingest", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(compressed)
            .send()
            .await
            .map_err(unavailable)?;
        read_json(response).await
    }
}

/// A transport error (refused connection, timeout, …) as [`SendError::Unavailable`].
fn unavailable(error: reqwest::Error) -> SendError {
    SendError::Unavailable {
        message: error_chain(&error),
        retry_after: None,
    }
}

/// An error with its causes, `a: b: c`; reqwest's own message alone rarely says what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The body of a 200 answer, or the error the answer means.
async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, SendError> {
    let status = response.status();
    let retry_after = retry_after(&response);
    let bytes = response.bytes().await.map_err(unavailable)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| SendError::Unavailable {
            // A proxy's page in place of central's answer: hopefully passing.
            message: format!("central's answer is not what the ingest API returns: {e}"),
            retry_after: None,
        });
    }
    Err(classify(status, &bytes, retry_after))
}

/// What a non-success answer means.
pub fn classify(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> SendError {
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => (
            status.canonical_reason().unwrap_or("error").to_owned(),
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        ),
    };
    let transient = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if transient {
        SendError::Unavailable {
            message: format!("{} {code}: {message}", status.as_u16()),
            retry_after,
        }
    } else {
        SendError::Refused {
            status: status.as_u16(),
            code,
            message,
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by central).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        let body = br#"{"error": {"code": "invalid_token", "message": "revoked"}}"#;
        let error = classify(StatusCode::UNAUTHORIZED, body, None);
        assert!(!error.is_transient());
        assert_eq!(
            error.to_string(),
            "central refused the request (401 invalid_token): revoked"
        );
        assert!(
            error
                .hint("mill-1")
                .is_some_and(|h| h.contains("device-tokens"))
        );

        let error = classify(
            StatusCode::TOO_MANY_REQUESTS,
            b"{}",
            Some(Duration::from_secs(3)),
        );
        assert!(matches!(
            error,
            SendError::Unavailable { retry_after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(classify(StatusCode::BAD_GATEWAY, b"<html>", None).is_transient());
        assert!(classify(StatusCode::PAYLOAD_TOO_LARGE, b"", None).is_too_large());
        let error = classify(StatusCode::CONFLICT, b"", None);
        assert!(error.hint("mill-1").is_some_and(|h| h.contains("feed")));
    }

    #[tokio::test]
    async fn https_is_supported() {
        let settings = crate::config::EdgeSettings {
            central: "https://127.0.0.1:1".into(),
            token: Token::new("chd_x"),
            batch_size: 1,
            backoff_initial: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
            request_timeout: Duration::from_secs(2),
        };
        let central = Central::new(&settings).unwrap_or_else(|e| panic!("{e}"));
        let error = central.position("mill-1").await.err();
        // Refused by the closed port, not for want of TLS support.
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("central is unavailable"), "{message}");
        assert!(!message.contains("scheme"), "{message}");
    }
}
