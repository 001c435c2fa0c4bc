//! A stand-in for Autodesk's Data Management API on 127.0.0.1, for testing Chatter's Autodesk
//! integration without Autodesk: hubs, projects, folders, items and versions in the JSON:API
//! shape of the official OpenAPI description (`aps-openapi/datamanagement.yaml` in the shared
//! fixtures), signed S3 downloads, and a userinfo endpoint.
//!
//! It serves HTTPS with a certificate made at start ([`DataManagementServer::ca_pem`]) on two
//! ports, as Autodesk does on two hosts: the API at `https://127.0.0.1:P1`, and signed
//! downloads at `https://localhost:P2`, which need no token. Bearer tokens on API requests are
//! checked, on every request, against the userinfo endpoint of an
//! [`OidcServer`](crate::OidcServer), so that a revoked token fails at once.
//!
//! The content is one hub (`Chatter Test Hub`) with two projects. The first one's top folder
//! `Project Files` holds the subfolder `CAM`, which holds a Fusion tool library
//! (`Amana-Tool-Fusion-Master.tools`, from the shared fixtures), its `tools.json` as a file of
//! its own (`Amana-Tool-Fusion-Master.json`), two CAM templates (fixtures too), an NC program
//! (`O1001.nc`) and a design an importer should pass over (`Bracket.f3d`). Lists come in pages
//! of two unless the client asks for more, so that following `links.next` matters.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// The page size of lists when the request gives no `page[limit]`: small, so that clients
/// must follow `links.next`.
const DEFAULT_PAGE_LIMIT: usize = 2;

/// The largest `page[limit]` accepted, as Autodesk's.
const MAX_PAGE_LIMIT: usize = 200;

/// The OSS bucket every version's object is in.
const BUCKET: &str = "wip.dm.prod";

/// How long a signed download URL is valid, unless the request asks otherwise.
const SIGNED_URL_MINUTES: u64 = 2;

/// When the first versions were last modified: 2025-03-03T09:00:00Z.
const FIRST_MODIFIED: u64 = 1_740_992_400;

/// The NC program the stand-in serves as `O1001.nc`: a facing pass and a pocket.
const NC_PROGRAM: &str = "\
%
O1001 (CHATTER TEST - FACE AND POCKET)
(T1 2IN FACE MILL, T2 1/2IN FLAT END MILL)
G20 G17 G40 G49 G80 G90
G54
T1 M06
S2500 M03
G00 X-1.5 Y0.25
G43 Z1. H01 M08
Z0.1
G01 Z0. F20.
X5.5 F40.
G00 Z1.
T2 M06
S6000 M03
G00 X2. Y1.
G43 Z1. H02
G01 Z-0.25 F10.
G03 X2. Y1. I0.5 J0. F30.
G00 Z1. M09
G28 G91 Z0.
M30
%
";

/// One request as the stand-in saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// `"api"` for the API host, `"download"` for the signed-download host.
    pub host: String,
    /// The path as sent (percent-encoded), without the query.
    pub path: String,
    /// Whether the request carried an `Authorization` header.
    pub had_authorization: bool,
}

/// A running stand-in: two HTTPS listeners on 127.0.0.1, stopped when dropped.
pub struct DataManagementServer {
    state: Arc<Shared>,
    api_port: u16,
    download_port: u16,
    ca_pem: String,
    tasks: Vec<JoinHandle<()>>,
}

