//! Chatter's SHDR driver: reads a machine through its MTConnect adapter — the `timestamp|key|value`
//! text stream adapters serve over TCP (usually port 7878) — without an MTConnect agent in
//! between. With the machine's device model (`devices-xml`), keys become the model's data items
//! with their categories, types and units; without one, keys are reported as they are. See the
//! README for the configuration, the mapping and the counters.
//!
//! - `settings`: the configuration, validated;
//! - `mapping`: SHDR records → observations and data item declarations;
//! - `decoder`: bytes → observations, host-free, so the same code runs natively and in the
//!   component (tests, host benchmarks);
//! - `session`: one adapter connection over time (heartbeats, batches, disconnects), with the
//!   host behind a trait so it is tested natively;
//! - `driver`: the thin `Driver` the host calls.
//!
//! Natively, decode a capture with the code `poll` uses:
//!
//! ```
//! use shdr::{Decoder, DecoderOptions};
//! let mut decoder = Decoder::new(None, DecoderOptions::default());
//! let mut observations = Vec::new();
//! decoder.feed(b"2022-08-08T13:51:36.77Z|execution|ACTIVE\n", &mut observations);
//! assert_eq!(observations[0].data_item, "execution");
//! ```

mod decoder;
mod driver;
mod mapping;
mod session;
mod settings;

pub use decoder::{Decoder, DecoderOptions, LOGGED_REJECTIONS};
pub use driver::ShdrDriver;
pub use mapping::{ALL_ASSETS, ASSET_CHANGED_FALLBACK, ASSET_REMOVED_FALLBACK, Mapper};
pub use session::{Host, Link, PING, Session, SessionSettings, Severity, counters};
pub use settings::{DEFAULT_MAX_BATCH, LARGEST_MAX_BATCH, Settings};

/// The parser's statistics and device model types, for users of [`Decoder`].
pub use chatter_mtconnect::devices::{Device, DeviceModel};
pub use chatter_mtconnect::shdr::Stats;

#[cfg(test)]
mod fixture_tests;
