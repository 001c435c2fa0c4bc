//! `chatter serve --config chatter.toml`: the real server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use chatter_runtime::{Manifest, PluginPackage, Runtime};
use chatter_server::ServerConfig;
use chatter_store::SledStore;
use chatter_store::Store as _;
use clap::Args;

/// Arguments of `chatter serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (see examples/chatter.toml).
    #[arg(long, short, default_value = "chatter.toml")]
    config: PathBuf,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServerConfig::from_file(&args.config)?;
    super::tokio_runtime()?.block_on(serve(config))
}

/// Opens the store and the runtime of `config` and serves until Ctrl-C.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    serve_store(config, store, None).await
}

/// Serves `config` with an already opened store; `sign_in` (an address and a password) is
/// printed with the address served.
pub async fn serve_store(
    config: ServerConfig,
    store: Arc<SledStore>,
    sign_in: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let (runtime, listener) = prepare(&config, &store).await?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!(
        "Chatter is serving organization `{}` at {scheme}://{addr}/",
        config.server.organization
    );
    if let Some((email, password)) = sign_in {
        eprintln!("Sign in as {email} with the password {password}");
    }
    chatter_server::serve(&config, runtime, store, listener, super::shutdown_signal()).await
}

/// What serving `config` needs besides the store: the bundled plugins installed, the plugin
/// runtime, and the listening socket. Shared with `chatter edge`, which serves the same way.
pub async fn prepare(
    config: &ServerConfig,
    store: &SledStore,
) -> anyhow::Result<(Arc<Runtime>, tokio::net::TcpListener)> {
    install_bundled(config, store).await?;
    let runtime = Arc::new(Runtime::new(config.runtime_config())?);
    let listener = tokio::net::TcpListener::bind(config.server.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.addr))?;
    Ok((runtime, listener))
}

/// The embedded store in the configured data folder.
pub fn open_store(config: &ServerConfig) -> anyhow::Result<Arc<SledStore>> {
    let path = config.server.data_dir.join("store");
    let store = SledStore::open(&path).with_context(|| {
        format!(
            "cannot open the store (is another chatter using {}?)",
            path.display()
        )
    })?;
    Ok(Arc::new(store))
}

/// Installs the first-party plugins embedded in this binary (the simulator and the drivers for
/// real controllers) that are not installed yet, and replaces an installed one of the same
/// version built differently. Another version the operator installed is left alone.
pub async fn install_bundled(config: &ServerConfig, store: &SledStore) -> anyhow::Result<()> {
    let mut runtime = None;
    for bundled in chatter_guest_builds::BUNDLED {
        let label = PathBuf::from(format!("<bundled>/{}/plugin.toml", bundled.name));
        let manifest = Manifest::parse(bundled.manifest, &label)?;
        let package = PluginPackage::new(
            manifest,
            bundled.wasm.to_vec(),
            label.with_file_name(format!("{}.wasm", bundled.name)),
        );
        let installed = store.plugin(&package.manifest.id).await?;
        let wanted = match &installed {
            None => true,
            Some(p) => {
                p.version == package.manifest.version && p.component_sha256 != package.sha256
            }
        };
        if !wanted {
            continue;
        }
        eprintln!("Installing the bundled `{}` plugin…", bundled.name);
        if runtime.is_none() {
            runtime = Some(Runtime::new(chatter_runtime::RuntimeConfig {
                pooling: false,
                ..config.runtime_config()
            })?);
        }
        if let Some(runtime) = &runtime {
            chatter_server::plugins::install(store, runtime, &package, bundled.manifest).await?;
        }
    }
    Ok(())
}
