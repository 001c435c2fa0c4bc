//! The runtime's benchmark guest: a driver whose poll does only what its `mode` config says, so
//! a benchmark can subtract one mode from another and isolate one cost.
//!
//! - `empty`: poll returns an empty list — the cost of one host→guest call;
//! - `host-calls`: poll makes `calls` host calls of the kind `call` says and returns an empty
//!   list — (its time − the `empty` time) / `calls` is the cost of one guest→host call:
//!   - `config-get` (default): `config.get` of an unset key (a string in, a map lookup, `none`
//!     back),
//!   - `clock`: `wasi:clocks/monotonic-clock.now` (no arguments, an integer back): the
//!     crossing alone,
//!   - `log`: `log.write` of an empty message at trace level;
//! - `batch`: poll returns `batch` sample observations built without any host call — the cost
//!   of moving a batch across the boundary.

use std::hint::black_box;

use chatter_sdk::{DataItem, Driver, Error, Machine, Observation, config, log};

/// What one poll does.
enum Mode {
    Empty,
    HostCalls(Call, u32),
    Batch(u32),
}

/// The host call mode `host-calls` repeats.
#[derive(Clone, Copy)]
enum Call {
    ConfigGet,
    Clock,
    Log,
}

struct Bench {
    mode: Mode,
    /// Polls so far, used as the observations' timestamps and values.
    polls: i64,
}

impl Driver for Bench {
    fn open(_machine: &Machine) -> Result<Self, Error> {
        let mode = config::get("mode").unwrap_or_else(|| "empty".into());
        let mode = match mode.as_str() {
            "empty" => Mode::Empty,
            "host-calls" => Mode::HostCalls(call()?, count("calls")?),
            "batch" => Mode::Batch(count("batch")?),
            other => {
                return Err(Error::invalid_config(format!(
                    "config `mode` = {other:?} must be empty, host-calls or batch"
                )));
            }
        };
        Ok(Bench { mode, polls: 0 })
    }

    fn data_items(&self) -> Vec<DataItem> {
        vec![DataItem::sample("value", "LOAD", "PERCENT")]
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        self.polls += 1;
        match self.mode {
            Mode::Empty => Ok(Vec::new()),
            Mode::HostCalls(call, calls) => {
                for _ in 0..calls {
                    match call {
                        // A key that is never set: the call copies the key into the host, looks
                        // it up and returns `none` (no string comes back).
                        Call::ConfigGet => {
                            black_box(config::get(black_box("unset")));
                        }
                        Call::Clock => {
                            black_box(std::time::Instant::now());
                        }
                        Call::Log => log::trace(black_box("")),
                    }
                }
                Ok(Vec::new())
            }
            Mode::Batch(size) => {
                let base = self.polls * i64::from(size);
                Ok((0..i64::from(size))
                    .map(|i| Observation::sample("value", base + i, (base + i) as f64))
                    .collect())
            }
        }
    }
}

/// The value of the integer config `key` (the manifest gives every one a default).
fn count(key: &str) -> Result<u32, Error> {
    let n: i64 = config::parse(key)?.unwrap_or(1000);
    u32::try_from(n).map_err(|_| {
        Error::invalid_config(format!(
            "config `{key}` = {n} must be between 0 and {}",
            u32::MAX
        ))
    })
}

fn call() -> Result<Call, Error> {
    match config::get("call").as_deref().unwrap_or("config-get") {
        "config-get" => Ok(Call::ConfigGet),
        "clock" => Ok(Call::Clock),
        "log" => Ok(Call::Log),
        other => Err(Error::invalid_config(format!(
            "config `call` = {other:?} must be config-get, clock or log"
        ))),
    }
}

chatter_sdk::export_driver!(Bench);