impl DataManagementServer {
    /// Whether the fixtures the content comes from are there: `$CHATTER_FIXTURES`, or
    /// `shared/fixtures` beside the workspace.
    pub fn fixtures_available() -> Result<(), String> {
        let dir = default_fixtures_dir();
        let missing: Vec<String> = FIXTURE_FILES
            .iter()
            .map(|(_, path)| dir.join(path))
            .filter(|path| !path.is_file())
            .map(|path| path.display().to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "fixtures missing (set CHATTER_FIXTURES): {}",
                missing.join(", ")
            ))
        }
    }

    /// Starts the stand-in with its content read from the default fixtures folder
    /// (`$CHATTER_FIXTURES`, or `shared/fixtures` beside the workspace). Tokens are checked
    /// against `oidc_userinfo_url` ([`OidcServer::userinfo_url`](crate::OidcServer::userinfo_url)).
    pub async fn start(oidc_userinfo_url: String) -> anyhow::Result<Self> {
        Self::start_with_fixtures(oidc_userinfo_url, &default_fixtures_dir()).await
    }

    /// Starts the stand-in with its content read from the fixtures folder `fixtures`.
    pub async fn start_with_fixtures(
        oidc_userinfo_url: String,
        fixtures: &Path,
    ) -> anyhow::Result<Self> {
        let files = initial_files(fixtures)?;
        let api = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the API listener on 127.0.0.1")?;
        let download = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the download listener on 127.0.0.1")?;
        let api_port = api.local_addr()?.port();
        let download_port = download.local_addr()?.port();
        let (tls, ca_pem) = tls_config()?;
        let state = Arc::new(Shared {
            userinfo_url: oidc_userinfo_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .context("building the HTTP client for userinfo")?,
            api_base: format!("https://127.0.0.1:{api_port}"),
            download_base: format!("https://localhost:{download_port}"),
            content: Mutex::new(Content::new(files)),
            fail_next: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            signed: Mutex::new(HashMap::new()),
        });
        let acceptor = TlsAcceptor::from(tls);
        let tasks = vec![
            tokio::spawn(serve(api, acceptor.clone(), api_router(Arc::clone(&state)))),
            tokio::spawn(serve(
                download,
                acceptor,
                download_router(Arc::clone(&state)),
            )),
        ];
        Ok(DataManagementServer {
            state,
            api_port,
            download_port,
            ca_pem,
            tasks,
        })
    }

    /// `https://127.0.0.1:P1`: the base of every API path.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.api_host())
    }

    /// `127.0.0.1:P1`: the API's host and port.
    pub fn api_host(&self) -> String {
        format!("127.0.0.1:{}", self.api_port)
    }

    /// `localhost:P2`: the signed-download host and port (a host name of its own, as
    /// Autodesk's S3 URLs have).
    pub fn download_host(&self) -> String {
        format!("localhost:{}", self.download_port)
    }

    /// The PEM of the self-signed certificate both hosts present (for `127.0.0.1` and
    /// `localhost`): the one root a client must trust.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Adds a new version with `content` to the item named `file_name`, modified now.
    ///
    /// # Panics
    ///
    /// If there is no item of that name.
    pub fn add_version(&self, file_name: &str, content: Vec<u8>) {
        let mut content_lock = lock(&self.state.content);
        let item = content_lock
            .items
            .iter_mut()
            .find(|item| item.name == file_name)
            .unwrap_or_else(|| panic!("the stand-in has no item named {file_name:?}"));
        let latest = item.versions.last();
        let number = latest.map_or(1, |version| version.number + 1);
        let modified = latest.map_or(FIRST_MODIFIED, |version| version.modified + 1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |now| now.as_secs());
        item.versions.push(Version {
            number,
            object: object_name(&item.name),
            bytes: Arc::new(content),
            modified: modified.max(now),
        });
    }

    /// Makes the next `n` API requests answer 401, whatever their token (as when an access
    /// token expires between two requests). Download requests are not counted.
    pub fn fail_next_with_401(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Every request received so far, on both hosts, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The files served, each item's name and the content of its latest version, in folder
    /// order.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        lock(&self.state.content)
            .items
            .iter()
            .filter_map(|item| {
                let latest = item.versions.last()?;
                Some((item.name.clone(), latest.bytes.to_vec()))
            })
            .collect()
    }

    /// The OSS object name of the latest version of the file called `file_name`, if served.
    pub fn object_of(&self, file_name: &str) -> Option<String> {
        lock(&self.state.content)
            .items
            .iter()
            .find(|item| item.name == file_name)
            .and_then(|item| item.versions.last())
            .map(|version| version.object.clone())
    }
}

impl Drop for DataManagementServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for DataManagementServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataManagementServer")
            .field("api_host", &self.api_host())
            .field("download_host", &self.download_host())
            .finish()
    }
}

/// The fixture files served as they are: each one's name in the stand-in and its path in the
/// fixtures folder.
const FIXTURE_FILES: [(&str, &str); 3] = [
    (
        "Amana-Tool-Fusion-Master.tools",
        "autodesk/fusion-tool-libraries/Amana-Tool-Fusion-Master.tools",
    ),
    (
        "AL_1-16in_1.f3dhsm-template",
        "autodesk/fusion-cam-templates/AL_1-16in_1.f3dhsm-template",
    ),
    (
        "UHMW_3-8in_Tri.f3dhsm-template",
        "autodesk/fusion-cam-templates/UHMW_3-8in_Tri.f3dhsm-template",
    ),
];

