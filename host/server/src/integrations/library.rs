//! What integration plugins import, checked and stored in their organization's library.
//!
//! Plugins parse their provider's files inside the sandbox; the host trusts none of it. Every
//! artifact must be a valid document of its kind (it is deserialized into the library's types),
//! UTF-8, and within size limits, or it is refused with the reason and nothing is stored.

use std::sync::Arc;

use async_trait::async_trait;
use chatter_model::library::{ArtifactKind, CamTemplate, ToolLibrary};
use chatter_model::{Connection, LibraryEntry, OrgId};
use chatter_runtime::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use chatter_runtime::bindings::integration::chatter::plugin::artifacts::Artifact;
use chatter_runtime::capabilities::artifacts::ArtifactLibrary;
use chatter_store::Store;
use sha2::{Digest as _, Sha256};

/// The largest document the library accepts.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;

/// The longest name, location, id or version accepted.
const MAX_FIELD_BYTES: usize = 1024;

/// One connection's view of its organization's library.
pub(crate) struct ConnectionLibrary {
    store: Arc<dyn Store>,
    org: OrgId,
    connection: String,
    provider: String,
}

impl ConnectionLibrary {
    pub(crate) fn new(store: Arc<dyn Store>, connection: &Connection) -> Self {
        ConnectionLibrary {
            store,
            org: connection.org.clone(),
            connection: connection.id.clone(),
            provider: connection.provider.clone(),
        }
    }
}

/// The library id of the provider's `item`: the same for all its versions and whichever of the
/// organization's connections imports it, so connecting again does not duplicate the library.
pub fn entry_id(provider: &str, item: &str) -> String {
    let digest = Sha256::new()
        .chain_update(provider.as_bytes())
        .chain_update([0])
        .chain_update(item.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

/// Checks an artifact and turns it into its library document, or says what is wrong.
pub fn validate(artifact: &Artifact) -> Result<(ArtifactKind, String), String> {
    let kind = ArtifactKind::parse(&artifact.kind).ok_or_else(|| {
        format!(
            "kind `{}` is not one the library holds (tool-library, cam-template, nc-program)",
            artifact.kind
        )
    })?;
    if artifact.media_type != kind.media_type() {
        return Err(format!(
            "a {kind} must have media type `{}`, not `{}`",
            kind.media_type(),
            artifact.media_type
        ));
    }
    for (field, value) in [
        ("source-id", &artifact.source_id),
        ("item-id", &artifact.item_id),
        ("name", &artifact.name),
    ] {
        if value.trim().is_empty() {
            return Err(format!("`{field}` is empty"));
        }
    }
    for (field, value) in [
        ("source-id", &artifact.source_id),
        ("item-id", &artifact.item_id),
        ("name", &artifact.name),
        ("location", &artifact.location),
        ("version", &artifact.version),
    ] {
        if value.len() > MAX_FIELD_BYTES {
            return Err(format!("`{field}` is longer than {MAX_FIELD_BYTES} bytes"));
        }
    }
    if artifact.content.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "the content is larger than {} MiB",
            MAX_DOCUMENT_BYTES >> 20
        ));
    }
    let text = std::str::from_utf8(&artifact.content)
        .map_err(|e| format!("the content is not UTF-8 text ({e})"))?;
    match kind {
        ArtifactKind::ToolLibrary => {
            serde_json::from_str::<ToolLibrary>(text)
                .map_err(|e| format!("the content is not a tool library: {e}"))?;
        }
        ArtifactKind::CamTemplate => {
            serde_json::from_str::<CamTemplate>(text)
                .map_err(|e| format!("the content is not a CAM template: {e}"))?;
        }
        ArtifactKind::NcProgram => {}
    }
    Ok((kind, text.to_owned()))
}

