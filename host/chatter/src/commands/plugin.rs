//! `chatter plugin …`: check a plugin, and install, list, inspect or remove plugins in a data
//! folder. Installing validates and compiles first and stores in one durable write, so a failed
//! install leaves nothing behind.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chatter_model::PluginId;
use chatter_runtime::manifest::ConfigField;
use chatter_runtime::{Manifest, PluginPackage, Runtime, RuntimeConfig};
use chatter_server::ServerConfig;
use chatter_store::Store as _;
use clap::{Args, Subcommand};

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate a component and its manifest without installing anything.
    Check {
        /// The component (`.wasm`).
        component: PathBuf,
        /// The manifest (default: `plugin.toml` next to the component).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Validate and install a plugin (replacing an installed one with the same id).
    Add {
        /// The component (`.wasm`).
        component: PathBuf,
        /// The manifest (default: `plugin.toml` next to the component).
        #[arg(long)]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List installed plugins.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Show an installed plugin's manifest, capabilities and limits.
    Inspect {
        /// The plugin's id.
        id: PluginId,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Remove an installed plugin.
    Remove {
        /// The plugin's id.
        id: PluginId,
        /// Remove it even if machines use it (their drivers stop at the next start).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Which installation to work on.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The server's (or an edge's) configuration file; its `[server] data-dir` is used.
    #[arg(long, conflicts_with = "data")]
    config: Option<PathBuf>,
    /// The data folder.
    #[arg(long, default_value = "chatter-data")]
    data: PathBuf,
}

impl DataArgs {
    pub(super) fn server_config(&self) -> anyhow::Result<ServerConfig> {
        match &self.config {
            Some(path) if is_edge_config(path) => {
                Ok(chatter_edge::EdgeConfig::from_file(path)?.server)
            }
            Some(path) => Ok(ServerConfig::from_file(path)?),
            None => {
                let mut config = ServerConfig::default();
                config.server.data_dir = self.data.clone();
                Ok(config)
            }
        }
    }
}

/// Whether the file is an edge's configuration (it has an `[edge]` section).
fn is_edge_config(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.contains_key("edge"))
}

pub fn run(command: PluginCommand) -> anyhow::Result<()> {
    let tokio = super::tokio_runtime()?;
    match command {
        PluginCommand::Check {
            component,
            manifest,
        } => check(&component, manifest.as_deref()),
        PluginCommand::Add {
            component,
            manifest,
            data,
        } => tokio.block_on(add(&component, manifest.as_deref(), &data.server_config()?)),
        PluginCommand::List { data } => tokio.block_on(list(&data.server_config()?)),
        PluginCommand::Inspect { id, data } => tokio.block_on(inspect(&id, &data.server_config()?)),
        PluginCommand::Remove { id, force, data } => {
            tokio.block_on(remove(&id, force, &data.server_config()?))
        }
    }
}

/// A runtime for one-shot commands: no pool to reserve.
fn single_plugin_runtime(config: RuntimeConfig) -> anyhow::Result<Runtime> {
    Ok(Runtime::new(RuntimeConfig {
        pooling: false,
        ..config
    })?)
}

fn check(component: &Path, manifest: Option<&Path>) -> anyhow::Result<()> {
    let package = PluginPackage::read(component, manifest)?;
    let runtime = single_plugin_runtime(RuntimeConfig::default())?;
    eprintln!("Checking {}…", component.display());
    runtime.load(&package)?;
    println!("ok: {}", summary(&package.manifest, &package.sha256));
    Ok(())
}

async fn add(
    component: &Path,
    manifest: Option<&Path>,
    config: &ServerConfig,
) -> anyhow::Result<()> {
    let default_manifest = component.with_file_name("plugin.toml");
    let manifest_path = manifest.unwrap_or(&default_manifest);
    let manifest_text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("{}: cannot read the manifest", manifest_path.display()))?;
    let package = PluginPackage::read(component, Some(manifest_path))?;
    let store = super::serve::open_store(config)?;
    let runtime = single_plugin_runtime(config.runtime_config())?;
    eprintln!("Checking {}…", component.display());
    chatter_server::plugins::install(store.as_ref(), &runtime, &package, &manifest_text).await?;
    println!("installed: {}", summary(&package.manifest, &package.sha256));
    Ok(())
}

async fn list(config: &ServerConfig) -> anyhow::Result<()> {
    let store = super::serve::open_store(config)?;
    let plugins = store.plugins().await?;
    if plugins.is_empty() {
        println!(
            "no plugins installed in {}",
            config.server.data_dir.display()
        );
    }
    for plugin in plugins {
        println!(
            "{:<24} {:<10} {:<12} {}",
            plugin.id, plugin.version, plugin.kind, plugin.description
        );
    }
    Ok(())
}

async fn inspect(id: &PluginId, config: &ServerConfig) -> anyhow::Result<()> {
    let store = super::serve::open_store(config)?;
    let Some(install) = store.plugin(id).await? else {
        bail!(
            "no plugin `{id}` is installed in {}",
            config.server.data_dir.display()
        );
    };
    let manifest = Manifest::parse(&install.manifest_toml, Path::new("<installed manifest>"))?;
    println!("{}", summary(&manifest, &install.component_sha256));
    println!("installed at (ms since epoch): {}", install.installed_at_ms);
    Ok(())
}

async fn remove(id: &PluginId, force: bool, config: &ServerConfig) -> anyhow::Result<()> {
    let store = super::serve::open_store(config)?;
    let mut users = Vec::new();
    for org in store.organizations().await? {
        for machine in store.machines(&org.id).await? {
            if &machine.driver == id {
                users.push(format!("{}/{}", org.id, machine.id));
            }
        }
    }
    if !users.is_empty() && !force {
        bail!(
            "plugin `{id}` drives {} (use --force to remove it anyway)",
            users.join(", ")
        );
    }
    if !chatter_server::plugins::remove(store.as_ref(), id).await? {
        bail!(
            "no plugin `{id}` is installed in {}",
            config.server.data_dir.display()
        );
    }
    println!("removed `{id}`");
    Ok(())
}

/// A multi-line description of a plugin: identity, capabilities, limits, configuration.
fn summary(manifest: &Manifest, sha256: &str) -> String {
    let mut text = format!(
        "{} {} ({}, chatter:plugin@{})\n  {}\n  author: {}, license: {}\n  sha256: {sha256}\n",
        manifest.id,
        manifest.version,
        manifest.kind,
        manifest.api_version,
        manifest.description,
        manifest.author,
        manifest.license,
    );
    let capabilities: Vec<&str> = manifest.capabilities.keys().map(|c| c.as_str()).collect();
    let capabilities = if capabilities.is_empty() {
        "none".to_owned()
    } else {
        capabilities.join(", ")
    };
    let _ = writeln!(text, "  capabilities: {capabilities}");
    let limits = &manifest.limits;
    let describe = |value: Option<String>| value.unwrap_or_else(|| "host default".into());
    let _ = writeln!(
        text,
        "  limits: memory {}, call timeout {}, fuel {}, per-call data {}",
        describe(limits.memory_mib.map(|m| format!("{m} MiB"))),
        describe(limits.call_timeout_ms.map(|t| format!("{t} ms"))),
        describe(limits.fuel.map(|f| f.to_string())),
        describe(limits.host_call_kib.map(|k| format!("{k} KiB"))),
    );
    for (key, field) in &manifest.config {
        let _ = writeln!(text, "  config {key}: {}", config_line(field));
    }
    text.trim_end().to_owned()
}

fn config_line(field: &ConfigField) -> String {
    let default = match &field.default {
        Some(value) => format!(", default {value}"),
        None if field.required => ", required".into(),
        None => String::new(),
    };
    format!("{}{default} — {}", field.kind, field.description)
}