/// `$CHATTER_FIXTURES`, or `shared/fixtures` beside the workspace.
fn default_fixtures_dir() -> PathBuf {
    std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || crate::workspace_root().join("../shared/fixtures"),
        PathBuf::from,
    )
}

/// The files of the `CAM` folder, in order: the fixtures, the tool library's `tools.json`,
/// the NC program, and a design.
fn initial_files(fixtures: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for (name, path) in FIXTURE_FILES {
        let path = fixtures.join(path);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "reading the fixture {} (set CHATTER_FIXTURES)",
                path.display()
            )
        })?;
        files.push((name.to_owned(), bytes));
    }
    let tools_json = {
        let (_, library) = &files[0];
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(library.as_slice()))
            .context("the tool library fixture is not a ZIP archive")?;
        let mut entry = archive
            .by_name("tools.json")
            .context("the tool library fixture holds no tools.json")?;
        let mut json = Vec::new();
        entry
            .read_to_end(&mut json)
            .context("unpacking tools.json from the tool library fixture")?;
        json
    };
    files.insert(1, ("Amana-Tool-Fusion-Master.json".to_owned(), tools_json));
    files.push(("O1001.nc".to_owned(), NC_PROGRAM.as_bytes().to_vec()));
    let design: Vec<u8> = b"PK\x03\x04 Bracket design, not a CAM file\n"
        .iter()
        .copied()
        .cycle()
        .take(4096)
        .collect();
    files.push(("Bracket.f3d".to_owned(), design));
    Ok(files)
}

/// A certificate for `127.0.0.1` and `localhost` signed by its own key: the TLS configuration
/// and the certificate's PEM.
fn tls_config() -> anyhow::Result<(Arc<rustls::ServerConfig>, String)> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .context("making the stand-in's certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let chain: Vec<CertificateDer<'static>> = vec![certified.cert.der().clone()];
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("choosing TLS versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("loading the stand-in's certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), certified.cert.pem()))
}

/// Accepts TLS connections on `listener` and serves `app` on each, until aborted; aborting
/// drops the connections too.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(app.clone());
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        }
    }
}

/// What the handlers share.
struct Shared {
    userinfo_url: String,
    http: reqwest::Client,
    /// `https://127.0.0.1:P1`, the base of the links in responses.
    api_base: String,
    /// `https://localhost:P2`, the base of signed URLs.
    download_base: String,
    content: Mutex<Content>,
    fail_next: AtomicUsize,
    requests: Mutex<Vec<RecordedRequest>>,
    /// The signed URLs handed out: signature → object and expiry (Unix seconds).
    signed: Mutex<HashMap<String, (String, u64)>>,
}

/// Locks `mutex`, whether or not a panicking test poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The hub, projects, folders and items.
struct Content {
    hub: Hub,
    projects: Vec<Project>,
    folders: Vec<Folder>,
    items: Vec<Item>,
}

/// The one hub.
struct Hub {
    id: String,
    name: String,
}

/// A project of the hub, with its (hidden) root folder.
struct Project {
    id: String,
    name: String,
    root_folder: String,
}

/// A folder of a project.
struct Folder {
    id: String,
    name: String,
    project: String,
    /// `None` for a top folder.
    parent: Option<String>,
}

/// A file in a folder, with its versions.
struct Item {
    id: String,
    name: String,
    project: String,
    folder: String,
    /// Oldest first.
    versions: Vec<Version>,
}

/// One version of an item: its stored bytes.
struct Version {
    number: u32,
    /// The OSS object's name in [`BUCKET`].
    object: String,
    bytes: Arc<Vec<u8>>,
    /// Unix seconds.
    modified: u64,
}

