//! Bytes from the adapter → observations: the SHDR parser and the mapping, plus what the driver
//! must remember between reads (which data items currently have a value, the adapter's
//! heartbeat, the bad lines to log). No host calls: the same code runs natively (tests, host
//! benchmarks) and inside the component.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use chatter_mtconnect::devices::Device;
use chatter_mtconnect::shdr::{
    DEFAULT_MAX_BLOCK_BYTES, DEFAULT_MAX_LINE_BYTES, KeyHasher, Parser, Record, Rejection, Stats,
};
use chatter_sdk::{DataItem, Observation, Value, now};

use crate::mapping::Mapper;

/// How many rejected lines a decoder keeps for the driver to log one by one; later ones are only
/// counted (and summarized).
pub const LOGGED_REJECTIONS: usize = 20;

/// Limits of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderOptions {
    /// Longest line accepted, in bytes.
    pub max_line_bytes: usize,
    /// Largest multi-line block (asset document) accepted, in bytes.
    pub max_block_bytes: usize,
    /// Whether lines with an empty timestamp field are accepted (stamped with their arrival) or
    /// rejected as bad.
    pub accept_empty_timestamps: bool,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            accept_empty_timestamps: true,
        }
    }
}

/// Decodes one adapter's SHDR stream into observations.
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
    mapper: Mapper,
    /// Data item id → whether its last value was `unavailable`.
    unavailable: Availability,
    heartbeat_ms: Option<u64>,
    rejections: Vec<Rejection>,
    rejections_kept: usize,
}

impl Decoder {
    /// A decoder for the device `model` feeds (or for a stream without model).
    pub fn new(model: Option<Device>, options: DecoderOptions) -> Self {
        Decoder {
            mapper: Mapper::new(model.as_ref()),
            parser: Parser::new(model)
                .with_limits(options.max_line_bytes, options.max_block_bytes)
                .accepting_empty_timestamps(options.accept_empty_timestamps),
            unavailable: Availability::default(),
            heartbeat_ms: None,
            rejections: Vec::new(),
            rejections_kept: 0,
        }
    }

    /// Decodes the next `bytes` of the stream, appending the observations of the lines they
    /// complete to `out`, oldest first. Lines without timestamp are stamped with the current
    /// time.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Observation>) {
        self.feed_at(bytes, now(), out);
    }

    /// [`feed`](Self::feed), stamping lines without timestamp with `arrival` (ns since the
    /// epoch).
    pub fn feed_at(&mut self, bytes: &[u8], arrival: i64, out: &mut Vec<Observation>) {
        let Decoder {
            parser,
            mapper,
            unavailable,
            heartbeat_ms,
            rejections,
            rejections_kept,
        } = self;
        parser.feed(bytes, &mut |record| {
            match &record {
                Record::Heartbeat { interval_ms, .. } => *heartbeat_ms = Some(*interval_ms),
                Record::Rejected(rejection) if *rejections_kept < LOGGED_REJECTIONS => {
                    *rejections_kept += 1;
                    rejections.push(rejection.clone());
                }
                _ => {}
            }
            if let Some(observation) = mapper.observation(&record, arrival) {
                remember(unavailable, &observation);
                out.push(observation);
            }
        });
    }

    /// Ends a stream that will not continue (a file): decodes its last line even without a
    /// newline.
    pub fn finish_at(&mut self, arrival: i64, out: &mut Vec<Observation>) {
        let mapper = &self.mapper;
        let unavailable = &mut self.unavailable;
        self.parser.finish(&mut |record| {
            if let Some(observation) = mapper.observation(&record, arrival) {
                remember(unavailable, &observation);
                out.push(observation);
            }
        });
    }

    /// The adapter is gone: appends `unavailable` at time `at` for every data item whose last
    /// value was something else — what an MTConnect agent reports when its adapter disconnects —
    /// and forgets the partial line and the heartbeat, ready for a new connection.
    pub fn disconnected(&mut self, at: i64, out: &mut Vec<Observation>) {
        let mut gone: Vec<&String> = self
            .unavailable
            .iter()
            .filter(|(_, unavailable)| !**unavailable)
            .map(|(id, _)| id)
            .collect();
        // Sorted so that the same history gives the same observations.
        gone.sort();
        out.extend(
            gone.into_iter()
                .map(|id| Observation::unavailable(id.as_str(), at)),
        );
        for unavailable in self.unavailable.values_mut() {
            *unavailable = true;
        }
        self.parser.reset();
        self.heartbeat_ms = None;
    }

    /// The heartbeat interval of the adapter's last `* PONG <ms>` on this connection.
    pub fn heartbeat_ms(&self) -> Option<u64> {
        self.heartbeat_ms
    }

    /// The rejected lines not yet taken, among the first [`LOGGED_REJECTIONS`] ever.
    pub fn take_rejections(&mut self) -> Vec<Rejection> {
        std::mem::take(&mut self.rejections)
    }

    /// What the parser has seen: lines, observations, bad lines, unknown keys, backwards
    /// timestamps, assets.
    pub fn stats(&self) -> &Stats {
        self.parser.stats()
    }

    /// The data items to declare: the model's (none without a model).
    pub fn data_items(&self) -> Vec<DataItem> {
        self.parser
            .device()
            .map(|device| self.mapper.data_items(device))
            .unwrap_or_default()
    }
}

