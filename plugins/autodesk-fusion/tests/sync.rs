//! The whole sync against an in-memory Autodesk: paged lists, a subfolder, a redirected
//! download, an already imported version, and items that fail without failing the sync.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use autodesk_fusion::{Library, Settings, Transport, sync, whoami};
use chatter_model::library::{
    CAM_TEMPLATE_MEDIA_TYPE, CamTemplate, TOOL_LIBRARY_MEDIA_TYPE, ToolLibrary,
};
use chatter_sdk::http::Response;
use chatter_sdk::{Artifact, Error, ErrorCode};
use serde_json::{Value, json};

const API: &str = "https://developer.api.autodesk.com";
const PROFILE: &str = "https://api.userprofile.autodesk.com/userinfo";

/// Canned responses by URL; records every URL asked for.
#[derive(Default)]
struct FakeAutodesk {
    responses: BTreeMap<String, Response>,
    requested: Vec<String>,
}

impl FakeAutodesk {
    fn answer(&mut self, url: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let response = Response {
            status,
            headers,
            body: body.to_vec(),
        };
        self.responses.insert(url.to_owned(), response);
    }

    fn json(&mut self, url: &str, document: Value) {
        self.answer(url, 200, &[], document.to_string().as_bytes());
    }

    /// An item with one version stored as `object`, answered by `content` at a signed URL.
    fn item(&mut self, id: &str, version: &str, object: &str) {
        self.json(
            &format!("{API}/data/v1/projects/p1/items/{id}/versions"),
            json!({"data": [version_resource(version, 1, object)]}),
        );
        self.json(
            &format!("{API}/oss/v2/buckets/wip.dm.prod/objects/{object}/signeds3download"),
            json!({"status": "complete", "url": format!("https://s3.example/{object}?X-Amz-Signature=secret")}),
        );
    }

    fn content(&mut self, object: &str, body: &[u8]) {
        self.answer(
            &format!("https://s3.example/{object}?X-Amz-Signature=secret"),
            200,
            &[],
            body,
        );
    }
}

impl Transport for FakeAutodesk {
    fn get(&mut self, url: &str) -> Result<Response, Error> {
        self.requested.push(url.to_owned());
        Ok(self.responses.get(url).cloned().unwrap_or(Response {
            status: 404,
            headers: vec![],
            body: vec![],
        }))
    }
}

/// The library: what was stored, and what was there before.
#[derive(Default)]
struct FakeLibrary {
    stored: BTreeMap<String, Artifact>,
    before: BTreeSet<String>,
}

impl Library for FakeLibrary {
    fn contains(&mut self, source_id: &str) -> bool {
        self.before.contains(source_id) || self.stored.contains_key(source_id)
    }

    fn put(&mut self, artifact: Artifact) -> Result<(), Error> {
        self.stored.insert(artifact.source_id.clone(), artifact);
        Ok(())
    }
}

fn resource(kind: &str, id: &str, name: &str) -> Value {
    json!({"type": kind, "id": id, "attributes": {"displayName": name, "name": name}})
}

fn version_resource(id: &str, number: u64, object: &str) -> Value {
    json!({
        "type": "versions",
        "id": id,
        "attributes": {"versionNumber": number, "lastModifiedTime": "2024-03-05T10:20:30.000Z"},
        "relationships": {"storage": {"data": {
            "type": "objects",
            "id": format!("urn:adsk.objects:os.object:wip.dm.prod/{object}")
        }}}
    })
}

const TOOLS_JSON: &str = r#"{"data": [{"type": "flat end mill", "unit": "inches",
    "guid": "t1", "geometry": {"DC": 0.25, "NOF": 3},
    "start-values": {"presets": [{"name": "Default Preset", "n": 12000, "v_f": 60}]}}]}"#;

const TEMPLATE: &str = r#"<?xml version="1.0"?>
<template-document xmlns="http://www.hsmworks.com/namespace/hsmworks/document/template">
  <template description="Face1" strategy="face" unit="millimeters">
    <parameter name="tool_feedCutting" expression="20in/min"/>
  </template>
</template-document>"#;

