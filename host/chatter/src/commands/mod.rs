//! The subcommands, one module each.

mod accounts;
mod demo;
mod edge;
mod plugin;
mod replay;
mod serve;
mod vault;

use clap::Subcommand;

/// What `chatter` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a demo shop: simulated machines on an embedded store, live in the browser.
    Demo(demo::DemoArgs),
    /// Run the server with a configuration file.
    Serve(serve::ServeArgs),
    /// Run next to the machines and forward their observations to a central server.
    Edge(edge::EdgeArgs),
    /// Check, install, list, inspect and remove plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Serve recorded machine traffic on a local port: an SHDR adapter, an MTConnect agent or
    /// a Haas MDC port, for developing and testing drivers.
    #[command(subcommand)]
    Replay(replay::ReplayCommand),
    /// Add users to organizations.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Create personal API tokens for scripts.
    #[command(subcommand)]
    Token(accounts::TokenCommand),
    /// Verify the audit log.
    #[command(subcommand)]
    Audit(accounts::AuditCommand),
    /// Create the key that seals integrations' tokens at rest.
    #[command(subcommand)]
    Vault(vault::VaultCommand),
}

impl Command {
    /// Servers log what they do; one-shot commands only warnings.
    pub fn default_log_level(&self) -> &'static str {
        match self {
            Command::Demo(_) | Command::Serve(_) | Command::Edge(_) | Command::Replay(_) => {
                "info,tower_http=warn"
            }
            Command::Plugin(_)
            | Command::User(_)
            | Command::Token(_)
            | Command::Audit(_)
            | Command::Vault(_) => "warn",
        }
    }
}

/// Runs `command` to completion.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Edge(args) => edge::run(args),
        Command::Plugin(command) => plugin::run(command),
        Command::Replay(command) => replay::run(command),
        Command::User(command) => accounts::run_user(command),
        Command::Token(command) => accounts::run_token(command),
        Command::Audit(command) => accounts::run_audit(command),
        Command::Vault(command) => vault::run(command),
    }
}

/// A multi-threaded tokio runtime for the commands that need one.
fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Completes on Ctrl-C (or SIGTERM on Unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
