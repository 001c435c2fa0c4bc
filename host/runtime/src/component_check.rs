//! Static checks of a component against its manifest, before anything runs: is it a
//! component at all, which world does it implement, for which API version, and does it import
//! only what its world offers and its manifest asks for.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::manifest::{Capability, Manifest, PluginKind};
use crate::package::LoadError;

const PACKAGE: &str = "chatter:plugin";

/// What a file's header says it is.
pub(crate) enum WasmBinary {
    Component,
    CoreModule,
    NotWasm,
}

/// Reads the 8-byte header: magic `\0asm`, then version 1 for core modules or the component
/// layer encoding.
pub(crate) fn classify(bytes: &[u8]) -> WasmBinary {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => WasmBinary::CoreModule,
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => WasmBinary::Component,
        _ => WasmBinary::NotWasm,
    }
}

/// The interface a world exports.
fn export_of(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Driver => "machine-driver",
        PluginKind::Integration => "integration-sync",
        PluginKind::Report => "report-generator",
    }
}

/// The `chatter:plugin` interfaces a world imports, with the capability each needs.
fn imports_of(kind: PluginKind) -> &'static [(&'static str, Option<Capability>)] {
    const COMMON: [(&str, Option<Capability>); 4] = [
        ("types", None),
        ("log", None),
        ("diagnostics", None),
        ("config", None),
    ];
    match kind {
        PluginKind::Driver => &[
            COMMON[0],
            COMMON[1],
            COMMON[2],
            COMMON[3],
            ("state", Some(Capability::State)),
            ("machine-network", Some(Capability::MachineNetwork)),
        ],
        PluginKind::Integration => &[
            COMMON[0],
            COMMON[1],
            COMMON[2],
            COMMON[3],
            ("state", Some(Capability::State)),
            ("authorized-http", Some(Capability::AuthorizedHttp)),
            ("artifacts", Some(Capability::Artifacts)),
        ],
        PluginKind::Report => &[
            COMMON[0],
            COMMON[1],
            COMMON[2],
            COMMON[3],
            ("machine-data", Some(Capability::MachineData)),
            // Where every report's output goes: no grant needed.
            ("report-output", None),
        ],
    }
}

/// Splits `chatter:plugin/machine-driver@0.1.0` into (`machine-driver`, `0.1.0`).
fn chatter_interface(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').unwrap_or((rest, "")))
}

pub(crate) fn check_world(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
    path: &Path,
) -> Result<(), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    check_exports(&exports, manifest, path)?;
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    check_imports(&imports, manifest, path)
}

fn check_exports(exports: &[String], manifest: &Manifest, path: &Path) -> Result<(), LoadError> {
    let wanted = export_of(manifest.kind);
    let found = exports.iter().filter_map(|name| chatter_interface(name));
    for (interface, version) in found {
        if interface == wanted {
            if version != manifest.api_version {
                return Err(LoadError::ApiVersion {
                    plugin: manifest.id.clone(),
                    path: path.to_owned(),
                    built: version.to_owned(),
                    declared: manifest.api_version.clone(),
                });
            }
            return Ok(());
        }
        if let Some(other) = PluginKind::ALL
            .into_iter()
            .find(|k| export_of(*k) == interface)
        {
            return Err(LoadError::WrongWorld {
                plugin: manifest.id.clone(),
                path: path.to_owned(),
                declared: manifest.kind,
                found: other,
            });
        }
    }
    Err(LoadError::MissingExport {
        plugin: manifest.id.clone(),
        path: path.to_owned(),
        kind: manifest.kind,
        export: format!("{PACKAGE}/{wanted}@{}", manifest.api_version),
    })
}

fn check_imports(imports: &[String], manifest: &Manifest, path: &Path) -> Result<(), LoadError> {
    let offered = imports_of(manifest.kind);
    for import in imports {
        if import.starts_with("wasi:") {
            // Linked with an empty context; the linker rejects anything outside WASI 0.2.
            continue;
        }
        let forbidden = || LoadError::ForbiddenImport {
            plugin: manifest.id.clone(),
            path: path.to_owned(),
            kind: manifest.kind,
            import: import.clone(),
        };
        let (interface, _) = chatter_interface(import).ok_or_else(forbidden)?;
        let (_, capability) = offered
            .iter()
            .find(|(name, _)| *name == interface)
            .ok_or_else(forbidden)?;
        if let Some(capability) = capability
            && !manifest.requests(*capability)
        {
            return Err(LoadError::UnrequestedCapability {
                plugin: manifest.id.clone(),
                path: path.to_owned(),
                capability: *capability,
            });
        }
    }
    Ok(())
}
