//! The driver's surroundings in a component: the host's machine network, clock, diagnostics
//! and log, through the SDK.

use chatter_sdk::{Error, diagnostics, log, net};

use crate::session::{Connection, Host};

/// The Chatter host, as a component sees it.
#[derive(Debug, Default)]
pub struct ComponentHost;

impl Host for ComponentHost {
    type Connection = net::Connection;

    fn connect(&mut self, endpoint: &str, timeout_ms: u32) -> Result<net::Connection, Error> {
        net::connect(endpoint, timeout_ms)
    }

    fn now(&self) -> i64 {
        chatter_sdk::now()
    }

    fn count(&mut self, counter: &str, delta: u64) {
        diagnostics::count(counter, delta);
    }

    fn warn(&mut self, message: &str) {
        log::warn(message);
    }
}

impl Connection for net::Connection {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        net::Connection::write(self, data)
    }

    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        net::Connection::read(self, max_bytes, timeout_ms)
    }
}
