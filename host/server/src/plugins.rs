//! Installing, loading and removing plugins: what `chatter plugin add/remove` and the server
//! share. An install validates and compiles the plugin first, then stores the component and its
//! record in one durable write, so a failed install leaves nothing behind.

use std::path::PathBuf;
use std::sync::Arc;

use chatter_model::PluginId;
use chatter_model::audit::AuditEntry;
use chatter_runtime::{LoadError, LoadedPlugin, Manifest, ManifestError, PluginPackage, Runtime};
use chatter_store::{PluginInstall, Store, StoreError};

/// Why a plugin could not be installed or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The plugin is invalid.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A stored manifest no longer parses (e.g. after a downgrade of the host).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// No plugin with that id is installed.
    #[error("no plugin `{0}` is installed")]
    NotInstalled(PluginId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates, compiles and durably installs `package`, replacing an installed plugin with the
/// same id. The manifest text is kept verbatim.
pub async fn install(
    store: &dyn Store,
    runtime: &Runtime,
    package: &PluginPackage,
    manifest_text: &str,
) -> Result<(PluginInstall, Arc<LoadedPlugin>), PluginError> {
    let loaded = Arc::new(runtime.load(package)?);
    let manifest = &package.manifest;
    let install = PluginInstall {
        id: manifest.id.clone(),
        version: manifest.version.clone(),
        kind: manifest.kind.to_string(),
        api_version: manifest.api_version.clone(),
        description: manifest.description.clone(),
        component_sha256: package.sha256.clone(),
        manifest_toml: manifest_text.to_owned(),
        installed_at_ms: chatter_model::now_ms(),
    };
    let previous = store.plugin(&install.id).await?;
    store.put_plugin(&install, &package.wasm).await?;
    // Installing the same component again (as every start does for the bundled plugins) is
    // not a change worth recording.
    if previous.is_none_or(|previous| previous.component_sha256 != install.component_sha256) {
        record(store, "plugin.install", &install).await?;
        tracing::info!(plugin = %install.id, version = %install.version, "plugin installed");
    }
    Ok((install, loaded))
}

/// Uninstalls a plugin and records it in the audit log. Returns whether it was installed.
pub async fn remove(store: &dyn Store, id: &PluginId) -> Result<bool, PluginError> {
    let Some(install) = store.plugin(id).await? else {
        return Ok(false);
    };
    store.remove_plugin(id).await?;
    record(store, "plugin.remove", &install).await?;
    Ok(true)
}

/// Plugins belong to the installation: their audit records name no organization.
async fn record(
    store: &dyn Store,
    action: &str,
    install: &PluginInstall,
) -> Result<(), StoreError> {
    store
        .append_audit(AuditEntry {
            at_ms: chatter_model::now_ms(),
            action: action.to_owned(),
            org: None,
            actor: None,
            subject: None,
            ip: None,
            details: vec![
                ("plugin".to_owned(), install.id.to_string()),
                ("sha256".to_owned(), install.component_sha256.clone()),
                ("version".to_owned(), install.version.clone()),
            ],
        })
        .await?;
    Ok(())
}

/// Loads an installed plugin from the store.
pub async fn load_installed(
    store: &dyn Store,
    runtime: &Runtime,
    id: &PluginId,
) -> Result<Arc<LoadedPlugin>, PluginError> {
    let install = store
        .plugin(id)
        .await?
        .ok_or_else(|| PluginError::NotInstalled(id.clone()))?;
    let wasm = store
        .plugin_component(id)
        .await?
        .ok_or_else(|| PluginError::NotInstalled(id.clone()))?;
    let label = PathBuf::from(format!("<installed>/{id}/plugin.toml"));
    let manifest = Manifest::parse(&install.manifest_toml, &label)?;
    let package = PluginPackage::new(manifest, wasm, label.with_file_name("component.wasm"));
    Ok(Arc::new(runtime.load(&package)?))
}
