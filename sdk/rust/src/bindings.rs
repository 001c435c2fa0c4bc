//! Bindings generated from the WIT package `chatter:plugin` in the repository's `wit/` folder.
//!
//! One module per world. Interfaces shared by several worlds (`types`, `log`, `config`, `state`)
//! are generated once, in `driver`, and reused by the others so their types are the same Rust
//! types. Authors use the re-exports at the crate root instead of these modules.

#![allow(missing_docs, unsafe_code, clippy::all)]

/// The `driver` world.
pub mod driver {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "driver",
        pub_export_macro: true,
        export_macro_name: "export_driver_world",
        default_bindings_module: "chatter_sdk::bindings::driver",
    });
}

/// The `integration` world.
pub mod integration {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "integration",
        pub_export_macro: true,
        export_macro_name: "export_integration_world",
        default_bindings_module: "chatter_sdk::bindings::integration",
        with: {
            "chatter:plugin/types@0.1.0": crate::bindings::driver::chatter::plugin::types,
            "chatter:plugin/log@0.1.0": crate::bindings::driver::chatter::plugin::log,
            "chatter:plugin/diagnostics@0.1.0": crate::bindings::driver::chatter::plugin::diagnostics,
            "chatter:plugin/config@0.1.0": crate::bindings::driver::chatter::plugin::config,
            "chatter:plugin/state@0.1.0": crate::bindings::driver::chatter::plugin::state,
        },
    });
}

/// The `report` world.
pub mod report {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "report",
        pub_export_macro: true,
        export_macro_name: "export_report_world",
        default_bindings_module: "chatter_sdk::bindings::report",
        with: {
            "chatter:plugin/types@0.1.0": crate::bindings::driver::chatter::plugin::types,
            "chatter:plugin/log@0.1.0": crate::bindings::driver::chatter::plugin::log,
            "chatter:plugin/diagnostics@0.1.0": crate::bindings::driver::chatter::plugin::diagnostics,
            "chatter:plugin/config@0.1.0": crate::bindings::driver::chatter::plugin::config,
        },
    });
}
