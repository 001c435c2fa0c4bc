//! The OAuth2 authorization-code flow with PKCE (S256), token refresh and RFC 7009 revocation,
//! against one [`Provider`]. Nothing here stores anything: the caller seals what it gets.

use std::fmt;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::provider::{ClientAuth, Provider};

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A connection's tokens, as sealed in the vault. Never printed.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TokenSet {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    /// When the access token expires, in milliseconds since the Unix epoch.
    pub(crate) expires_at_ms: Option<i64>,
    /// The scopes the provider granted (those asked for when it does not say).
    pub(crate) scopes: Vec<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the grant (`invalid_grant` and kin): the code or refresh token is
    /// spent, expired or revoked, and retrying will not help.
    #[error("{display_name} refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The provider's name for users.
        display_name: String,
        /// The OAuth error code.
        error: String,
        /// The provider's explanation.
        description: Option<String>,
    },
    /// The provider could not be reached or answered nonsense: worth retrying later.
    #[error("{display_name} could not be reached: {message}")]
    Unavailable {
        /// The provider's name for users.
        display_name: String,
        /// What failed.
        message: String,
    },
}

/// Where to send the user's browser, and what the callback needs to finish.
pub(crate) struct Authorization {
    pub(crate) url: Url,
    pub(crate) state: String,
    /// The PKCE verifier's secret: `PkceCodeVerifier` is not `Clone`, its text can be kept.
    pub(crate) verifier: String,
}

fn client(provider: &Provider, redirect: &Url) -> Client {
    let mut client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(provider.authorize_url.clone()))
        .set_token_uri(TokenUrl::from_url(provider.token_url.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
        .set_auth_type(match provider.client_auth {
            ClientAuth::Basic => AuthType::BasicAuth,
            ClientAuth::Post => AuthType::RequestBody,
        });
    if let Some(secret) = &provider.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    client
}

/// Starts an authorization: a random `state` (URL-safe: Autodesk accepts only letters, digits
/// and `,._-`) and a PKCE S256 challenge.
pub(crate) fn authorize(provider: &Provider, redirect: &Url, scopes: &[String]) -> Authorization {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(provider, redirect)
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    Authorization {
        url,
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
    }
}

/// Exchanges an authorization code for tokens.
pub(crate) async fn exchange(
    provider: &Provider,
    redirect: &Url,
    code: String,
    verifier: String,
    asked: &[String],
) -> Result<TokenSet, TokenError> {
    let response = client(provider, redirect)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&provider.http)
        .await
        .map_err(|e| token_error(provider, e))?;
    Ok(token_set(&response, None, asked))
}

/// Trades a refresh token for a new pair. Providers that rotate (Autodesk) invalidate the old
/// refresh token at once: the caller must store the new pair before using it.
pub(crate) async fn refresh(
    provider: &Provider,
    redirect: &Url,
    current: &TokenSet,
) -> Result<TokenSet, TokenError> {
    let Some(refresh_token) = &current.refresh_token else {
        return Err(TokenError::Rejected {
            display_name: provider.display_name.clone(),
            error: "no_refresh_token".into(),
            description: Some("the provider gave no refresh token".into()),
        });
    };
    let response = client(provider, redirect)
        .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
        .request_async(&provider.http)
        .await
        .map_err(|e| token_error(provider, e))?;
    Ok(token_set(
        &response,
        current.refresh_token.clone(),
        &current.scopes,
    ))
}

/// Revokes `token` (RFC 7009). Sent by hand rather than through `oauth2`, whose revocation
/// refuses plain-http endpoints that loopback test servers use.
pub(crate) async fn revoke(provider: &Provider, token: &str, hint: &str) -> Result<(), String> {
    let Some(url) = &provider.revoke_url else {
        return Ok(());
    };
    let mut form = vec![("token", token), ("token_type_hint", hint)];
    let mut request = provider.http.post(url.clone());
    match (provider.client_auth, &provider.client_secret) {
        (ClientAuth::Basic, Some(secret)) => {
            request = request.basic_auth(&provider.client_id, Some(secret));
        }
        (ClientAuth::Post, Some(secret)) => {
            form.push(("client_id", &provider.client_id));
            form.push(("client_secret", secret));
        }
        (_, None) => form.push(("client_id", &provider.client_id)),
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("revoking at {}: {}", url.path(), e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{} answered the revocation with {status}",
            provider.display_name
        ))
    }
}

fn token_set(
    response: &oauth2::basic::BasicTokenResponse,
    previous_refresh: Option<String>,
    asked: &[String],
) -> TokenSet {
    TokenSet {
        access_token: response.access_token().secret().clone(),
        refresh_token: response
            .refresh_token()
            .map(|t| t.secret().clone())
            .or(previous_refresh),
        expires_at_ms: response.expires_in().map(|lifetime| {
            chatter_model::now_ms()
                .saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX))
        }),
        scopes: match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
            None => asked.to_vec(),
        },
    }
}

fn token_error<E: std::error::Error>(
    provider: &Provider,
    error: RequestTokenError<E, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> TokenError {
    let display_name = provider.display_name.clone();
    match error {
        RequestTokenError::ServerResponse(response) => TokenError::Rejected {
            display_name,
            error: response.error().to_string(),
            description: response.error_description().cloned(),
        },
        // Only the error's own text: a parse error's debug form holds the response body.
        other => TokenError::Unavailable {
            display_name,
            message: other.to_string(),
        },
    }
}
