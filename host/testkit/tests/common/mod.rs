//! Signing in to the test OpenID Connect provider as a client would, written out with a plain
//! HTTP client: the authorization code flow with PKCE, carried through the provider's
//! interaction redirects with its cookies, and the token endpoint.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use chatter_testkit::{OidcOptions, OidcServer, skip};
use reqwest::{StatusCode, Url};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Where the provider sends the browser back; nothing listens there, the flow stops at it.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/chatter/oauth/callback";

/// The scopes the tests ask for, as an integration with Autodesk would (plus `openid`, which
/// userinfo requires).
pub const SCOPES: &str = "openid data:read user-profile:read";

/// Starts a provider whose client redirects to [`REDIRECT_URI`], or `None` to skip.
pub async fn provider(what: &str, ttl: u64) -> Option<OidcServer> {
    if !skip::available(what, OidcServer::is_available) {
        return None;
    }
    let options = OidcOptions {
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        access_token_ttl_s: ttl,
        ..OidcOptions::default()
    };
    Some(OidcServer::start(options).await.unwrap())
}

/// An HTTP client that does not follow redirects, so that each hop can be looked at.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Base64url without padding (RFC 4648 §5), as PKCE's S256 challenge is written.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// A fresh random PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).unwrap();
    let verifier = base64url(&random);
    let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The query of the redirect URI the browser was sent back to.
pub type Callback = HashMap<String, String>;

/// Plays the browser: opens the authorization URL and follows every redirect by hand, carrying
/// the provider's cookies, until one leads to [`REDIRECT_URI`]; returns that one's query.
pub async fn authorize(server: &OidcServer, challenge: &str, state: &str) -> Callback {
    let client = options_client_id();
    let mut url = Url::parse_with_params(
        &server.authorize_url(),
        [
            ("client_id", client.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", SCOPES),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let http = http();
    let mut cookies: HashMap<String, String> = HashMap::new();
    for _hop in 0..10 {
        let cookie_header = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = http.get(url.clone());
        if !cookie_header.is_empty() {
            request = request.header(reqwest::header::COOKIE, cookie_header);
        }
        let response = request.send().await.unwrap();
        for set_cookie in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            cookies.insert(name.trim().to_owned(), value.trim().to_owned());
        }
        let status = response.status();
        assert!(
            status.is_redirection(),
            "{url} answered {status}: {}\n{}",
            response.text().await.unwrap_or_default(),
            server.output()
        );
        let location = response.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap();
        url = url.join(location).unwrap();
        if url.as_str().starts_with(REDIRECT_URI) {
            return url.query_pairs().into_owned().collect();
        }
    }
    panic!(
        "no way back to the redirect URI in 10 hops:\n{}",
        server.output()
    );
}

/// The client id of [`OidcOptions::default`], which the tests keep.
pub fn options_client_id() -> String {
    OidcOptions::default().client_id
}

/// Posts a form to the token endpoint with the client's credentials; the status and the body.
pub async fn token_request(server: &OidcServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let options = OidcOptions::default();
    let mut form = form.to_vec();
    form.push(("client_id", &options.client_id));
    form.push(("client_secret", &options.client_secret));
    let response = http()
        .post(server.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Signs in and exchanges the code; returns the token response.
pub async fn sign_in(server: &OidcServer) -> Value {
    let (verifier, challenge) = pkce();
    let callback = authorize(server, &challenge, "state-1").await;
    let code = &callback["code"];
    let (status, tokens) = token_request(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}\n{}", server.output());
    tokens
}

/// Calls userinfo with `token`: the status and the body (`Null` when it is not JSON).
pub async fn userinfo(server: &OidcServer, token: &str) -> (StatusCode, Value) {
    let response = http()
        .get(server.userinfo_url())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A string field of a JSON body.
pub fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
}
