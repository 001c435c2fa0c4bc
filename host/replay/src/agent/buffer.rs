//! The agent's observation buffer: sequence numbers, a bounded window, and the answers to
//! `/current` and `/sample` — including the refusals the reference agent gives (`OUT_OF_RANGE`
//! for a `from`, `at` or `count` outside the window).

use std::collections::{HashMap, VecDeque};

use chatter_mtconnect::streams::{ErrorCode, ErrorDocument, Header, Observation, StreamsDocument};

/// `count` of a `/sample` without one, as the reference agent.
pub(super) const DEFAULT_COUNT: u64 = 100;

/// One run of the agent: its instance id and buffered observations.
#[derive(Debug)]
pub(super) struct Buffer {
    instance_id: u64,
    capacity: usize,
    observations: VecDeque<Observation>,
    next_sequence: u64,
    /// The latest observation of each data item that left the window, so `/current` still
    /// knows every data item's value (the reference agent keeps a checkpoint for this).
    evicted_latest: HashMap<String, Observation>,
    /// The latest observation of each data item, for `/current`.
    latest: HashMap<String, Observation>,
    /// When the instance started (ns), for document headers.
    created: i64,
}

/// Which observations a request is about: all, or one device's (by its uuid).
pub(super) type DeviceFilter<'a> = Option<&'a str>;

impl Buffer {
    /// An instance `instance_id` holding at most `capacity` observations (at least 1).
    pub(super) fn new(instance_id: u64, capacity: usize, created: i64) -> Self {
        Buffer {
            instance_id,
            capacity: capacity.max(1),
            observations: VecDeque::new(),
            next_sequence: 1,
            evicted_latest: HashMap::new(),
            latest: HashMap::new(),
            created,
        }
    }

