//! The Data Management stand-in against a client written out here, with a real token from the
//! test OpenID Connect provider: the walk from hubs to the bytes of every file, paging
//! included; the token checks; signed downloads; and the test controls (ordered 401s, new
//! versions). Each test skips with its reason where Node.js or the shared fixtures are missing
//! (fails, under `CHATTER_REQUIRE_E2E=1`).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use chatter_testkit::{DataManagementServer, OidcOptions, OidcServer, skip};
use common::{http, sign_in, text};
use reqwest::StatusCode;
use serde_json::Value;

/// A provider, the stand-in checking tokens with it, an access token, and an HTTPS client
/// trusting the stand-in's certificate; `None` to skip.
async fn servers(
    what: &str,
) -> Option<(OidcServer, DataManagementServer, String, reqwest::Client)> {
    if !skip::fixtures(what, DataManagementServer::fixtures_available)
        || !skip::available(what, OidcServer::is_available)
    {
        return None;
    }
    let oidc = OidcServer::start(OidcOptions {
        redirect_uris: vec![common::REDIRECT_URI.to_owned()],
        ..OidcOptions::default()
    })
    .await
    .unwrap();
    let dm = DataManagementServer::start(oidc.userinfo_url())
        .await
        .unwrap();
    let token = text(&sign_in(&oidc).await, "access_token").to_owned();
    let client = trusting(&dm, reqwest::redirect::Policy::none());
    Some((oidc, dm, token, client))
}

/// An HTTPS client whose only root is the stand-in's certificate.
fn trusting(dm: &DataManagementServer, redirects: reqwest::redirect::Policy) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(dm.ca_pem().as_bytes()).unwrap())
        .redirect(redirects)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// GETs `url` with the bearer `token`, expecting 200 and JSON.
async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Every entry of a paged list, following `links.next`; and how many pages there were.
async fn get_all(client: &reqwest::Client, url: &str, token: &str) -> (Vec<Value>, usize) {
    let mut entries = Vec::new();
    let mut pages = 0;
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let page = get_json(client, &url, token).await;
        pages += 1;
        assert!(pages < 20, "links.next never ends");
        entries.extend(page["data"].as_array().unwrap().iter().cloned());
        next = page["links"]["next"]["href"].as_str().map(str::to_owned);
    }
    (entries, pages)
}

/// A link at `pointer` (a JSON pointer) of `value`.
fn href(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {value}"))
        .to_owned()
}

/// The bucket and object of a version's `relationships.storage.data.id`.
fn storage(version: &Value) -> (String, String) {
    let id = href(version, "/relationships/storage/data/id");
    let path = id
        .strip_prefix("urn:adsk.objects:os.object:")
        .unwrap_or_else(|| panic!("storage id {id}"));
    let (bucket, object) = path.split_once('/').unwrap();
    (bucket.to_owned(), object.to_owned())
}

/// Asks for a signed URL of `object` in `bucket`; the URL and the size.
async fn signed_url(
    client: &reqwest::Client,
    dm: &DataManagementServer,
    token: &str,
    (bucket, object): &(String, String),
) -> (String, u64) {
    let url = format!(
        "{}/oss/v2/buckets/{bucket}/objects/{object}/signeds3download",
        dm.api_url()
    );
    let body = get_json(client, &url, token).await;
    assert_eq!(body["status"], "complete");
    (
        text(&body, "url").to_owned(),
        body["size"].as_u64().unwrap(),
    )
}

/// GETs `url` without a token: the status and the bytes.
async fn fetch(client: &reqwest::Client, url: &str) -> (StatusCode, Vec<u8>) {
    let response = client.get(url).send().await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

/// The fixtures folder, as the stand-in finds it.
fn fixture(path: &str) -> Vec<u8> {
    let dir = std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        std::path::PathBuf::from,
    );
    std::fs::read(dir.join(path)).unwrap()
}