impl Content {
    /// One hub, two projects, each with a top folder `Project Files`; the first one's has a
    /// `CAM` folder holding `files`.
    fn new(files: Vec<(String, Vec<u8>)>) -> Content {
        let hub = Hub {
            id: "a.Y2hhdHRlci10ZXN0LWh1Yg".to_owned(),
            name: "Chatter Test Hub".to_owned(),
        };
        let projects = vec![
            Project {
                id: "a.cHJvamVjdC1zaG9wLWZsb29y".to_owned(),
                name: "Shop Floor".to_owned(),
                root_folder: "urn:adsk.wipprod:fs.folder:co.root-shop-floor".to_owned(),
            },
            Project {
                id: "a.cHJvamVjdC1maXh0dXJlcw".to_owned(),
                name: "Fixtures".to_owned(),
                root_folder: "urn:adsk.wipprod:fs.folder:co.root-fixtures".to_owned(),
            },
        ];
        let mut folders = Vec::new();
        for (project, slug) in projects.iter().zip(["shop-floor", "fixtures"]) {
            folders.push(Folder {
                id: format!("urn:adsk.wipprod:fs.folder:co.project-files-{slug}"),
                name: "Project Files".to_owned(),
                project: project.id.clone(),
                parent: None,
            });
        }
        let cam = Folder {
            id: "urn:adsk.wipprod:fs.folder:co.cam-shop-floor".to_owned(),
            name: "CAM".to_owned(),
            project: projects[0].id.clone(),
            parent: Some(folders[0].id.clone()),
        };
        let items = files
            .into_iter()
            .zip(0u64..)
            .map(|((name, bytes), index)| Item {
                id: format!("urn:adsk.wipprod:dm.lineage:{}", slug(&name)),
                project: cam.project.clone(),
                folder: cam.id.clone(),
                versions: vec![Version {
                    number: 1,
                    object: object_name(&name),
                    bytes: Arc::new(bytes),
                    modified: FIRST_MODIFIED + 60 * index,
                }],
                name,
            })
            .collect();
        folders.push(cam);
        Content {
            hub,
            projects,
            folders,
            items,
        }
    }

    /// The project `id`.
    fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id)
    }

    /// The folder `id` of `project`.
    fn folder(&self, project: &str, id: &str) -> Option<&Folder> {
        self.folders
            .iter()
            .find(|folder| folder.project == project && folder.id == id)
    }

    /// The version whose OSS object is `object`.
    fn object(&self, object: &str) -> Option<&Version> {
        self.items
            .iter()
            .flat_map(|item| &item.versions)
            .find(|version| version.object == object)
    }
}

/// `name` with everything but ASCII letters and digits turned into `-`, for ids.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A fresh OSS object name, a random UUID-shaped name keeping `file_name`'s extension, as
/// Autodesk's storage gives.
fn object_name(file_name: &str) -> String {
    let hex = random_hex(16);
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, extension)| format!(".{extension}"))
        .unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}{extension}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `bytes` random bytes in lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    // The system's random source only fails on exotic platforms; a test server can then do
    // with less randomness.
    if getrandom::fill(&mut random).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |now| now.as_nanos());
        for (byte, shift) in random.iter_mut().zip((0..128).step_by(8).cycle()) {
            *byte = (nanos >> shift) as u8;
        }
    }
    random.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Percent-encodes `text` for a URL path segment or query value: everything but RFC 3986's
/// unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Unix seconds as RFC 3339 in UTC with milliseconds, as Autodesk writes times
/// (`2016-04-01T11:15:22.000Z`).
fn rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let seconds = unix % 86_400;
    // Days since 1970-01-01 to a civil date, counting in 400-year eras from 0000-03-01.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The MIME type Autodesk would give a file of this name.
fn mime_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("json") => "application/json",
        Some("nc") => "text/plain",
        Some("f3dhsm-template") => "application/xml",
        _ => "application/octet-stream",
    }
}

// ----------------------------------------------------------------------------------------------
// Routes

/// The API host's routes, behind the token check.
fn api_router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/userinfo", get(userinfo))
        .route("/project/v1/hubs", get(hubs))
        .route("/project/v1/hubs/{hub}/projects", get(projects))
        .route(
            "/project/v1/hubs/{hub}/projects/{project}/topFolders",
            get(top_folders),
        )
        .route(
            "/data/v1/projects/{project}/folders/{folder}/contents",
            get(folder_contents),
        )
        .route(
            "/data/v1/projects/{project}/items/{item}/versions",
            get(versions),
        )
        .route(
            "/oss/v2/buckets/{bucket}/objects/{object}/signeds3download",
            get(signed_download),
        )
        .route("/redirect-download/{object}", get(redirect_download))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            check_token,
        ))
        .with_state(state)
}

/// The download host's one route, without a token check.
fn download_router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/signed/{object}", get(download))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            record_download,
        ))
        .with_state(state)
}

/// Records `request` as received by `host`.
fn record(state: &Shared, host: &str, request: &Request) {
    lock(&state.requests).push(RecordedRequest {
        method: request.method().to_string(),
        host: host.to_owned(),
        path: request.uri().path().to_owned(),
        had_authorization: request.headers().contains_key(header::AUTHORIZATION),
    });
}

