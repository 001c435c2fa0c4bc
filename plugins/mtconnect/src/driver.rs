//! The driver the host talks to: reads the configuration and the saved checkpoint at `open`,
//! runs the session over `chatter_sdk::net`, and saves the checkpoint with every poll.

use chatter_sdk::{
    DataItem, Driver, Error, Machine, Observation, config, diagnostics, log, net, now, state,
};

use crate::http::{Connector, Transport};
use crate::session::{Host, Level, Session};
use crate::settings::{RawSettings, Settings};
use crate::tracker::Checkpoint;

/// State key of the agent instance id the checkpoint belongs to (decimal text).
pub const STATE_INSTANCE_ID: &str = "instance-id";
/// State key of the next sequence number to read (decimal text).
pub const STATE_NEXT_SEQUENCE: &str = "next-sequence";

/// The MTConnect agent driver.
pub struct AgentDriver {
    session: Session<NetConnector>,
    data_items: Vec<DataItem>,
    /// The checkpoint the host holds, as last saved.
    saved: Option<Checkpoint>,
}

impl Driver for AgentDriver {
    fn open(machine: &Machine) -> Result<Self, Error> {
        let settings = Settings::new(raw_settings()?)?;
        let address = endpoint_address(machine, &settings.endpoint)?;
        let saved = load_checkpoint();
        let connector = NetConnector {
            endpoint: settings.endpoint.clone(),
            timeout_ms: settings.timeout_ms,
        };
        let (session, data_items) =
            Session::open(connector, &address, settings, saved, &mut SdkHost)?;
        log::info(&format!(
            "reading the MTConnect agent at {address} for machine `{}`: {} data items{}",
            machine.id,
            data_items.len(),
            match saved {
                Some(checkpoint) => format!(
                    ", resuming at sequence {} of instance {}",
                    checkpoint.next_sequence, checkpoint.instance_id
                ),
                None => String::new(),
            }
        ));
        Ok(AgentDriver {
            session,
            data_items,
            saved,
        })
    }

    fn data_items(&self) -> Vec<DataItem> {
        self.data_items.clone()
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        let batch = self.session.poll(&mut SdkHost)?;
        let checkpoint = self.session.checkpoint();
        if checkpoint != self.saved {
            if let Err(error) = save_checkpoint(checkpoint) {
                // The host drops this poll's observations with the failed call: read them again.
                self.session.restore(self.saved);
                return Err(error);
            }
            self.saved = checkpoint;
        }
        Ok(batch)
    }
}

fn raw_settings() -> Result<RawSettings, Error> {
    Ok(RawSettings {
        endpoint: config::get("endpoint"),
        device: config::get("device"),
        format: config::get("format"),
        count: config::parse("count")?,
        max_batch: config::parse("max-batch")?,
        start: config::get("start"),
        timeout_ms: config::parse("timeout-ms")?,
        poll_budget_ms: config::parse("poll-budget-ms")?,
    })
}

/// `host:port` of the machine's endpoint called `name`.
fn endpoint_address(machine: &Machine, name: &str) -> Result<String, Error> {
    machine
        .endpoints
        .iter()
        .find(|endpoint| endpoint.name == name)
        .map(|endpoint| format!("{}:{}", endpoint.host, endpoint.port))
        .ok_or_else(|| {
            let known: Vec<&str> = machine.endpoints.iter().map(|e| e.name.as_str()).collect();
            Error::invalid_config(format!(
                "config `endpoint`: machine `{}` has no endpoint called `{name}` (it has: {})",
                machine.id,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })
}

fn load_checkpoint() -> Option<Checkpoint> {
    let read = |key: &str| -> Option<u64> {
        let bytes = state::get(key)?;
        let value = String::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok());
        if value.is_none() {
            log::warn(&format!(
                "saved state `{key}` is unreadable; starting afresh"
            ));
        }
        value
    };
    Some(Checkpoint {
        instance_id: read(STATE_INSTANCE_ID)?,
        next_sequence: read(STATE_NEXT_SEQUENCE)?,
    })
}

fn save_checkpoint(checkpoint: Option<Checkpoint>) -> Result<(), Error> {
    match checkpoint {
        Some(checkpoint) => {
            state::set(
                STATE_INSTANCE_ID,
                checkpoint.instance_id.to_string().as_bytes(),
            )?;
            state::set(
                STATE_NEXT_SEQUENCE,
                checkpoint.next_sequence.to_string().as_bytes(),
            )
        }
        None => {
            state::remove(STATE_INSTANCE_ID);
            state::remove(STATE_NEXT_SEQUENCE);
            Ok(())
        }
    }
}

/// Opens connections to the agent's endpoint through the host.
struct NetConnector {
    endpoint: String,
    timeout_ms: u32,
}

impl Connector for NetConnector {
    type Connection = NetConnection;

    fn connect(&mut self) -> Result<NetConnection, Error> {
        net::connect(&self.endpoint, self.timeout_ms).map(NetConnection)
    }
}

/// A TCP connection the host opened.
struct NetConnection(net::Connection);

impl Transport for NetConnection {
    fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.0.write(data)
    }

    fn read(&mut self, max: usize, timeout_ms: u32) -> Result<Vec<u8>, Error> {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        self.0.read(max, timeout_ms)
    }
}

/// The host's clock, counters and log.
struct SdkHost;

impl Host for SdkHost {
    fn now(&self) -> i64 {
        now()
    }

    fn count(&mut self, name: &str, delta: u64) {
        diagnostics::count(name, delta);
    }

    fn log(&mut self, level: Level, message: &str) {
        match level {
            Level::Info => log::info(message),
            Level::Warn => log::warn(message),
        }
    }
}

chatter_sdk::export_driver!(AgentDriver);