#[tokio::test]
async fn the_walk_from_hubs_reaches_every_file() {
    let Some((_oidc, dm, token, client)) = servers("the Data Management walk").await else {
        return;
    };
    let me = get_json(&client, &format!("{}/userinfo", dm.api_url()), &token).await;
    assert_eq!(text(&me, "sub"), "user-ada");
    assert_eq!(text(&me, "name"), "Ada Lovelace");
    assert_eq!(text(&me, "email"), "ada@example.com");

    let (hubs, _) = get_all(
        &client,
        &format!("{}/project/v1/hubs", dm.api_url()),
        &token,
    )
    .await;
    assert_eq!(hubs.len(), 1);
    assert_eq!(hubs[0]["type"], "hubs");
    assert_eq!(hubs[0]["attributes"]["name"], "Chatter Test Hub");

    let projects_url = href(&hubs[0], "/relationships/projects/links/related/href");
    let (projects, _) = get_all(&client, &projects_url, &token).await;
    let names: Vec<&str> = projects
        .iter()
        .map(|p| text(&p["attributes"], "name"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let top_url = href(&projects[0], "/relationships/topFolders/links/related/href");
    let (top, _) = get_all(&client, &top_url, &token).await;
    assert_eq!(top[0]["attributes"]["displayName"], "Project Files");

    let contents_url = href(&top[0], "/relationships/contents/links/related/href");
    let (contents, _) = get_all(&client, &contents_url, &token).await;
    let cam = contents
        .iter()
        .find(|entry| entry["type"] == "folders" && entry["attributes"]["displayName"] == "CAM")
        .unwrap_or_else(|| panic!("no CAM folder in {contents:?}"));

    let cam_url = href(cam, "/relationships/contents/links/related/href");
    let (items, pages) = get_all(&client, &cam_url, &token).await;
    assert!(pages >= 2, "the CAM folder fits on {pages} page");
    let expected = dm.files();
    let names: Vec<&str> = items
        .iter()
        .map(|item| text(&item["attributes"], "displayName"))
        .collect();
    let expected_names: Vec<&str> = expected.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, expected_names);
    for name in [
        "Amana-Tool-Fusion-Master.tools",
        "Amana-Tool-Fusion-Master.json",
        "AL_1-16in_1.f3dhsm-template",
        "UHMW_3-8in_Tri.f3dhsm-template",
        "O1001.nc",
        "Bracket.f3d",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }

    for (item, (name, bytes)) in items.iter().zip(&expected) {
        let versions_url = href(item, "/relationships/versions/links/related/href");
        let (versions, _) = get_all(&client, &versions_url, &token).await;
        let version = &versions[0];
        assert_eq!(version["attributes"]["versionNumber"], 1);
        assert_eq!(version["attributes"]["name"], name.as_str());
        assert!(text(&version["attributes"], "lastModifiedTime").ends_with('Z'));
        let object = storage(version);
        assert_eq!(object.0, "wip.dm.prod");
        let (url, size) = signed_url(&client, &dm, &token, &object).await;
        assert!(
            url.starts_with(&format!("https://{}/", dm.download_host())),
            "{url}"
        );
        assert_eq!(size, bytes.len() as u64);
        let (status, downloaded) = fetch(&client, &url).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(downloaded == *bytes, "{name} downloaded differs");
    }

    let served = |name: &str| &expected.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(
        *served("Amana-Tool-Fusion-Master.tools")
            == fixture("autodesk/fusion-tool-libraries/Amana-Tool-Fusion-Master.tools")
    );
    assert!(
        *served("AL_1-16in_1.f3dhsm-template")
            == fixture("autodesk/fusion-cam-templates/AL_1-16in_1.f3dhsm-template")
    );
    let tools: Value = serde_json::from_slice(served("Amana-Tool-Fusion-Master.json")).unwrap();
    assert!(
        tools["data"]
            .as_array()
            .is_some_and(|tools| !tools.is_empty())
    );

    let requests = dm.requests();
    let downloads: Vec<_> = requests.iter().filter(|r| r.host == "download").collect();
    assert_eq!(downloads.len(), expected.len());
    assert!(
        downloads.iter().all(|r| !r.had_authorization),
        "{downloads:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.host == "api")
            .all(|r| r.had_authorization && r.method == "GET")
    );
    assert!(
        requests.iter().all(|r| !r.path.contains('?')),
        "paths carry no query"
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let Some((oidc, dm, token, client)) = servers("Data Management token checks").await else {
        return;
    };
    let hubs = format!("{}/project/v1/hubs", dm.api_url());

    let response = client.get(&hubs).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "AUTH-001");
    assert!(body["developerMessage"].is_string());

    let response = client
        .get(&hubs)
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    get_json(&client, &hubs, &token).await;
    let options = OidcOptions::default();
    let revoked = http()
        .post(oidc.revocation_url())
        .form(&[
            ("token", token.as_str()),
            ("client_id", &options.client_id),
            ("client_secret", &options.client_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let response = client.get(&hubs).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "AUTH-001");
}

/// The storage of the first version of the item named `name`, found by walking to it.
async fn object_of(
    client: &reqwest::Client,
    dm: &DataManagementServer,
    token: &str,
    name: &str,
) -> (String, String) {
    let (items, _) = get_all(client, &cam_contents_url(client, dm, token).await, token).await;
    let item = items
        .iter()
        .find(|item| item["attributes"]["displayName"] == name)
        .unwrap();
    let versions_url = href(item, "/relationships/versions/links/related/href");
    let (versions, _) = get_all(client, &versions_url, token).await;
    storage(&versions[0])
}

/// The contents URL of the `CAM` folder.
async fn cam_contents_url(
    client: &reqwest::Client,
    dm: &DataManagementServer,
    token: &str,
) -> String {
    let (hubs, _) = get_all(client, &format!("{}/project/v1/hubs", dm.api_url()), token).await;
    let (projects, _) = get_all(
        client,
        &href(&hubs[0], "/relationships/projects/links/related/href"),
        token,
    )
    .await;
    let (top, _) = get_all(
        client,
        &href(&projects[0], "/relationships/topFolders/links/related/href"),
        token,
    )
    .await;
    let (contents, _) = get_all(
        client,
        &href(&top[0], "/relationships/contents/links/related/href"),
        token,
    )
    .await;
    let cam = contents
        .iter()
        .find(|entry| entry["attributes"]["displayName"] == "CAM")
        .unwrap();
    href(cam, "/relationships/contents/links/related/href")
}

#[tokio::test]
async fn a_signed_url_works_only_as_signed() {
    let Some((_oidc, dm, token, client)) = servers("Data Management signed downloads").await else {
        return;
    };
    let object = object_of(&client, &dm, &token, "O1001.nc").await;
    let (url, _) = signed_url(&client, &dm, &token, &object).await;

    let (base, query) = url.split_once("?Signature=").unwrap();
    let (signature, expires) = query.split_once('&').unwrap();
    let forged = format!("{base}?Signature={}&{expires}", "0".repeat(signature.len()));
    assert_eq!(fetch(&client, &forged).await.0, StatusCode::FORBIDDEN);
    let other = object_of(&client, &dm, &token, "Bracket.f3d").await;
    let elsewhere = url.replace(&object.1, &other.1);
    assert_eq!(fetch(&client, &elsewhere).await.0, StatusCode::FORBIDDEN);
    assert_eq!(fetch(&client, base).await.0, StatusCode::FORBIDDEN);

    let (status, bytes) = fetch(&client, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(bytes).unwrap().contains("O1001"));
}

#[tokio::test]
async fn ordered_failures_answer_401_first() {
    let Some((_oidc, dm, token, client)) = servers("Data Management ordered 401s").await else {
        return;
    };
    let hubs = format!("{}/project/v1/hubs", dm.api_url());
    dm.fail_next_with_401(2);
    for _ in 0..2 {
        let response = client.get(&hubs).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    get_json(&client, &hubs, &token).await;
}

#[tokio::test]
async fn a_redirect_to_the_download_host_leaves_the_token_behind() {
    let Some((_oidc, dm, token, _client)) = servers("Data Management redirects").await else {
        return;
    };
    let following = trusting(&dm, reqwest::redirect::Policy::limited(5));
    let object = object_of(&following, &dm, &token, "O1001.nc").await;
    let response = following
        .get(format!("{}/redirect-download/{}", dm.api_url(), object.1))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.url().host_str(),
        Some("localhost"),
        "the redirect went to the download host"
    );
    let requests = dm.requests();
    let last_two = &requests[requests.len() - 2..];
    assert_eq!(last_two[0].host, "api");
    assert!(last_two[0].had_authorization);
    assert_eq!(last_two[1].host, "download");
    assert!(!last_two[1].had_authorization, "{requests:?}");
}

#[tokio::test]
async fn a_new_version_comes_first() {
    let Some((_oidc, dm, token, client)) = servers("Data Management new versions").await else {
        return;
    };
    let program = b"%\nO1001 (REVISED)\nM30\n%\n".to_vec();
    dm.add_version("O1001.nc", program.clone());
    let (items, _) = get_all(
        &client,
        &cam_contents_url(&client, &dm, &token).await,
        &token,
    )
    .await;
    let item = items
        .iter()
        .find(|item| item["attributes"]["displayName"] == "O1001.nc")
        .unwrap();
    assert!(text(&item["relationships"]["tip"]["data"], "id").ends_with("?version=2"));
    let (versions, _) = get_all(
        &client,
        &href(item, "/relationships/versions/links/related/href"),
        &token,
    )
    .await;
    let numbers: Vec<&Value> = versions
        .iter()
        .map(|v| &v["attributes"]["versionNumber"])
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert!(
        text(&versions[0]["attributes"], "lastModifiedTime")
            > text(&versions[1]["attributes"], "lastModifiedTime")
    );
    let (url, _) = signed_url(&client, &dm, &token, &storage(&versions[0])).await;
    assert_eq!(fetch(&client, &url).await.1, program);
    let files = dm.files();
    let served = files.iter().find(|(name, _)| name == "O1001.nc").unwrap();
    assert_eq!(served.1, program);
}