/// Records a request to the download host.
async fn record_download(
    State(state): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    record(&state, "download", &request);
    next.run(request).await
}

/// An Autodesk authentication error: 401 with `developerMessage` and `errorCode`.
fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({
            "developerMessage": message,
            "moreInfo": "https://aps.autodesk.com/en/docs/oauth/v2/developers_guide/error_handling/",
            "errorCode": "AUTH-001",
        })),
    )
        .into_response()
}

/// The profile of the token's owner, from the OIDC provider's userinfo, put into the request
/// by [`check_token`].
#[derive(Clone)]
struct Profile(Value);

/// Records an API request and lets it through only with a bearer token the OIDC provider's
/// userinfo endpoint accepts now (and when no failure was ordered with
/// [`DataManagementServer::fail_next_with_401`]).
async fn check_token(
    State(state): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    record(&state, "api", &request);
    let ordered_failure = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if ordered_failure {
        return unauthorized("The token is not valid (a failure the test ordered)");
    }
    let Some(token) = bearer(request.headers()) else {
        return unauthorized("The authorization header is missing or is not a bearer token");
    };
    let checked = state
        .http
        .get(&state.userinfo_url)
        .bearer_auth(token)
        .send()
        .await;
    let response = match checked {
        Ok(response) => response,
        Err(error) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "developerMessage": format!("The token could not be checked: {error}"),
                    "errorCode": "AUTH-SERVICE",
                })),
            )
                .into_response();
        }
    };
    if !response.status().is_success() {
        return unauthorized("The token is not valid");
    }
    let Ok(profile) = response.json::<Value>().await else {
        return unauthorized("The token's userinfo could not be read");
    };
    request.extensions_mut().insert(Profile(profile));
    next.run(request).await
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// A JSON:API error, as the Data Management API answers.
fn error(status: StatusCode, code: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "jsonapi": { "version": "1.0" },
            "errors": [{ "status": status.as_u16().to_string(), "code": code, "detail": detail }],
        })),
    )
        .into_response()
}

/// Any path the stand-in does not serve.
async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such resource")
}

/// `GET /userinfo`: the profile of the token's owner.
async fn userinfo(request: Request) -> Response {
    let Some(Profile(profile)) = request.extensions().get::<Profile>().cloned() else {
        return unauthorized("The token is not valid");
    };
    let mut out = serde_json::Map::new();
    for field in [
        "sub",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "email",
        "email_verified",
    ] {
        if let Some(value) = profile.get(field) {
            out.insert(field.to_owned(), value.clone());
        }
    }
    axum::Json(Value::Object(out)).into_response()
}

/// The `page[number]` and `page[limit]` of a list request.
struct Page {
    number: usize,
    limit: usize,
}

impl Page {
    /// Reads the page from the query; the error says what is wrong with it.
    fn from_query(query: &HashMap<String, String>) -> Result<Page, String> {
        let number = |key: &str, default: usize| match query.get(key) {
            None => Ok(default),
            Some(value) => value
                .parse::<usize>()
                .map_err(|_| format!("{key} must be a whole number, not {value:?}")),
        };
        let limit = number("page[limit]", DEFAULT_PAGE_LIMIT)?;
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(format!(
                "page[limit] must be between 1 and {MAX_PAGE_LIMIT}"
            ));
        }
        Ok(Page {
            number: number("page[number]", 0)?,
            limit,
        })
    }
}

/// A JSON:API list document of one page of `entries`, with `self`, `first`, `prev` and `next`
/// links (absolute) on the request's path.
fn list(state: &Shared, uri: &Uri, page: &Page, entries: Vec<Value>) -> Response {
    let total = entries.len();
    let start = page.number.saturating_mul(page.limit).min(total);
    let end = start.saturating_add(page.limit).min(total);
    let href = |number: usize| {
        json!({ "href": format!(
            "{}{}?page%5Bnumber%5D={number}&page%5Blimit%5D={}",
            state.api_base, uri.path(), page.limit
        ) })
    };
    let mut links = serde_json::Map::new();
    links.insert("self".to_owned(), href(page.number));
    links.insert("first".to_owned(), href(0));
    if page.number > 0 {
        links.insert("prev".to_owned(), href(page.number - 1));
    }
    if end < total {
        links.insert("next".to_owned(), href(page.number + 1));
    }
    let data: Vec<Value> = entries.into_iter().skip(start).take(end - start).collect();
    axum::Json(json!({
        "jsonapi": { "version": "1.0" },
        "links": links,
        "data": data,
    }))
    .into_response()
}