/// Shop (hubs page 1) and Other (page 2); Shop / Fixtures / CAM holds files on two pages and
/// the subfolder Programs.
fn autodesk() -> FakeAutodesk {
    let mut fake = FakeAutodesk::default();
    fake.json(
        &format!("{API}/project/v1/hubs"),
        json!({"data": [resource("hubs", "h1", "Shop")],
               "links": {"next": {"href": format!("{API}/project/v1/hubs?page[number]=1")}}}),
    );
    fake.json(
        &format!("{API}/project/v1/hubs?page[number]=1"),
        json!({"data": [resource("hubs", "h2", "Other")], "links": {"self": {"href": "x"}}}),
    );
    fake.json(
        &format!("{API}/project/v1/hubs/h1/projects"),
        json!({"data": [resource("projects", "p1", "Fixtures")],
               "links": {"next": format!("{API}/project/v1/hubs/h1/projects?page=2")}}),
    );
    fake.json(
        &format!("{API}/project/v1/hubs/h1/projects?page=2"),
        json!({"data": []}),
    );
    fake.json(
        &format!("{API}/project/v1/hubs/h2/projects"),
        json!({"data": []}),
    );
    fake.json(
        &format!("{API}/project/v1/hubs/h1/projects/p1/topFolders"),
        json!({"data": [resource("folders", "f1", "CAM")]}),
    );
    fake.json(
        &format!("{API}/data/v1/projects/p1/folders/f1/contents"),
        json!({"data": [
                   resource("items", "i-tools", "Library.json"),
                   resource("items", "i-bad", "notes.json"),
                   resource("folders", "f2", "Programs"),
               ],
               "links": {"next": {"href": format!("{API}/data/v1/projects/p1/folders/f1/contents?page=2")}}}),
    );
    fake.json(
        &format!("{API}/data/v1/projects/p1/folders/f1/contents?page=2"),
        json!({"data": [
            resource("items", "i-old", "old.nc"),
            resource("items", "i-part", "bracket.f3d"),
            resource("items", "i-gone", "gone.tools"),
        ]}),
    );
    fake.json(
        &format!("{API}/data/v1/projects/p1/folders/f2/contents"),
        json!({"data": [
            resource("items", "i-nc", "1001.nc"),
            resource("items", "i-tpl", "Face.f3dhsm-template"),
        ]}),
    );

    // The tool library has two versions on two pages: the second is the newest.
    fake.json(
        &format!("{API}/data/v1/projects/p1/items/i-tools/versions"),
        json!({"data": [version_resource("v-tools-1", 1, "tools-1.json")],
               "links": {"next": {"href": format!("{API}/data/v1/projects/p1/items/i-tools/versions?page=2")}}}),
    );
    fake.json(
        &format!("{API}/data/v1/projects/p1/items/i-tools/versions?page=2"),
        json!({"data": [version_resource("v-tools-2", 2, "tools 2.json")]}),
    );
    fake.json(
        &format!("{API}/oss/v2/buckets/wip.dm.prod/objects/tools%202.json/signeds3download"),
        json!({"status": "complete", "url": "https://s3.example/tools-2?X-Amz-Signature=secret"}),
    );
    fake.answer(
        "https://s3.example/tools-2?X-Amz-Signature=secret",
        200,
        &[],
        TOOLS_JSON.as_bytes(),
    );

    fake.item("i-bad", "v-bad", "notes.json");
    fake.content("notes.json", br#"{"note": "not tools"}"#);
    fake.item("i-old", "v-old", "old.nc");
    fake.content("old.nc", b"G0 X1\n");
    fake.item("i-gone", "v-gone", "gone.tools");
    fake.answer(
        "https://s3.example/gone.tools?X-Amz-Signature=secret",
        403,
        &[],
        b"",
    );
    fake.item("i-tpl", "v-tpl", "face.f3dhsm-template");
    fake.content("face.f3dhsm-template", TEMPLATE.as_bytes());

    // The NC program's signed URL redirects, relatively, to where it is.
    fake.item("i-nc", "v-nc", "1001.nc");
    fake.answer(
        "https://s3.example/1001.nc?X-Amz-Signature=secret",
        302,
        &[("Location", "/moved/1001.nc?X-Amz-Signature=other")],
        b"",
    );
    fake.answer(
        "https://s3.example/moved/1001.nc?X-Amz-Signature=other",
        200,
        &[],
        b"%\nO1001\nG0 X0 Y0\nM30\n%\n",
    );
    fake
}

fn settings() -> Settings {
    Settings::new(API, PROFILE, None).unwrap()
}

#[test]
fn sync_imports_every_known_file_once() {
    let mut autodesk = autodesk();
    let mut library = FakeLibrary::default();
    library.before.insert("v-old".into());

    let summary = sync(&mut autodesk, &mut library, &settings(), None).unwrap();

    assert_eq!(summary.imported, 3);
    assert_eq!(summary.skipped, 1, "v-old was imported before");
    let failed: Vec<&str> = summary.failures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(failed, ["notes.json", "gone.tools"]);
    let (_, not_tools) = &summary.failures[0];
    assert!(not_tools.message.contains("not a Fusion tool library"));
    let (_, gone) = &summary.failures[1];
    assert_eq!(gone.code, ErrorCode::Denied);
    assert_eq!(
        gone.message,
        "GET https://s3.example/gone.tools answered 403"
    );

    let tools = &library.stored["v-tools-2"];
    assert_eq!(tools.kind, "tool-library");
    assert_eq!(tools.media_type, TOOL_LIBRARY_MEDIA_TYPE);
    assert_eq!(tools.name, "Library.json");
    assert_eq!(tools.location, "Shop / Fixtures / CAM");
    assert_eq!(tools.modified, 1_709_634_030_000_000_000);
    let parsed: ToolLibrary = serde_json::from_slice(&tools.content).unwrap();
    assert_eq!(parsed.tools[0].geometry.flutes, Some(3));
    assert!(!library.stored.contains_key("v-tools-1"), "only the newest");

    let nc = &library.stored["v-nc"];
    assert_eq!(nc.kind, "nc-program");
    assert_eq!(nc.media_type, "text/plain");
    assert_eq!(nc.location, "Shop / Fixtures / CAM / Programs");
    assert_eq!(nc.content, b"%\nO1001\nG0 X0 Y0\nM30\n%\n");

    let template = &library.stored["v-tpl"];
    assert_eq!(template.media_type, CAM_TEMPLATE_MEDIA_TYPE);
    let parsed: CamTemplate = serde_json::from_slice(&template.content).unwrap();
    assert!((parsed.operations[0].cutting_feed.unwrap() - 508.0).abs() < 1e-9);

    // Files it does not import are not even listed; an imported version is not downloaded.
    assert!(!autodesk.requested.iter().any(|u| u.contains("i-part")));
    assert!(!autodesk.requested.iter().any(|u| u.contains("old.nc")));
}

#[test]
fn a_second_sync_imports_nothing_new() {
    let mut autodesk = autodesk();
    let mut library = FakeLibrary::default();
    sync(&mut autodesk, &mut library, &settings(), None).unwrap();
    let stored = library.stored.len();

    let again = sync(&mut autodesk, &mut library, &settings(), None).unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.skipped, 4);
    assert_eq!(again.failures.len(), 2, "failed items are retried");
    assert_eq!(library.stored.len(), stored);
}

