//! An incremental parser of SHDR, the text protocol MTConnect adapters speak over TCP.
//!
//! Feed [`Parser::feed`] bytes as they arrive — lines may be split anywhere, even inside a UTF-8
//! character — and it hands each complete line's [`Record`]s to a callback, borrowing the line
//! instead of copying it.
//!
//! # The protocol
//!
//! ```text
//! 2022-08-08T13:51:36.7711738Z|pexecution|ACTIVE|p1BlockNumber|5     data: timestamp|key|value…
//! 2016-05-10T11:05:49.877218Z|logic_cond|Warning|3||| Low battery    condition: 5 fields
//! 2022-08-08T13:51:41.45Z|@REMOVE_ASSET@|123456.8003                   asset commands
//! 2022-08-08T13:43:36.08Z|@ASSET@|123456.2201|CuttingTool|--multiline--ABCD
//! <CuttingTool …>…</CuttingTool>                                         (body, verbatim)
//! --multiline--ABCD
//! * PONG 10000                                                           heartbeat reply
//! *adapterVersion:2.0                                                    adapter command
//! ```
//!
//! Both `\n` and `\r\n` end a line. Fields are separated by `|` and trimmed of surrounding
//! whitespace (as the reference agent does; it also makes lines captured from a terminal, which
//! start with padding, parse). A field written in double quotes loses the quotes, and `\x` inside
//! it stands for `x`.
//!
//! # How many fields a key takes
//!
//! With a device model ([`Parser::new`] with `Some(device)`), a key resolves to its data item
//! (by name, then id, then `Source`, see [`Device::find`]; a `device:key` prefix naming the
//! device is accepted) and the item says how many fields follow ([`Shape`]): conditions take
//! `level|native_code|native_severity|qualifier|text`, `MESSAGE` items `native_code|text`, legacy
//! `ALARM` items `code|native_code|severity|state|text`, `TIME_SERIES` items
//! `count|rate|values`, everything else one value.
//!
//! A key the model does not know, and every key when there is no model, is read with a
//! heuristic: it is a condition when its value is a condition level (`normal`, `warning`,
//! `fault`, `unavailable`, any case), at least four more fields follow, and the fourth of them
//! — the qualifier — is empty, `HIGH` or `LOW`. Anything else takes one value. The qualifier test
//! is what keeps `p1PalletID|UNAVAILABLE|p1CMOMachineAxisLock|OFF|…` (an event followed by more
//! keys) from being read as a condition: the qualifier position holds a key there, and a key is
//! never empty. Messages, alarms and time series cannot be told from plain values without a
//! model.
//!
//! # Bad lines
//!
//! A data line must start with a timestamp ([`parse_timestamp`]; an empty first field means "no
//! timestamp, use the time of arrival" and gives `timestamp: None`, unless
//! [`Parser::accepting_empty_timestamps`] says otherwise), and its fields must form
//! complete groups for their keys, with valid condition levels. Otherwise the whole line is
//! rejected — no observation of it is reported — as a [`Record::Rejected`] with its line number
//! and reason, and parsing continues with the next line. Terminal-wrapped captures are the usual
//! source: the tail of a broken line has no timestamp. A broken head that happens to be
//! complete (`…|Feed_Rate|63.3333` cut from `63.3333333333333`) cannot be told from a real line
//! and is accepted.
//!
//! # Values
//!
//! `UNAVAILABLE` in any case is [`Value::Unavailable`]. An empty value (`Zabs|`) is an empty
//! [`Value::Text`]: the adapter reported "nothing" (no program loaded, no tool), which is a
//! value, not the absence of one. Values keep their case; normalizing vocabularies is the
//! consumer's job. Timestamps are passed through unchanged, even when they go backwards (which
//! [`Stats::backwards_timestamps`] counts); bytes that are not UTF-8 are replaced by U+FFFD.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::devices::{Category, DataItemDef, Device, Representation};
use crate::time::parse_timestamp;

/// Lines longer than this (without their newline) are rejected unless configured otherwise: it
/// bounds the memory a broken adapter that never sends a newline can make the parser use.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// Multi-line blocks (assets) larger than this are rejected unless configured otherwise.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 4 << 20;

const MULTILINE_MARKER: &str = "--multiline--";

/// How many fields follow a key, and what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One value.
    Value,
    /// `level|native_code|native_severity|qualifier|text`.
    Condition,
    /// `native_code|text` (data items of type `MESSAGE`).
    Message,
    /// `code|native_code|severity|state|text` (legacy data items of type `ALARM`).
    Alarm,
    /// `count|rate|values` (representation `TIME_SERIES`).
    TimeSeries,
}

impl Shape {
    /// The shape of `item`'s values in SHDR.
    pub fn of(item: &DataItemDef) -> Self {
        match item.category {
            Category::Condition => Shape::Condition,
            _ if item.representation == Representation::TimeSeries => Shape::TimeSeries,
            _ if item.kind == "MESSAGE" => Shape::Message,
            _ if item.kind == "ALARM" => Shape::Alarm,
            _ => Shape::Value,
        }
    }

    /// The number of fields after the key.
    pub fn fields(self) -> usize {
        match self {
            Shape::Value => 1,
            Shape::Message => 2,
            Shape::TimeSeries => 3,
            Shape::Condition | Shape::Alarm => 5,
        }
    }
}

/// One thing an adapter said.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A value of one data item.
    Observation(Observation<'a>),
    /// An asset was added, changed or removed.
    Asset(AssetCommand<'a>),
    /// `* PONG <ms>`: the adapter answers heartbeats and promises to send something at least
    /// every `interval_ms`.
    Heartbeat {
        /// The line number.
        line: u64,
        /// The heartbeat interval the adapter asks for, in milliseconds.
        interval_ms: u64,
    },
    /// Any other `* name: value` line (`*adapterVersion:2.0`, `* shdrVersion: 2`).
    Command(Command<'a>),
    /// A line that was rejected as a whole; nothing of it is reported otherwise.
    Rejected(Rejection),
}

/// A value of one data item.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<'a> {
    /// The number of the line (the first line of a multi-line block), from 1.
    pub line: u64,
    /// When the value was observed, ns since the Unix epoch; `None` when the adapter left the
    /// timestamp empty (use the time of arrival).
    pub timestamp: Option<i64>,
    /// The `@duration` an adapter may append to the timestamp, in seconds (a statistic's
    /// period).
    pub duration: Option<f64>,
    /// The key as the adapter wrote it.
    pub key: &'a str,
    /// The data item the key resolves to in the device model.
    pub item: Option<&'a DataItemDef>,
    /// The value.
    pub value: Value<'a>,
}

/// The value of an observation, as the adapter wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A plain value: a number, a word, a text, a vector, a data set; possibly empty.
    Text(Cow<'a, str>),
    /// `UNAVAILABLE` (any case): the data item has no value now.
    Unavailable,
    /// A condition report.
    Condition(Condition<'a>),
    /// A message: the controller's code and the text.
    Message {
        /// The controller's message code (may be empty).
        native_code: Cow<'a, str>,
        /// The text.
        text: Cow<'a, str>,
    },
    /// A legacy alarm.
    Alarm(Alarm<'a>),
    /// A time series.
    TimeSeries {
        /// The number of samples, as written.
        count: Cow<'a, str>,
        /// The sample rate in Hz, as written (may be empty: the model's `sampleRate`).
        rate: Cow<'a, str>,
        /// The samples, separated by spaces.
        values: Cow<'a, str>,
    },
}

/// A condition report; empty fields are empty strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition<'a> {
    /// The level.
    pub level: Level,
    /// The controller's alarm code.
    pub native_code: Cow<'a, str>,
    /// The controller's severity.
    pub native_severity: Cow<'a, str>,
    /// `HIGH`, `LOW` or empty.
    pub qualifier: Cow<'a, str>,
    /// The alarm text.
    pub text: Cow<'a, str>,
}

/// The level of a condition report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Nothing is wrong (or the coded alarm was cleared).
    Normal,
    /// Something needs attention.
    Warning,
    /// Something failed.
    Fault,
    /// The level is unknown.
    Unavailable,
}

impl Level {
    /// Reads a level word in any case.
    pub fn parse(text: &str) -> Option<Self> {
        [
            ("NORMAL", Level::Normal),
            ("WARNING", Level::Warning),
            ("FAULT", Level::Fault),
            ("UNAVAILABLE", Level::Unavailable),
        ]
        .into_iter()
        .find(|(word, _)| text.eq_ignore_ascii_case(word))
        .map(|(_, level)| level)
    }
}

/// A legacy alarm (MTConnect 1.0/1.1 `ALARM` data items); empty fields are empty strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm<'a> {
    /// The alarm's class (`OTHER`, `OVERTRAVEL`, …).
    pub code: Cow<'a, str>,
    /// The controller's alarm code.
    pub native_code: Cow<'a, str>,
    /// The severity (`CRITICAL`, `ERROR`, …).
    pub severity: Cow<'a, str>,
    /// `ACTIVE` or `CLEARED`.
    pub state: Cow<'a, str>,
    /// The alarm text.
    pub text: Cow<'a, str>,
}

