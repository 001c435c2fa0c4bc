//! The stylesheet and the pages' scripts, compiled into the binary. Pages link them with
//! their content's hash as `?v=`, so browsers may keep them for good and still get a new
//! version when it changes.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use sha2::{Digest as _, Sha256};

const STYLESHEET: &str = include_str!("../../assets/app.css");
const DASHBOARD_SCRIPT: &str = include_str!("../../assets/dashboard.js");
const SETUP_SCRIPT: &str = include_str!("../../assets/setup.js");
const MACHINE_SCRIPT: &str = include_str!("../../assets/machine.js");
/// A year: assets are addressed by version.
const CACHE: &str = "public, max-age=31536000, immutable";

/// The assets' version: the start of the hash of their content.
pub(crate) fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        let mut hasher = Sha256::new();
        hasher.update(STYLESHEET.as_bytes());
        hasher.update(DASHBOARD_SCRIPT.as_bytes());
        hasher.update(SETUP_SCRIPT.as_bytes());
        hasher.update(MACHINE_SCRIPT.as_bytes());
        hex::encode(hasher.finalize())[..12].to_owned()
    });
    VERSION.as_str()
}

/// `GET /assets/app.css`.
pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLESHEET,
    )
}

/// `GET /assets/dashboard.js`.
pub(crate) async fn dashboard_script() -> impl IntoResponse {
    script(DASHBOARD_SCRIPT)
}

/// `GET /assets/setup.js`.
pub(crate) async fn setup_script() -> impl IntoResponse {
    script(SETUP_SCRIPT)
}

/// `GET /assets/machine.js`.
pub(crate) async fn machine_script() -> impl IntoResponse {
    script(MACHINE_SCRIPT)
}

fn script(source: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        source,
    )
}