#[test]
fn an_unauthorized_account_fails_the_sync() {
    let mut autodesk = FakeAutodesk::default();
    autodesk.answer(&format!("{API}/project/v1/hubs"), 401, &[], b"");
    let error = sync(
        &mut autodesk,
        &mut FakeLibrary::default(),
        &settings(),
        None,
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Denied);
    assert_eq!(
        error.message,
        "GET https://developer.api.autodesk.com/project/v1/hubs answered 401"
    );
}

#[test]
fn redirect_loops_end() {
    let mut autodesk = FakeAutodesk::default();
    autodesk.answer(
        &format!("{API}/project/v1/hubs"),
        307,
        &[("location", "hubs")],
        b"",
    );
    let error = sync(
        &mut autodesk,
        &mut FakeLibrary::default(),
        &settings(),
        None,
    )
    .unwrap_err();
    assert!(error.message.contains("redirected more than 5 times"));
    assert_eq!(autodesk.requested.len(), 6);
}

#[test]
fn whoami_reads_the_profile() {
    let mut autodesk = FakeAutodesk::default();
    autodesk.json(
        PROFILE,
        json!({"sub": "ABC123", "name": "Ada Machinist", "email": "ada@example.com"}),
    );
    let account = whoami(&mut autodesk, &settings()).unwrap();
    assert_eq!(account.id, "ABC123");
    assert_eq!(account.name, "Ada Machinist");

    autodesk.json(
        PROFILE,
        json!({"userId": "U9", "emailId": "bo@example.com"}),
    );
    let account = whoami(&mut autodesk, &settings()).unwrap();
    assert_eq!(account.id, "U9");
    assert_eq!(account.name, "bo@example.com");
}

#[test]
fn settings_refuse_plain_http() {
    let error = Settings::new("http://example.com", PROFILE, None).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidConfig);
    let settings = Settings::new(&format!("{API}/"), PROFILE, Some(" .NC, tap ,")).unwrap();
    assert_eq!(settings.api_url, API);
    assert_eq!(settings.nc_extensions, ["nc", "tap"]);
}
