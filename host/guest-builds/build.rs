//! Compiles every guest crate of the workspace to a WebAssembly component and writes
//! `guests.rs` into OUT_DIR describing where each one landed.
//!
//! The guests are built by a nested `cargo` with its own target folder (`target/guests`), because
//! the outer cargo holds the lock on the main one.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A guest crate: its package name, its folder, and whether the `chatter` binary embeds it.
struct Guest {
    package: &'static str,
    dir: &'static str,
    bundled: bool,
}

const GUESTS: &[Guest] = &[
    Guest {
        package: "simulator",
        dir: "plugins/simulator",
        bundled: true,
    },
    Guest {
        package: "shdr",
        dir: "plugins/shdr",
        bundled: true,
    },
    Guest {
        package: "mtconnect",
        dir: "plugins/mtconnect",
        bundled: true,
    },
    Guest {
        package: "haas-mdc",
        dir: "plugins/haas-mdc",
        bundled: true,
    },
    Guest {
        package: "autodesk-fusion",
        dir: "plugins/autodesk-fusion",
        bundled: true,
    },
    Guest {
        package: "utilization",
        dir: "plugins/utilization",
        bundled: true,
    },
    Guest {
        package: "oee",
        dir: "plugins/oee",
        bundled: true,
    },
    Guest {
        package: "downtime",
        dir: "plugins/downtime",
        bundled: true,
    },
    Guest {
        package: "hello-driver",
        dir: "examples/hello-driver",
        bundled: false,
    },
    Guest {
        package: "hello-integration",
        dir: "examples/hello-integration",
        bundled: false,
    },
    Guest {
        package: "hello-report",
        dir: "examples/hello-report",
        bundled: false,
    },
    Guest {
        package: "hostile-driver",
        dir: "host/runtime/tests/guests/hostile-driver",
        bundled: false,
    },
    Guest {
        package: "hostile-report",
        dir: "host/runtime/tests/guests/hostile-report",
        bundled: false,
    },
    Guest {
        package: "bench-driver",
        dir: "host/runtime/benches/guests/bench-driver",
        bundled: false,
    },
];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("workspace root exists");
    let target_dir = root.join("target/guests");

    for watched in [
        "wit",
        "sdk/rust/src",
        "sdk/rust/Cargo.toml",
        "sdk/report-kit/src",
        "sdk/report-kit/Cargo.toml",
        "protocols",
        ".cargo/config.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    for guest in GUESTS {
        for watched in ["src", "Cargo.toml", "plugin.toml"] {
            println!(
                "cargo:rerun-if-changed={}",
                root.join(guest.dir).join(watched).display()
            );
        }
    }

    ensure_target_installed();
    build_guests(&root, &target_dir);

    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("guests.rs");
    fs::write(&out, describe(&root, &target_dir)).expect("OUT_DIR is writable");
}

fn ensure_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map(|o| o.stdout);
    let installed = sysroot
        .ok()
        .map(|s| PathBuf::from(String::from_utf8_lossy(&s).trim()))
        .is_some_and(|sysroot| sysroot.join("lib/rustlib").join(TARGET).exists());
    if !installed {
        panic!(
            "\n\nChatter's plugins are WebAssembly components, and the Rust target `{TARGET}` is \
             not installed.\nInstall it once with:\n\n    rustup target add {TARGET}\n\n"
        );
    }
}

fn build_guests(root: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    for guest in GUESTS {
        command.args(["-p", guest.package]);
    }
    // Flags meant for the host build must not leak into the guests' build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .expect("cargo can be run from a build script");
    if !output.status.success() {
        panic!(
            "\n\nbuilding the guest components failed:\n{}\n",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn describe(root: &Path, target_dir: &Path) -> String {
    let mut src = String::from(
        "/// Every guest component built from this workspace.\npub const ALL: &[Guest] = &[\n",
    );
    for guest in GUESTS {
        let wasm = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", guest.package.replace('-', "_")));
        let manifest = root.join(guest.dir).join("plugin.toml");
        let _ = writeln!(
            src,
            "    Guest {{ name: {name:?}, wasm: {wasm:?}, manifest: {manifest:?} }},",
            name = guest.package,
            wasm = wasm.display().to_string(),
            manifest = manifest.display().to_string(),
        );
    }
    src.push_str("];\n\n/// The first-party plugins embedded in the `chatter` binary.\npub const BUNDLED: &[Bundled] = &[\n");
    for guest in GUESTS.iter().filter(|g| g.bundled) {
        let wasm = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", guest.package.replace('-', "_")));
        let manifest = root.join(guest.dir).join("plugin.toml");
        let _ = writeln!(
            src,
            "    Bundled {{ name: {name:?}, wasm: include_bytes!({wasm:?}), manifest: include_str!({manifest:?}) }},",
            name = guest.package,
            wasm = wasm.display().to_string(),
            manifest = manifest.display().to_string(),
        );
    }
    src.push_str("];\n");
    src
}
