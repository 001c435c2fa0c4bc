//! The sync: hubs → projects → top folders → folder contents (recursively) → the newest version
//! of every file the plugin imports, each stored once under its version id; and `whoami`.
//!
//! Failures are per item: a file that cannot be listed, downloaded or parsed, or a project whose
//! folders cannot be listed, is reported in the summary's failures and the sync goes on. Only a
//! failure to list the hubs (the account itself: a revoked grant, Autodesk down) fails the sync.
//!
//! `since` is not used to skip versions: a version that failed in an earlier sync has an older
//! modification time and would never be retried. The library's `contains` is the dedupe, and it
//! is cheap: versions already stored are skipped before anything is downloaded.

use chatter_sdk::{Account, Artifact, Error, SyncSummary, Timestamp};

use crate::dm::{self, Entry, Version};
use crate::download::{self, get_json};
use crate::host::{Library, Transport};
use crate::import::{self, DEFAULT_NC_EXTENSIONS, FileKind};
use crate::time::parse_rfc3339;

/// Deepest folder nesting followed below a project's top folders.
pub const MAX_FOLDER_DEPTH: usize = 16;

/// Where the plugin talks to, and what it imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The Autodesk Platform Services base URL, without a trailing slash.
    pub api_url: String,
    /// The user profile URL answering `whoami`.
    pub userinfo_url: String,
    /// NC program extensions, lowercase, without dots.
    pub nc_extensions: Vec<String>,
}

impl Settings {
    /// Settings from the configuration's values; `nc_extensions` is a comma list (default
    /// [`DEFAULT_NC_EXTENSIONS`]).
    pub fn new(
        api_url: &str,
        userinfo_url: &str,
        nc_extensions: Option<&str>,
    ) -> Result<Settings, Error> {
        for (key, url) in [("api-url", api_url), ("userinfo-url", userinfo_url)] {
            if !url.trim().starts_with("https://") {
                return Err(Error::invalid_config(format!(
                    "config `{key}` must be an https:// URL, not {url:?}"
                )));
            }
        }
        let nc_extensions = nc_extensions
            .unwrap_or(DEFAULT_NC_EXTENSIONS)
            .split(',')
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        Ok(Settings {
            api_url: api_url.trim().trim_end_matches('/').to_owned(),
            userinfo_url: userinfo_url.trim().to_owned(),
            nc_extensions,
        })
    }
}

/// Who the connected account is, from the user profile.
pub fn whoami(transport: &mut dyn Transport, settings: &Settings) -> Result<Account, Error> {
    let profile = get_json(transport, &settings.userinfo_url)?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| profile.get(key)?.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let id = text(&["sub", "userId"])
        .ok_or_else(|| Error::protocol("the user profile has no `sub` or `userId`"))?;
    let name = text(&["name", "preferred_username", "email", "emailId", "userName"])
        .unwrap_or_else(|| id.clone());
    Ok(Account { id, name })
}

/// Imports the newest version of every known file of the account that is not in `library` yet.
pub fn sync(
    transport: &mut dyn Transport,
    library: &mut dyn Library,
    settings: &Settings,
    _since: Option<Timestamp>,
) -> Result<SyncSummary, Error> {
    let mut walk = Walk {
        transport,
        library,
        settings,
        summary: SyncSummary {
            imported: 0,
            skipped: 0,
            failures: Vec::new(),
        },
    };
    let api = &settings.api_url;
    let hubs = dm::list(walk.transport, &format!("{api}/project/v1/hubs"))?;
    for hub in &hubs {
        walk.hub(hub);
    }
    Ok(walk.summary)
}

/// One sync in progress.
struct Walk<'a> {
    transport: &'a mut dyn Transport,
    library: &'a mut dyn Library,
    settings: &'a Settings,
    summary: SyncSummary,
}

impl Walk<'_> {
    fn fail(&mut self, what: String, error: Error) {
        self.summary.failures.push((what, error));
    }

    fn hub(&mut self, hub: &Entry) {
        let url = format!(
            "{}/project/v1/hubs/{}/projects",
            self.settings.api_url, hub.id
        );
        match dm::list(self.transport, &url) {
            Ok(projects) => {
                for project in &projects {
                    self.project(hub, project);
                }
            }
            Err(error) => self.fail(hub.name.clone(), error),
        }
    }

    fn project(&mut self, hub: &Entry, project: &Entry) {
        let location = format!("{} / {}", hub.name, project.name);
        let url = format!(
            "{}/project/v1/hubs/{}/projects/{}/topFolders",
            self.settings.api_url, hub.id, project.id
        );
        match dm::list(self.transport, &url) {
            Ok(folders) => {
                for folder in folders.iter().filter(|f| f.kind == "folders") {
                    self.folder(&project.id, folder, &location, 0);
                }
            }
            Err(error) => self.fail(location, error),
        }
    }

    fn folder(&mut self, project: &str, folder: &Entry, parent: &str, depth: usize) {
        let location = format!("{parent} / {}", folder.name);
        if depth > MAX_FOLDER_DEPTH {
            let error = Error::protocol(format!(
                "folders nested deeper than {MAX_FOLDER_DEPTH} are not imported"
            ));
            return self.fail(location, error);
        }
        let url = format!(
            "{}/data/v1/projects/{project}/folders/{}/contents",
            self.settings.api_url, folder.id
        );
        let contents = match dm::list(self.transport, &url) {
            Ok(contents) => contents,
            Err(error) => return self.fail(location, error),
        };
        for entry in &contents {
            match entry.kind.as_str() {
                "folders" => self.folder(project, entry, &location, depth + 1),
                "items" => {
                    // Other files (designs, drawings, …) are not listed further.
                    let Some(kind) = import::classify(&entry.name, &self.settings.nc_extensions)
                    else {
                        continue;
                    };
                    if let Err(error) = self.item(project, entry, kind, &location) {
                        self.fail(entry.name.clone(), error);
                    }
                }
                _ => {}
            }
        }
    }

    fn item(
        &mut self,
        project: &str,
        item: &Entry,
        kind: FileKind,
        location: &str,
    ) -> Result<(), Error> {
        let api = &self.settings.api_url;
        let versions = format!(
            "{api}/data/v1/projects/{project}/items/{}/versions",
            item.id
        );
        let version = dm::newest_version(self.transport, &versions)?;
        if self.library.contains(&version.id) {
            self.summary.skipped += 1;
            return Ok(());
        }
        let modified = modified(&version)?;
        let storage = version
            .storage
            .as_deref()
            .ok_or_else(|| Error::protocol("the newest version has no stored content"))?;
        let bytes = download::object(self.transport, api, storage)?;
        let document = import::document(kind, bytes)?;
        self.library.put(Artifact {
            source_id: version.id,
            item_id: item.id.clone(),
            version: format!("v{}", version.number),
            kind: document.kind.as_str().to_owned(),
            name: item.name.clone(),
            location: location.to_owned(),
            modified,
            media_type: document.kind.media_type().to_owned(),
            content: document.content,
        })?;
        self.summary.imported += 1;
        Ok(())
    }
}

/// The version's modification time, ns since the epoch.
fn modified(version: &Version) -> Result<Timestamp, Error> {
    let text = version
        .modified
        .as_deref()
        .ok_or_else(|| Error::protocol("the version has no modification time"))?;
    parse_rfc3339(text)
        .ok_or_else(|| Error::protocol(format!("the version's time {text:?} is not RFC 3339")))
}
