//! `authorized-http`: HTTP from an integration to its provider's API hosts, with the
//! organization's credential attached by the host.
//!
//! This host checks the grant and the manifest's host allow-list. Credentials (OAuth
//! connections) do not exist yet, so a request that passes both checks is refused with a
//! message saying no connection is set up.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::bindings::integration::chatter::plugin::authorized_http::{self, Request, Response};
use crate::capabilities::{require, within_call_cap};
use crate::host_state::HostState;
use crate::manifest::Capability;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    authorized_http::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

/// The host of an absolute `https://` URL, lower-cased.
fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

impl authorized_http::Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, Error> {
        require(self, Capability::AuthorizedHttp)?;
        within_call_cap(
            self,
            "a request body",
            request.body.as_ref().map_or(0, Vec::len),
        )?;
        let Some(host) = https_host(&request.url) else {
            return Err(Error {
                code: ErrorCode::Denied,
                message: format!("{:?} is not an absolute https:// URL", request.url),
            });
        };
        if !self
            .context
            .authorized_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
        {
            return Err(Error {
                code: ErrorCode::Denied,
                message: format!("{host} is not one of the plugin's authorized-http hosts"),
            });
        }
        Err(Error {
            code: ErrorCode::Denied,
            message: format!(
                "organization `{}` has no connection to {host}",
                self.identity.org
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::https_host;

    #[test]
    fn only_https_urls_have_a_host() {
        assert_eq!(
            https_host("https://API.example.com:443/a?b").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            https_host("https://user@evil.com/x").as_deref(),
            Some("evil.com")
        );
        assert_eq!(https_host("http://api.example.com/"), None);
        assert_eq!(https_host("https:///path"), None);
    }
}
