//! An SHDR adapter stand-in: serves a recorded adapter log over TCP, to each client from the
//! first line, byte for byte as recorded, paced by the log's own timestamps.
//!
//! - **Bytes.** Lines go out exactly as the file has them: line endings, lines broken by a
//!   terminal capture, multi-line `@ASSET@ … --multiline--TOKEN` bodies and `*` commands
//!   included.
//! - **Pacing.** A line whose first field is a timestamp waits for the time since the previous
//!   such line, divided by the speed factor ([`Speed`]). When time goes backwards (logs joined
//!   from several captures) the line goes without waiting and becomes the new reference. Lines
//!   without a timestamp (continuations of a wrapped line, asset bodies, commands) go with the
//!   line before them, and so do asset commands (`…|@ASSET@|…`, `@REMOVE_ASSET@`, …), whose
//!   timestamp is the asset's own time, often hours in the past, not the time of the line.
//! - **Scenarios.** A log whose first line starts with a number instead of a timestamp is in the
//!   cppagent simulator's scenario format: the number is a delay in seconds. Each line waits its
//!   delay (divided by the speed) and goes out with the delay replaced by the current time
//!   (`2024-05-01T12:00:00.000000Z|…`).
//! - **Heartbeats.** A client line `* PING` is answered `* PONG <ms>` at once, while pacing and
//!   after the log ended; the connection stays open after the log unless
//!   [`ReplayOptions::close_at_end`].
//! - **Progress.** [`ShdrReplay::progress`] tells, per connection, how many lines and bytes went
//!   out and whether the whole log did.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay, Speed};
//! let log = ShdrLog::read("okuma.txt".as_ref())?;
//! let options = ReplayOptions { speed: Speed::Factor(10.0), ..ReplayOptions::default() };
//! let replay = ShdrReplay::start(log, options).await?;
//! println!("SHDR adapter at {}", replay.local_addr());
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatter_mtconnect::time::{format_timestamp, parse_timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// The heartbeat announced in `* PONG` unless configured, in milliseconds.
pub const DEFAULT_HEARTBEAT_MS: u64 = 10_000;
/// Lines due at the same time are written together, up to this many bytes per write.
const BATCH_BYTES: usize = 64 * 1024;
/// The longest real-time pause, whatever the speed factor.
const LONGEST_SCALED_PAUSE: Duration = Duration::from_secs(365 * 24 * 3600);
/// A client line longer than this is not a heartbeat; it is skipped.
const LONGEST_CLIENT_LINE: usize = 1024;

/// How fast the log is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Speed {
    /// As fast as the client reads: no pauses at all.
    #[default]
    Max,
    /// Pauses divided by this factor (`2.0`: twice as fast as recorded).
    Factor(f64),
}

/// A speed that is neither `max` nor a positive number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("speed {0:?} is neither `max` nor a positive number")]
pub struct SpeedError(String);

impl FromStr for Speed {
    type Err = SpeedError;

    /// `max`, or a positive factor such as `10` or `0.5`.
    fn from_str(text: &str) -> Result<Self, SpeedError> {
        if text.trim().eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match text.trim().parse::<f64>() {
            Ok(factor) if factor.is_finite() && factor > 0.0 => Ok(Speed::Factor(factor)),
            _ => Err(SpeedError(text.to_owned())),
        }
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speed::Max => f.write_str("max"),
            Speed::Factor(factor) => write!(f, "{factor}"),
        }
    }
}

/// How a log is replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// How fast.
    pub speed: Speed,
    /// The heartbeat announced in `* PONG`, in milliseconds.
    pub heartbeat_ms: u64,
    /// Whether to close each connection once the whole log went out (default: keep it open and
    /// keep answering pings, like an adapter with nothing more to say).
    pub close_at_end: bool,
    /// The longest pause between two lines, in the log's time (before the speed applies);
    /// `None`: as recorded. Joined captures can have gaps of hours.
    pub max_pause: Option<Duration>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            speed: Speed::Max,
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            close_at_end: false,
            max_pause: None,
        }
    }
}

