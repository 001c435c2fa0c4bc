//! TCP connections to the machine a driver serves — and only to it: the host opens connections
//! to the endpoints of the machine's record and refuses everything else.
//!
//! ```no_run
//! # fn main() -> Result<(), chatter_sdk::Error> {
//! let connection = chatter_sdk::net::connect("adapter", 2_000)?;
//! connection.write(b"* PING\n")?;
//! let reply = connection.read(1024, 2_000)?;
//! # Ok(()) }
//! ```

pub use crate::bindings::driver::chatter::plugin::machine_network::{
    Connection, connect, endpoints,
};
pub use crate::bindings::driver::chatter::plugin::types::Endpoint;
