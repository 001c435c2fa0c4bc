//! `Runtime::load` accepts every plugin and example of the repository and rejects broken ones
//! with a message naming the plugin, the file and what is wrong.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use chatter_runtime::{Manifest, PluginPackage, Runtime, RuntimeConfig};

fn load_error(package: &PluginPackage) -> String {
    match common::runtime().load(package) {
        Ok(_) => panic!("{} was accepted", package.wasm_path.display()),
        Err(error) => error.to_string(),
    }
}

fn manifest(text: &str) -> Manifest {
    Manifest::parse(text, Path::new("plugin.toml")).unwrap()
}

const DRIVER_MANIFEST: &str = r#"
[plugin]
id = "odd"
version = "1.0.0"
kind = "driver"
api-version = "0.1.0"
description = "odd"
author = "me"
license = "MIT"
"#;

#[test]
fn every_repository_plugin_and_example_loads() {
    let runtime = common::runtime();
    for guest in chatter_guest_builds::ALL {
        let package = common::package(guest.name);
        let loaded = runtime.load(&package);
        assert!(
            loaded.is_ok(),
            "{}: {}",
            guest.name,
            loaded.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let package = PluginPackage::new(
        manifest(DRIVER_MANIFEST),
        b"#!/bin/sh\necho hi\n".to_vec(),
        PathBuf::from("odd.wasm"),
    );
    assert_eq!(
        load_error(&package),
        "odd.wasm: not a WebAssembly file (it does not start with the `\\0asm` header)"
    );
}

#[test]
fn a_core_module_is_refused_with_the_way_to_build_a_component() {
    // The smallest valid core module: just the header.
    let core = b"\0asm\x01\0\0\0".to_vec();
    let package = PluginPackage::new(manifest(DRIVER_MANIFEST), core, PathBuf::from("odd.wasm"));
    let error = load_error(&package);
    assert!(
        error.starts_with("odd.wasm: a core WebAssembly module, not a component"),
        "{error}"
    );
    assert!(error.contains("--target wasm32-wasip2"), "{error}");
}

#[test]
fn a_component_of_another_world_is_refused() {
    let package = common::package_with_manifest("hello-integration", |m| {
        m.replace("kind = \"integration\"", "kind = \"driver\"")
            .replace(
                "[capabilities.authorized-http]\nprovider = \"example\"\nscopes = [\"profile:read\"]\n",
                "",
            )
    })
    .unwrap();
    let error = load_error(&package);
    assert!(error.ends_with(
        "plugin `hello-integration` declares kind = \"driver\" in its manifest, but the component implements the `integration` world"
    ), "{error}");
    assert!(error.contains("hello_integration.wasm"), "{error}");
}

#[test]
fn a_manifest_whose_kind_does_not_match_the_component_is_refused() {
    let package = common::package_with_manifest("hello-driver", |m| {
        m.replace("kind = \"driver\"", "kind = \"report\"")
    })
    .unwrap();
    let error = load_error(&package);
    assert!(error.ends_with(
        "plugin `hello-driver` declares kind = \"report\" in its manifest, but the component implements the `driver` world"
    ), "{error}");
}

#[test]
fn a_capability_used_but_not_requested_is_refused() {
    let package =
        common::package_with_manifest("hostile-driver", |m| m.replace("state = true\n", ""))
            .unwrap();
    let error = load_error(&package);
    assert!(error.ends_with(
        "plugin `hostile-driver` uses the `state` capability but its manifest does not ask for it; add `state = true` under `[capabilities]`"
    ), "{error}");
}

#[test]
fn an_api_version_other_than_the_components_is_refused() {
    let package = common::package_with_manifest("hello-driver", |m| {
        m.replace("api-version = \"0.1.0\"", "api-version = \"0.1.1\"")
    })
    .unwrap();
    let error = load_error(&package);
    assert!(error.ends_with(
        "plugin `hello-driver` is built against chatter:plugin@0.1.0, but its manifest says api-version 0.1.1"
    ), "{error}");
}

#[test]
fn manifest_errors_name_the_file_and_the_field() {
    let missing = common::package_with_manifest("hello-driver", |m| {
        m.replace("license = \"Apache-2.0\"\n", "")
    })
    .unwrap_err();
    assert!(
        missing.contains("examples/hello-driver/plugin.toml"),
        "{missing}"
    );
    assert!(missing.contains("missing field `license`"), "{missing}");

    let unknown = common::package_with_manifest("hello-driver", |m| {
        m + "\n[capabilities]\nfilesystem = true\n"
    })
    .unwrap_err();
    assert!(unknown.ends_with("`capabilities.filesystem` is not a known capability (known: state, machine-network, authorized-http, artifacts, machine-data)"), "{unknown}");
}

#[test]
fn a_missing_manifest_is_named() {
    let guest = chatter_guest_builds::guest("hello-driver");
    let error = PluginPackage::read(
        guest.wasm_path(),
        Some(Path::new("/nonexistent/plugin.toml")),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/plugin.toml: cannot read the manifest"),
        "{error}"
    );
}

#[test]
fn a_second_load_comes_from_the_artifact_cache() {
    let cache = tempfile::tempdir().unwrap();
    let config = || RuntimeConfig {
        max_instances: 8,
        cache_dir: Some(cache.path().to_owned()),
        ..RuntimeConfig::default()
    };
    let package = common::package("hello-driver");

    let first = Runtime::new(config()).unwrap().load(&package).unwrap();
    assert!(!first.from_cache);
    // A new runtime, as after a restart of the process.
    let second = Runtime::new(config()).unwrap().load(&package).unwrap();
    assert!(second.from_cache);
    // Cached code is mapped from its file: files are replaced by rename, never rewritten in
    // place, and this test only corrupts them once nothing maps them.
    drop((first, second));

    // A corrupted cache file is discarded and the component compiled again.
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let third = Runtime::new(config()).unwrap().load(&package).unwrap();
    assert!(!third.from_cache);
}