/// How a log tells time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// An adapter log: lines start with a timestamp (`2022-08-08T13:51:34.7167146Z|avail|…`).
    Timestamped,
    /// A cppagent scenario: lines start with a delay in seconds (`2|execution|ACTIVE`).
    Scenario,
}

/// A recorded SHDR log, split into lines and ready to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ShdrLog {
    format: LogFormat,
    lines: Vec<LogLine>,
}

/// One line of the log, as recorded.
#[derive(Debug, Clone, PartialEq)]
struct LogLine {
    /// The bytes, with the line end as recorded (the last line may have none).
    bytes: Vec<u8>,
    /// The pause before the line, in the log's time.
    pause: Duration,
    /// Scenario lines: where the delay field ends (the `|` that follows it).
    delay_end: Option<usize>,
}

impl ShdrLog {
    /// Reads the log file at `path`.
    pub fn read(path: &Path) -> io::Result<Self> {
        Ok(Self::from_bytes(std::fs::read(path)?))
    }

    /// The log recorded in `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let raw = split_lines(&bytes);
        let format = detect_format(&raw);
        let lines = match format {
            LogFormat::Timestamped => timestamped_lines(raw),
            LogFormat::Scenario => scenario_lines(raw),
        };
        ShdrLog { format, lines }
    }

    /// How the log tells time.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the log has no line at all.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// How long the replay takes at `speed` with `max_pause`, pings aside.
    pub fn duration(&self, speed: Speed, max_pause: Option<Duration>) -> Duration {
        self.lines
            .iter()
            .map(|line| scaled(line.pause, speed, max_pause))
            .sum()
    }
}

/// The lines of `bytes`, each with its `\n` (and whatever precedes it, such as `\r`).
/// The log's lines with their line ends. A last line without one gets a `\n`: an adapter only
/// ever writes whole lines, and a pong written after a cut-off line would be read as its end.
fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    if let Some(last) = lines.last_mut()
        && !last.ends_with(b"\n")
    {
        last.push(b'\n');
    }
    lines
}

/// The first `|`-separated field of `line` without surrounding spaces and line end.
fn first_field(line: &[u8]) -> &str {
    let end = line.iter().position(|&b| b == b'|').unwrap_or(line.len());
    std::str::from_utf8(&line[..end]).map_or("", str::trim)
}

/// A scenario delay: a non-negative number of seconds.
fn parse_delay(field: &str) -> Option<Duration> {
    let seconds: f64 = field.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Scenario format when the first non-blank line starts with a delay, not a timestamp.
fn detect_format(lines: &[Vec<u8>]) -> LogFormat {
    let first = lines
        .iter()
        .map(|line| first_field(line))
        .find(|field| !field.is_empty());
    match first {
        Some(field) if parse_timestamp(field).is_none() && parse_delay(field).is_some() => {
            LogFormat::Scenario
        }
        _ => LogFormat::Timestamped,
    }
}

/// Asset commands carry the asset's time, not the line's: they must not move the clock.
fn is_asset_command(line: &[u8]) -> bool {
    let second = line.split(|&b| b == b'|').nth(1).unwrap_or_default();
    second.len() > 2 && second.starts_with(b"@") && second.ends_with(b"@")
}

fn timestamped_lines(raw: Vec<Vec<u8>>) -> Vec<LogLine> {
    let mut reference: Option<i64> = None;
    raw.into_iter()
        .map(|bytes| {
            let stamp = parse_timestamp(first_field(&bytes)).filter(|_| !is_asset_command(&bytes));
            let pause = match (stamp, reference) {
                (Some(at), Some(before)) if at > before => {
                    Duration::from_nanos(u64::try_from(at - before).unwrap_or(0))
                }
                _ => Duration::ZERO,
            };
            // Backwards too: later lines are paced from this one.
            reference = stamp.or(reference);
            LogLine {
                bytes,
                pause,
                delay_end: None,
            }
        })
        .collect()
}

fn scenario_lines(raw: Vec<Vec<u8>>) -> Vec<LogLine> {
    raw.into_iter()
        .map(|bytes| {
            let delay = parse_delay(first_field(&bytes));
            let delay_end = delay.and_then(|_| bytes.iter().position(|&b| b == b'|'));
            LogLine {
                pause: delay.unwrap_or(Duration::ZERO),
                bytes,
                delay_end,
            }
        })
        .collect()
}

/// `pause` in real time at `speed`, capped at `max_pause` first.
fn scaled(pause: Duration, speed: Speed, max_pause: Option<Duration>) -> Duration {
    let pause = max_pause.map_or(pause, |max| pause.min(max));
    match speed {
        Speed::Max => Duration::ZERO,
        // A tiny factor must not overflow the clock: no single pause lasts beyond a year.
        Speed::Factor(factor) => Duration::try_from_secs_f64(pause.as_secs_f64() / factor)
            .map_or(LONGEST_SCALED_PAUSE, |scaled| {
                scaled.min(LONGEST_SCALED_PAUSE)
            }),
    }
}

/// How far one connection got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Lines of the log sent.
    pub lines_sent: usize,
    /// Bytes of the log sent (pongs aside).
    pub bytes_sent: u64,
    /// Whether the whole log went out.
    pub finished: bool,
    /// Pings answered.
    pub pongs_sent: usize,
}

