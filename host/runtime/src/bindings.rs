//! Host-side bindings generated from the WIT package `chatter:plugin` (the repository's `wit/`
//! folder), one module per world. Interfaces shared by several worlds are generated once, in
//! [`driver`], so each host implementation exists once.
//!
//! Functions that wait on the network are async so a guest blocked on a socket does not hold a
//! host thread; everything else is synchronous, which keeps a guest→host call cheap.

#![allow(missing_docs, clippy::all)]

/// The `driver` world.
pub mod driver {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "driver",
        imports: {
            "chatter:plugin/machine-network.connect": async,
            "chatter:plugin/machine-network.[method]connection.read": async,
            "chatter:plugin/machine-network.[method]connection.write": async,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "chatter:plugin/machine-network.connection": crate::capabilities::machine_network::Connection,
        },
    });
}

/// The `integration` world.
pub mod integration {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "integration",
        imports: {
            "chatter:plugin/authorized-http.send": async,
            "chatter:plugin/artifacts.put": async,
            "chatter:plugin/artifacts.contains": async,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "chatter:plugin/types": crate::bindings::driver::chatter::plugin::types,
            "chatter:plugin/log": crate::bindings::driver::chatter::plugin::log,
            "chatter:plugin/diagnostics": crate::bindings::driver::chatter::plugin::diagnostics,
            "chatter:plugin/config": crate::bindings::driver::chatter::plugin::config,
            "chatter:plugin/state": crate::bindings::driver::chatter::plugin::state,
        },
    });
}

/// The `report` world.
pub mod report {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "report",
        imports: {
            "chatter:plugin/machine-data.machines": async,
            "chatter:plugin/machine-data.timelines": async,
            "chatter:plugin/machine-data.totals-over": async,
            "chatter:plugin/machine-data.events": async,
            "chatter:plugin/machine-data.observations": async,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "chatter:plugin/types": crate::bindings::driver::chatter::plugin::types,
            "chatter:plugin/log": crate::bindings::driver::chatter::plugin::log,
            "chatter:plugin/diagnostics": crate::bindings::driver::chatter::plugin::diagnostics,
            "chatter:plugin/config": crate::bindings::driver::chatter::plugin::config,
        },
    });
}
