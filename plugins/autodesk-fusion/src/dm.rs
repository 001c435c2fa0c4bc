//! Autodesk Data Management documents (JSON:API): lists of hubs, projects, folders, folder
//! contents and item versions, each followed page by page through `links.next`.

use chatter_sdk::Error;
use serde_json::Value;

use crate::download::{get_json, redacted};
use crate::host::Transport;

/// Most pages read from one list, against a server that pages forever.
const MAX_PAGES: usize = 10_000;

/// One resource of a list: its id, its JSON:API `type` and its display name.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The resource id.
    pub id: String,
    /// `hubs`, `projects`, `folders`, `items`, `versions`, …
    pub kind: String,
    /// `attributes.displayName`, else `attributes.name`, else the id.
    pub name: String,
    /// The whole resource, for fields only some kinds have.
    pub resource: Value,
}

/// Every resource of the list at `url`, across its pages.
pub fn list(transport: &mut dyn Transport, url: &str) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(Error::protocol(format!(
                "the list {} has more than {MAX_PAGES} pages",
                redacted(&url)
            )));
        }
        let document = get_json(transport, &url)?;
        let data = document
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Error::protocol(format!(
                    "GET {} answered without a `data` list",
                    redacted(&url)
                ))
            })?;
        entries.extend(data.iter().filter_map(entry));
        next = next_link(&document).filter(|link| *link != url);
    }
    Ok(entries)
}

/// `links.next.href`, or `links.next` when it is a string.
fn next_link(document: &Value) -> Option<String> {
    let next = document.get("links")?.get("next")?;
    let href = match next {
        Value::String(href) => href.as_str(),
        Value::Object(link) => link.get("href")?.as_str()?,
        _ => return None,
    };
    Some(href.trim().to_owned()).filter(|href| !href.is_empty())
}

/// A resource with an id and a type; others are ignored.
fn entry(resource: &Value) -> Option<Entry> {
    let id = resource.get("id")?.as_str()?.to_owned();
    let kind = resource.get("type")?.as_str()?.to_owned();
    let attributes = resource.get("attributes");
    let name = ["displayName", "name"]
        .iter()
        .find_map(|key| attributes?.get(key)?.as_str())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(&id)
        .to_owned();
    Some(Entry {
        id,
        kind,
        name,
        resource: resource.clone(),
    })
}

/// An item's version, as far as an import needs it.
#[derive(Debug, Clone)]
pub struct Version {
    /// The version id: the artifact's source id.
    pub id: String,
    /// `attributes.versionNumber`.
    pub number: u64,
    /// `attributes.lastModifiedTime` (else `createTime`), RFC 3339.
    pub modified: Option<String>,
    /// `relationships.storage.data.id`: where its content is.
    pub storage: Option<String>,
}

impl Version {
    /// The version an entry of a `versions` list describes.
    pub fn of(entry: &Entry) -> Version {
        let attributes = entry.resource.get("attributes");
        let text = |key: &str| attributes?.get(key)?.as_str().map(str::to_owned);
        Version {
            id: entry.id.clone(),
            number: attributes
                .and_then(|a| a.get("versionNumber"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            modified: text("lastModifiedTime").or_else(|| text("createTime")),
            storage: entry
                .resource
                .pointer("/relationships/storage/data/id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// The newest version of the item at `versions_url` (highest version number).
pub fn newest_version(transport: &mut dyn Transport, versions_url: &str) -> Result<Version, Error> {
    list(transport, versions_url)?
        .iter()
        .filter(|entry| entry.kind == "versions")
        .map(Version::of)
        .max_by_key(|version| version.number)
        .ok_or_else(|| Error::protocol("the item has no versions"))
}
