//! The driver the host talks to: reads the configuration at `open`, then hands each poll to the
//! [`Session`], which reaches the adapter through the host's `machine-network`.

use chatter_sdk::{
    DataItem, Driver, Error, ErrorCode, Machine, Observation, config, diagnostics, log, net, now,
};

use crate::decoder::{Decoder, DecoderOptions};
use crate::session::{Host, Link, Session, SessionSettings, Severity};
use crate::settings::Settings;

/// The SHDR driver of one machine.
pub struct ShdrDriver {
    session: Session<Network>,
}

impl Driver for ShdrDriver {
    fn open(machine: &Machine) -> Result<Self, Error> {
        let settings = Settings::from_config(config::get)?;
        let endpoint = machine
            .endpoints
            .iter()
            .find(|endpoint| endpoint.name == settings.endpoint)
            .ok_or_else(|| {
                let known: Vec<&str> = machine.endpoints.iter().map(|e| e.name.as_str()).collect();
                Error::invalid_config(format!(
                    "config `endpoint` = {:?}: machine `{}` has no such endpoint (it has: {})",
                    settings.endpoint,
                    machine.id,
                    known.join(", ")
                ))
            })?;
        let address = format!("{}:{}", endpoint.host, endpoint.port);
        let model = match &settings.device {
            Some(device) => format!(
                "device `{}` ({} data items)",
                device.name,
                device.data_items.len()
            ),
            None => "no device model".to_owned(),
        };
        log::info(&format!(
            "reading machine `{}` from the SHDR adapter at {address} with {model}",
            machine.id
        ));
        let decoder = Decoder::new(
            settings.device,
            DecoderOptions {
                max_line_bytes: settings.max_line_bytes,
                max_block_bytes: settings.max_line_bytes.saturating_mul(4),
                accept_empty_timestamps: settings.accept_empty_timestamps,
            },
        );
        let network = Network {
            endpoint: settings.endpoint,
            address,
            connect_timeout_ms: settings.connect_timeout_ms,
        };
        let session_settings = SessionSettings {
            max_batch: settings.max_batch,
            read_timeout_ms: settings.read_timeout_ms,
            max_poll_ms: settings.max_poll_ms,
            legacy_timeout_ms: settings.heartbeat_timeout_ms,
        };
        Ok(ShdrDriver {
            session: Session::new(network, decoder, session_settings),
        })
    }

    fn data_items(&self) -> Vec<DataItem> {
        self.session.decoder().data_items()
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        self.session.poll()
    }
}

/// The host's network, clock, counters and log.
struct Network {
    endpoint: String,
    address: String,
    connect_timeout_ms: u32,
}

impl Host for Network {
    type Link = net::Connection;

    fn connect(&mut self) -> Result<net::Connection, Error> {
        net::connect(&self.endpoint, self.connect_timeout_ms).map_err(|error| match error.code {
            // A refusal by the operator's network policy is not the machine being down.
            ErrorCode::Denied => error,
            _ => Error::unreachable(format!(
                "cannot connect to the adapter at {} (endpoint `{}`): {}",
                self.address, self.endpoint, error.message
            )),
        })
    }

    fn now(&self) -> i64 {
        now()
    }

    fn count(&mut self, counter: &str, delta: u64) {
        diagnostics::count(counter, delta);
    }

    fn log(&mut self, severity: Severity, message: &str) {
        let message = format!("{}: {message}", self.address);
        match severity {
            Severity::Info => log::info(&message),
            Severity::Warn => log::warn(&message),
        }
    }
}

impl Link for net::Connection {
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        net::Connection::read(self, max_bytes, timeout_ms)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        net::Connection::write(self, data)
    }
}

chatter_sdk::export_driver!(ShdrDriver);