/// An object of the form `{"href": base + path}`.
fn link(state: &Shared, path: &str) -> Value {
    json!({ "href": format!("{}{path}", state.api_base) })
}

/// `GET /project/v1/hubs`.
async fn hubs(
    State(state): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let page = match Page::from_query(&query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_INPUT", &message),
    };
    let entries = {
        let content = lock(&state.content);
        let hub = &content.hub;
        vec![json!({
            "type": "hubs",
            "id": hub.id,
            "attributes": {
                "name": hub.name,
                "region": "US",
                "extension": {
                    "type": "hubs:autodesk.core:Hub",
                    "version": "1.0",
                    "schema": link(&state, "/schema/v1/versions/hubs%3Aautodesk.core%3AHub-1.0"),
                    "data": {},
                },
            },
            "links": { "self": link(&state, &format!("/project/v1/hubs/{}", encode(&hub.id))) },
            "relationships": {
                "projects": { "links": { "related": link(
                    &state,
                    &format!("/project/v1/hubs/{}/projects", encode(&hub.id)),
                ) } },
            },
        })]
    };
    list(&state, &uri, &page, entries)
}

/// `GET /project/v1/hubs/{hub}/projects`.
async fn projects(
    State(state): State<Arc<Shared>>,
    UrlPath(hub_id): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let page = match Page::from_query(&query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_INPUT", &message),
    };
    let entries = {
        let content = lock(&state.content);
        if content.hub.id != hub_id {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such hub");
        }
        let hub = encode(&hub_id);
        content
            .projects
            .iter()
            .map(|project| {
                let id = encode(&project.id);
                json!({
                    "type": "projects",
                    "id": project.id,
                    "attributes": {
                        "name": project.name,
                        "scopes": ["global"],
                        "extension": {
                            "type": "projects:autodesk.core:Project",
                            "version": "1.0",
                            "data": {},
                        },
                    },
                    "links": { "self": link(&state, &format!("/project/v1/hubs/{hub}/projects/{id}")) },
                    "relationships": {
                        "hub": {
                            "data": { "type": "hubs", "id": hub_id },
                            "links": { "related": link(&state, &format!("/project/v1/hubs/{hub}")) },
                        },
                        "rootFolder": {
                            "data": { "type": "folders", "id": project.root_folder },
                            "meta": { "link": link(&state, &format!(
                                "/data/v1/projects/{id}/folders/{}", encode(&project.root_folder)
                            )) },
                        },
                        "topFolders": { "links": { "related": link(
                            &state,
                            &format!("/project/v1/hubs/{hub}/projects/{id}/topFolders"),
                        ) } },
                    },
                })
            })
            .collect()
    };
    list(&state, &uri, &page, entries)
}

/// The JSON:API resource of `folder`.
fn folder_resource(state: &Shared, content: &Content, folder: &Folder) -> Value {
    let project = encode(&folder.project);
    let id = encode(&folder.id);
    let object_count = content
        .folders
        .iter()
        .filter(|child| child.parent.as_deref() == Some(folder.id.as_str()))
        .count()
        + content
            .items
            .iter()
            .filter(|item| item.folder == folder.id)
            .count();
    let parent = folder.parent.clone().unwrap_or_else(|| {
        content
            .project(&folder.project)
            .map(|project| project.root_folder.clone())
            .unwrap_or_default()
    });
    json!({
        "type": "folders",
        "id": folder.id,
        "attributes": {
            "name": folder.name,
            "displayName": folder.name,
            "createTime": rfc3339(FIRST_MODIFIED),
            "createUserId": "ADA",
            "createUserName": "Ada Lovelace",
            "lastModifiedTime": rfc3339(FIRST_MODIFIED),
            "lastModifiedUserId": "ADA",
            "lastModifiedUserName": "Ada Lovelace",
            "objectCount": object_count,
            "hidden": false,
            "extension": {
                "type": "folders:autodesk.core:Folder",
                "version": "1.0",
                "data": {},
            },
        },
        "links": { "self": link(state, &format!("/data/v1/projects/{project}/folders/{id}")) },
        "relationships": {
            "parent": { "data": { "type": "folders", "id": parent } },
            "contents": { "links": { "related": link(
                state,
                &format!("/data/v1/projects/{project}/folders/{id}/contents"),
            ) } },
        },
    })
}

