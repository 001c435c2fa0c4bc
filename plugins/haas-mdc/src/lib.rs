//! Chatter's Haas driver: reads a Haas CNC control over Machine Data Collection (MDC, the
//! Q-commands of Setting 143) and reports MTConnect-style observations. The protocol itself is
//! in the `chatter-haas-mdc` crate; see the README for configuration and mapping.
//!
//! Each poll asks, over one kept-open TCP connection to the machine's `mdc` endpoint:
//! `?Q100` (serial number, once per connection), `?Q104` (mode), `?Q500` (program, run status,
//! parts) and `?Q600 n` for each configured macro variable. Only values that changed since the
//! previous poll are reported; the first poll of a connection reports them all.
//!
//! - `settings`: the configuration, validated;
//! - `session`: one connection — a request out, its answer back — behind the [`Host`] and
//!   [`Connection`] traits, so that everything runs natively in tests;
//! - `items`: the data items, what Haas values mean in MTConnect terms, change detection;
//! - `driver`: [`HaasMdc`], the poll loop; `host`: the SDK behind [`Host`] in a component.

mod driver;
mod host;
mod items;
mod session;
mod settings;

pub use driver::HaasMdc;
pub use host::ComponentHost;
pub use session::{BAD_REPLIES, Connection, Host, RECONNECTS, REQUESTS};
pub use settings::{
    DEFAULT_ENDPOINT, DEFAULT_MACRO_TYPE, DEFAULT_TIMEOUT_MS, LARGEST_TIMEOUT_MS, MacroItem,
    Settings,
};

#[cfg(test)]
mod tests;