/// A running SHDR replay server. Dropping it stops the server and its connections.
pub struct ShdrReplay {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

struct Shared {
    log: ShdrLog,
    options: ReplayOptions,
    /// One entry per connection, in the order they were accepted.
    progress: watch::Sender<Vec<Progress>>,
    stop: watch::Sender<bool>,
}

impl ShdrReplay {
    /// Serves `log` with `options` on 127.0.0.1, on a port the system chooses.
    pub async fn start(log: ShdrLog, options: ReplayOptions) -> io::Result<Self> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), log, options).await
    }

    /// Serves `log` with `options` on `address`.
    pub async fn bind(
        address: SocketAddr,
        log: ShdrLog,
        options: ReplayOptions,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        info!(
            %address,
            lines = log.len(),
            format = ?log.format(),
            speed = %options.speed,
            "SHDR replay listening"
        );
        let shared = Arc::new(Shared {
            log,
            options,
            progress: watch::Sender::new(Vec::new()),
            stop: watch::Sender::new(false),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(ShdrReplay {
            address,
            shared,
            accept,
        })
    }

    /// Where the server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The progress of each connection, in the order they were accepted, to wait on.
    pub fn progress(&self) -> watch::Receiver<Vec<Progress>> {
        self.shared.progress.subscribe()
    }

    /// Waits until connection `index` (0: the first accepted) sent the whole log.
    pub async fn finished(&self, index: usize) {
        let mut progress = self.progress();
        // The sender lives in `self`, so the wait ends only when the condition holds.
        let _ = progress
            .wait_for(|all| all.get(index).is_some_and(|p| p.finished))
            .await;
    }
}

impl Drop for ShdrReplay {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.stop.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let mut index = 0;
                shared.progress.send_modify(|all| {
                    index = all.len();
                    all.push(Progress::default());
                });
                info!(%peer, index, "SHDR client connected");
                tokio::spawn(serve(stream, index, Arc::clone(&shared)));
            }
            Err(error) => {
                warn!(%error, "cannot accept an SHDR client");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve(stream: TcpStream, index: usize, shared: Arc<Shared>) {
    let (reader, writer) = stream.into_split();
    let (pings, pinged) = mpsc::unbounded_channel();
    let listening = tokio::spawn(listen_for_pings(reader, pings));
    let mut session = Session {
        writer,
        index,
        shared: &shared,
        pinged,
    };
    match session.run().await {
        Ok(()) => debug!(index, "SHDR connection closed"),
        Err(error) => debug!(index, %error, "SHDR connection failed"),
    }
    listening.abort();
}

/// Reads the client's lines and reports each `* PING`; ends when the client closes.
async fn listen_for_pings(mut reader: OwnedReadHalf, pings: mpsc::UnboundedSender<()>) {
    let mut line = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let count = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => count,
        };
        for &byte in &buffer[..count] {
            if byte != b'\n' {
                if line.len() < LONGEST_CLIENT_LINE {
                    line.push(byte);
                }
                continue;
            }
            if String::from_utf8_lossy(&line).trim() == "* PING" && pings.send(()).is_err() {
                return;
            }
            line.clear();
        }
    }
}