/// `GET /project/v1/hubs/{hub}/projects/{project}/topFolders`.
async fn top_folders(
    State(state): State<Arc<Shared>>,
    UrlPath((hub_id, project_id)): UrlPath<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let page = match Page::from_query(&query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_INPUT", &message),
    };
    let entries = {
        let content = lock(&state.content);
        if content.hub.id != hub_id || content.project(&project_id).is_none() {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such project");
        }
        content
            .folders
            .iter()
            .filter(|folder| folder.project == project_id && folder.parent.is_none())
            .map(|folder| folder_resource(&state, &content, folder))
            .collect()
    };
    list(&state, &uri, &page, entries)
}

/// The JSON:API resource of `item`.
fn item_resource(state: &Shared, item: &Item) -> Value {
    let project = encode(&item.project);
    let id = encode(&item.id);
    let created = item.versions.first().map_or(FIRST_MODIFIED, |v| v.modified);
    let modified = item.versions.last().map_or(FIRST_MODIFIED, |v| v.modified);
    let tip = item.versions.last().map_or(1, |v| v.number);
    json!({
        "type": "items",
        "id": item.id,
        "attributes": {
            "displayName": item.name,
            "createTime": rfc3339(created),
            "createUserId": "ADA",
            "createUserName": "Ada Lovelace",
            "lastModifiedTime": rfc3339(modified),
            "lastModifiedUserId": "ADA",
            "lastModifiedUserName": "Ada Lovelace",
            "hidden": false,
            "reserved": false,
            "extension": {
                "type": "items:autodesk.core:File",
                "version": "1.0",
                "data": {},
            },
        },
        "links": { "self": link(state, &format!("/data/v1/projects/{project}/items/{id}")) },
        "relationships": {
            "tip": {
                "data": { "type": "versions", "id": version_id(item, tip) },
                "links": { "related": link(state, &format!("/data/v1/projects/{project}/items/{id}/tip")) },
            },
            "versions": { "links": { "related": link(
                state,
                &format!("/data/v1/projects/{project}/items/{id}/versions"),
            ) } },
            "parent": { "data": { "type": "folders", "id": item.folder } },
        },
    })
}

/// The id of version `number` of `item`: `urn:adsk.wipprod:fs.file:vf.<lineage>?version=N`.
fn version_id(item: &Item, number: u32) -> String {
    let lineage = item
        .id
        .rsplit_once(':')
        .map_or(item.id.as_str(), |(_, lineage)| lineage);
    format!("urn:adsk.wipprod:fs.file:vf.{lineage}?version={number}")
}

/// `GET /data/v1/projects/{project}/folders/{folder}/contents`: subfolders, then items.
async fn folder_contents(
    State(state): State<Arc<Shared>>,
    UrlPath((project_id, folder_id)): UrlPath<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let page = match Page::from_query(&query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_INPUT", &message),
    };
    let entries = {
        let content = lock(&state.content);
        if content.folder(&project_id, &folder_id).is_none() {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such folder");
        }
        let folders = content
            .folders
            .iter()
            .filter(|folder| folder.parent.as_deref() == Some(folder_id.as_str()))
            .map(|folder| folder_resource(&state, &content, folder));
        let items = content
            .items
            .iter()
            .filter(|item| item.folder == folder_id)
            .map(|item| item_resource(&state, item));
        folders.chain(items).collect()
    };
    list(&state, &uri, &page, entries)
}

