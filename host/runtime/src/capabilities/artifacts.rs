//! `artifacts`: where an integration stores what it imports. The runtime checks the grant and
//! the per-call byte cap and hands the artifact to the instance's [`ArtifactLibrary`], which the
//! server implements with the organization's library (validation, storage, version dedupe).

use async_trait::async_trait;
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::bindings::integration::chatter::plugin::artifacts::{self, Artifact};
use crate::capabilities::{require, within_call_cap};
use crate::host_state::HostState;
use crate::manifest::Capability;

/// The organization's library as an integration instance sees it.
#[async_trait]
pub trait ArtifactLibrary: Send + Sync + 'static {
    /// Validates and stores `artifact`, replacing the library's copy of the same item.
    async fn put(&self, artifact: Artifact) -> Result<(), Error>;

    /// Whether the version `source_id` is already in the library.
    async fn contains(&self, source_id: &str) -> bool;
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    artifacts::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl artifacts::Host for HostState {
    async fn put(&mut self, artifact: Artifact) -> Result<(), Error> {
        require(self, Capability::Artifacts)?;
        within_call_cap(self, "an artifact", artifact.content.len())?;
        let Some(library) = self.context.library.clone() else {
            return Err(Error {
                code: ErrorCode::Denied,
                message: format!(
                    "organization `{}` has no library for this plugin; `{}` was not stored",
                    self.identity.org, artifact.source_id
                ),
            });
        };
        library.put(artifact).await
    }

    async fn contains(&mut self, source_id: String) -> bool {
        if require(self, Capability::Artifacts).is_err() {
            return false;
        }
        match self.context.library.clone() {
            Some(library) => library.contains(&source_id).await,
            None => false,
        }
    }
}