/// One client's replay: the log's lines on their schedule, pongs whenever pinged.
struct Session<'a> {
    writer: OwnedWriteHalf,
    index: usize,
    shared: &'a Shared,
    pinged: mpsc::UnboundedReceiver<()>,
}

impl Session<'_> {
    async fn run(&mut self) -> io::Result<()> {
        let shared = self.shared;
        let (log, options) = (&shared.log, &shared.options);
        let mut stop = shared.stop.subscribe();
        let started = Instant::now();
        let mut due = started;
        let mut next = 0;
        if let Some(first) = log.lines.first() {
            due += scaled(first.pause, options.speed, options.max_pause);
        }
        let mut finished = false;
        // Whether the client may still ping; once it stopped writing it may still be reading.
        let mut listening = true;
        loop {
            if next == log.lines.len() && !finished {
                finished = true;
                self.update(|p| p.finished = true);
                debug!(index = self.index, "whole log sent");
                if options.close_at_end {
                    return self.writer.shutdown().await;
                }
            }
            if finished && !listening {
                return Ok(());
            }
            tokio::select! {
                // Pongs first: a heartbeat must not wait behind a fast log.
                biased;
                ping = self.pinged.recv(), if listening => match ping {
                    Some(()) => self.pong().await?,
                    None => listening = false,
                },
                _ = stop.changed() => return Ok(()),
                () = tokio::time::sleep_until(due), if !finished => {
                    next = self.send_due(next, &mut due).await?;
                }
            }
        }
    }

    /// Sends line `next` and those after it that are due by now (a bounded batch); returns the
    /// index of the first line not sent and moves `due` to its time.
    async fn send_due(&mut self, mut next: usize, due: &mut Instant) -> io::Result<usize> {
        let shared = self.shared;
        let (log, options) = (&shared.log, &shared.options);
        let now = Instant::now();
        let mut batch = Vec::new();
        let mut lines = 0;
        while let Some(line) = log.lines.get(next) {
            if *due > now || batch.len() >= BATCH_BYTES {
                break;
            }
            append_line(&mut batch, line);
            lines += 1;
            next += 1;
            if let Some(following) = log.lines.get(next) {
                *due += scaled(following.pause, options.speed, options.max_pause);
            }
        }
        self.writer.write_all(&batch).await?;
        let bytes = batch.len() as u64;
        self.update(|p| {
            p.lines_sent += lines;
            p.bytes_sent += bytes;
        });
        Ok(next)
    }

    async fn pong(&mut self) -> io::Result<()> {
        let pong = format!("* PONG {}\n", self.shared.options.heartbeat_ms);
        self.writer.write_all(pong.as_bytes()).await?;
        self.update(|p| p.pongs_sent += 1);
        Ok(())
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        self.shared.progress.send_modify(|all| {
            if let Some(progress) = all.get_mut(self.index) {
                change(progress);
            }
        });
    }
}

/// Appends `line` as it goes out: as recorded, or with its scenario delay replaced by now.
fn append_line(batch: &mut Vec<u8>, line: &LogLine) {
    match line.delay_end {
        Some(end) => {
            batch.extend_from_slice(format_timestamp(now_ns()).as_bytes());
            batch.extend_from_slice(&line.bytes[end..]);
        }
        None => batch.extend_from_slice(&line.bytes),
    }
}