/// `GET /data/v1/projects/{project}/items/{item}/versions`: newest first.
async fn versions(
    State(state): State<Arc<Shared>>,
    UrlPath((project_id, item_id)): UrlPath<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let page = match Page::from_query(&query) {
        Ok(page) => page,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_INPUT", &message),
    };
    let entries = {
        let content = lock(&state.content);
        let Some(item) = content
            .items
            .iter()
            .find(|item| item.project == project_id && item.id == item_id)
        else {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such item");
        };
        let project = encode(&item.project);
        item.versions
            .iter()
            .rev()
            .map(|version| {
                let id = version_id(item, version.number);
                let storage = format!("urn:adsk.objects:os.object:{BUCKET}/{}", version.object);
                json!({
                    "type": "versions",
                    "id": id,
                    "attributes": {
                        "name": item.name,
                        "displayName": item.name,
                        "createTime": rfc3339(version.modified),
                        "createUserId": "ADA",
                        "createUserName": "Ada Lovelace",
                        "lastModifiedTime": rfc3339(version.modified),
                        "lastModifiedUserId": "ADA",
                        "lastModifiedUserName": "Ada Lovelace",
                        "versionNumber": version.number,
                        "mimeType": mime_type(&item.name),
                        "fileType": item.name.rsplit_once('.').map_or("", |(_, extension)| extension),
                        "storageSize": version.bytes.len(),
                        "extension": {
                            "type": "versions:autodesk.core:File",
                            "version": "1.0",
                            "data": {},
                        },
                    },
                    "links": { "self": link(&state, &format!(
                        "/data/v1/projects/{project}/versions/{}", encode(&id)
                    )) },
                    "relationships": {
                        "item": {
                            "data": { "type": "items", "id": item.id },
                            "links": { "related": link(&state, &format!(
                                "/data/v1/projects/{project}/items/{}", encode(&item.id)
                            )) },
                        },
                        "storage": {
                            "data": { "type": "objects", "id": storage },
                            "meta": { "link": link(&state, &format!(
                                "/oss/v2/buckets/{BUCKET}/objects/{}", encode(&version.object)
                            )) },
                        },
                    },
                })
            })
            .collect()
    };
    list(&state, &uri, &page, entries)
}

/// Signs a download URL for `object`, valid for `minutes`; `None` when there is no such
/// object.
fn sign(state: &Shared, object: &str, minutes: u64) -> Option<(String, usize)> {
    let size = lock(&state.content).object(object)?.bytes.len();
    let signature = random_hex(20);
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| now.as_secs())
        + minutes * 60;
    lock(&state.signed).insert(signature.clone(), (object.to_owned(), expires));
    let url = format!(
        "{}/signed/{}?Signature={signature}&Expires={expires}",
        state.download_base,
        encode(object)
    );
    Some((url, size))
}

/// `GET /oss/v2/buckets/{bucket}/objects/{object}/signeds3download`: a signed URL on the
/// download host (`minutesExpiration` minutes, 2 by default).
async fn signed_download(
    State(state): State<Arc<Shared>>,
    UrlPath((bucket, object)): UrlPath<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if bucket != BUCKET {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such bucket");
    }
    let minutes = match query.get("minutesExpiration").map(|m| m.parse::<u64>()) {
        None => SIGNED_URL_MINUTES,
        Some(Ok(minutes @ 1..=60)) => minutes,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_INPUT",
                "minutesExpiration must be between 1 and 60",
            );
        }
    };
    match sign(&state, &object, minutes) {
        Some((url, size)) => axum::Json(json!({
            "status": "complete",
            "url": url,
            "size": size,
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such object"),
    }
}

/// `GET /redirect-download/{object}`: 302 to a signed URL on the download host, for checking
/// that a client does not carry its token across.
async fn redirect_download(
    State(state): State<Arc<Shared>>,
    UrlPath(object): UrlPath<String>,
) -> Response {
    match sign(&state, &object, SIGNED_URL_MINUTES) {
        Some((url, _)) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such object"),
    }
}

/// An S3-style XML error.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
        .into_response()
}

/// `GET /signed/{object}?Signature=...&Expires=...` on the download host: the bytes, when the
/// signature is one handed out for this object and has not expired.
async fn download(
    State(state): State<Arc<Shared>>,
    UrlPath(object): UrlPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(signature) = query.get("Signature") else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the Signature parameter",
        );
    };
    let issued = lock(&state.signed).get(signature).cloned();
    let Some((signed_object, expires)) = issued else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        );
    };
    if signed_object != object || query.get("Expires") != Some(&expires.to_string()) {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| now.as_secs());
    if now > expires {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let bytes = lock(&state.content)
        .object(&object)
        .map(|version| version.bytes.to_vec());
    match bytes {
        Some(bytes) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(FIRST_MODIFIED), "2025-03-03T09:00:00.000Z");
        assert_eq!(rfc3339(951_825_599), "2000-02-29T11:59:59.000Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn ids_are_percent_encoded() {
        assert_eq!(
            encode("urn:adsk.wipprod:fs.file:vf.x?version=2"),
            "urn%3Aadsk.wipprod%3Afs.file%3Avf.x%3Fversion%3D2"
        );
    }

    #[test]
    fn object_names_keep_the_extension() {
        let name = object_name("AL_1-16in_1.f3dhsm-template");
        assert!(name.ends_with(".f3dhsm-template"), "{name}");
        assert_eq!(name.len(), 36 + ".f3dhsm-template".len());
    }
}