/// An asset command.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetCommand<'a> {
    /// The number of the line (the first line of a multi-line block), from 1.
    pub line: u64,
    /// The line's timestamp (`None`: empty).
    pub timestamp: Option<i64>,
    /// What happened to which asset.
    pub action: AssetAction<'a>,
}

/// What an asset command does.
#[derive(Debug, Clone, PartialEq)]
pub enum AssetAction<'a> {
    /// `@ASSET@|id|type|body`: the asset `id` now has this (XML) document.
    Add {
        /// The asset id.
        id: Cow<'a, str>,
        /// The asset type (`CuttingTool`, `File`, …).
        asset_type: Cow<'a, str>,
        /// The document, verbatim (the lines of a multi-line block joined by `\n`).
        body: Cow<'a, str>,
    },
    /// `@UPDATE_ASSET@|id|element|value|…`: parts of asset `id` changed.
    Update {
        /// The asset id.
        id: Cow<'a, str>,
        /// The rest of the line, verbatim: `element|value` pairs or an XML fragment.
        changes: &'a str,
    },
    /// `@REMOVE_ASSET@|id`.
    Remove {
        /// The asset id.
        id: Cow<'a, str>,
    },
    /// `@REMOVE_ALL_ASSETS@|type`: every asset (of `asset_type`, when given) is removed.
    RemoveAll {
        /// The asset type, when the command names one.
        asset_type: Option<Cow<'a, str>>,
    },
}

/// A `* name: value` line other than a heartbeat reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Command<'a> {
    /// The line number.
    pub line: u64,
    /// The command's name (`adapterVersion`, `shdrVersion`, …).
    pub name: &'a str,
    /// Everything after the first `:`, trimmed.
    pub value: &'a str,
}

/// A rejected line.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The line number (of the first line, for a multi-line block).
    pub line: u64,
    /// Why it was rejected.
    pub reason: LineError,
}

/// Why a line was rejected. Quoted text is cut to 40 characters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    /// The first field is not a timestamp.
    #[error("`{0}` is not a timestamp")]
    BadTimestamp(String),
    /// The timestamp field is empty and the parser was told not to accept that.
    #[error("the timestamp is empty")]
    EmptyTimestamp,
    /// The line has a timestamp and nothing else.
    #[error("a timestamp without any key")]
    NoKey,
    /// A key is empty.
    #[error("field {field} is an empty key")]
    EmptyKey {
        /// The field's index (the timestamp is field 0).
        field: usize,
    },
    /// The line ends before the last key's fields do.
    #[error("`{key}` takes {expected} field(s) but the line has {found} after it")]
    IncompleteGroup {
        /// The key.
        key: String,
        /// How many fields it takes.
        expected: usize,
        /// How many were left.
        found: usize,
    },
    /// A condition's level is not a level.
    #[error("`{key}`: `{level}` is not a condition level (normal, warning, fault, unavailable)")]
    BadLevel {
        /// The key.
        key: String,
        /// The field found.
        level: String,
    },
    /// An asset command lacks fields.
    #[error("{command} needs {expected} field(s) after it")]
    IncompleteAssetCommand {
        /// The command (`@ASSET@`, …).
        command: String,
        /// How many fields it needs.
        expected: usize,
    },
    /// A field between `@` signs is not an asset command.
    #[error("unknown asset command `{0}`")]
    UnknownAssetCommand(String),
    /// `* PONG` without a valid interval.
    #[error("heartbeat reply `{0}` has no valid interval in milliseconds")]
    BadHeartbeat(String),
    /// The line is longer than the parser accepts.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// A multi-line block grew past the limit before its terminator came.
    #[error("multi-line block `{terminator}` grew past {limit} bytes without its terminator")]
    BlockTooLong {
        /// The terminator the block waited for.
        terminator: String,
        /// The limit.
        limit: usize,
    },
}

/// Running counts of what the parser saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Lines read (including empty lines and the lines of multi-line blocks).
    pub lines: u64,
    /// Observations reported.
    pub observations: u64,
    /// Lines rejected.
    pub bad_lines: u64,
    /// The last rejection.
    pub last_bad: Option<Rejection>,
    /// Observations whose key the device model does not know (0 without a model).
    pub unknown_keys: u64,
    /// Data and asset lines whose timestamp is earlier than the previous such line's.
    pub backwards_timestamps: u64,
    /// Asset commands (`@ASSET@`, `@UPDATE_ASSET@`, `@REMOVE_ASSET@`, `@REMOVE_ALL_ASSETS@`).
    pub assets: u64,
    /// Heartbeat replies (`* PONG`).
    pub heartbeats: u64,
    /// Other `*` commands.
    pub commands: u64,
}

/// The incremental SHDR parser of one adapter connection.
#[derive(Debug)]
pub struct Parser {
    keys: KeyTable,
    state: LineState,
}

impl Parser {
    /// A parser reading keys with `device`'s model, or with the heuristic without one.
    pub fn new(device: Option<Device>) -> Self {
        Parser {
            keys: KeyTable::new(device),
            state: LineState {
                max_line_bytes: DEFAULT_MAX_LINE_BYTES,
                max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
                ..LineState::default()
            },
        }
    }

    /// Sets the longest line and the largest multi-line block accepted, in bytes.
    pub fn with_limits(mut self, max_line_bytes: usize, max_block_bytes: usize) -> Self {
        self.state.max_line_bytes = max_line_bytes;
        self.state.max_block_bytes = max_block_bytes;
        self
    }

    /// Whether a data line with an empty timestamp field is accepted (the default: its records
    /// get `timestamp: None`, meaning "when it arrived", as the protocol allows) or rejected like
    /// any line that does not start with a timestamp — the stricter choice for captures where
    /// a broken line's tail can start with `|`.
    pub fn accepting_empty_timestamps(mut self, accept: bool) -> Self {
        self.state.reject_empty_timestamps = !accept;
        self
    }

    /// The device model the parser resolves keys with.
    pub fn device(&self) -> Option<&Device> {
        self.keys.device.as_ref()
    }

    /// The data item `key` resolves to.
    pub fn resolve(&self, key: &str) -> Option<&DataItemDef> {
        self.keys.resolve(key)
    }

