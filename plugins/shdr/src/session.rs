//! One adapter connection over time: connecting, the `* PING`/`* PONG` heartbeat, reading what
//! arrived without blocking long, batches of at most `max-batch` observations, and what happens
//! when the adapter goes away. The host's network, clock, counters and log are behind [`Host`]
//! so that all of this is tested natively with a scripted adapter.
//!
//! Heartbeats follow the reference agent: right after connecting the driver sends `* PING`; an
//! adapter answering `* PONG <ms>` gets a PING every `<ms>` (at the first poll after it is due)
//! and is considered dead after `2 × <ms>` without any data. An adapter that never answers is a
//! legacy adapter: it is only timed out when `heartbeat-timeout-ms` is configured.

use chatter_sdk::{Error, ErrorCode, Observation};

use crate::decoder::Decoder;

/// What the driver sends to ask for a heartbeat.
pub const PING: &[u8] = b"* PING\n";
/// The most bytes asked for in one read.
pub const READ_BYTES: u32 = 64 * 1024;
/// How long reads after the first one of a poll wait: just enough to pick up what is already
/// there.
const FOLLOW_UP_READ_TIMEOUT_MS: u32 = 1;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// An open connection to the adapter.
pub trait Link {
    /// Reads up to `max_bytes` bytes, waiting at most `timeout_ms`; empty: the adapter closed
    /// the connection; an error with code `timeout`: nothing arrived in time.
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, Error>;
    /// Writes all of `data`.
    fn write(&mut self, data: &[u8]) -> Result<(), Error>;
}

/// Severity of a log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something an operator may want to know.
    Info,
    /// Something an operator should look at.
    Warn,
}

/// What a session needs from the host.
pub trait Host {
    /// The connection type.
    type Link: Link;
    /// Connects to the adapter; a machine that is down is an `unreachable` error naming its
    /// address.
    fn connect(&mut self) -> Result<Self::Link, Error>;
    /// The current time, ns since the Unix epoch.
    fn now(&self) -> i64;
    /// Adds `delta` to the diagnostics counter `counter`.
    fn count(&mut self, counter: &str, delta: u64);
    /// Writes a log message.
    fn log(&mut self, severity: Severity, message: &str);
}

/// How a session reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Most observations one poll returns.
    pub max_batch: usize,
    /// How long a poll waits for the first bytes, in ms.
    pub read_timeout_ms: u32,
    /// Most time one poll spends reading, in ms.
    pub max_poll_ms: u32,
    /// Silence after which a legacy adapter (no PONG) is dead, in ms; `None`: never.
    pub legacy_timeout_ms: Option<u64>,
}

/// The diagnostics counters the driver keeps (see the README).
pub mod counters {
    /// Lines rejected by the parser.
    pub const BAD_LINES: &str = "bad-lines";
    /// Observations of keys the device model does not know.
    pub const UNKNOWN_KEYS: &str = "unknown-keys";
    /// Lines whose timestamp is earlier than the previous line's.
    pub const BACKWARDS_TIMESTAMPS: &str = "backwards-timestamps";
    /// Connections lost (each is followed by a reconnection at a later poll).
    pub const RECONNECTS: &str = "reconnects";
    /// Connections given up because the adapter fell silent past its heartbeat.
    pub const HEARTBEAT_TIMEOUTS: &str = "heartbeat-timeouts";
    /// Asset commands received.
    pub const ASSETS: &str = "assets";
}

/// The parser's counts already added to the diagnostics counters.
#[derive(Debug, Default, Clone, Copy)]
struct Reported {
    bad_lines: u64,
    unknown_keys: u64,
    backwards_timestamps: u64,
    assets: u64,
}

/// An open connection and its heartbeat bookkeeping (times in ns).
struct Connected<L> {
    link: L,
    last_received: i64,
    last_ping: i64,
}

/// The driver's state between polls.
pub struct Session<H: Host> {
    host: H,
    decoder: Decoder,
    settings: SessionSettings,
    connected: Option<Connected<H::Link>>,
    pending: Vec<Observation>,
    reported: Reported,
}

impl<H: Host> Session<H> {
    /// A session that is not connected yet: it connects at the first poll.
    pub fn new(host: H, decoder: Decoder, settings: SessionSettings) -> Self {
        Session {
            host,
            decoder,
            settings,
            connected: None,
            pending: Vec::new(),
            reported: Reported::default(),
        }
    }

