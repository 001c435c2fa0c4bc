//! `chatter vault`: the key that seals integrations' tokens at rest.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use chatter_server::vault::VaultKey;
use clap::Subcommand;

/// `chatter vault …`
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Write a new random key to a file only its owner can read, for `[vault] key-file`.
    NewKey {
        /// The file to create; an existing file is never overwritten.
        out: PathBuf,
    },
    /// Print the fingerprint of a key file: what sealed tokens name their key by.
    Fingerprint {
        /// The key file.
        key_file: PathBuf,
    },
}

pub fn run(command: VaultCommand) -> anyhow::Result<()> {
    match command {
        VaultCommand::NewKey { out } => new_key(&out),
        VaultCommand::Fingerprint { key_file } => {
            let key = VaultKey::from_file(&key_file)?;
            println!("{}", key.fingerprint());
            Ok(())
        }
    }
}

fn new_key(out: &std::path::Path) -> anyhow::Result<()> {
    let text = VaultKey::generate().context("no randomness for a key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).with_context(|| {
        format!(
            "creating {} (an existing key is never replaced)",
            out.display()
        )
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", out.display()))?;
    let key = VaultKey::parse(&out.display().to_string(), &text)?;
    println!(
        "wrote a new vault key to {} (fingerprint {}); keep a copy: tokens sealed with it cannot be opened without it",
        out.display(),
        key.fingerprint()
    );
    Ok(())
}