    /// What the parser has seen so far.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// Parses `bytes`, the next bytes of the stream, calling `sink` with every record of the
    /// lines they complete, in order. An incomplete last line is kept for the next call.
    pub fn feed(&mut self, bytes: &[u8], sink: &mut impl FnMut(Record<'_>)) {
        let mut rest = bytes;
        if self.state.discarding || !self.state.partial.is_empty() {
            let Some(end) = find_byte(b'\n', rest) else {
                self.keep_partial(rest);
                return;
            };
            let mut line = std::mem::take(&mut self.state.partial);
            if self.state.discarding {
                self.state.discarding = false;
                self.reject_too_long(sink);
            } else {
                line.extend_from_slice(&rest[..end]);
                self.line(&line, sink);
            }
            line.clear();
            self.state.partial = line;
            rest = &rest[end + 1..];
        }
        while let Some(end) = find_byte(b'\n', rest) {
            self.line(&rest[..end], sink);
            rest = &rest[end + 1..];
        }
        self.keep_partial(rest);
    }

    /// Ends the stream: parses a last line that has no newline (a file's last line). An open
    /// multi-line block is dropped.
    pub fn finish(&mut self, sink: &mut impl FnMut(Record<'_>)) {
        if !self.state.partial.is_empty() && !self.state.discarding {
            let line = std::mem::take(&mut self.state.partial);
            self.line(&line, sink);
        }
        self.reset();
    }

    /// Forgets the current line and any open multi-line block, for a new connection. Statistics
    /// are kept; line numbers start again from 1.
    pub fn reset(&mut self) {
        let state = &mut self.state;
        state.partial.clear();
        state.discarding = false;
        state.block = None;
        state.line_number = 0;
    }

    fn keep_partial(&mut self, rest: &[u8]) {
        let state = &mut self.state;
        if state.discarding {
            return;
        }
        if state.partial.len() + rest.len() > state.max_line_bytes {
            state.partial.clear();
            state.discarding = true;
            return;
        }
        state.partial.extend_from_slice(rest);
    }

    fn reject_too_long(&mut self, sink: &mut impl FnMut(Record<'_>)) {
        let state = &mut self.state;
        state.line_number += 1;
        state.stats.lines += 1;
        let limit = state.max_line_bytes;
        state.reject(LineError::LineTooLong { limit }, state.line_number, sink);
    }

    fn line(&mut self, bytes: &[u8], sink: &mut impl FnMut(Record<'_>)) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.len() > self.state.max_line_bytes {
            return self.reject_too_long(sink);
        }
        // Strict validation first: it is much faster than the lossy one, and lines are
        // nearly always valid.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        self.state.line_number += 1;
        self.state.stats.lines += 1;
        self.state.line(&self.keys, &text, sink);
    }
}

/// Resolves keys to data items with one hash lookup, built once from the device model.
#[derive(Debug, Default)]
struct KeyTable {
    device: Option<Device>,
    by_key: HashMap<Box<str>, usize, BuildHasherDefault<KeyHasher>>,
}

impl KeyTable {
    fn new(device: Option<Device>) -> Self {
        let mut by_key: HashMap<Box<str>, usize, BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        if let Some(device) = &device {
            // Inserted from the weakest match to the strongest, so stronger ones overwrite;
            // within one kind of match the first item in document order wins.
            let kinds: [fn(&DataItemDef) -> Option<&str>; 3] = [
                |item| item.source.as_deref(),
                |item| Some(&item.id),
                |item| item.name.as_deref(),
            ];
            for key_of in kinds {
                let mut seen = std::collections::HashSet::new();
                for (index, item) in device.data_items.iter().enumerate() {
                    if let Some(key) = key_of(item)
                        && seen.insert(key)
                    {
                        by_key.insert(key.into(), index);
                    }
                }
            }
        }
        KeyTable { device, by_key }
    }

    fn resolve(&self, key: &str) -> Option<&DataItemDef> {
        self.item(self.index_of(key)?)
    }

    fn item(&self, index: usize) -> Option<&DataItemDef> {
        self.device.as_ref()?.data_items.get(index)
    }

    /// The index of the data item `key` resolves to: a name, id or source, possibly prefixed
    /// with `device:` naming this device.
    fn index_of(&self, key: &str) -> Option<usize> {
        if let Some(index) = self.by_key.get(key) {
            return Some(*index);
        }
        let device = self.device.as_ref()?;
        let (prefix, rest) = key.split_once(':')?;
        let names_device =
            prefix == device.name || prefix == device.id || device.uuid.as_deref() == Some(prefix);
        if names_device {
            self.by_key.get(rest).copied()
        } else {
            None
        }
    }
}

/// A fast hash for short keys such as data item names and ids (a multiply-rotate hash). Keys
/// come from the operator's own adapter and model, so resistance to crafted collisions is not
/// needed; use it as `HashMap<K, V, BuildHasherDefault<KeyHasher>>`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A field of the current line: its trimmed byte range.
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
}

impl Field {
    /// `bytes[start..end]` without surrounding ASCII whitespace (which never occurs inside a
    /// multi-byte UTF-8 character, so the range stays on character boundaries).
    fn trimmed(bytes: &[u8], mut start: usize, mut end: usize) -> Field {
        while start < end && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        while end > start && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        Field { start, end }
    }
}

/// A key and its fields, planned before anything of the line is reported.
#[derive(Debug, Clone, Copy)]
struct Group {
    key: usize,
    item: Option<usize>,
    shape: Shape,
}

/// A multi-line block waiting for its terminator.
#[derive(Debug)]
struct Block {
    header: String,
    terminator: String,
    line: u64,
    body: String,
    lines: usize,
}

/// Everything the parser keeps between lines, apart from the model.
#[derive(Debug, Default)]
struct LineState {
    partial: Vec<u8>,
    discarding: bool,
    block: Option<Block>,
    line_number: u64,
    previous_timestamp: Option<i64>,
    fields: Vec<Field>,
    groups: Vec<Group>,
    stats: Stats,
    max_line_bytes: usize,
    max_block_bytes: usize,
    reject_empty_timestamps: bool,
}

impl LineState {
    fn line(&mut self, keys: &KeyTable, text: &str, sink: &mut impl FnMut(Record<'_>)) {
        if self.block.is_some() {
            return self.block_line(keys, text, sink);
        }
        let trimmed = text.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        if let Some(command) = trimmed.strip_prefix('*') {
            return self.command(command, sink);
        }
        self.split(text);
        if let Some(terminator) = self.opens_block(text) {
            self.block = Some(Block {
                header: text.to_owned(),
                terminator: terminator.to_owned(),
                line: self.line_number,
                body: String::new(),
                lines: 0,
            });
            return;
        }
        self.data_line(keys, text, None, self.line_number, sink);
    }

    /// Splits `text` into trimmed fields. A byte loop: fields are short, and searching for
    /// each `|` with `memchr` costs more than it saves.
    fn split(&mut self, text: &str) {
        self.fields.clear();
        let bytes = text.as_bytes();
        let mut start = 0;
        for (index, &byte) in bytes.iter().enumerate() {
            if byte == b'|' {
                self.fields.push(Field::trimmed(bytes, start, index));
                start = index + 1;
            }
        }
        self.fields.push(Field::trimmed(bytes, start, bytes.len()));
    }

    /// The terminator when the line's last field opens a multi-line block.
    fn opens_block<'t>(&self, text: &'t str) -> Option<&'t str> {
        let last = self.fields.last()?;
        let field = &text[last.start..last.end];
        (self.fields.len() > 1 && field.starts_with(MULTILINE_MARKER)).then_some(field)
    }

    fn block_line(&mut self, keys: &KeyTable, text: &str, sink: &mut impl FnMut(Record<'_>)) {
        let Some(block) = self.block.as_mut() else {
            return;
        };
        if text.trim_ascii() == block.terminator {
            if let Some(block) = self.block.take() {
                self.split(&block.header);
                self.data_line(keys, &block.header, Some(&block.body), block.line, sink);
            }
            return;
        }
        if block.body.len() + text.len() + 1 > self.max_block_bytes {
            let terminator = std::mem::take(&mut block.terminator);
            let line = block.line;
            self.block = None;
            let limit = self.max_block_bytes;
            return self.reject(LineError::BlockTooLong { terminator, limit }, line, sink);
        }
        if block.lines > 0 {
            block.body.push('\n');
        }
        block.body.push_str(text);
        block.lines += 1;
    }

    fn command(&mut self, command: &str, sink: &mut impl FnMut(Record<'_>)) {
        let line = self.line_number;
        let command = command.trim_ascii_start();
        if let Some(interval) = command.strip_prefix("PONG") {
            return match interval.trim_ascii().parse::<u64>() {
                Ok(interval_ms) => {
                    self.stats.heartbeats += 1;
                    sink(Record::Heartbeat { line, interval_ms });
                }
                Err(_) => self.reject(LineError::BadHeartbeat(excerpt(command)), line, sink),
            };
        }
        let (name, value) = command.split_once(':').unwrap_or((command, ""));
        self.stats.commands += 1;
        sink(Record::Command(Command {
            line,
            name: name.trim_ascii(),
            value: value.trim_ascii(),
        }));
    }

    /// Reports the records of the data line just split (`tail`: the body of a multi-line
    /// block, which replaces the last field).
    fn data_line(
        &mut self,
        keys: &KeyTable,
        text: &str,
        tail: Option<&str>,
        line: u64,
        sink: &mut impl FnMut(Record<'_>),
    ) {
        let fields = std::mem::take(&mut self.fields);
        let mut groups = std::mem::take(&mut self.groups);
        let line_fields = LineFields {
            text,
            fields: &fields,
            tail,
        };
        if let Err(reason) = self.report(keys, &line_fields, line, &mut groups, sink) {
            self.reject(reason, line, sink);
        }
        self.fields = fields;
        self.groups = groups;
    }

    /// Checks the whole line, then reports its records; reports nothing when it is bad.
    fn report(
        &mut self,
        keys: &KeyTable,
        line_fields: &LineFields<'_>,
        line: u64,
        groups: &mut Vec<Group>,
        sink: &mut impl FnMut(Record<'_>),
    ) -> Result<(), LineError> {
        let (timestamp, duration) = line_fields.timestamp()?;
        if timestamp.is_none() && self.reject_empty_timestamps {
            return Err(LineError::EmptyTimestamp);
        }
        if line_fields.fields.len() < 2 {
            return Err(LineError::NoKey);
        }
        let asset = line_fields.asset_command(1)?;
        let first_group = asset.as_ref().map_or(1, |(_, consumed)| 2 + consumed);
        plan_groups(keys, line_fields, first_group, groups)?;

        self.note_timestamp(timestamp);
        if let Some((action, _)) = asset {
            self.stats.assets += 1;
            sink(Record::Asset(AssetCommand {
                line,
                timestamp,
                action,
            }));
        }
        let has_model = keys.device.is_some();
        for group in groups.iter() {
            let item = group.item.and_then(|index| keys.item(index));
            if item.is_none() && has_model {
                self.stats.unknown_keys += 1;
            }
            self.stats.observations += 1;
            sink(Record::Observation(Observation {
                line,
                timestamp,
                duration,
                key: line_fields.raw(group.key),
                item,
                value: line_fields.value(group.key + 1, group.shape),
            }));
        }
        Ok(())
    }

    fn note_timestamp(&mut self, timestamp: Option<i64>) {
        let Some(timestamp) = timestamp else {
            return;
        };
        if self
            .previous_timestamp
            .is_some_and(|previous| timestamp < previous)
        {
            self.stats.backwards_timestamps += 1;
        }
        self.previous_timestamp = Some(timestamp);
    }

    fn reject(&mut self, reason: LineError, line: u64, sink: &mut impl FnMut(Record<'_>)) {
        let rejection = Rejection { line, reason };
        self.stats.bad_lines += 1;
        self.stats.last_bad = Some(rejection.clone());
        sink(Record::Rejected(rejection));
    }
}

/// Plans the key groups of a line from field `first` on, checking that they are complete;
/// nothing is reported when they are not.
fn plan_groups(
    keys: &KeyTable,
    line: &LineFields<'_>,
    first: usize,
    groups: &mut Vec<Group>,
) -> Result<(), LineError> {
    groups.clear();
    let count = line.fields.len();
    let mut index = first;
    while index < count {
        let key = line.raw(index);
        if key.is_empty() {
            return Err(LineError::EmptyKey { field: index });
        }
        let item = keys.index_of(key);
        let shape = match item.and_then(|index| keys.item(index)) {
            Some(item) => Shape::of(item),
            None => guess_shape(line, index),
        };
        let found = count - index - 1;
        if found < shape.fields() {
            return Err(LineError::IncompleteGroup {
                key: excerpt(key),
                expected: shape.fields(),
                found,
            });
        }
        if shape == Shape::Condition && Level::parse(line.raw(index + 1)).is_none() {
            return Err(LineError::BadLevel {
                key: excerpt(key),
                level: excerpt(line.raw(index + 1)),
            });
        }
        groups.push(Group {
            key: index,
            item,
            shape,
        });
        index += 1 + shape.fields();
    }
    Ok(())
}

/// The shape of a key the model does not know (see the module documentation).
fn guess_shape(line: &LineFields<'_>, key: usize) -> Shape {
    let count = line.fields.len();
    if count <= key + 5 || Level::parse(line.raw(key + 1)).is_none() {
        return Shape::Value;
    }
    let qualifier = line.raw(key + 4);
    let plausible = qualifier.is_empty()
        || qualifier.eq_ignore_ascii_case("HIGH")
        || qualifier.eq_ignore_ascii_case("LOW");
    if plausible {
        Shape::Condition
    } else {
        Shape::Value
    }
}

/// The fields of one line, with the body of a multi-line block in place of the last one.
struct LineFields<'a> {
    text: &'a str,
    fields: &'a [Field],
    tail: Option<&'a str>,
}

impl<'a> LineFields<'a> {
    /// Field `index` as written (trimmed, quotes kept).
    fn raw(&self, index: usize) -> &'a str {
        if let Some(tail) = self.tail
            && index + 1 == self.fields.len()
        {
            return tail;
        }
        match self.fields.get(index) {
            Some(field) => &self.text[field.start..field.end],
            None => "",
        }
    }

    /// Field `index` as meant: without enclosing double quotes and their escapes.
    fn text(&self, index: usize) -> Cow<'a, str> {
        let raw = self.raw(index);
        if self.tail.is_some() && index + 1 == self.fields.len() {
            return Cow::Borrowed(raw);
        }
        unquote(raw)
    }

    /// Everything from field `index` to the end of the line, verbatim (trimmed).
    fn rest(&self, index: usize) -> &'a str {
        if let Some(tail) = self.tail
            && index + 1 == self.fields.len()
        {
            return tail;
        }
        match self.fields.get(index) {
            Some(field) => self.text[field.start..].trim_ascii_end(),
            None => "",
        }
    }

    fn timestamp(&self) -> Result<(Option<i64>, Option<f64>), LineError> {
        let field = self.raw(0);
        let (time, duration) = match field.split_once('@') {
            Some((time, duration)) => (time, Some(duration)),
            None => (field, None),
        };
        let bad = || LineError::BadTimestamp(excerpt(field));
        let duration = match duration {
            Some(text) => Some(text.trim_ascii().parse::<f64>().map_err(|_| bad())?),
            None => None,
        };
        let time = time.trim_ascii();
        if time.is_empty() {
            return Ok((None, duration));
        }
        let timestamp = parse_timestamp(time).ok_or_else(bad)?;
        Ok((Some(timestamp), duration))
    }

    /// The asset command at field `index`, if it is one, and how many fields it consumes
    /// after its name.
    fn asset_command(&self, index: usize) -> Result<Option<(AssetAction<'a>, usize)>, LineError> {
        let name = self.raw(index);
        if !(name.len() >= 2 && name.starts_with('@') && name.ends_with('@')) {
            return Ok(None);
        }
        let after = self.fields.len() - index - 1;
        let needs = |expected: usize| {
            if after < expected {
                Err(LineError::IncompleteAssetCommand {
                    command: name.to_owned(),
                    expected,
                })
            } else {
                Ok(())
            }
        };
        let action = match name {
            "@ASSET@" => {
                needs(3)?;
                let action = AssetAction::Add {
                    id: self.text(index + 1),
                    asset_type: self.text(index + 2),
                    body: Cow::Borrowed(self.rest(index + 3)),
                };
                (action, after)
            }
            "@UPDATE_ASSET@" => {
                needs(1)?;
                let action = AssetAction::Update {
                    id: self.text(index + 1),
                    changes: self.rest(index + 2),
                };
                (action, after)
            }
            "@REMOVE_ASSET@" => {
                needs(1)?;
                (
                    AssetAction::Remove {
                        id: self.text(index + 1),
                    },
                    1,
                )
            }
            "@REMOVE_ALL_ASSETS@" => {
                let asset_type = (after >= 1)
                    .then(|| self.text(index + 1))
                    .filter(|asset_type| !asset_type.is_empty());
                (AssetAction::RemoveAll { asset_type }, after.min(1))
            }
            other => return Err(LineError::UnknownAssetCommand(excerpt(other))),
        };
        Ok(Some(action))
    }

    /// The value of the group whose fields start at `first`.
    fn value(&self, first: usize, shape: Shape) -> Value<'a> {
        let field = |offset: usize| self.text(first + offset);
        let unavailable =
            |offset: usize| self.raw(first + offset).eq_ignore_ascii_case("UNAVAILABLE");
        match shape {
            Shape::Value if unavailable(0) => Value::Unavailable,
            Shape::Value => Value::Text(field(0)),
            Shape::Condition => Value::Condition(Condition {
                level: Level::parse(self.raw(first)).unwrap_or(Level::Unavailable),
                native_code: field(1),
                native_severity: field(2),
                qualifier: field(3),
                text: field(4),
            }),
            Shape::Message if unavailable(1) => Value::Unavailable,
            Shape::Message => Value::Message {
                native_code: field(0),
                text: field(1),
            },
            Shape::Alarm if unavailable(0) => Value::Unavailable,
            Shape::Alarm => Value::Alarm(Alarm {
                code: field(0),
                native_code: field(1),
                severity: field(2),
                state: field(3),
                text: field(4),
            }),
            Shape::TimeSeries if unavailable(0) || unavailable(2) => Value::Unavailable,
            Shape::TimeSeries => Value::TimeSeries {
                count: field(0),
                rate: field(1),
                values: field(2),
            },
        }
    }
}

/// `"text"` → `text`, with `\x` → `x` inside; anything else unchanged.
fn unquote(raw: &str) -> Cow<'_, str> {
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return Cow::Borrowed(raw);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut unescaped = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => unescaped.extend(chars.next()),
            c => unescaped.push(c),
        }
    }
    Cow::Owned(unescaped)
}

