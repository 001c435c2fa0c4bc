//! A plugin on its way in: a component and its manifest ([`PluginPackage`]), and what the
//! runtime makes of it once validated, compiled and pre-instantiated ([`LoadedPlugin`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chatter_model::PluginId;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use crate::bindings::driver::DriverPre;
use crate::component_check::{self, WasmBinary};
use crate::engine::Runtime;
use crate::host_state::HostState;
use crate::manifest::{Manifest, ManifestError, PluginKind};

/// A component file and its manifest, read but not yet validated.
#[derive(Debug, Clone)]
pub struct PluginPackage {
    /// The manifest, already parsed and validated on its own.
    pub manifest: Manifest,
    /// The component's bytes.
    pub wasm: Arc<[u8]>,
    /// Where the component came from, for messages.
    pub wasm_path: PathBuf,
    /// Hex SHA-256 of the component.
    pub sha256: String,
}

impl PluginPackage {
    /// Reads `wasm_path` and its manifest (by default `plugin.toml` in the same folder).
    pub fn read(wasm_path: &Path, manifest_path: Option<&Path>) -> Result<Self, LoadError> {
        let default_manifest = wasm_path.with_file_name("plugin.toml");
        let manifest_path = manifest_path.unwrap_or(&default_manifest);
        let manifest = Manifest::from_file(manifest_path)?;
        let wasm = std::fs::read(wasm_path).map_err(|source| LoadError::Read {
            path: wasm_path.to_owned(),
            source,
        })?;
        Ok(Self::new(manifest, wasm, wasm_path.to_owned()))
    }

    /// A package from bytes; `wasm_path` names the component in messages.
    pub fn new(manifest: Manifest, wasm: Vec<u8>, wasm_path: PathBuf) -> Self {
        let sha256 = hex::encode(Sha256::digest(&wasm));
        PluginPackage {
            manifest,
            wasm: wasm.into(),
            wasm_path,
            sha256,
        }
    }
}

/// A validated, compiled and pre-instantiated plugin, ready to instantiate many times.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Arc<Manifest>,
    /// Hex SHA-256 of its component.
    pub sha256: String,
    /// Whether the compiled code came from the artifact cache.
    pub from_cache: bool,
    pub(crate) pre: KindPre,
}

pub(crate) enum KindPre {
    Driver(DriverPre<HostState>),
    Integration(InstancePre<HostState>),
    Report(InstancePre<HostState>),
}

impl LoadedPlugin {
    /// The plugin's id.
    pub fn id(&self) -> &PluginId {
        &self.manifest.id
    }

    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        self.manifest.kind
    }
}

/// Why a plugin could not be loaded. Every message names the plugin's file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The component file could not be read.
    #[error("{path}: cannot read the component: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not WebAssembly at all.
    #[error("{path}: not a WebAssembly file (it does not start with the `\\0asm` header)")]
    NotWasm {
        /// The file.
        path: PathBuf,
    },
    /// The file is a core module, not a component.
    #[error(
        "{path}: a core WebAssembly module, not a component; build the plugin with \
         `cargo build --target wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule {
        /// The file.
        path: PathBuf,
    },
    /// wasmtime could not compile the component.
    #[error("{path}: plugin `{plugin}` does not compile: {message}")]
    Compile {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// wasmtime's explanation.
        message: String,
    },
    /// The component implements another world than its manifest's kind.
    #[error(
        "{path}: plugin `{plugin}` declares kind = \"{declared}\" in its manifest, but the \
         component implements the `{found}` world"
    )]
    WrongWorld {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The manifest's kind.
        declared: PluginKind,
        /// The world the component implements.
        found: PluginKind,
    },
    /// The component does not export what its kind requires.
    #[error(
        "{path}: plugin `{plugin}` does not export `{export}`, so it is not a {kind} component"
    )]
    MissingExport {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The manifest's kind.
        kind: PluginKind,
        /// The missing export.
        export: String,
    },
    /// The component targets another API version than its manifest says.
    #[error(
        "{path}: plugin `{plugin}` is built against chatter:plugin@{built}, but its manifest \
         says api-version {declared}"
    )]
    ApiVersion {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The version in the component.
        built: String,
        /// The version in the manifest.
        declared: String,
    },
    /// The component imports something its world does not offer.
    #[error("{path}: plugin `{plugin}` imports `{import}`, which the {kind} world does not offer")]
    ForbiddenImport {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The manifest's kind.
        kind: PluginKind,
        /// The import.
        import: String,
    },
    /// The component uses a capability its manifest does not ask for.
    #[error(
        "{path}: plugin `{plugin}` uses the `{capability}` capability but its manifest does not \
         ask for it; add `{capability} = true` under `[capabilities]`"
    )]
    UnrequestedCapability {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The capability.
        capability: crate::manifest::Capability,
    },
    /// The component's imports do not match the world's types.
    #[error("{path}: plugin `{plugin}` does not match the {kind} world: {message}")]
    Incompatible {
        /// The plugin.
        plugin: PluginId,
        /// The file.
        path: PathBuf,
        /// The manifest's kind.
        kind: PluginKind,
        /// wasmtime's explanation.
        message: String,
    },
}

impl Runtime {
    /// Validates `package` (header, world, imports, capabilities), compiles it — or takes its
    /// compiled code from the cache — and pre-instantiates it.
    pub fn load(&self, package: &PluginPackage) -> Result<LoadedPlugin, LoadError> {
        let manifest = &package.manifest;
        let path = &package.wasm_path;
        match component_check::classify(&package.wasm) {
            WasmBinary::Component => {}
            WasmBinary::CoreModule => return Err(LoadError::CoreModule { path: path.clone() }),
            WasmBinary::NotWasm => return Err(LoadError::NotWasm { path: path.clone() }),
        }
        let (component, from_cache) = self.compile(package)?;
        component_check::check_world(&self.engine, &component, manifest, path)?;
        let linker = self.linker(manifest.kind);
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Incompatible {
                plugin: manifest.id.clone(),
                path: path.clone(),
                kind: manifest.kind,
                message: format!("{e:#}"),
            })?;
        let pre = match manifest.kind {
            PluginKind::Driver => {
                KindPre::Driver(DriverPre::new(pre).map_err(|e| LoadError::Incompatible {
                    plugin: manifest.id.clone(),
                    path: path.clone(),
                    kind: manifest.kind,
                    message: format!("{e:#}"),
                })?)
            }
            PluginKind::Integration => KindPre::Integration(pre),
            PluginKind::Report => KindPre::Report(pre),
        };
        Ok(LoadedPlugin {
            manifest: Arc::new(manifest.clone()),
            sha256: package.sha256.clone(),
            from_cache,
            pre,
        })
    }

    fn compile(&self, package: &PluginPackage) -> Result<(Component, bool), LoadError> {
        if let Some(component) = self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, &package.sha256))
        {
            return Ok((component, true));
        }
        let started = Instant::now();
        let component =
            Component::new(&self.engine, &package.wasm).map_err(|e| LoadError::Compile {
                plugin: package.manifest.id.clone(),
                path: package.wasm_path.clone(),
                message: format!("{e:#}"),
            })?;
        tracing::debug!(plugin = %package.manifest.id, elapsed = ?started.elapsed(), "compiled plugin");
        if let Some(cache) = &self.cache
            && let Err(error) = cache.store(&package.sha256, &component)
        {
            tracing::warn!(plugin = %package.manifest.id, %error, "could not cache the compiled plugin");
        }
        Ok((component, false))
    }
}
