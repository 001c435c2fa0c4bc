//! The WebAssembly components built from this workspace: first-party plugins, examples and the
//! runtime's test guests.
//!
//! The build script compiles them with `cargo build --target wasm32-wasip2 --profile guest`, so
//! `cargo run` and `cargo test` always use components built from the current sources. The
//! `chatter` binary embeds the [`BUNDLED`] plugins, so it runs the demo shop on its own.

use std::path::Path;

/// A built guest component, on disk.
#[derive(Debug, Clone, Copy)]
pub struct Guest {
    /// The crate name, e.g. `hello-driver`.
    pub name: &'static str,
    /// The component file.
    pub wasm: &'static str,
    /// The plugin manifest next to the crate.
    pub manifest: &'static str,
}

impl Guest {
    /// The component file.
    pub fn wasm_path(&self) -> &'static Path {
        Path::new(self.wasm)
    }

    /// The manifest file.
    pub fn manifest_path(&self) -> &'static Path {
        Path::new(self.manifest)
    }
}

/// A first-party plugin embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// The crate name, e.g. `simulator`.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// The manifest (`plugin.toml`).
    pub manifest: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The built guest called `name`.
///
/// # Panics
/// When no guest has that name: a typo in a test.
pub fn guest(name: &str) -> Guest {
    match ALL.iter().find(|g| g.name == name) {
        Some(guest) => *guest,
        None => panic!("no guest component called `{name}` is built by chatter-guest-builds"),
    }
}