    /// The decoder, for its declarations and statistics.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.connected.is_some()
    }

    /// Everything decoded since the last poll, oldest first, at most `max-batch` observations;
    /// the rest waits for the next polls. Connects first when needed: an adapter that cannot be
    /// reached is an error, reported once what was already decoded has been returned.
    pub fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        let outcome = if self.pending.len() < self.settings.max_batch {
            self.read_available()
        } else {
            // A backlog: leave the adapter's data in the socket, but keep the connection alive.
            self.ping_if_due();
            Ok(())
        };
        self.report_counters();
        match outcome {
            Err(error) if self.pending.is_empty() => Err(error),
            _ => Ok(self.take_batch()),
        }
    }

    fn take_batch(&mut self) -> Vec<Observation> {
        if self.pending.len() <= self.settings.max_batch {
            return std::mem::take(&mut self.pending);
        }
        let rest = self.pending.split_off(self.settings.max_batch);
        std::mem::replace(&mut self.pending, rest)
    }

    fn read_available(&mut self) -> Result<(), Error> {
        if self.connected.is_none() {
            self.connect()?;
        }
        self.read_until_quiet();
        self.check_heartbeat();
        Ok(())
    }

    fn connect(&mut self) -> Result<(), Error> {
        let mut link = self.host.connect()?;
        link.write(PING)?;
        let now = self.host.now();
        self.connected = Some(Connected {
            link,
            last_received: now,
            last_ping: now,
        });
        self.host.log(Severity::Info, "connected to the adapter");
        Ok(())
    }

    /// Reads until nothing more is there, the batch is full, or the poll's time is up.
    fn read_until_quiet(&mut self) {
        let started = self.host.now();
        let budget = i64::from(self.settings.max_poll_ms) * NANOS_PER_MILLI;
        let mut timeout_ms = self.settings.read_timeout_ms;
        while self.pending.len() < self.settings.max_batch {
            let Some(connected) = self.connected.as_mut() else {
                return;
            };
            match connected.link.read(READ_BYTES, timeout_ms) {
                Ok(bytes) if bytes.is_empty() => {
                    return self.lose_connection("the adapter closed the connection");
                }
                Ok(bytes) => {
                    let now = self.host.now();
                    connected.last_received = now;
                    self.decoder.feed_at(&bytes, now, &mut self.pending);
                    if now - started >= budget {
                        return;
                    }
                }
                Err(error) if error.code == ErrorCode::Timeout => return,
                Err(error) => {
                    return self.lose_connection(&format!("reading failed: {}", error.message));
                }
            }
            timeout_ms = FOLLOW_UP_READ_TIMEOUT_MS;
        }
    }

    /// Gives up a silent adapter, or sends the PING that is due.
    fn check_heartbeat(&mut self) {
        let Some(connected) = &self.connected else {
            return;
        };
        let silence_ms = (self.host.now() - connected.last_received) / NANOS_PER_MILLI;
        let limit_ms = match self.decoder.heartbeat_ms() {
            Some(interval_ms) => Some(interval_ms.saturating_mul(2)),
            None => self.settings.legacy_timeout_ms,
        };
        match limit_ms {
            Some(limit_ms) if silence_ms.unsigned_abs() > limit_ms => {
                self.host.count(counters::HEARTBEAT_TIMEOUTS, 1);
                self.lose_connection(&format!(
                    "nothing received for {silence_ms} ms, more than its heartbeat allows \
                     ({limit_ms} ms)"
                ));
            }
            _ => self.ping_if_due(),
        }
    }

    /// Sends `* PING` when the adapter's heartbeat interval has passed since the last one.
    fn ping_if_due(&mut self) {
        let (Some(connected), Some(interval_ms)) =
            (self.connected.as_mut(), self.decoder.heartbeat_ms())
        else {
            return;
        };
        let now = self.host.now();
        let interval = i64::try_from(interval_ms)
            .unwrap_or(i64::MAX)
            .saturating_mul(NANOS_PER_MILLI);
        if now - connected.last_ping < interval {
            return;
        }
        connected.last_ping = now;
        if let Err(error) = connected.link.write(PING) {
            self.lose_connection(&format!("sending a heartbeat failed: {}", error.message));
        }
    }

    /// Closes the connection and reports every data item that had a value as unavailable.
    fn lose_connection(&mut self, why: &str) {
        self.connected = None;
        let now = self.host.now();
        self.decoder.disconnected(now, &mut self.pending);
        self.host.count(counters::RECONNECTS, 1);
        self.host.log(
            Severity::Warn,
            &format!("lost the adapter: {why}; reconnecting at the next poll"),
        );
    }

    /// Adds what the parser counted since the last poll to the diagnostics counters, and logs
    /// the bad lines.
    fn report_counters(&mut self) {
        let stats = self.decoder.stats().clone();
        let reported = self.reported;
        for (counter, now, before) in [
            (counters::BAD_LINES, stats.bad_lines, reported.bad_lines),
            (
                counters::UNKNOWN_KEYS,
                stats.unknown_keys,
                reported.unknown_keys,
            ),
            (
                counters::BACKWARDS_TIMESTAMPS,
                stats.backwards_timestamps,
                reported.backwards_timestamps,
            ),
            (counters::ASSETS, stats.assets, reported.assets),
        ] {
            if now > before {
                self.host.count(counter, now - before);
            }
        }
        let rejections = self.decoder.take_rejections();
        for rejection in &rejections {
            self.host.log(
                Severity::Warn,
                &format!("bad SHDR line {}: {}", rejection.line, rejection.reason),
            );
        }
        let new_bad = stats.bad_lines - reported.bad_lines;
        if new_bad > rejections.len() as u64
            && let Some(last) = &stats.last_bad
        {
            self.host.log(
                Severity::Warn,
                &format!(
                    "{new_bad} bad SHDR lines in this poll ({} in all); the last, line {}: {}",
                    stats.bad_lines, last.line, last.reason
                ),
            );
        }
        self.reported = Reported {
            bad_lines: stats.bad_lines,
            unknown_keys: stats.unknown_keys,
            backwards_timestamps: stats.backwards_timestamps,
            assets: stats.assets,
        };
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::RefCell;
    use std::collections::{BTreeMap, VecDeque};
    use std::rc::Rc;

    use chatter_sdk::Value;

    use super::*;
    use crate::decoder::DecoderOptions;

    const MS: i64 = NANOS_PER_MILLI;

    /// A scripted adapter: what each read returns, what the driver wrote, and a clock.
    #[derive(Default)]
    struct Script {
        now: i64,
        connects: VecDeque<Result<(), Error>>,
        reads: VecDeque<Result<Vec<u8>, Error>>,
        written: Vec<String>,
        counters: BTreeMap<String, u64>,
        logs: Vec<(Severity, String)>,
    }

    #[derive(Clone, Default)]
    struct FakeHost(Rc<RefCell<Script>>);

    struct FakeLink(Rc<RefCell<Script>>);

    impl Link for FakeLink {
        fn read(&mut self, _max_bytes: u32, _timeout_ms: u32) -> Result<Vec<u8>, Error> {
            let mut script = self.0.borrow_mut();
            script.reads.pop_front().unwrap_or_else(|| {
                Err(Error::new(
                    ErrorCode::Timeout,
                    "nothing from 10.0.0.5:7878 in time",
                ))
            })
        }

        fn write(&mut self, data: &[u8]) -> Result<(), Error> {
            let text = String::from_utf8_lossy(data).into_owned();
            self.0.borrow_mut().written.push(text);
            Ok(())
        }
    }

    impl Host for FakeHost {
        type Link = FakeLink;

        fn connect(&mut self) -> Result<FakeLink, Error> {
            let next = self.0.borrow_mut().connects.pop_front().unwrap_or(Ok(()));
            next.map(|()| FakeLink(self.0.clone()))
        }

        fn now(&self) -> i64 {
            self.0.borrow().now
        }

        fn count(&mut self, counter: &str, delta: u64) {
            *self
                .0
                .borrow_mut()
                .counters
                .entry(counter.to_owned())
                .or_default() += delta;
        }

        fn log(&mut self, severity: Severity, message: &str) {
            self.0
                .borrow_mut()
                .logs
                .push((severity, message.to_owned()));
        }
    }

    impl FakeHost {
        fn send(&self, text: &str) {
            self.0
                .borrow_mut()
                .reads
                .push_back(Ok(text.as_bytes().to_vec()));
        }

        fn close(&self) {
            self.0.borrow_mut().reads.push_back(Ok(Vec::new()));
        }

        fn advance_ms(&self, ms: i64) {
            self.0.borrow_mut().now += ms * MS;
        }

        fn written(&self) -> Vec<String> {
            std::mem::take(&mut self.0.borrow_mut().written)
        }

        fn counter(&self, name: &str) -> u64 {
            self.0.borrow().counters.get(name).copied().unwrap_or(0)
        }

        fn warnings(&self) -> Vec<String> {
            self.0
                .borrow()
                .logs
                .iter()
                .filter(|(severity, _)| *severity == Severity::Warn)
                .map(|(_, message)| message.clone())
                .collect()
        }
    }

    fn settings() -> SessionSettings {
        SessionSettings {
            max_batch: 10_000,
            read_timeout_ms: 20,
            max_poll_ms: 500,
            legacy_timeout_ms: None,
        }
    }

    fn start(settings: SessionSettings) -> (Session<FakeHost>, FakeHost) {
        let host = FakeHost::default();
        host.0.borrow_mut().now = 1_000_000 * MS;
        let decoder = Decoder::new(None, DecoderOptions::default());
        (Session::new(host.clone(), decoder, settings), host)
    }

    fn summary(observations: &[Observation]) -> Vec<String> {
        observations
            .iter()
            .map(|o| match &o.value {
                Value::Event(text) => format!("{}={text}", o.data_item),
                Value::Unavailable => format!("{}=UNAVAILABLE", o.data_item),
                other => format!("{}={other:?}", o.data_item),
            })
            .collect()
    }

    #[test]
    fn the_first_poll_connects_pings_and_returns_what_arrived() {
        let (mut session, host) = start(settings());
        host.send("2020-01-01T00:00:00Z|exec|READY|mode|AUTOMATIC\n2020-01-01T00:00:01Z|ex");
        host.send("ec|ACTIVE\n");
        let out = session.poll().unwrap();
        assert_eq!(
            summary(&out),
            ["exec=READY", "mode=AUTOMATIC", "exec=ACTIVE"]
        );
        assert_eq!(host.written(), ["* PING\n"]);
        assert!(session.is_connected());
        assert!(session.poll().unwrap().is_empty());
        assert!(
            host.written().is_empty(),
            "a legacy adapter gets no further PINGs"
        );
    }

    #[test]
    fn an_unreachable_adapter_is_an_error_and_is_retried() {
        let (mut session, host) = start(settings());
        host.0
            .borrow_mut()
            .connects
            .push_back(Err(Error::unreachable(
                "cannot connect to the adapter at 10.0.0.5:7878: connection refused",
            )));
        let error = session.poll().unwrap_err();
        assert_eq!(error.code, ErrorCode::Unreachable);
        assert!(error.message.contains("10.0.0.5:7878"));
        host.send("2020-01-01T00:00:00Z|exec|READY\n");
        assert_eq!(summary(&session.poll().unwrap()), ["exec=READY"]);
    }

    #[test]
    fn a_closed_connection_makes_the_data_unavailable_and_reconnects() {
        let (mut session, host) = start(settings());
        host.send("2020-01-01T00:00:00Z|exec|ACTIVE|mode|UNAVAILABLE|program|O1\n");
        host.close();
        let out = session.poll().unwrap();
        assert_eq!(
            summary(&out),
            [
                "exec=ACTIVE",
                "mode=UNAVAILABLE",
                "program=O1",
                "exec=UNAVAILABLE",
                "program=UNAVAILABLE"
            ]
        );
        assert_eq!(out[3].timestamp, Host::now(&host));
        assert!(!session.is_connected());
        assert_eq!(host.counter(counters::RECONNECTS), 1);
        assert!(host.warnings()[0].contains("the adapter closed the connection"));

        host.send("2020-01-01T00:01:00Z|exec|READY\n");
        assert_eq!(summary(&session.poll().unwrap()), ["exec=READY"]);
        assert_eq!(host.written(), ["* PING\n", "* PING\n"]);
    }

    #[test]
    fn a_read_error_is_a_lost_connection_too() {
        let (mut session, host) = start(settings());
        host.send("2020-01-01T00:00:00Z|exec|ACTIVE\n");
        host.0
            .borrow_mut()
            .reads
            .push_back(Err(Error::unreachable("connection reset")));
        let out = session.poll().unwrap();
        assert_eq!(summary(&out), ["exec=ACTIVE", "exec=UNAVAILABLE"]);
        assert_eq!(host.counter(counters::RECONNECTS), 1);
    }

    #[test]
    fn an_adapter_answering_pong_gets_pings_and_is_timed_out_when_silent() {
        let (mut session, host) = start(settings());
        host.send("* PONG 1000\n2020-01-01T00:00:00Z|exec|ACTIVE\n");
        session.poll().unwrap();
        assert_eq!(host.written(), ["* PING\n"]);

        host.advance_ms(600);
        session.poll().unwrap();
        assert!(host.written().is_empty(), "not due yet");
        host.advance_ms(500);
        host.send("* PONG 1000\n");
        session.poll().unwrap();
        assert_eq!(host.written(), ["* PING\n"]);

        host.advance_ms(1_900);
        assert!(session.poll().unwrap().is_empty());
        assert!(
            session.is_connected(),
            "1.9 s of silence is within twice 1 s"
        );
        host.advance_ms(200);
        let out = session.poll().unwrap();
        assert_eq!(summary(&out), ["exec=UNAVAILABLE"]);
        assert!(!session.is_connected());
        assert_eq!(host.counter(counters::HEARTBEAT_TIMEOUTS), 1);
        assert_eq!(host.counter(counters::RECONNECTS), 1);
    }

    #[test]
    fn a_legacy_adapter_is_never_timed_out_unless_configured() {
        let (mut session, host) = start(settings());
        host.send("2020-01-01T00:00:00Z|exec|ACTIVE\n");
        session.poll().unwrap();
        host.advance_ms(3_600_000);
        session.poll().unwrap();
        assert!(session.is_connected());

        let (mut timed, host) = start(SessionSettings {
            legacy_timeout_ms: Some(30_000),
            ..settings()
        });
        host.send("2020-01-01T00:00:00Z|exec|ACTIVE\n");
        timed.poll().unwrap();
        host.advance_ms(30_001);
        assert_eq!(summary(&timed.poll().unwrap()), ["exec=UNAVAILABLE"]);
        assert_eq!(host.counter(counters::HEARTBEAT_TIMEOUTS), 1);
    }

    #[test]
    fn batches_are_capped_and_nothing_is_dropped() {
        let (mut session, host) = start(SessionSettings {
            max_batch: 7,
            ..settings()
        });
        let lines: String = (0..30)
            .map(|i| format!("2020-01-01T00:00:{:02}Z|count|{i}\n", i % 60))
            .collect();
        host.send(&lines);
        let mut all = Vec::new();
        for _ in 0..5 {
            let batch = session.poll().unwrap();
            assert!(batch.len() <= 7);
            all.extend(batch);
        }
        let values: Vec<String> = summary(&all);
        let expected: Vec<String> = (0..30).map(|i| format!("count={i}")).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn decoded_data_is_returned_before_a_connection_error() {
        let (mut session, host) = start(SessionSettings {
            max_batch: 2,
            ..settings()
        });
        host.send("2020-01-01T00:00:00Z|a|1|b|2|c|3\n");
        host.close();
        host.0.borrow_mut().connects.extend([
            Ok(()),
            Err(Error::unreachable(
                "cannot connect to the adapter at 10.0.0.5:7878",
            )),
            Err(Error::unreachable(
                "cannot connect to the adapter at 10.0.0.5:7878",
            )),
        ]);
        assert_eq!(summary(&session.poll().unwrap()), ["a=1", "b=2"]);
        assert_eq!(summary(&session.poll().unwrap()), ["c=3", "a=UNAVAILABLE"]);
        assert_eq!(
            summary(&session.poll().unwrap()),
            ["b=UNAVAILABLE", "c=UNAVAILABLE"]
        );
        assert_eq!(session.poll().unwrap_err().code, ErrorCode::Unreachable);
    }

    #[test]
    fn parser_counts_become_counters_and_bad_lines_are_logged() {
        let (mut session, host) = start(settings());
        let bad: String = (0..25).map(|i| format!("garbage {i}\n")).collect();
        host.send(&bad);
        host.send("2020-01-01T00:00:05Z|a|1\n2020-01-01T00:00:04Z|@REMOVE_ASSET@|T1\n");
        session.poll().unwrap();
        assert_eq!(host.counter(counters::BAD_LINES), 25);
        assert_eq!(host.counter(counters::BACKWARDS_TIMESTAMPS), 1);
        assert_eq!(host.counter(counters::ASSETS), 1);
        let warnings = host.warnings();
        assert_eq!(warnings.len(), 21, "{warnings:#?}");
        assert_eq!(
            warnings[0],
            "bad SHDR line 1: `garbage 0` is not a timestamp"
        );
        assert!(
            warnings[20]
                .starts_with("25 bad SHDR lines in this poll (25 in all); the last, line 25")
        );

        host.send("still garbage\n");
        session.poll().unwrap();
        assert_eq!(host.counter(counters::BAD_LINES), 26);
        assert!(host.warnings()[21].starts_with("1 bad SHDR lines in this poll (26 in all)"));
    }
}
