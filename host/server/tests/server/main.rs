//! The server end to end: each module serves a real shop on loopback and drives it through
//! HTTP, a browser, replayed machines or plugins. One test binary, so the server and wasmtime
//! are linked once rather than once per file.

#![allow(clippy::unwrap_used)]

mod common;

mod agent_driver;
mod alerts;
mod api;
mod browser;
mod floor;
mod forgery;
mod haas_driver;
mod ingest;
mod machine_page;
mod machine_setup;
mod reports;
mod retention;
mod setup_page;
mod shdr_driver;
mod shifts;
mod tenancy;
mod timeline;
mod tls;
