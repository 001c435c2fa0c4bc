//! The `chatter` command as a user runs it: `plugin check` accepts every plugin of the
//! repository and rejects broken ones with a clear message and a non-zero exit; `plugin add`,
//! `list`, `inspect` and `remove` manage a data folder; `replay` serves a log over TCP and says
//! clearly what is wrong with its arguments.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn chatter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `plugin check` and returns its error output, asserting it failed cleanly.
fn check_fails(component: &Path, manifest: &Path) -> String {
    let output = chatter(&[
        "plugin",
        "check",
        component.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert!(!output.status.success(), "accepted: {}", stdout(&output));
    let error = stderr(&output);
    assert!(
        !error.contains("panicked") && !error.contains("RUST_BACKTRACE"),
        "{error}"
    );
    assert!(
        error.starts_with("error: ") || error.contains("\nerror: "),
        "{error}"
    );
    error.trim_end().to_owned()
}

#[test]
fn check_accepts_every_plugin_and_example() {
    for guest in chatter_guest_builds::ALL {
        let output = chatter(&["plugin", "check", guest.wasm, "--manifest", guest.manifest]);
        assert!(
            output.status.success(),
            "{}: {}",
            guest.name,
            stderr(&output)
        );
        assert!(
            stdout(&output).starts_with(&format!("ok: {} ", guest.name)),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn check_rejects_what_is_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let driver = chatter_guest_builds::guest("hello-driver");
    let manifest = driver.manifest_path();

    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello").unwrap();
    assert!(check_fails(&text, manifest).ends_with(
        "notes.wasm: not a WebAssembly file (it does not start with the `\\0asm` header)"
    ));

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    assert!(
        check_fails(&core, manifest)
            .contains("core.wasm: a core WebAssembly module, not a component")
    );

    let integration = chatter_guest_builds::guest("hello-integration");
    let error = check_fails(integration.wasm_path(), manifest);
    assert!(error.ends_with("plugin `hello-driver` declares kind = \"driver\" in its manifest, but the component implements the `integration` world"), "{error}");
}

#[test]
fn check_rejects_broken_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let driver = chatter_guest_builds::guest("hello-driver");
    let original = std::fs::read_to_string(driver.manifest_path()).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    let missing = write(
        "missing.toml",
        original.replace("author = \"Chatter contributors\"\n", ""),
    );
    assert!(check_fails(driver.wasm_path(), &missing).contains("missing field `author`"));

    let unknown = write(
        "unknown.toml",
        original.clone() + "\n[capabilities]\nshell = true\n",
    );
    assert!(check_fails(driver.wasm_path(), &unknown).ends_with("`capabilities.shell` is not a known capability (known: state, machine-network, authorized-http, artifacts, machine-data)"));

    let wrong_kind = write(
        "kind.toml",
        original.replace("kind = \"driver\"", "kind = \"integration\""),
    );
    let error = check_fails(driver.wasm_path(), &wrong_kind);
    assert!(error.ends_with("plugin `hello-driver` declares kind = \"integration\" in its manifest, but the component implements the `driver` world"), "{error}");
}

#[test]
fn add_list_inspect_and_remove_manage_a_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let driver = chatter_guest_builds::guest("hello-driver");

    let added = chatter(&[
        "plugin",
        "add",
        driver.wasm,
        "--manifest",
        driver.manifest,
        "--data",
        data,
    ]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stdout(&added).starts_with("installed: hello-driver 0.1.0 (driver, chatter:plugin@0.1.0)")
    );

    let listed = chatter(&["plugin", "list", "--data", data]);
    assert!(
        stdout(&listed).contains("hello-driver"),
        "{}",
        stdout(&listed)
    );

    let inspected = chatter(&["plugin", "inspect", "hello-driver", "--data", data]);
    assert!(
        stdout(&inspected).contains("capabilities: none"),
        "{}",
        stdout(&inspected)
    );

    let removed = chatter(&["plugin", "remove", "hello-driver", "--data", data]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let again = chatter(&["plugin", "remove", "hello-driver", "--data", data]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("no plugin `hello-driver` is installed"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_failed_add_installs_nothing() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    let integration = chatter_guest_builds::guest("hello-integration");
    let driver = chatter_guest_builds::guest("hello-driver");
    let failed = chatter(&[
        "plugin",
        "add",
        integration.wasm,
        "--manifest",
        driver.manifest,
        "--data",
        data,
    ]);
    assert!(!failed.status.success());
    let listed = chatter(&["plugin", "list", "--data", data]);
    assert!(
        stdout(&listed).starts_with("no plugins installed"),
        "{}",
        stdout(&listed)
    );
}

#[test]
fn replay_errors_name_the_file_and_print_no_backtrace() {
    let output = chatter(&["replay", "shdr", "/nonexistent/okuma.txt", "--port", "0"]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("/nonexistent/okuma.txt"), "{error}");
    assert!(!error.contains("stack backtrace"), "{error}");

    let output = chatter(&[
        "replay", "shdr", "log.txt", "--port", "0", "--speed", "fast",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("fast"), "{}", stderr(&output));
}

#[test]
fn replay_shdr_serves_a_log_over_tcp() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("adapter.txt");
    std::fs::write(
        &log,
        "2024-01-01T00:00:00Z|execution|ACTIVE\n2024-01-01T00:00:00.5Z|part_count|7\n",
    )
    .unwrap();
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_chatter"))
            .args(["replay", "shdr"])
            .arg(&log)
            .args(["--port", "0", "--speed", "max"])
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Kept open to the end: the replay reports progress on it.
    let mut progress = BufReader::new(server.0.stderr.take().unwrap()).lines();
    let banner = progress
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.starts_with("Replaying"))
        .unwrap();
    let address = banner.rsplit(' ').next().unwrap().to_owned();

    let stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "2024-01-01T00:00:00Z|execution|ACTIVE"
    );
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "2024-01-01T00:00:00.5Z|part_count|7"
    );
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
