//! A plugin's `authorized-http` requests, carried to its connection's provider.
//!
//! The token goes only to the provider's API hosts; download hosts are reached without it;
//! every other destination is refused. Redirects are never followed (the plugin sees them and
//! asks again, so a redirect to a signed download URL goes out without the token). Bodies are
//! capped, requests time out, and a 401 from an API host is retried once with a refreshed token.

use std::sync::Arc;

use async_trait::async_trait;
use chatter_model::{Connection, OrgId};
use chatter_runtime::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use chatter_runtime::bindings::integration::chatter::plugin::authorized_http::{
    Method, Request, Response,
};
use chatter_runtime::capabilities::authorized_http::ProviderGateway;
use reqwest::Url;
use tracing::Instrument as _;

use super::provider::{Destination, Provider};
use super::{IntegrationError, Integrations};

/// Headers a plugin may not set: credentials are the host's business.
const FORBIDDEN_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "host"];

/// One connection's gateway, given to the plugin instance that syncs it.
pub(crate) struct ConnectionGateway {
    integrations: Arc<Integrations>,
    provider: Arc<Provider>,
    org: OrgId,
    connection: String,
}

impl ConnectionGateway {
    pub(crate) fn new(
        integrations: Arc<Integrations>,
        provider: Arc<Provider>,
        connection: &Connection,
    ) -> Self {
        ConnectionGateway {
            integrations,
            provider,
            org: connection.org.clone(),
            connection: connection.id.clone(),
        }
    }

    async fn token(&self, rejected: Option<&str>) -> Result<String, Error> {
        self.integrations
            .access_token(&self.org, &self.connection, rejected)
            .await
            .map_err(|error| match error {
                IntegrationError::Token(e) => Error {
                    code: ErrorCode::Unreachable,
                    message: e.to_string(),
                },
                other => Error {
                    code: ErrorCode::Denied,
                    message: other.to_string(),
                },
            })
    }

    async fn once(
        &self,
        request: &Request,
        url: &Url,
        token: Option<&str>,
    ) -> Result<Response, Error> {
        let mut builder = self
            .provider
            .http
            .request(method(request.method), url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let where_ = describe(url);
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_error(&where_, &e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != reqwest::header::SET_COOKIE)
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let cap = self.provider.max_response_bytes;
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(too_large(&where_, cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&where_, &e))?
        {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_large(&where_, cap));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status, bytes = body.len(), "answered");
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

#[async_trait]
impl ProviderGateway for ConnectionGateway {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        let url = Url::parse(&request.url).map_err(|e| Error {
            code: ErrorCode::Denied,
            message: format!("the request's URL is not a URL: {e}"),
        })?;
        let span = tracing::info_span!(
            "integration.http",
            org = %self.org,
            connection = %self.connection,
            method = ?request.method,
            host = url.host_str().unwrap_or_default(),
            path = url.path(),
        );
        async {
            if let Some((name, _)) = request
                .headers
                .iter()
                .find(|(name, _)| FORBIDDEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
            {
                return Err(Error {
                    code: ErrorCode::Denied,
                    message: format!(
                        "plugins may not set the `{name}` header: the host attaches credentials"
                    ),
                });
            }
            match self.provider.destination(&url) {
                Destination::Refused => {
                    tracing::warn!("refused: not an allowed host");
                    Err(Error {
                        code: ErrorCode::Denied,
                        message: format!(
                            "{} is not one of {}'s API or download hosts (or not https://)",
                            describe_host(&url),
                            self.provider.display_name
                        ),
                    })
                }
                Destination::Download => self.once(&request, &url, None).await,
                Destination::Api => {
                    let token = self.token(None).await?;
                    let response = self.once(&request, &url, Some(&token)).await?;
                    if response.status != 401 {
                        return Ok(response);
                    }
                    tracing::info!("401 from the API: refreshing the token and trying once more");
                    let renewed = self.token(Some(&token)).await?;
                    self.once(&request, &url, Some(&renewed)).await
                }
            }
        }
        .instrument(span)
        .await
    }
}

fn method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// `host:port/path`, without the query: signed URLs carry their secret there.
fn describe(url: &Url) -> String {
    format!("{}{}", describe_host(url), url.path())
}

fn describe_host(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => "(no host)".to_owned(),
    }
}

fn transport_error(where_: &str, error: &reqwest::Error) -> Error {
    Error {
        code: if error.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Unreachable
        },
        message: format!("{where_}: {}", error_text(error)),
    }
}

fn too_large(where_: &str, cap: u64) -> Error {
    Error {
        code: ErrorCode::Denied,
        message: format!(
            "{where_}: the response is larger than the {} MiB limit",
            cap >> 20
        ),
    }
}

/// The error and its causes, without the URL: reqwest's message would repeat it with its
/// query, and `without_url` takes the error by value.
fn error_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
