//! What an operator does before starting a server the tests call: add its owner and make an
//! API token for scripts, with `chatter user add` and `chatter token create`.

#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The owner's address.
pub const OWNER: &str = "owner@shop.example";

/// Adds the configured organization's owner (the server must be stopped) and returns an owner
/// API token for them.
pub fn owner_token(config: &Path) -> String {
    let mut add = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args([
            "user",
            "add",
            "--email",
            OWNER,
            "--name",
            "Owner",
            "--password-stdin",
            "--config",
        ])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"owner password 1\n")
        .unwrap();
    let added = add.wait_with_output().unwrap();
    assert!(added.status.success(), "user add: {added:?}");
    let created = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(["token", "create", "--email", OWNER, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(created.status.success(), "token create: {created:?}");
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("cht_"), "{token}");
    token
}
