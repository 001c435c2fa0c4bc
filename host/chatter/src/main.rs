//! `chatter`: run the server or the demo shop, and manage plugins.
//!
//! Errors are printed as one chain of causes (`error: …: …`) and exit with status 1; no
//! backtraces reach the user.

mod commands;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Chatter — an open platform for CNC machine shops.
#[derive(Debug, Parser)]
#[command(name = "chatter", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.command.default_log_level());
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHATTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
