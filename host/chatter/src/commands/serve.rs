//! `chatter serve --config chatter.toml`: the real server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use chatter_runtime::Runtime;
use chatter_server::ServerConfig;
use chatter_store::SledStore;
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
    serve_store(config, store).await
}

/// Serves `config` with an already opened store.
pub async fn serve_store(config: ServerConfig, store: Arc<SledStore>) -> anyhow::Result<()> {
    let runtime = Arc::new(Runtime::new(config.runtime_config())?);
    let listener = tokio::net::TcpListener::bind(config.server.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.addr))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "Chatter is serving organization `{}` at http://{addr}/",
        config.server.organization
    );
    chatter_server::serve(&config, runtime, store, listener, super::shutdown_signal()).await
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
