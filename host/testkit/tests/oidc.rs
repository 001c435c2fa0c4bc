//! The OpenID Connect provider against a client written out here with a plain HTTP client: the
//! authorization code flow with PKCE, carried through the provider's interaction redirects
//! with its cookies; the code exchanged for tokens; userinfo; refresh-token rotation; token
//! revocation; and refused consent. Each test skips with its reason where Node.js is not
//! installed (fails, under `CHATTER_REQUIRE_E2E=1`).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use chatter_testkit::{OidcOptions, OidcServer, skip};
use reqwest::{StatusCode, Url};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Where the provider sends the browser back; nothing listens there, the flow stops at it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/chatter/oauth/callback";

/// The scopes the tests ask for, as an integration with Autodesk would (plus `openid`, which
/// userinfo requires).
const SCOPES: &str = "openid data:read user-profile:read";

/// Starts a provider whose client redirects to [`REDIRECT_URI`], or `None` to skip.
async fn provider(what: &str, ttl: u64) -> Option<OidcServer> {
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
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Base64url without padding (RFC 4648 §5), as PKCE's S256 challenge is written.
fn base64url(bytes: &[u8]) -> String {
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
fn pkce() -> (String, String) {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).unwrap();
    let verifier = base64url(&random);
    let challenge = base64url(&Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The query of the redirect URI the browser was sent back to.
type Callback = HashMap<String, String>;

/// Plays the browser: opens the authorization URL and follows every redirect by hand, carrying
/// the provider's cookies, until one leads to [`REDIRECT_URI`]; returns that one's query.
async fn authorize(server: &OidcServer, challenge: &str, state: &str) -> Callback {
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
fn options_client_id() -> String {
    OidcOptions::default().client_id
}

/// Posts a form to the token endpoint with the client's credentials; the status and the body.
async fn token_request(server: &OidcServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
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
async fn sign_in(server: &OidcServer) -> Value {
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
async fn userinfo(server: &OidcServer, token: &str) -> (StatusCode, Value) {
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
fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
}

#[tokio::test]
async fn the_code_flow_signs_in_ada() {
    let Some(server) = provider("the OIDC code flow", 3600).await else {
        return;
    };
    assert!(server.issuer().starts_with("http://127.0.0.1:"));
    assert!(server.authorize_url().starts_with(server.issuer()));

    let (verifier, challenge) = pkce();
    let callback = authorize(&server, &challenge, "a-state-of-mind").await;
    assert_eq!(callback["state"], "a-state-of-mind");
    assert_eq!(callback["iss"], server.issuer());
    let (status, tokens) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(text(&tokens, "token_type"), "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert!(!text(&tokens, "refresh_token").is_empty());
    assert!(!text(&tokens, "id_token").is_empty());
    let mut scopes: Vec<&str> = text(&tokens, "scope").split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["data:read", "openid", "user-profile:read"]);

    let (status, me) = userinfo(&server, text(&tokens, "access_token")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(text(&me, "sub"), "user-ada");
    assert_eq!(text(&me, "name"), "Ada Lovelace");
    assert_eq!(text(&me, "email"), "ada@example.com");

    // A code works once.
    let (status, error) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text(&error, "error"), "invalid_grant");

    let output = server.output();
    assert!(output.contains("interaction login: user-ada"), "{output}");
    assert!(output.contains("GET /me 200"), "{output}");
}

#[tokio::test]
async fn a_refresh_token_works_once() {
    let Some(server) = provider("OIDC refresh-token rotation", 3600).await else {
        return;
    };
    let first = sign_in(&server).await;
    let old_refresh = text(&first, "refresh_token");
    let (status, second) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", old_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(text(&second, "refresh_token"), old_refresh);
    assert_ne!(text(&second, "access_token"), text(&first, "access_token"));
    let (status, me) = userinfo(&server, text(&second, "access_token")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(text(&me, "name"), "Ada Lovelace");

    let (status, error) = token_request(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", old_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(text(&error, "error"), "invalid_grant");
}

#[tokio::test]
async fn a_revoked_access_token_is_refused() {
    let Some(server) = provider("OIDC token revocation", 3600).await else {
        return;
    };
    let tokens = sign_in(&server).await;
    let access = text(&tokens, "access_token");
    assert_eq!(userinfo(&server, access).await.0, StatusCode::OK);

    let options = OidcOptions::default();
    let response = http()
        .post(server.revocation_url())
        .form(&[
            ("token", access),
            ("token_type_hint", "access_token"),
            ("client_id", &options.client_id),
            ("client_secret", &options.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = userinfo(&server, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(text(&body, "error"), "invalid_token");
}

#[tokio::test]
async fn a_code_without_its_verifier_is_refused() {
    let Some(server) = provider("OIDC PKCE", 3600).await else {
        return;
    };
    let (_verifier, challenge) = pkce();
    let callback = authorize(&server, &challenge, "s").await;
    let (status, error) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(text(&error, "error"), "invalid_grant");

    // Nor does a wrong verifier do.
    let (other_verifier, _) = pkce();
    let callback = authorize(&server, &challenge, "s").await;
    let (status, error) = token_request(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &other_verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(text(&error, "error"), "invalid_grant");
}

#[tokio::test]
async fn denied_consent_returns_access_denied() {
    let Some(server) = provider("OIDC refused consent", 3600).await else {
        return;
    };
    server.set_consent(false).await.unwrap();
    let (_verifier, challenge) = pkce();
    let callback = authorize(&server, &challenge, "denied-state").await;
    assert_eq!(callback["error"], "access_denied", "{callback:?}");
    assert_eq!(callback["state"], "denied-state");
    assert!(!callback.contains_key("code"));

    server.set_consent(true).await.unwrap();
    let callback = authorize(&server, &challenge, "allowed-state").await;
    assert!(callback.contains_key("code"), "{callback:?}");
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let Some(server) = provider("OIDC access-token lifetime", 1).await else {
        return;
    };
    let tokens = sign_in(&server).await;
    assert_eq!(tokens["expires_in"], 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = userinfo(&server, text(&tokens, "access_token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
