//! Chatter's MTConnect agent driver: reads a machine through the MTConnect agent that serves
//! it, over HTTP, without losing or repeating an observation across driver restarts, and
//! records the observations the agent dropped before they could be read.
//!
//! - `http`: just enough HTTP/1.1 (keep-alive, chunked bodies) over a transport;
//! - `tracker`: the resume / agent-restart / gap state machine, pure;
//! - `convert`: probe data items and streams observations in the host's terms;
//! - `session`: one poll's requests, with the host and the network behind traits;
//! - `settings`: the configuration, validated;
//! - `driver`: the thin `Driver` the host calls (network, state, counters, log).
//!
//! Everything but `driver` runs natively, so the unit tests exercise the whole conversation
//! against a scripted agent.

pub mod convert;
mod driver;
pub mod http;
pub mod session;
pub mod settings;
pub mod tracker;

pub use driver::{AgentDriver, STATE_INSTANCE_ID, STATE_NEXT_SEQUENCE};
