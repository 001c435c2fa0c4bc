//! A driver that misbehaves on purpose. Its `behaviour` config picks the attack; the runtime's
//! tests check that each one is contained, attributed and survived.

use chatter_sdk::{
    DataItem, Driver, Error, Machine, Observation, config, diagnostics, log, net, now, state,
};

struct Hostile {
    behaviour: String,
    misbehave_after: u64,
    polls: u64,
    hoard: Vec<net::Connection>,
}

impl Driver for Hostile {
    fn open(_machine: &Machine) -> Result<Self, Error> {
        let behaviour = config::get("behaviour").unwrap_or_else(|| "well-behaved".into());
        if behaviour == "fail-open" {
            return Err(Error::unreachable("configured to fail on open"));
        }
        let misbehave_after = config::parse("misbehave-after")?.unwrap_or(0);
        Ok(Hostile {
            behaviour,
            misbehave_after,
            polls: 0,
            hoard: Vec::new(),
        })
    }

    fn data_items(&self) -> Vec<DataItem> {
        vec![
            DataItem::event("polls", "PART_COUNT"),
            DataItem::event("escape", "MESSAGE"),
        ]
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        self.polls += 1;
        if self.polls <= self.misbehave_after {
            return Ok(vec![self.heartbeat()]);
        }
        match self.behaviour.as_str() {
            "infinite-loop" => spin_forever(),
            "memory-bomb" => exhaust_memory(),
            "panic" => panic!("hostile driver panics on purpose"),
            "escape" => Ok(try_to_escape()),
            "huge-batch" => Ok((0..20_000).map(|_| self.heartbeat()).collect()),
            "log-flood" => {
                log::info(&"x".repeat(512 << 10));
                Ok(vec![self.heartbeat()])
            }
            "state-flood" => {
                state::set("big", &vec![7; 512 << 10])?;
                Ok(vec![self.heartbeat()])
            }
            "fail-every-poll" => Err(Error::unreachable("configured to fail every poll")),
            "connect" => Ok(vec![connect_and_greet()]),
            "checkpoint-then-fail" => self.checkpoint_then_fail(),
            "hoard-connections" => Ok(vec![self.hoard_connections()]),
            "big-read" => Ok(vec![big_read()]),
            _ => Ok(vec![self.heartbeat()]),
        }
    }
}

impl Hostile {
    fn heartbeat(&self) -> Observation {
        Observation::event("polls", now(), self.polls.to_string())
    }

    /// Opens connections to the configured endpoint and keeps them until the host refuses one;
    /// reports how many it got and why it got no more.
    fn hoard_connections(&mut self) -> Observation {
        let name = config::get("endpoint").unwrap_or_default();
        let refusal = loop {
            match net::connect(&name, 2_000) {
                Ok(connection) if self.hoard.len() < 100 => self.hoard.push(connection),
                Ok(_) => break "never refused".to_owned(),
                Err(error) => break format!("{:?}: {}", error.code, error.message),
            }
        };
        Observation::event(
            "escape",
            now(),
            format!("{} held; {refusal}", self.hoard.len()),
        )
    }

    /// Advances a checkpoint in state on every poll, but fails every second poll after saving
    /// it: the host must roll the checkpoint back with the failed poll, or values go missing.
    fn checkpoint_then_fail(&self) -> Result<Vec<Observation>, Error> {
        let saved = state::get("checkpoint")
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(0);
        let next = saved + 1;
        state::set("checkpoint", next.to_string().as_bytes())?;
        diagnostics::count("checkpoints", 1);
        if self.polls.is_multiple_of(2) {
            return Err(Error::unreachable("failing after moving the checkpoint"));
        }
        Ok(vec![Observation::event("polls", now(), next.to_string())])
    }
}

/// Connects to the configured endpoint, sends a line and reports the answer, or the error
/// (as `code: message`) when the host refuses.
fn connect_and_greet() -> Observation {
    let name = config::get("endpoint").unwrap_or_default();
    let outcome = net::connect(&name, 2_000).and_then(|connection| {
        connection.write(b"hello\n")?;
        connection.read(64, 2_000)
    });
    let text = match outcome {
        Ok(reply) => format!("reply: {}", String::from_utf8_lossy(&reply)),
        Err(error) => format!("{:?}: {}", error.code, error.message),
    };
    Observation::event("escape", now(), text)
}

/// Reads a peer's whole stream asking for as many bytes as a read can name each time, and
/// reports the largest single read and the total.
fn big_read() -> Observation {
    let name = config::get("endpoint").unwrap_or_default();
    let outcome = net::connect(&name, 2_000).and_then(|connection| {
        let (mut largest, mut total) = (0, 0);
        loop {
            let bytes = connection.read(u32::MAX, 2_000)?;
            if bytes.is_empty() {
                return Ok(format!("largest read {largest}, total {total}"));
            }
            largest = largest.max(bytes.len());
            total += bytes.len();
        }
    });
    let text = match outcome {
        Ok(report) => report,
        Err(error) => format!("{:?}: {}", error.code, error.message),
    };
    Observation::event("escape", now(), text)
}

fn spin_forever() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn exhaust_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

/// Tries every way out of the sandbox and reports what happened to each, one observation per
/// attempt, so the test can check that every one was refused.
fn try_to_escape() -> Vec<Observation> {
    let attempts = [
        (
            "file",
            std::fs::read("/etc/passwd")
                .map(|b| b.len())
                .map_err(|e| e.to_string()),
        ),
        (
            "dir",
            std::fs::read_dir("/")
                .map(|d| d.count())
                .map_err(|e| e.to_string()),
        ),
        (
            "env",
            Ok(std::env::vars().count())
                .and_then(|n| if n == 0 { Err("none".into()) } else { Ok(n) }),
        ),
        (
            "args",
            Ok(std::env::args().count())
                .and_then(|n| if n == 0 { Err("none".into()) } else { Ok(n) }),
        ),
        (
            "socket",
            std::net::TcpStream::connect(("127.0.0.1", 22))
                .map(|_| 1)
                .map_err(|e| e.to_string()),
        ),
        (
            "dns",
            std::net::ToSocketAddrs::to_socket_addrs(&("example.com", 80))
                .map(|a| a.count())
                .map_err(|e| e.to_string()),
        ),
    ];
    attempts
        .into_iter()
        .map(|(what, outcome)| {
            let text = match outcome {
                Ok(n) => format!("{what}: ESCAPED ({n})"),
                Err(e) => format!("{what}: refused ({e})"),
            };
            Observation::event("escape", now(), text)
        })
        .collect()
}

chatter_sdk::export_driver!(Hostile);