fn now_ns() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pauses(log: &ShdrLog) -> Vec<u64> {
        log.lines
            .iter()
            .map(|l| u64::try_from(l.pause.as_millis()).unwrap_or(u64::MAX))
            .collect()
    }

    #[test]
    fn a_timestamped_line_waits_for_the_time_since_the_previous_one() {
        let log = ShdrLog::from_bytes(
            b"2024-01-01T00:00:00Z|a|1\n2024-01-01T00:00:01.5Z|a|2\r\n2024-01-01T00:00:04Z|a|3"
                .to_vec(),
        );
        assert_eq!(log.format(), LogFormat::Timestamped);
        assert_eq!(pauses(&log), [0, 1_500, 2_500]);
        assert_eq!(log.lines[1].bytes, b"2024-01-01T00:00:01.5Z|a|2\r\n");
        // The cut-off last line goes out whole.
        assert_eq!(log.lines[2].bytes, b"2024-01-01T00:00:04Z|a|3\n");
    }

    #[test]
    fn time_going_backwards_does_not_wait_and_becomes_the_reference() {
        let log = ShdrLog::from_bytes(
            b"2024-01-01T00:00:10Z|a|1\n2024-01-01T00:00:05Z|a|2\n2024-01-01T00:00:06Z|a|3\n"
                .to_vec(),
        );
        assert_eq!(pauses(&log), [0, 0, 1_000]);
    }

    #[test]
    fn lines_without_a_timestamp_and_asset_commands_go_with_the_line_before() {
        let log = ShdrLog::from_bytes(
            b"2024-01-01T00:00:00Z|a|1\n\
              2023-06-01T00:00:00Z|@ASSET@|T1|CuttingTool|--multiline--AB\n\
              <CuttingTool/>\n\
              --multiline--AB\n\
              2024-01-01T00:00:02Z|a|2|b|wrapped mid-\n\
              token|c|3\n\
              *adapterVersion:2.0\n\
              2024-01-01T00:00:03Z|@REMOVE_ALL_ASSETS@|CuttingTool\n\
              2024-01-01T00:00:05Z|a|4\n"
                .to_vec(),
        );
        assert_eq!(pauses(&log), [0, 0, 0, 0, 2_000, 0, 0, 0, 3_000]);
    }

    #[test]
    fn leading_spaces_before_a_timestamp_do_not_hide_it() {
        let log = ShdrLog::from_bytes(
            b"2017-02-17T09:26:18.65Z|x|1\n      2017-02-17T09:26:20.85Z|x|2\n".to_vec(),
        );
        assert_eq!(pauses(&log), [0, 2_200]);
    }

    #[test]
    fn a_log_starting_with_a_delay_is_a_scenario() {
        let log =
            ShdrLog::from_bytes(b"\n2|execution|READY\n0.5|mode|AUTOMATIC\nnot a line\n".to_vec());
        assert_eq!(log.format(), LogFormat::Scenario);
        assert_eq!(pauses(&log), [0, 2_000, 500, 0]);
        assert_eq!(log.lines[1].delay_end, Some(1));
        assert_eq!(log.lines[3].delay_end, None);
        let mut out = Vec::new();
        append_line(&mut out, &log.lines[1]);
        let text = String::from_utf8(out).unwrap_or_default();
        let (stamp, rest) = text.split_once('|').unwrap_or_default();
        assert!(parse_timestamp(stamp).is_some(), "{text}");
        assert_eq!(rest, "execution|READY\n");
    }

    #[test]
    fn the_duration_scales_with_speed_and_is_capped_by_the_longest_pause() {
        let log = ShdrLog::from_bytes(
            b"2024-01-01T00:00:00Z|a|1\n2024-01-01T01:00:00Z|a|2\n2024-01-01T01:00:10Z|a|3\n"
                .to_vec(),
        );
        assert_eq!(log.duration(Speed::Max, None), Duration::ZERO);
        assert_eq!(
            log.duration(Speed::Factor(10.0), None),
            Duration::from_secs(361)
        );
        assert_eq!(
            log.duration(Speed::Factor(2.0), Some(Duration::from_secs(20))),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn a_tiny_speed_factor_does_not_overflow() {
        let pause = Duration::from_secs(3_600);
        assert_eq!(
            scaled(pause, Speed::Factor(f64::MIN_POSITIVE), None),
            LONGEST_SCALED_PAUSE
        );
    }

    #[test]
    fn speeds_read_as_max_or_a_positive_factor() {
        assert_eq!("max".parse(), Ok(Speed::Max));
        assert_eq!(" MAX ".parse(), Ok(Speed::Max));
        assert_eq!("2.5".parse(), Ok(Speed::Factor(2.5)));
        for bad in ["0", "-1", "fast", "inf", "NaN", ""] {
            assert!(bad.parse::<Speed>().is_err(), "{bad}");
        }
    }
}