#[async_trait]
impl ArtifactLibrary for ConnectionLibrary {
    async fn put(&self, artifact: Artifact) -> Result<(), Error> {
        let (kind, content) = validate(&artifact).map_err(|reason| Error {
            code: ErrorCode::Denied,
            message: format!("`{}` was not stored: {reason}", artifact.name),
        })?;
        let id = entry_id(&self.provider, &artifact.item_id);
        let name = artifact.name.clone();
        let internal = |e: chatter_store::StoreError| Error {
            code: ErrorCode::Internal,
            message: format!("the library could not store `{name}`: {e}"),
        };
        // A new version keeps the machine its program was linked to.
        let machine = self
            .store
            .library_entry(&self.org, &id)
            .await
            .map_err(internal)?
            .and_then(|previous| previous.machine);
        let entry = LibraryEntry {
            id,
            org: self.org.clone(),
            connection: self.connection.clone(),
            item_id: artifact.item_id,
            source_id: artifact.source_id,
            version: artifact.version,
            kind,
            name: artifact.name,
            location: artifact.location,
            modified_at_ms: artifact.modified / 1_000_000,
            imported_at_ms: chatter_model::now_ms(),
            content,
            machine,
        };
        self.store
            .put_library_entry(&entry)
            .await
            .map_err(internal)?;
        tracing::debug!(entry = %entry.id, kind = %entry.kind, "imported");
        Ok(())
    }

    async fn contains(&self, source_id: &str) -> bool {
        self.store
            .library_has_version(&self.org, &self.connection, source_id)
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(kind: &str, media_type: &str, content: &[u8]) -> Artifact {
        Artifact {
            source_id: "urn:item?version=1".into(),
            item_id: "urn:item".into(),
            version: "v1".into(),
            kind: kind.into(),
            name: "Library.tools".into(),
            location: "Hub / Project".into(),
            modified: 0,
            media_type: media_type.into(),
            content: content.to_vec(),
        }
    }

    const TOOLS: &str =
        r#"{"tools":[{"kind":"drill","unit":"millimeters","geometry":{"diameter":6.0}}]}"#;

    #[test]
    fn valid_documents_are_accepted() {
        let tools = artifact(
            "tool-library",
            ArtifactKind::ToolLibrary.media_type(),
            TOOLS.as_bytes(),
        );
        assert_eq!(
            validate(&tools).unwrap(),
            (ArtifactKind::ToolLibrary, TOOLS.to_owned())
        );
        let program = artifact("nc-program", "text/plain", b"G0 X0\nM30\n");
        assert_eq!(validate(&program).unwrap().0, ArtifactKind::NcProgram);
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let tool_type = ArtifactKind::ToolLibrary.media_type();
        let cases = [
            (
                artifact("macro", tool_type, TOOLS.as_bytes()),
                "kind `macro`",
            ),
            (
                artifact("tool-library", "text/plain", TOOLS.as_bytes()),
                "media type",
            ),
            (
                artifact("tool-library", tool_type, b"{\"tools\": 3}"),
                "not a tool library",
            ),
            (
                artifact("tool-library", tool_type, br#"{"tools":[],"script":"x"}"#),
                "unknown field",
            ),
            (
                artifact(
                    "cam-template",
                    ArtifactKind::CamTemplate.media_type(),
                    TOOLS.as_bytes(),
                ),
                "not a CAM template",
            ),
            (
                artifact("nc-program", "text/plain", &[0xff, 0xfe]),
                "not UTF-8",
            ),
            (
                artifact(
                    "nc-program",
                    "text/plain",
                    &vec![b'G'; MAX_DOCUMENT_BYTES + 1],
                ),
                "larger than",
            ),
            (
                Artifact {
                    item_id: " ".into(),
                    ..artifact("nc-program", "text/plain", b"M30")
                },
                "`item-id` is empty",
            ),
            (
                Artifact {
                    name: "n".repeat(MAX_FIELD_BYTES + 1),
                    ..artifact("nc-program", "text/plain", b"M30")
                },
                "`name` is longer",
            ),
        ];
        for (artifact, expected) in cases {
            let reason = validate(&artifact).unwrap_err();
            assert!(
                reason.contains(expected),
                "{reason:?} should say {expected:?}"
            );
        }
    }

    #[test]
    fn an_item_keeps_its_id_across_versions_and_connections() {
        assert_eq!(
            entry_id("autodesk", "urn:item"),
            entry_id("autodesk", "urn:item")
        );
        assert_ne!(
            entry_id("autodesk", "urn:item"),
            entry_id("autodesk", "urn:other")
        );
        assert_ne!(
            entry_id("autodesk", "urn:item"),
            entry_id("other", "urn:item")
        );
    }
}
