//! `authorized-http`: HTTP from an integration to its provider, with the organization's
//! credential attached by the host.
//!
//! The runtime knows no HTTP: it checks the grant and the per-call byte cap, then hands the
//! request to the instance's [`ProviderGateway`], which the server implements with the
//! organization's OAuth connection (allow-list, credential, limits, refresh).

use async_trait::async_trait;
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::bindings::integration::chatter::plugin::authorized_http::{self, Request, Response};
use crate::capabilities::{require, within_call_cap};
use crate::host_state::HostState;
use crate::manifest::Capability;

pub use crate::bindings::integration::chatter::plugin::authorized_http::Method;

/// What carries an integration instance's requests to its provider.
#[async_trait]
pub trait ProviderGateway: Send + Sync + 'static {
    /// Sends `request` and returns the whole response, or why it was refused or failed.
    async fn send(&self, request: Request) -> Result<Response, Error>;
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    authorized_http::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl authorized_http::Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, Error> {
        require(self, Capability::AuthorizedHttp)?;
        within_call_cap(
            self,
            "a request body",
            request.body.as_ref().map_or(0, Vec::len),
        )?;
        let Some(gateway) = self.context.gateway.clone() else {
            return Err(Error {
                code: ErrorCode::Denied,
                message: format!(
                    "organization `{}` has no connection for this plugin",
                    self.identity.org
                ),
            });
        };
        let wait = self.remaining(std::time::Duration::MAX);
        let response = match tokio::time::timeout(wait, gateway.send(request)).await {
            Ok(outcome) => outcome?,
            Err(_) => {
                return Err(Error {
                    code: ErrorCode::Timeout,
                    message: "the call's deadline passed while the request was in flight".into(),
                });
            }
        };
        within_call_cap(self, "a response", response.body.len())?;
        // Everything the plugin gets, for tracing a plugin's view (tests scan it for secrets).
        tracing::trace!(
            status = response.status,
            headers = ?response.headers,
            body = %String::from_utf8_lossy(&response.body[..response.body.len().min(4096)]),
            "authorized-http response handed to the plugin"
        );
        Ok(response)
    }
}
