//! Edge mode: a Chatter server next to the machines forwards what its drivers record to a
//! central Chatter server.
//!
//! The edge runs the normal server on a local embedded store, so drivers append durably there
//! whatever the network does. The local store's per-machine observation sequence is the outbox:
//! a [`Forwarder`] per machine reads it from where central says it stopped and posts batches to
//! central's ingest API, retrying the same batch with backoff until central acknowledges it.
//! Central skips sequence numbers of a stream it already stored, so a batch sent twice (an
//! acknowledgement lost, an edge killed mid-request) is stored once.
//!
//! - [`config`]: the `edge.toml` file, the server's configuration plus an `[edge]` section;
//! - [`stream`]: the random stream id kept in the data folder;
//! - [`wire`]: the ingest API's JSON;
//! - [`client`]: the HTTP client of central's ingest API and how its answers are classified;
//! - [`backoff`]: the retry schedule;
//! - [`forwarder`]: the per-machine loop and its status;
//! - [`trim`]: removing forwarded observations past the edge's retention.

pub mod backoff;
pub mod client;
pub mod config;
pub mod forwarder;
pub mod stream;
pub mod trim;
pub mod wire;

pub use backoff::Backoff;
pub use client::{Central, SendError};
pub use config::{EdgeConfig, EdgeConfigError, EdgeSettings, Token};
pub use forwarder::{Forwarder, ForwarderStatus, StatusHandle};
pub use stream::{StreamId, StreamIdError};