/// The first 40 characters of `text`, for error messages.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The position of the first `needle` in `haystack`, a word at a time.
fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = LOW * u64::from(needle);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // A zero byte in `x` is a match; this sets its high bit (and only ever after a match).
        if (x.wrapping_sub(LOW) & !x & HIGH) != 0 {
            break;
        }
        offset += 8;
    }
    haystack[offset..]
        .iter()
        .position(|&byte| byte == needle)
        .map(|position| offset + position)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::devices::DeviceModel;
    use crate::devices::fixtures;

    /// A record as one line of text, so expectations read like the protocol.
    fn summary(record: &Record<'_>) -> String {
        match record {
            Record::Observation(o) => {
                let item = o.item.map_or(String::from("?"), |item| item.id.clone());
                let time = o
                    .timestamp
                    .map_or(String::from("now"), crate::time::format_timestamp);
                format!(
                    "{} {time} {}->{item} = {}",
                    o.line,
                    o.key,
                    value_summary(&o.value)
                )
            }
            Record::Asset(a) => format!("{} asset {:?}", a.line, a.action),
            Record::Heartbeat { line, interval_ms } => format!("{line} heartbeat {interval_ms}"),
            Record::Command(c) => format!("{} command {}={}", c.line, c.name, c.value),
            Record::Rejected(r) => format!("{} rejected: {}", r.line, r.reason),
        }
    }

    fn value_summary(value: &Value<'_>) -> String {
        match value {
            Value::Text(text) => format!("{text:?}"),
            Value::Unavailable => "UNAVAILABLE".into(),
            Value::Condition(c) => format!(
                "{:?}[{}|{}|{}|{}]",
                c.level, c.native_code, c.native_severity, c.qualifier, c.text
            ),
            Value::Message { native_code, text } => format!("message[{native_code}|{text}]"),
            Value::Alarm(a) => format!(
                "alarm[{}|{}|{}|{}|{}]",
                a.code, a.native_code, a.severity, a.state, a.text
            ),
            Value::TimeSeries {
                count,
                rate,
                values,
            } => format!("series[{count}|{rate}|{values}]"),
        }
    }

    fn run(parser: &mut Parser, chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut |record| out.push(summary(&record)));
        }
        out
    }

    fn parse(device: Option<Device>, text: &str) -> (Vec<String>, Stats) {
        let mut parser = Parser::new(device);
        let out = run(&mut parser, &[text.as_bytes()]);
        (out, parser.stats().clone())
    }

    const MODEL: &str = r#"<MTConnectDevices><Devices>
      <Device id="d" name="Lathe" uuid="u-1"><DataItems>
        <DataItem id="exec" name="execution" category="EVENT" type="EXECUTION"/>
        <DataItem id="pc" name="PartCount" category="EVENT" type="PART_COUNT"/>
        <DataItem id="x" name="Xabs" category="SAMPLE" type="POSITION" units="MILLIMETER"/>
        <DataItem id="logic" name="logic_cond" category="CONDITION" type="LOGIC_PROGRAM"/>
        <DataItem id="msg" name="message" category="EVENT" type="MESSAGE"/>
        <DataItem id="alarm" name="alarm" category="EVENT" type="ALARM"/>
        <DataItem id="vib" name="vibration" category="SAMPLE" type="DISPLACEMENT" representation="TIME_SERIES"/>
        <DataItem id="vars" name="vars" category="EVENT" type="VARIABLE" representation="DATA_SET"/>
      </DataItems></Device></Devices></MTConnectDevices>"#;

    fn lathe() -> Option<Device> {
        DeviceModel::parse(MODEL)
            .unwrap()
            .devices
            .into_iter()
            .next()
    }

    #[test]
    fn a_line_of_pairs_gives_one_observation_per_key_with_the_line_timestamp() {
        let (out, stats) = parse(
            lathe(),
            "2022-08-08T13:51:36.7711738Z|execution|ACTIVE|PartCount|3|Xabs|-1.5\n",
        );
        assert_eq!(
            out,
            [
                "1 2022-08-08T13:51:36.771173Z execution->exec = \"ACTIVE\"",
                "1 2022-08-08T13:51:36.771173Z PartCount->pc = \"3\"",
                "1 2022-08-08T13:51:36.771173Z Xabs->x = \"-1.5\"",
            ]
        );
        assert_eq!(
            (stats.lines, stats.observations, stats.bad_lines),
            (1, 3, 0)
        );
    }

    #[test]
    fn bytes_split_anywhere_give_the_same_records() {
        let text = "2022-08-08T13:51:36Z|execution|ACTIVE|message|M1|Température élevée\r\n\
                    2022-08-08T13:51:37Z|@ASSET@|t1|CuttingTool|--multiline--X\n<A>\n</A>\n--multiline--X\n\
                    * PONG 1000\n2022-08-08T13:51:38Z|logic_cond|Fault|1||HIGH|Überlast\n";
        let bytes = text.as_bytes();
        let whole = run(&mut Parser::new(lathe()), &[bytes]);
        assert_eq!(whole.len(), 5, "{whole:#?}");
        for cut in 0..bytes.len() {
            let split = run(&mut Parser::new(lathe()), &[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(split, whole, "cut at byte {cut}");
        }
        let byte_by_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(&mut Parser::new(lathe()), &byte_by_byte), whole);
        assert!(whole[1].contains("Température élevée"), "{}", whole[1]);
    }

    #[test]
    fn crlf_and_lf_both_end_lines() {
        let (out, _) = parse(
            None,
            "2020-01-01T00:00:00Z|a|1\r\n2020-01-01T00:00:01Z|b|2\n",
        );
        assert_eq!(
            out,
            [
                "1 2020-01-01T00:00:00.000000Z a->? = \"1\"",
                "2 2020-01-01T00:00:01.000000Z b->? = \"2\"",
            ]
        );
    }

    #[test]
    fn timestamps_without_zone_are_utc() {
        let (out, _) = parse(None, "2017-10-28T22:26:39.671174|power|ON\n");
        assert_eq!(out, ["1 2017-10-28T22:26:39.671174Z power->? = \"ON\""]);
    }

    #[test]
    fn an_empty_timestamp_means_now_and_a_duration_is_read() {
        let mut parser = Parser::new(None);
        let mut seen = Vec::new();
        parser.feed(
            b"|avail|AVAILABLE\n2020-01-01T00:00:00Z@10.5|load|3\n",
            &mut |r| {
                if let Record::Observation(o) = r {
                    seen.push((o.timestamp, o.duration));
                }
            },
        );
        let ten_past = parse_timestamp("2020-01-01T00:00:00Z");
        assert_eq!(seen, [(None, None), (ten_past, Some(10.5))]);
    }

    #[test]
    fn empty_timestamps_can_be_refused() {
        let mut parser = Parser::new(None).accepting_empty_timestamps(false);
        let out = run(
            &mut parser,
            &[b"|Feed_Rate|63.3\n2020-01-01T00:00:00Z|a|1\n"],
        );
        assert_eq!(
            out,
            [
                "1 rejected: the timestamp is empty",
                "2 2020-01-01T00:00:00.000000Z a->? = \"1\"",
            ]
        );
    }

    #[test]
    fn backwards_timestamps_pass_through_in_order_and_are_counted() {
        let text = "2022-08-08T14:30:19Z|a|1\n2022-08-08T13:57:41Z|a|2\n2022-08-08T13:57:42Z|a|3\n\
                    2022-08-08T13:57:40Z|a|4\n|a|5\n2022-08-08T13:57:39Z|a|6\n";
        let (out, stats) = parse(None, text);
        let times: Vec<&str> = out
            .iter()
            .map(|line| line.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(
            times,
            [
                "2022-08-08T14:30:19.000000Z",
                "2022-08-08T13:57:41.000000Z",
                "2022-08-08T13:57:42.000000Z",
                "2022-08-08T13:57:40.000000Z",
                "now",
                "2022-08-08T13:57:39.000000Z",
            ]
        );
        // Lines 2, 4 and 6 go back; the line without timestamp is not compared.
        assert_eq!(stats.backwards_timestamps, 3);
    }

    #[test]
    fn values_keep_their_case_and_conditions_read_any_case() {
        let (out, _) = parse(
            lathe(),
            "2020-01-01T00:00:00Z|execution|Active\n2020-01-01T00:00:00Z|logic_cond|Normal||||\n\
             2020-01-01T00:00:00Z|logic_cond|wARNING|3|||Low battery\n",
        );
        assert!(
            out[0].ends_with("execution->exec = \"Active\""),
            "{}",
            out[0]
        );
        assert!(
            out[1].ends_with("logic_cond->logic = Normal[|||]"),
            "{}",
            out[1]
        );
        assert!(out[2].ends_with("= Warning[3|||Low battery]"), "{}", out[2]);
    }

    #[test]
    fn unavailable_is_recognized_in_any_case() {
        let (out, _) = parse(
            lathe(),
            "2020-01-01T00:00:00Z|execution|unavailable|Xabs|UNAVAILABLE|message||Unavailable\n\
             2020-01-01T00:00:00Z|logic_cond|Unavailable||||\n",
        );
        assert!(out[0].ends_with("= UNAVAILABLE") && out[1].ends_with("= UNAVAILABLE"));
        assert!(out[2].ends_with("message->msg = UNAVAILABLE"), "{}", out[2]);
        assert!(out[3].ends_with("= Unavailable[|||]"), "{}", out[3]);
    }

    #[test]
    fn an_empty_value_is_an_empty_text() {
        let (out, stats) = parse(lathe(), "2020-01-01T00:00:00Z|Xabs||execution|\n");
        assert!(out[0].ends_with("Xabs->x = \"\""), "{}", out[0]);
        assert!(out[1].ends_with("execution->exec = \"\""), "{}", out[1]);
        assert_eq!(stats.bad_lines, 0);
    }

    #[test]
    fn fields_are_trimmed_and_quotes_removed() {
        let (out, _) = parse(
            None,
            "      2020-01-01T00:00:00Z | a | 1 |b| |c|\"  x\\\"y \"|d|\"plain\"\n",
        );
        assert_eq!(out.len(), 4);
        assert!(out[0].ends_with("a->? = \"1\""), "{}", out[0]);
        assert!(out[1].ends_with("b->? = \"\""), "{}", out[1]);
        assert!(out[2].ends_with("c->? = \"  x\\\"y \""), "{}", out[2]);
        assert!(out[3].ends_with("d->? = \"plain\""), "{}", out[3]);
    }

    #[test]
    fn unknown_keys_are_kept_and_counted_only_with_a_model() {
        let text = "2020-01-01T00:00:00Z|execution|READY|mystery|42\n";
        let (out, stats) = parse(lathe(), text);
        assert!(out[1].ends_with("mystery->? = \"42\""), "{}", out[1]);
        assert_eq!(stats.unknown_keys, 1);
        let (_, stats) = parse(None, text);
        assert_eq!(stats.unknown_keys, 0);
    }

    #[test]
    fn keys_may_name_the_device_first() {
        let (out, stats) = parse(
            lathe(),
            "2020-01-01T00:00:00Z|Lathe:execution|READY|u-1:pc|1\n",
        );
        assert!(
            out[0].ends_with("Lathe:execution->exec = \"READY\""),
            "{}",
            out[0]
        );
        assert!(out[1].ends_with("u-1:pc->pc = \"1\""), "{}", out[1]);
        assert_eq!(stats.unknown_keys, 0);
    }

    #[test]
    fn the_model_says_how_many_fields_each_key_takes() {
        let text = "2020-01-01T00:00:00Z|message|E12|Door open|alarm|OTHER|7|CRITICAL|ACTIVE|Oil low\n\
                    2020-01-01T00:00:00Z|vibration|4|100|1 2 3 4|vars|a=1 b=2\n";
        let (out, stats) = parse(lathe(), text);
        assert_eq!(stats.bad_lines, 0, "{out:?}");
        assert!(
            out[0].ends_with("message->msg = message[E12|Door open]"),
            "{}",
            out[0]
        );
        assert!(out[1].ends_with("alarm->alarm = alarm[OTHER|7|CRITICAL|ACTIVE|Oil low]"));
        assert!(
            out[2].ends_with("vibration->vib = series[4|100|1 2 3 4]"),
            "{}",
            out[2]
        );
        assert!(out[3].ends_with("vars->vars = \"a=1 b=2\""), "{}", out[3]);
    }

    #[test]
    fn without_a_model_conditions_are_recognized_by_level_and_qualifier() {
        let text = "2016-05-10T05:00:00Z|Ctravel|Unavailable||||\n\
                    2016-05-10T05:00:01Z|logic_cond|Warning|3||| Low battery\n\
                    2016-05-10T05:00:02Z|Xtravel|WARNING|101||HIGH|\n\
                    2022-08-08T13:51:34Z|p1PalletID|UNAVAILABLE|p1CMOMachineAxisLock|OFF|p1CMOSinglBlock|ON\n\
                    2022-08-08T13:51:35Z|mode|NORMAL|exec|ACTIVE|line|12\n";
        let (out, stats) = parse(None, text);
        assert_eq!(stats.bad_lines, 0, "{out:#?}");
        assert!(
            out[0].ends_with("Ctravel->? = Unavailable[|||]"),
            "{}",
            out[0]
        );
        assert!(
            out[1].ends_with("logic_cond->? = Warning[3|||Low battery]"),
            "{}",
            out[1]
        );
        assert!(
            out[2].ends_with("Xtravel->? = Warning[101||HIGH|]"),
            "{}",
            out[2]
        );
        assert!(
            out[3].ends_with("p1PalletID->? = UNAVAILABLE"),
            "{}",
            out[3]
        );
        assert!(
            out[4].ends_with("p1CMOMachineAxisLock->? = \"OFF\""),
            "{}",
            out[4]
        );
        assert!(out[6].ends_with("mode->? = \"NORMAL\""), "{}", out[6]);
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn bad_lines_are_rejected_whole_with_their_number_and_reason() {
        let text = "2020-01-01T00:00:00Z|execution|READY\n\
                    te|63.3333333333333|Program_Name_Editing|NONAME1.HWM\n\
                    2020-01-01T00:00:01Z|execution|ACTIVE|PartCount\n\
                    2020-01-01T00:00:02Z|logic_cond|Broken||||\n\
                    2020-01-01T00:00:03Z|execution|ACTIVE||x\n\
                    2020-01-01T00:00:04Z\n\
                    2020-01-01T00:00:05Z|logic_cond|fault|1|\n\
                    2020-01-01T00:00:06Z|@FOO@|x\n\
                    2020-01-01T00:00:07Z|@REMOVE_ASSET@\n\
                    2020-13-01T00:00:08Z|execution|READY\n\
                    2020-01-01T00:00:09Z@abc|execution|READY\n\
                    2020-01-01T00:00:10Z|execution|STOPPED\n";
        let (out, stats) = parse(lathe(), text);
        assert_eq!(
            out,
            [
                "1 2020-01-01T00:00:00.000000Z execution->exec = \"READY\"",
                "2 rejected: `te` is not a timestamp",
                "3 rejected: `PartCount` takes 1 field(s) but the line has 0 after it",
                "4 rejected: `logic_cond`: `Broken` is not a condition level (normal, warning, fault, unavailable)",
                "5 rejected: field 3 is an empty key",
                "6 rejected: a timestamp without any key",
                "7 rejected: `logic_cond` takes 5 field(s) but the line has 3 after it",
                "8 rejected: unknown asset command `@FOO@`",
                "9 rejected: @REMOVE_ASSET@ needs 1 field(s) after it",
                "10 rejected: `2020-13-01T00:00:08Z` is not a timestamp",
                "11 rejected: `2020-01-01T00:00:09Z@abc` is not a timestamp",
                "12 2020-01-01T00:00:10.000000Z execution->exec = \"STOPPED\"",
            ]
        );
        assert_eq!(
            (stats.bad_lines, stats.observations, stats.lines),
            (10, 2, 12)
        );
        let last = stats.last_bad.unwrap();
        assert_eq!(last.line, 11);
    }

    #[test]
    fn heartbeats_and_commands_are_reported() {
        let (out, stats) = parse(
            None,
            "* PONG 10000\n*adapterVersion:UNAVAILABLE||\n* shdrVersion: 2\n* PONG soon\n",
        );
        assert_eq!(
            out,
            [
                "1 heartbeat 10000",
                "2 command adapterVersion=UNAVAILABLE||",
                "3 command shdrVersion=2",
                "4 rejected: heartbeat reply `PONG soon` has no valid interval in milliseconds",
            ]
        );
        assert_eq!(
            (stats.heartbeats, stats.commands, stats.observations),
            (1, 2, 0)
        );
    }

    #[test]
    fn asset_commands_keep_bodies_verbatim() {
        let text = "2022-08-08T13:51:34Z|@REMOVE_ALL_ASSETS@|CuttingTool\n\
                    2022-08-08T13:43:36Z|@ASSET@|123456.2201|CuttingTool|--multiline--ABCD\n\
                    <CuttingTool a=\"1|2\">\n  <Life>3</Life>\n</CuttingTool>\n\
                    --multiline--ABCD\n\
                    2022-08-08T13:51:41Z|@REMOVE_ASSET@|123456.8003|execution|READY\n\
                    2022-08-08T13:51:42Z|@ASSET@|P1|Part|<Part a=\"x|y\"/>\n\
                    2022-08-08T13:51:43Z|@UPDATE_ASSET@|P1|Count|4\n\
                    2022-08-08T13:51:44Z|@REMOVE_ALL_ASSETS@\n";
        let mut parser = Parser::new(lathe());
        let mut assets = Vec::new();
        let mut others = Vec::new();
        parser.feed(text.as_bytes(), &mut |record| match record {
            Record::Asset(a) => assets.push((a.line, format!("{:?}", a.action))),
            other => others.push(summary(&other)),
        });
        let body = "<CuttingTool a=\"1|2\">\n  <Life>3</Life>\n</CuttingTool>";
        assert_eq!(
            assets,
            [
                (
                    1,
                    format!(
                        "{:?}",
                        AssetAction::RemoveAll {
                            asset_type: Some("CuttingTool".into())
                        }
                    )
                ),
                (
                    2,
                    format!(
                        "{:?}",
                        AssetAction::Add {
                            id: "123456.2201".into(),
                            asset_type: "CuttingTool".into(),
                            body: body.into()
                        }
                    )
                ),
                (
                    7,
                    format!(
                        "{:?}",
                        AssetAction::Remove {
                            id: "123456.8003".into()
                        }
                    )
                ),
                (
                    8,
                    format!(
                        "{:?}",
                        AssetAction::Add {
                            id: "P1".into(),
                            asset_type: "Part".into(),
                            body: "<Part a=\"x|y\"/>".into()
                        }
                    )
                ),
                (
                    9,
                    format!(
                        "{:?}",
                        AssetAction::Update {
                            id: "P1".into(),
                            changes: "Count|4"
                        }
                    )
                ),
                (
                    10,
                    format!("{:?}", AssetAction::RemoveAll { asset_type: None })
                ),
            ]
        );
        assert_eq!(
            others,
            ["7 2022-08-08T13:51:41.000000Z execution->exec = \"READY\""]
        );
        assert_eq!((parser.stats().assets, parser.stats().lines), (6, 10));
    }

    #[test]
    fn a_multiline_value_of_a_data_item_is_its_body() {
        let (out, _) = parse(
            lathe(),
            "2020-01-01T00:00:00Z|message|M1|--multiline--Z\nline one\nline two\n--multiline--Z\n\
             2020-01-01T00:00:01Z|execution|READY\n",
        );
        assert_eq!(
            out,
            [
                "1 2020-01-01T00:00:00.000000Z message->msg = message[M1|line one\nline two]",
                "5 2020-01-01T00:00:01.000000Z execution->exec = \"READY\"",
            ]
        );
    }

    #[test]
    fn overlong_lines_and_blocks_are_rejected_and_parsing_resumes() {
        let mut parser = Parser::new(None).with_limits(64, 25);
        let long = format!("2020-01-01T00:00:00Z|a|{}\n", "x".repeat(100));
        let chunks: Vec<&[u8]> = long.as_bytes().chunks(7).collect();
        let mut out = run(&mut parser, &chunks);
        out.extend(run(&mut parser, &[long.as_bytes()]));
        out.extend(run(
            &mut parser,
            &[b"2020-01-01T00:00:00Z|@ASSET@|a|T|--multiline--Q\n0123456789\n0123456789\n0123456789\n\
                2020-01-01T00:00:01Z|b|2\n"],
        ));
        assert_eq!(
            out,
            [
                "1 rejected: line longer than 64 bytes",
                "2 rejected: line longer than 64 bytes",
                "3 rejected: multi-line block `--multiline--Q` grew past 25 bytes without its terminator",
                "7 2020-01-01T00:00:01.000000Z b->? = \"2\"",
            ]
        );
    }

    #[test]
    fn finish_reads_a_last_line_without_newline_and_reset_forgets_partial_lines() {
        let mut parser = Parser::new(None);
        let mut out = run(
            &mut parser,
            &[b"2020-01-01T00:00:00Z|a|1\n2020-01-01T00:00:00Z|b|2"],
        );
        parser.finish(&mut |record| out.push(summary(&record)));
        assert_eq!(out.len(), 2);
        let mut out = run(&mut parser, &[b"2020-01-01T00:00:00Z|c|3\n2020-01-01T00:0"]);
        parser.reset();
        out.extend(run(&mut parser, &[b"2020-01-01T00:00:01Z|d|4\n"]));
        assert_eq!(
            out,
            [
                "1 2020-01-01T00:00:00.000000Z c->? = \"3\"",
                "1 2020-01-01T00:00:01.000000Z d->? = \"4\"",
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced() {
        let (out, _) = parse(None, "");
        assert!(out.is_empty());
        let mut parser = Parser::new(None);
        let out = run(&mut parser, &[b"2020-01-01T00:00:00Z|msg|Temp \xb0C\n"]);
        assert!(
            out[0].ends_with("msg->? = \"Temp \u{fffd}C\""),
            "{}",
            out[0]
        );
    }

    #[test]
    fn find_byte_finds_the_first_match_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b'\n';
                if at + 3 < len {
                    bytes[at + 3] = b'\n';
                }
                assert_eq!(find_byte(b'\n', &bytes), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_byte(b'\n', &vec![0x8a; len]), None);
        }
    }

    // ---- fixtures: real adapter logs with their device models ----

    /// Parses a fixture log with a device of a fixture model, the way a connection would.
    fn parse_fixture(
        test: &str,
        log: &str,
        model: &str,
        device: &str,
        mut sink: impl FnMut(Record<'_>),
    ) -> Option<(String, Stats)> {
        let text = fixtures::read(test, log)?;
        let xml = fixtures::read(test, model)?;
        let device = DeviceModel::parse(&xml).unwrap().device(device).cloned();
        assert!(device.is_some(), "{device:?} not in {model}");
        let mut parser = Parser::new(device);
        // Reads of an odd size, as TCP would deliver them.
        for chunk in text.as_bytes().chunks(1_397) {
            parser.feed(chunk, &mut sink);
        }
        parser.finish(&mut sink);
        Some((text, parser.stats().clone()))
    }

    /// The data lines of a log (not commands, not multi-line block lines), with their numbers.
    fn data_lines(text: &str) -> Vec<(u64, &str)> {
        let mut lines = Vec::new();
        let mut terminator: Option<&str> = None;
        for (index, line) in text.lines().enumerate() {
            if let Some(end) = terminator {
                if line.trim() == end {
                    terminator = None;
                }
                continue;
            }
            if let Some(at) = line.find(MULTILINE_MARKER) {
                terminator = Some(line[at..].trim());
            }
            if !line.trim().is_empty() && !line.starts_with('*') {
                lines.push((index as u64 + 1, line));
            }
        }
        lines
    }

    #[test]
    fn okuma_log_with_the_demo_model() {
        let test = "okuma_log_with_the_demo_model";
        let mut assets = Vec::new();
        let mut part_counts = Vec::new();
        let mut executions = Vec::new();
        let mut times = Vec::new();
        let mut rejected = Vec::new();
        let Some((text, stats)) = parse_fixture(
            test,
            "cppagent/okuma.txt",
            "cppagent/demo-Devices.xml",
            "OKUMA",
            |record| match record {
                Record::Asset(asset) => {
                    times.push((asset.line, asset.timestamp));
                    if let AssetAction::Add { id, body, .. } = asset.action {
                        assets.push((asset.line, id.into_owned(), body.into_owned()));
                    }
                }
                Record::Observation(o) => {
                    times.push((o.line, o.timestamp));
                    match (o.item.map(|i| i.kind.as_str()), &o.value) {
                        (Some("PART_COUNT"), Value::Text(v)) => part_counts.push(v.to_string()),
                        (Some("EXECUTION"), Value::Text(v)) => executions.push(v.to_string()),
                        _ => {}
                    }
                }
                Record::Rejected(r) => rejected.push(r),
                _ => {}
            },
        ) else {
            return;
        };
        assert!(rejected.is_empty(), "{rejected:#?}");
        assert_eq!(stats.bad_lines, 0);

        // Every `@ASSET@` line opens a multi-line block: 118 of them in this capture, each body
        // the lines between its markers. With the 34 removals they are the 152 asset commands
        // the fixtures README counts.
        let lines: Vec<&str> = text.lines().collect();
        let asset_lines: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains("|@ASSET@|"))
            .collect();
        assert_eq!(asset_lines.len(), 118);
        assert_eq!(assets.len(), asset_lines.len());
        let asset_commands = lines.iter().filter(|line| line.contains("|@")).count();
        assert_eq!(stats.assets, asset_commands as u64);
        assert_eq!(asset_commands, 152);
        for ((line, id, body), index) in assets.iter().zip(&asset_lines) {
            assert_eq!(*line, *index as u64 + 1);
            let header: Vec<&str> = lines[*index].split('|').collect();
            assert_eq!(id, header[2]);
            let end = (index + 1..lines.len())
                .find(|&i| lines[i] == header[4])
                .unwrap();
            assert_eq!(*body, lines[index + 1..end].join("\n"));
            assert!(body.starts_with("<CuttingTool") && body.ends_with("</CuttingTool>"));
        }

        // Observations come in file order with the lines' timestamps, including the two
        // captures whose clocks jump back (more than ten minutes).
        let expected: Vec<(u64, Option<i64>)> = data_lines(&text)
            .into_iter()
            .map(|(number, line)| (number, parse_timestamp(line.split('|').next().unwrap())))
            .collect();
        let mut lines_seen: Vec<(u64, Option<i64>)> = times.clone();
        lines_seen.dedup();
        assert_eq!(lines_seen, expected);
        let observation_lines: Vec<(u64, Option<i64>)> = data_lines(&text)
            .into_iter()
            .filter(|(_, line)| !line.contains("|@"))
            .map(|(number, line)| (number, parse_timestamp(line.split('|').next().unwrap())))
            .collect();
        let jumps: Vec<u64> = observation_lines
            .windows(2)
            .filter(|pair| pair[1].1.unwrap() < pair[0].1.unwrap() - 600_000_000_000)
            .map(|pair| pair[1].0)
            .collect();
        assert_eq!(jumps.len(), 2, "{jumps:?}");
        let backwards = expected
            .windows(2)
            .filter(|pair| pair[1].1 < pair[0].1)
            .count();
        assert_eq!(stats.backwards_timestamps, backwards as u64);

        // PartCount and Execution, as written in the file.
        let written = |key: &str| -> Vec<String> {
            let pattern = format!("|{key}|");
            text.lines()
                .flat_map(|line| line.match_indices(&pattern).map(move |(at, _)| &line[at..]))
                .map(|rest| rest[pattern.len()..].split('|').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(part_counts, written("ppartcount"));
        assert_eq!(part_counts.first().map(String::as_str), Some("0"));
        assert!(part_counts.contains(&"3".to_owned()));
        assert_eq!(executions, written("pexecution"));
        for state in ["READY", "ACTIVE", "PROGRAM_COMPLETED"] {
            assert!(executions.iter().any(|e| e == state), "{state}");
        }
        let commands = lines.iter().filter(|line| line.starts_with('*')).count();
        assert_eq!(stats.commands, commands as u64);
        assert_eq!(stats.lines, lines.len() as u64);
    }

    #[test]
    fn okuma_first_line_carries_79_pairs() {
        let test = "okuma_first_line_carries_79_pairs";
        let mut first_line = 0;
        let Some((text, _)) = parse_fixture(
            test,
            "cppagent/okuma.txt",
            "cppagent/demo-Devices.xml",
            "OKUMA",
            |record| {
                if let Record::Observation(o) = record
                    && o.line == 1
                {
                    first_line += 1;
                }
            },
        ) else {
            return;
        };
        let pipes = text.lines().next().unwrap().matches('|').count();
        assert_eq!(first_line, pipes / 2);
        assert_eq!(first_line, 79);
    }

    #[test]
    fn nist_mazak_day_with_the_nist_model() {
        let test = "nist_mazak_day_with_the_nist_model";
        let mut executions = Vec::new();
        let mut conditions = Vec::new();
        let mut unknown = std::collections::BTreeSet::new();
        let Some((text, stats)) = parse_fixture(
            test,
            "nist-smstestbed/Mazak03-20160510-20160511.txt",
            "nist-smstestbed/Devices.xml",
            "Mazak03",
            |record| {
                let Record::Observation(o) = record else {
                    return;
                };
                match (o.item, &o.value) {
                    (Some(item), value) if item.kind == "EXECUTION" => {
                        executions.push(value_summary(value))
                    }
                    (_, Value::Condition(c)) => {
                        conditions.push((c.level, c.native_code.to_string()))
                    }
                    _ => {}
                }
                if o.item.is_none() {
                    unknown.insert(o.key.to_owned());
                }
            },
        ) else {
            return;
        };
        assert_eq!(stats.bad_lines, 0, "{:?}", stats.last_bad);
        let lines: Vec<&str> = text.lines().collect();
        let execution_lines: Vec<String> = lines
            .iter()
            .filter_map(|line| line.split_once("|execution|"))
            .map(|(_, value)| match value {
                "UNAVAILABLE" => "UNAVAILABLE".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(executions, execution_lines);
        assert_eq!(executions.len(), 169);
        // Every report is a change: 168 transitions after the first value.
        assert_eq!(executions.windows(2).filter(|w| w[0] != w[1]).count(), 168);

        let condition_lines = lines.iter().filter(|l| l.matches('|').count() == 6).count();
        assert_eq!(conditions.len(), condition_lines);
        assert_eq!(condition_lines, 596);
        let warnings = lines.iter().filter(|l| l.contains("|Warning|")).count();
        assert_eq!(
            conditions.iter().filter(|c| c.0 == Level::Warning).count(),
            warnings
        );
        assert!(
            conditions
                .iter()
                .filter(|c| c.0 == Level::Warning)
                .all(|c| !c.1.is_empty())
        );
        // The model lacks some of the log's keys: they are kept and counted.
        assert!(!unknown.is_empty());
        assert!(stats.unknown_keys > 0);
    }

    #[test]
    fn mazak_agent_logs_with_their_models() {
        let test = "mazak_agent_logs_with_their_models";
        for (log, model, device) in [
            (
                "mtconnect-agent/Mazak01.log",
                "mtconnect-agent/Mazak01.xml",
                "Mazak01",
            ),
            (
                "mtconnect-agent/Mazak03.log",
                "mtconnect-agent/Mazak03.xml",
                "Mazak03",
            ),
        ] {
            let mut observations = 0;
            let mut empty = 0;
            let mut normal_conditions = 0;
            let mut zoneless = 0;
            let Some((text, stats)) = parse_fixture(test, log, model, device, |record| {
                if let Record::Observation(o) = record {
                    observations += 1;
                    match &o.value {
                        Value::Text(t) if t.is_empty() => empty += 1,
                        Value::Condition(c) if c.level == Level::Normal => normal_conditions += 1,
                        _ => {}
                    }
                    zoneless += usize::from(o.timestamp.is_some());
                }
            }) else {
                return;
            };
            assert_eq!(stats.bad_lines, 0, "{log}: {:?}", stats.last_bad);
            // Conditions (`key|Level||||`) take 5 fields and sit alone on their line; every
            // other key takes one.
            let lines: Vec<&str> = text.lines().collect();
            let expected: usize = lines
                .iter()
                .map(|line| {
                    let fields: Vec<&str> = line.split('|').collect();
                    if fields.len() == 7 && Level::parse(fields[2]).is_some() {
                        1
                    } else {
                        (fields.len() - 1) / 2
                    }
                })
                .sum();
            assert_eq!(observations, expected, "{log}");
            assert_eq!(
                normal_conditions,
                text.matches("|Normal||||").count(),
                "{log}"
            );
            assert!(normal_conditions > 0, "{log}");
            // `Zabs|`-style empty values (lines ending in one `|`) are empty texts.
            let written_empty = lines
                .iter()
                .filter(|line| line.ends_with('|') && !line.ends_with("||"))
                .count();
            assert!(written_empty > 0, "{log}");
            assert_eq!(empty, written_empty, "{log}");
            // Most lines have no zone; all of them got a timestamp.
            let without_zone = lines
                .iter()
                .filter(|line| !line.split('|').next().unwrap().ends_with('Z'))
                .count();
            assert!(without_zone > lines.len() / 2, "{log}");
            assert_eq!(zoneless, observations, "{log}");
        }
    }

    #[test]
    fn hurco_cycle_maps_part_count_and_program_status() {
        let test = "hurco_cycle_maps_part_count_and_program_status";
        let mut part_counts = Vec::new();
        let mut statuses = Vec::new();
        let Some((text, stats)) = parse_fixture(
            test,
            "nist-smstestbed/Plate-Op2-Hurco04-01of20.txt",
            "nist-smstestbed/Devices.xml",
            "Hurco04",
            |record| {
                if let Record::Observation(o) = record
                    && let (Some(item), Value::Text(value)) = (o.item, &o.value)
                {
                    match item.kind.as_str() {
                        "PART_COUNT" => part_counts.push(value.to_string()),
                        "EXECUTION" => statuses.push(value.to_string()),
                        _ => {}
                    }
                }
            },
        ) else {
            return;
        };
        assert_eq!(stats.bad_lines, 0);
        assert_eq!(part_counts, ["1089"]);
        let written: Vec<&str> = text
            .lines()
            .filter_map(|line| line.split_once("|Program_Status|"))
            .map(|(_, rest)| rest.split('|').next().unwrap())
            .collect();
        assert_eq!(statuses, written);
        assert!(statuses.iter().any(|s| s == "ACTIVE"));
        assert!(statuses.iter().any(|s| s == "FEED_HOLD"));
        assert_eq!(
            statuses.last().map(String::as_str),
            Some("PROGRAM_COMPLETED")
        );
    }

    #[test]
    fn hurco_raw_capture_matches_its_clean_twin_line_for_line() {
        let test = "hurco_raw_capture_matches_its_clean_twin_line_for_line";
        let model = "nist-smstestbed/Devices.xml";
        let mut clean_records: HashMap<u64, Vec<String>> = HashMap::new();
        let mut raw_records: HashMap<u64, Vec<String>> = HashMap::new();
        let mut raw_rejected = std::collections::BTreeSet::new();
        let Some((clean, clean_stats)) = parse_fixture(
            test,
            "nist-smstestbed/2-17-2017-Hurco04-Clean.txt",
            model,
            "Hurco04",
            |record| {
                if let Record::Observation(o) = &record {
                    let text = summary(&record).split_once(' ').unwrap().1.to_owned();
                    clean_records.entry(o.line).or_default().push(text);
                }
            },
        ) else {
            return;
        };
        let Some((raw, _)) = parse_fixture(
            test,
            "nist-smstestbed/2-17-2017-Hurco04.txt",
            model,
            "Hurco04",
            |record| match &record {
                Record::Observation(o) => {
                    let text = summary(&record).split_once(' ').unwrap().1.to_owned();
                    raw_records.entry(o.line).or_default().push(text);
                }
                Record::Rejected(r) => {
                    raw_rejected.insert(r.line);
                }
                _ => {}
            },
        ) else {
            return;
        };
        assert_eq!(clean_stats.bad_lines, 0);
        let clean_lines: HashMap<&str, u64> = clean
            .lines()
            .enumerate()
            .map(|(i, line)| (line, i as u64 + 1))
            .collect();
        let mut identical = 0;
        let mut accepted_fragments = 0;
        for (index, line) in raw.lines().enumerate() {
            let number = index as u64 + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(clean_number) = clean_lines.get(trimmed) {
                // The terminal only added padding: the same observations.
                identical += 1;
                assert_eq!(
                    raw_records.get(&number),
                    clean_records.get(clean_number),
                    "line {number}"
                );
            } else if raw_rejected.contains(&number) {
                assert!(!raw_records.contains_key(&number));
            } else {
                // A head cut right after a complete value cannot be told from a real line, nor
                // a tail cut right before a `|` from a line without timestamp; each is at least
                // part of a clean line.
                assert!(
                    clean
                        .lines()
                        .any(|c| c.starts_with(trimmed) || c.ends_with(trimmed)),
                    "line {number} accepted: {trimmed}"
                );
                accepted_fragments += 1;
            }
        }
        assert!(identical >= 100, "{identical}");
        assert!(raw_rejected.len() > 300, "{}", raw_rejected.len());
        assert!(accepted_fragments < 50, "{accepted_fragments}");
    }
}
