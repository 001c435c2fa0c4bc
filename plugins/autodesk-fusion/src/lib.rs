//! Chatter's Autodesk Fusion integration: imports the tool libraries, CAM templates and NC
//! programs of a Fusion account into the organization's library.
//!
//! A sync walks the account's Data Management tree (hubs → projects → folders → items) through
//! the host's authorized HTTP, takes the newest version of every file it knows, parses it with
//! [`chatter_fusion`] inside the sandbox and stores the normalized document. Each version is
//! imported once: its id is the artifact's source id. The plugin never sees a token; the host
//! attaches one to requests for Autodesk's API hosts only.
//!
//! - [`host`]: what a sync needs from the host ([`Transport`], [`Library`]), so the whole walk
//!   runs natively in tests against an in-memory fake;
//! - `download`: GETs with manual redirects, status checks and OSS signed downloads;
//! - `dm`: the Data Management (JSON:API) documents, paged;
//! - `import`: which files are imported and how they become artifacts;
//! - [`walk`]: the sync itself, and `whoami`;
//! - `time`: RFC 3339 timestamps.

pub mod host;
pub mod walk;

mod dm;
mod download;
mod import;
mod time;

use chatter_sdk::{Account, Error, Integration, SyncSummary, Timestamp, config};

pub use host::{Library, Transport};
pub use walk::{Settings, sync, whoami};

/// The integration the host calls.
struct Fusion;

impl Integration for Fusion {
    fn whoami() -> Result<Account, Error> {
        whoami(&mut host::Sdk, &settings()?)
    }

    fn sync(since: Option<Timestamp>) -> Result<SyncSummary, Error> {
        sync(&mut host::Sdk, &mut host::Sdk, &settings()?, since)
    }
}

/// The settings from the plugin's configuration.
fn settings() -> Result<Settings, Error> {
    let required = |key: &str| {
        config::get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::invalid_config(format!("config `{key}` is not set")))
    };
    Settings::new(
        &required("api-url")?,
        &required("userinfo-url")?,
        config::get("nc-extensions").as_deref(),
    )
}

chatter_sdk::export_integration!(Fusion);