/// Whether the last value of each data item seen was `unavailable`, by data item id.
type Availability = HashMap<String, bool, BuildHasherDefault<KeyHasher>>;

fn remember(unavailable: &mut Availability, observation: &Observation) {
    let is_unavailable = matches!(observation.value, Value::Unavailable);
    match unavailable.get_mut(&observation.data_item) {
        Some(state) => *state = is_unavailable,
        None => {
            unavailable.insert(observation.data_item.clone(), is_unavailable);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chatter_mtconnect::devices::DeviceModel;
    use chatter_sdk::ConditionLevel;

    use super::*;

    fn decoder() -> Decoder {
        Decoder::new(None, DecoderOptions::default())
    }

    fn decode(decoder: &mut Decoder, text: &str) -> Vec<Observation> {
        let mut out = Vec::new();
        decoder.feed_at(text.as_bytes(), 7, &mut out);
        out
    }

    #[test]
    fn a_disconnect_makes_every_available_item_unavailable_once() {
        let mut decoder = decoder();
        decode(
            &mut decoder,
            "2020-01-01T00:00:00Z|exec|ACTIVE|mode|UNAVAILABLE|load|5\n\
             2020-01-01T00:00:00Z|sys|Fault|1|||Broken\n\
             2020-01-01T00:00:01Z|load|UNAVAILABLE|part|\n",
        );
        let mut out = Vec::new();
        decoder.disconnected(99, &mut out);
        let gone: Vec<(&str, i64)> = out
            .iter()
            .inspect(|o| assert!(matches!(o.value, Value::Unavailable)))
            .map(|o| (o.data_item.as_str(), o.timestamp))
            .collect();
        assert_eq!(gone, [("exec", 99), ("part", 99), ("sys", 99)]);
        let mut again = Vec::new();
        decoder.disconnected(100, &mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn a_disconnect_drops_the_partial_line_and_the_heartbeat() {
        let mut decoder = decoder();
        decode(&mut decoder, "* PONG 5000\n2020-01-01T00:00:00Z|exec|ACT");
        assert_eq!(decoder.heartbeat_ms(), Some(5000));
        decoder.disconnected(1, &mut Vec::new());
        assert_eq!(decoder.heartbeat_ms(), None);
        let out = decode(&mut decoder, "IVE\n2020-01-01T00:00:01Z|exec|READY\n");
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(matches!(&out[0].value, Value::Event(v) if v == "READY"));
        assert_eq!(decoder.stats().bad_lines, 1);
    }

    #[test]
    fn the_first_rejections_are_kept_for_logging() {
        let mut decoder = decoder();
        let bad: String = (0..30).map(|i| format!("garbage {i}\n")).collect();
        decode(&mut decoder, &bad);
        let first = decoder.take_rejections();
        assert_eq!(first.len(), LOGGED_REJECTIONS);
        assert_eq!(first[0].line, 1);
        assert!(decoder.take_rejections().is_empty());
        decode(&mut decoder, "more garbage\n");
        assert!(decoder.take_rejections().is_empty());
        assert_eq!(decoder.stats().bad_lines, 31);
    }

    #[test]
    fn finish_decodes_a_last_line_without_newline() {
        let mut decoder = decoder();
        let mut out = decode(
            &mut decoder,
            "2020-01-01T00:00:00Z|a|1\n2020-01-01T00:00:00Z|b|2",
        );
        decoder.finish_at(7, &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn without_a_model_nothing_is_declared() {
        assert!(decoder().data_items().is_empty());
        let model = DeviceModel::parse(
            r#"<MTConnectDevices><Devices><Device id="d" name="n"><DataItems>
               <DataItem id="c" category="CONDITION" type="SYSTEM"/></DataItems></Device>
               </Devices></MTConnectDevices>"#,
        )
        .unwrap();
        let decoder = Decoder::new(model.devices.into_iter().next(), DecoderOptions::default());
        let ids: Vec<String> = decoder.data_items().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["c", "asset_changed", "asset_removed"]);
    }

    #[test]
    fn conditions_from_the_stream_reach_the_observations() {
        let mut decoder = decoder();
        let out = decode(
            &mut decoder,
            "2020-01-01T00:00:00Z|sys|WARNING|9||LOW|Cold\n",
        );
        let Value::Condition(condition) = &out[0].value else {
            panic!("{out:?}");
        };
        assert_eq!(condition.level, ConditionLevel::Warning);
        assert_eq!(condition.qualifier.as_deref(), Some("LOW"));
    }
}