    pub(super) fn instance_id(&self) -> u64 {
        self.instance_id
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(super) fn first_sequence(&self) -> u64 {
        self.observations
            .front()
            .map_or(self.next_sequence, |o| o.sequence)
    }

    pub(super) fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Buffers `observation` under the next sequence number, dropping the oldest one when the
    /// window is full.
    pub(super) fn push(&mut self, mut observation: Observation) {
        observation.sequence = self.next_sequence;
        self.next_sequence += 1;
        self.latest
            .insert(observation.data_item_id.clone(), observation.clone());
        self.observations.push_back(observation);
        if self.observations.len() > self.capacity
            && let Some(evicted) = self.observations.pop_front()
        {
            self.evicted_latest
                .insert(evicted.data_item_id.clone(), evicted);
        }
    }

    fn header(&self, next_sequence: u64) -> Header {
        Header {
            instance_id: self.instance_id,
            buffer_size: self.capacity as u64,
            first_sequence: self.first_sequence(),
            last_sequence: self.next_sequence - 1,
            next_sequence,
            creation_time: Some(self.created),
            sender: Some("chatter-replay".to_owned()),
            version: Some("2.0.0.0".to_owned()),
        }
    }

    /// `/current`: the latest observation of every data item (of the device), or the latest
    /// at sequence `at`.
    pub(super) fn current(
        &self,
        device: DeviceFilter,
        at: Option<u64>,
    ) -> Result<StreamsDocument, ErrorDocument> {
        let mut observations: Vec<Observation> = match at {
            None => self.latest.values().cloned().collect(),
            Some(at) => {
                self.check_range("at", at, self.first_sequence(), self.next_sequence - 1)?;
                let mut at_sequence = self.evicted_latest.clone();
                for observation in self.observations.iter().take_while(|o| o.sequence <= at) {
                    at_sequence.insert(observation.data_item_id.clone(), observation.clone());
                }
                at_sequence.into_values().collect()
            }
        };
        observations.retain(|o| of_device(o, device));
        observations.sort_by_key(|o| o.sequence);
        Ok(StreamsDocument {
            header: self.header(self.next_sequence),
            observations,
        })
    }

    /// `/sample`: up to `count` observations (of the device) from sequence `from` (default:
    /// the oldest buffered). The header's `nextSequence` is where the scan stopped.
    pub(super) fn sample(
        &self,
        device: DeviceFilter,
        from: Option<u64>,
        count: Option<u64>,
    ) -> Result<StreamsDocument, ErrorDocument> {
        let first = self.first_sequence();
        let from = match from {
            Some(from) => self.check_range("from", from, first, self.next_sequence)?,
            None => first,
        };
        // Only a `count` asked for is refused; the default fits any buffer.
        let count = match count {
            Some(count) => self.check_range("count", count, 1, self.capacity as u64)?,
            None => DEFAULT_COUNT.min(self.capacity as u64),
        };
        let mut observations = Vec::new();
        let mut next = self.next_sequence;
        let skip = usize::try_from(from - first).unwrap_or(usize::MAX);
        for observation in self.observations.iter().skip(skip) {
            if observations.len() as u64 == count {
                next = observation.sequence;
                break;
            }
            if of_device(observation, device) {
                observations.push(observation.clone());
            }
        }
        Ok(StreamsDocument {
            header: self.header(next),
            observations,
        })
    }

    /// `value` of parameter `name` when within `minimum..=maximum`; else the reference agent's
    /// `OUT_OF_RANGE` refusal.
    fn check_range(
        &self,
        name: &str,
        value: u64,
        minimum: u64,
        maximum: u64,
    ) -> Result<u64, ErrorDocument> {
        let problem = if value < minimum {
            Some(format!(
                "'{name}' must be greater than {}",
                minimum.saturating_sub(1)
            ))
        } else if value > maximum {
            Some(format!(
                "'{name}' must be less than {}",
                maximum.saturating_add(1)
            ))
        } else {
            None
        };
        match problem {
            Some(message) => Err(self.error(ErrorCode::OutOfRange, message)),
            None => Ok(value),
        }
    }

    /// An error document of this instance.
    pub(super) fn error(&self, code: ErrorCode, message: impl Into<String>) -> ErrorDocument {
        let mut error = ErrorDocument::single(code, message);
        error.instance_id = Some(self.instance_id);
        error.buffer_size = Some(self.capacity as u64);
        error
    }
}

fn of_device(observation: &Observation, device: DeviceFilter) -> bool {
    device.is_none_or(|uuid| observation.component.device_uuid == uuid)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chatter_mtconnect::streams::{Category, ComponentRef, Representation, Value};

    use super::*;

    fn observation(device: &str, item: &str, value: &str) -> Observation {
        Observation {
            component: Arc::new(ComponentRef {
                device_uuid: device.to_owned(),
                ..ComponentRef::default()
            }),
            data_item_id: item.to_owned(),
            name: None,
            sequence: 0,
            timestamp: 0,
            category: Category::Event,
            kind: "BLOCK".to_owned(),
            sub_type: None,
            representation: Representation::Value,
            value: Value::Text(value.to_owned()),
        }
    }

    /// A buffer of `capacity` holding `count` observations of items `a`, `b`, `a`, `b`, …
    fn filled(capacity: usize, count: u64) -> Buffer {
        let mut buffer = Buffer::new(42, capacity, 0);
        for n in 1..=count {
            let item = if n % 2 == 1 { "a" } else { "b" };
            buffer.push(observation("d1", item, &n.to_string()));
        }
        buffer
    }

    fn sequences(document: &StreamsDocument) -> Vec<u64> {
        document.observations.iter().map(|o| o.sequence).collect()
    }

    #[test]
    fn observations_are_numbered_and_the_window_is_bounded() {
        let buffer = filled(5, 12);
        assert_eq!(buffer.first_sequence(), 8);
        assert_eq!(buffer.next_sequence(), 13);
        let sample = buffer.sample(None, None, None).unwrap();
        assert_eq!(sequences(&sample), [8, 9, 10, 11, 12]);
        assert_eq!(sample.header.next_sequence, 13);
        assert_eq!(sample.header.last_sequence, 12);
    }

    #[test]
    fn a_sample_stops_at_count_and_says_where_to_go_on() {
        let buffer = filled(100, 10);
        let sample = buffer.sample(None, Some(3), Some(4)).unwrap();
        assert_eq!(sequences(&sample), [3, 4, 5, 6]);
        assert_eq!(sample.header.next_sequence, 7);
        let end = buffer.sample(None, Some(11), Some(4)).unwrap();
        assert!(end.observations.is_empty());
        assert_eq!(end.header.next_sequence, 11);
    }

    #[test]
    fn a_from_outside_the_window_is_out_of_range_like_the_reference_agent() {
        let buffer = filled(5, 12);
        let too_old = buffer.sample(None, Some(7), None).unwrap_err();
        assert_eq!(too_old.instance_id, Some(42));
        assert_eq!(too_old.errors[0].code, ErrorCode::OutOfRange);
        assert_eq!(too_old.errors[0].message, "'from' must be greater than 7");
        let too_new = buffer.sample(None, Some(14), None).unwrap_err();
        assert_eq!(too_new.errors[0].message, "'from' must be less than 14");
        let zero = buffer.sample(None, None, Some(0)).unwrap_err();
        assert_eq!(zero.errors[0].message, "'count' must be greater than 0");
    }

    #[test]
    fn current_knows_every_data_item_even_after_it_left_the_window() {
        let mut buffer = filled(3, 4);
        for n in 5..=8 {
            buffer.push(observation("d1", "c", &n.to_string()));
        }
        let current = buffer.current(None, None).unwrap();
        let values: Vec<(&str, u64)> = current
            .observations
            .iter()
            .map(|o| (o.data_item_id.as_str(), o.sequence))
            .collect();
        assert_eq!(values, [("a", 3), ("b", 4), ("c", 8)]);

        let at = buffer.current(None, Some(6)).unwrap();
        let values: Vec<(&str, u64)> = at
            .observations
            .iter()
            .map(|o| (o.data_item_id.as_str(), o.sequence))
            .collect();
        assert_eq!(values, [("a", 3), ("b", 4), ("c", 6)]);
        assert!(buffer.current(None, Some(2)).is_err());
    }

    #[test]
    fn a_device_filter_keeps_one_device_and_scans_past_the_others() {
        let mut buffer = Buffer::new(1, 100, 0);
        for n in 1..=6 {
            let (device, item) = if n <= 4 { ("d2", "x2") } else { ("d1", "x1") };
            buffer.push(observation(device, item, &n.to_string()));
        }
        let sample = buffer.sample(Some("d1"), Some(1), Some(10)).unwrap();
        assert_eq!(sequences(&sample), [5, 6]);
        assert_eq!(sample.header.next_sequence, 7);
        let current = buffer.current(Some("d2"), None).unwrap();
        assert_eq!(sequences(&current), [4]);
    }
}
