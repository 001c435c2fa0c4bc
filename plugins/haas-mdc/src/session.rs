//! One connection to the MDC port: a request out, its answer back, whatever else the control
//! sends in between.

use std::fmt;

use chatter_haas_mdc::{Decoder, Reply, Request};
use chatter_sdk::{Error, ErrorCode};

/// Counter of requests sent.
pub const REQUESTS: &str = "requests";
/// Counter of connections made after a lost one.
pub const RECONNECTS: &str = "reconnects";
/// Counter of replies the driver could not use: undecodable bytes, malformed replies, replies to
/// another question, and refusals (`UNKNOWN`, `INVALID NUMBER`).
pub const BAD_REPLIES: &str = "bad-replies";

/// The most bytes asked for in one read; replies are far shorter.
const READ_BYTES: u32 = 512;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// What the driver needs from around it: the host's network, clock, counters and log in a
/// component; fakes in tests.
pub trait Host {
    /// A connection to the machine.
    type Connection: Connection;

    /// Connects to the machine's endpoint called `endpoint`.
    fn connect(&mut self, endpoint: &str, timeout_ms: u32) -> Result<Self::Connection, Error>;

    /// The current time, ns since the Unix epoch.
    fn now(&self) -> i64;

    /// Adds `delta` to the diagnostics counter `counter`.
    fn count(&mut self, counter: &str, delta: u64);

    /// Logs a warning for the operator.
    fn warn(&mut self, message: &str);
}

/// A TCP connection to the machine, as `chatter_sdk::net` offers it.
pub trait Connection {
    /// Writes all of `data`.
    fn write(&mut self, data: &[u8]) -> Result<(), Error>;

    /// Reads up to `max_bytes`, waiting at most `timeout_ms`: empty when the peer closed, an
    /// error with code `timeout` when nothing arrived.
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error>;
}

/// Why a connection is given up.
#[derive(Debug, Clone, PartialEq)]
pub enum Lost {
    /// The control closed the connection.
    Closed,
    /// The control did not answer `request` in time.
    Silent(Request),
    /// Reading or writing failed.
    Failed(String),
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lost::Closed => f.write_str("the control closed the connection"),
            Lost::Silent(request) => write!(f, "no answer to {request} in time"),
            Lost::Failed(message) => f.write_str(message),
        }
    }
}

/// An open connection and the decoder of what it delivers.
pub struct Session<C> {
    connection: C,
    decoder: Decoder,
    /// Whether the serial number was read on this connection.
    pub serial_read: bool,
}

impl<C: Connection> Session<C> {
    /// A session on a fresh connection.
    pub fn new(connection: C) -> Self {
        Session {
            connection,
            decoder: Decoder::new(),
            serial_read: false,
        }
    }

    /// Sends `request` and waits up to `timeout_ms` for the reply that answers it, skipping
    /// (and counting) everything else.
    pub fn ask<H: Host>(
        &mut self,
        host: &mut H,
        request: Request,
        timeout_ms: u32,
    ) -> Result<Reply, Lost> {
        self.send(host, request)?;
        self.answer(host, request, timeout_ms)
    }

    /// Like [`ask`](Session::ask), but sends the request a second time when the first goes
    /// unanswered: Haas notes that the first Q100 of a connection may have to be sent twice.
    pub fn ask_first<H: Host>(
        &mut self,
        host: &mut H,
        request: Request,
        timeout_ms: u32,
    ) -> Result<Reply, Lost> {
        match self.ask(host, request, timeout_ms) {
            Err(Lost::Silent(_)) => self.ask(host, request, timeout_ms),
            other => other,
        }
    }

    fn send<H: Host>(&mut self, host: &mut H, request: Request) -> Result<(), Lost> {
        host.count(REQUESTS, 1);
        self.connection
            .write(&request.to_bytes())
            .map_err(|e| Lost::Failed(format!("cannot send {request}: {}", e.message)))
    }

    fn answer<H: Host>(
        &mut self,
        host: &mut H,
        request: Request,
        timeout_ms: u32,
    ) -> Result<Reply, Lost> {
        let deadline = host
            .now()
            .saturating_add(i64::from(timeout_ms) * NANOS_PER_MILLI);
        loop {
            while let Some(decoded) = self.decoder.next_frame() {
                match decoded.map(|frame| Reply::parse(frame.text())) {
                    Ok(Ok(reply)) if request.answered_by(&reply) => return Ok(reply),
                    // Another client's answer (the control sends replies to every connection),
                    // or a late one to an earlier request.
                    Ok(Ok(_)) => host.count(BAD_REPLIES, 1),
                    Ok(Err(error)) => bad_reply(host, request, &error),
                    Err(error) => bad_reply(host, request, &error),
                }
            }
            let left_ms = (deadline - host.now()) / NANOS_PER_MILLI;
            if left_ms <= 0 {
                return Err(Lost::Silent(request));
            }
            let bytes = self.read(request, u32::try_from(left_ms).unwrap_or(u32::MAX))?;
            self.decoder.push(&bytes);
        }
    }

    fn read(&mut self, request: Request, timeout_ms: u32) -> Result<Vec<u8>, Lost> {
        match self.connection.read(READ_BYTES, timeout_ms) {
            Ok(bytes) if bytes.is_empty() => Err(Lost::Closed),
            Ok(bytes) => Ok(bytes),
            Err(error) if error.code == ErrorCode::Timeout => Err(Lost::Silent(request)),
            Err(error) => Err(Lost::Failed(format!(
                "cannot read the answer to {request}: {}",
                error.message
            ))),
        }
    }
}

fn bad_reply<H: Host>(host: &mut H, request: Request, error: &dyn fmt::Display) {
    host.count(BAD_REPLIES, 1);
    host.warn(&format!(
        "while waiting for the answer to {request}: {error}"
    ));
}
