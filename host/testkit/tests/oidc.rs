//! The OpenID Connect provider against a client written out here with a plain HTTP client: the
//! authorization code flow with PKCE, carried through the provider's interaction redirects
//! with its cookies; the code exchanged for tokens; userinfo; refresh-token rotation; token
//! revocation; and refused consent. Each test skips with its reason where Node.js is not
//! installed (fails, under `CHATTER_REQUIRE_E2E=1`).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chatter_testkit::OidcOptions;
use common::{
    REDIRECT_URI, authorize, http, pkce, provider, sign_in, text, token_request, userinfo,
};
use reqwest::StatusCode;

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
