//! Plugin installs and their components, stored once per distinct SHA-256.

use chatter_model::PluginId;
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionResult, TransactionalTree};

use super::{SledStore, abort_on, read_count};
use crate::codec;
use crate::error::StoreError;
use crate::keys::{self, tree};
use crate::store::PluginInstall;

impl SledStore {
    /// Stores the install record and its component in one transaction; not yet durable.
    pub(super) fn install_plugin(
        &self,
        install: &PluginInstall,
        component: &[u8],
    ) -> Result<(), StoreError> {
        let digest = hex::encode(Sha256::digest(component));
        if digest != install.component_sha256 {
            return Err(StoreError::ComponentDigestMismatch {
                plugin: install.id.clone(),
                declared: install.component_sha256.clone(),
                actual: digest,
            });
        }
        let record = codec::to_json("a plugin install", install)?;
        let key = keys::plugin(&install.id);
        let trees = &self.trees;
        (
            &trees.plugins.tree,
            &trees.components.tree,
            &trees.component_refs.tree,
        )
            .transaction(|(plugins, components, refs)| {
                let previous = plugins.insert(key.as_slice(), record.as_slice())?;
                let previous = match previous {
                    Some(bytes) => Some(abort_on(decode_install(&key, &bytes))?.component_sha256),
                    None => None,
                };
                if previous.as_deref() != Some(digest.as_str()) {
                    add_reference(components, refs, &digest, component)?;
                    if let Some(previous) = previous {
                        drop_reference(components, refs, &previous)?;
                    }
                }
                Ok(())
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || format!("installing plugin `{}`", install.id))
            })?;
        tracing::info!(plugin = %install.id, version = %install.version, "installed plugin");
        Ok(())
    }

    /// Removes the install record, and the component if nothing else references it.
    pub(super) fn uninstall_plugin(&self, plugin: &PluginId) -> Result<bool, StoreError> {
        let key = keys::plugin(plugin);
        let trees = &self.trees;
        let existed = (
            &trees.plugins.tree,
            &trees.components.tree,
            &trees.component_refs.tree,
        )
            .transaction(|(plugins, components, refs)| {
                let Some(bytes) = plugins.remove(key.as_slice())? else {
                    return Ok(false);
                };
                let install = abort_on(decode_install(&key, &bytes))?;
                drop_reference(components, refs, &install.component_sha256)?;
                Ok(true)
            })
            .map_err(|e| {
                StoreError::from_transaction(e, || format!("removing plugin `{plugin}`"))
            })?;
        if existed {
            tracing::info!(%plugin, "removed plugin");
        }
        Ok(existed)
    }

    /// Reads the record and the component it names together, so a concurrent replacement
    /// cannot remove the component between the two reads.
    pub(super) fn read_component(&self, plugin: &PluginId) -> Result<Option<Vec<u8>>, StoreError> {
        let key = keys::plugin(plugin);
        let trees = &self.trees;
        (&trees.plugins.tree, &trees.components.tree)
            .transaction(|(plugins, components)| {
                let Some(bytes) = plugins.get(key.as_slice())? else {
                    return Ok(None);
                };
                let install = abort_on(decode_install(&key, &bytes))?;
                let digest = install.component_sha256;
                match components.get(digest.as_bytes())? {
                    Some(component) => Ok(Some(component.to_vec())),
                    None => abort_on(Err(StoreError::MissingComponent {
                        plugin: plugin.clone(),
                        sha256: digest,
                    })),
                }
            })
            .map_err(|e| StoreError::from_transaction(e, || format!("reading plugin `{plugin}`")))
    }
}

fn decode_install(key: &[u8], bytes: &[u8]) -> Result<PluginInstall, StoreError> {
    codec::from_json(tree::PLUGINS, key, bytes)
}

fn add_reference(
    components: &TransactionalTree,
    refs: &TransactionalTree,
    digest: &str,
    component: &[u8],
) -> ConflictableTransactionResult<(), StoreError> {
    let count = read_count(refs, tree::COMPONENT_REFS, digest.as_bytes())?;
    if count == 0 {
        components.insert(digest.as_bytes(), component)?;
    }
    refs.insert(digest.as_bytes(), &count.saturating_add(1).to_be_bytes())?;
    Ok(())
}

fn drop_reference(
    components: &TransactionalTree,
    refs: &TransactionalTree,
    digest: &str,
) -> ConflictableTransactionResult<(), StoreError> {
    let count = read_count(refs, tree::COMPONENT_REFS, digest.as_bytes())?;
    if count <= 1 {
        components.remove(digest.as_bytes())?;
        refs.remove(digest.as_bytes())?;
    } else {
        refs.insert(digest.as_bytes(), &(count - 1).to_be_bytes())?;
    }
    Ok(())
}
