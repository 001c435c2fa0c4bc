//! Chunks: the consecutive observations of a batch, in one value.

use std::collections::HashMap;

use chatter_model::{Observation, StoredObservation};
use serde::{Deserialize, Serialize};

use super::records::{ChunkRecord, ValueRecord};
use super::{FORMAT_V2, encode_error, strip_format};
use crate::error::{CodecError, StoreError};

/// A chunk is closed once its records take this many bytes. sled writes a whole leaf (up to 17
/// values) to a separate file, which then needs its own fsync, once it is larger than 128 KiB;
/// chunks this small keep leaves under that, and keep the records a short read decodes few.
const MAX_CHUNK_BYTES: usize = 6 * 1024;

/// A chunk is closed once it holds this many observations, whatever their size.
const MAX_CHUNK_OBSERVATIONS: u32 = 1024;

/// Room for a chunk's records: the byte bound plus one more record of ordinary size.
const CHUNK_CAPACITY: usize = MAX_CHUNK_BYTES + 256;

/// The header marks where every this many records begin, so that a read starting inside a chunk
/// decodes fewer than this many records it does not want.
const MARK_EVERY: u32 = 16;

// A record starts before the chunk reaches its byte bound, so every mark fits in a `u32`.
const _: () = assert!(MAX_CHUNK_BYTES < u32::MAX as usize);

/// What precedes a chunk's records. Field order is the on-disk format. Generic so that one
/// definition serves writing (borrowed slices) and reading (vectors borrowing the value).
#[derive(Serialize, Deserialize)]
struct ChunkHeader<Items, Offsets> {
    /// How many records follow.
    len: u32,
    /// The timestamp the records' timestamps are offsets from: the first one's.
    base_timestamp: i64,
    /// The data items the records refer to by index, in order of first use.
    items: Items,
    /// Offsets within the chunk of the observations that went backwards in time, ascending.
    backwards: Offsets,
    /// Where records `MARK_EVERY`, `2 * MARK_EVERY`, … begin, in bytes from the first.
    marks: Offsets,
}

/// Consecutive observations of a batch encoded as a chunk's records, before the batch has
/// sequence numbers; done before taking the machine's lock so that the lock covers little.
pub(crate) struct ChunkBody<'a> {
    len: u32,
    base_timestamp: i64,
    items: Vec<&'a str>,
    records: Vec<u8>,
    marks: Vec<u32>,
}

impl ChunkBody<'_> {
    /// How many observations it holds.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// The chunk as stored, given the offsets within it of the observations that went backwards.
    pub(crate) fn to_value(&self, backwards: &[u32]) -> Result<Vec<u8>, StoreError> {
        let header = ChunkHeader {
            len: self.len,
            base_timestamp: self.base_timestamp,
            items: self.items.as_slice(),
            backwards,
            marks: self.marks.as_slice(),
        };
        let item_bytes: usize = self.items.iter().map(|item| item.len() + 5).sum();
        // Format byte, then at most 10 bytes for each varint of the header.
        let header_len = item_bytes + 10 * (4 + backwards.len() + self.marks.len());
        let mut value = Vec::with_capacity(1 + header_len + self.records.len());
        value.push(FORMAT_V2);
        let mut value =
            postcard::to_extend(&header, value).map_err(encode_error("a chunk header"))?;
        value.extend_from_slice(&self.records);
        Ok(value)
    }
}

/// Encodes the observations of a batch into chunk bodies of bounded size, in order.
pub(crate) fn encode_chunks(
    observations: &[Observation],
) -> Result<Vec<ChunkBody<'_>>, StoreError> {
    let mut chunks = Vec::new();
    let mut chunk: Option<ChunkBuilder<'_>> = None;
    for observation in observations {
        let open = chunk.get_or_insert_with(|| ChunkBuilder::new(observation.timestamp));
        open.push(observation)?;
        if open.is_full() {
            chunks.extend(chunk.take().map(ChunkBuilder::finish));
        }
    }
    chunks.extend(chunk.map(ChunkBuilder::finish));
    Ok(chunks)
}

/// A chunk being filled, with the index of each data item it refers to.
struct ChunkBuilder<'a> {
    body: ChunkBody<'a>,
    item_ids: HashMap<&'a str, u32>,
    /// The index of the previous record's data item.
    previous_item: Option<usize>,
}

impl<'a> ChunkBuilder<'a> {
    fn new(base_timestamp: i64) -> Self {
        ChunkBuilder {
            body: ChunkBody {
                len: 0,
                base_timestamp,
                items: Vec::new(),
                records: Vec::with_capacity(CHUNK_CAPACITY),
                marks: Vec::new(),
            },
            item_ids: HashMap::new(),
            previous_item: None,
        }
    }

    fn push(&mut self, observation: &'a Observation) -> Result<(), StoreError> {
        let body = &mut self.body;
        if body.len > 0 && body.len.is_multiple_of(MARK_EVERY) {
            // The chunk is still open, so it holds fewer than `MAX_CHUNK_BYTES`: no truncation.
            body.marks.push(body.records.len() as u32);
        }
        let item = self.item_id(&observation.data_item);
        let body = &mut self.body;
        let record = ChunkRecord {
            item,
            timestamp: observation.timestamp.wrapping_sub(body.base_timestamp),
            value: ValueRecord::from(&observation.value),
        };
        postcard::serialize_with_flavor(&record, AppendTo(&mut body.records))
            .map_err(encode_error("an observation"))?;
        body.len += 1;
        Ok(())
    }

    /// The index of `item` in the chunk's list of data items, which it joins if new.
    fn item_id(&mut self, item: &'a str) -> u32 {
        let items = &mut self.body.items;
        // Drivers report their data items in the same order poll after poll, which is the order
        // the chunk listed them in: the item after the previous one is the likely one, and
        // checking it first spares hashing most ids.
        let guess = self
            .previous_item
            .map_or(0, |previous| (previous + 1) % items.len().max(1));
        let id = if items.get(guess) == Some(&item) {
            guess
        } else {
            let next = items.len();
            let id = *self.item_ids.entry(item).or_insert_with(|| {
                items.push(item);
                // A chunk holds at most `MAX_CHUNK_OBSERVATIONS` records, hence as many items.
                next as u32
            });
            id as usize
        };
        self.previous_item = Some(id);
        // As above: fewer items than `MAX_CHUNK_OBSERVATIONS`.
        id as u32
    }

    fn is_full(&self) -> bool {
        self.body.records.len() >= MAX_CHUNK_BYTES || self.body.len == MAX_CHUNK_OBSERVATIONS
    }

    fn finish(self) -> ChunkBody<'a> {
        self.body
    }
}

/// Serializes onto the end of a vector it borrows, which can then be reused as it is.
struct AppendTo<'v>(&'v mut Vec<u8>);

impl postcard::ser_flavors::Flavor for AppendTo<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// A stored chunk, read one observation at a time; yields its observations in sequence order.
pub(crate) struct ChunkReader<'a> {
    first: u64,
    next: u64,
    end: u64,
    header: ChunkHeader<Vec<&'a str>, Vec<u32>>,
    records: &'a [u8],
    rest: &'a [u8],
}

/// Reads the header of the chunk `bytes`, whose first observation has sequence number `first`.
pub(crate) fn read_chunk(first: u64, bytes: &[u8]) -> Result<ChunkReader<'_>, CodecError> {
    let (header, records) =
        postcard::take_from_bytes::<ChunkHeader<Vec<&str>, Vec<u32>>>(strip_format(bytes)?)?;
    let end = first
        .checked_add(u64::from(header.len))
        .ok_or(CodecError::SequenceOverflow {
            first,
            len: header.len,
        })?;
    Ok(ChunkReader {
        first,
        next: first,
        end,
        header,
        records,
        rest: records,
    })
}

impl<'a> ChunkReader<'a> {
    /// The sequence number after the chunk's last observation.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Passes over the observations before `sequence`: jumps to the last mark before it, then
    /// decodes the few records in between without copying their text.
    pub(crate) fn skip_to(&mut self, sequence: u64) -> Result<(), CodecError> {
        let target = sequence.min(self.end);
        self.jump_towards(target)?;
        while self.next < target {
            self.take_record()?;
        }
        Ok(())
    }

    fn jump_towards(&mut self, target: u64) -> Result<(), CodecError> {
        // Only marks of records the chunk holds: `target` may be its end.
        let Some(last) = (self.end - self.first).checked_sub(1) else {
            return Ok(());
        };
        // A target before the chunk (a read that started in an earlier one) needs no jump.
        let marked = target.saturating_sub(self.first).min(last) / u64::from(MARK_EVERY);
        let mark_start = self.first + marked * u64::from(MARK_EVERY);
        if marked == 0 || mark_start <= self.next {
            return Ok(());
        }
        let bad_mark = || CodecError::BadMark {
            record: mark_start - self.first,
        };
        let at = usize::try_from(marked - 1)
            .ok()
            .and_then(|mark| self.header.marks.get(mark))
            .ok_or_else(bad_mark)?;
        let rest = usize::try_from(*at)
            .ok()
            .and_then(|at| self.records.get(at..))
            .ok_or_else(bad_mark)?;
        self.rest = rest;
        self.next = mark_start;
        Ok(())
    }

    fn take_record(&mut self) -> Result<ChunkRecord<'a>, CodecError> {
        let (record, rest) = postcard::take_from_bytes(self.rest)?;
        self.rest = rest;
        self.next += 1;
        Ok(record)
    }

    fn observation(&self, record: ChunkRecord<'_>) -> Result<Observation, CodecError> {
        let item = usize::try_from(record.item)
            .ok()
            .and_then(|item| self.header.items.get(item))
            .ok_or(CodecError::UnknownItem(record.item))?;
        Ok(Observation {
            data_item: (*item).to_owned(),
            timestamp: self.header.base_timestamp.wrapping_add(record.timestamp),
            value: record.value.into(),
        })
    }

    fn is_backwards(&self, sequence: u64) -> bool {
        u32::try_from(sequence - self.first)
            .is_ok_and(|offset| self.header.backwards.binary_search(&offset).is_ok())
    }

    fn next_stored(&mut self) -> Result<StoredObservation, CodecError> {
        let sequence = self.next;
        let record = self.take_record()?;
        Ok(StoredObservation {
            sequence,
            backwards: self.is_backwards(sequence),
            observation: self.observation(record)?,
        })
    }
}

impl Iterator for ChunkReader<'_> {
    type Item = Result<StoredObservation, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.end {
            // Bytes after the last record mean the header lies about the chunk's length.
            let trailing = std::mem::take(&mut self.rest).len();
            return (trailing > 0).then_some(Err(CodecError::Trailing(trailing)));
        }
        Some(self.next_stored())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatter_model::{Condition, ConditionLevel, Value};

    use super::*;

    fn observation(data_item: &str, timestamp: i64, value: Value) -> Observation {
        Observation {
            data_item: data_item.into(),
            timestamp,
            value,
        }
    }

    fn samples(n: usize) -> Vec<Observation> {
        (0..n)
            .map(|i| observation("x", i as i64, Value::Sample(i as f64)))
            .collect()
    }

    fn read_all(first: u64, value: &[u8]) -> Vec<StoredObservation> {
        read_chunk(first, value)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn every_value_round_trips_with_its_sequence_and_flag() {
        let batch = vec![
            observation("load", -5, Value::Sample(1.5)),
            observation("exec", -6, Value::Event("ACTIVE".into())),
            observation("avail", 0, Value::Unavailable),
            observation(
                "alarm",
                -1,
                Value::Condition(Condition {
                    level: ConditionLevel::Fault,
                    native_code: Some("1010".into()),
                    native_severity: None,
                    qualifier: Some("HIGH".into()),
                    text: None,
                }),
            ),
        ];
        let chunks = encode_chunks(&batch).unwrap();
        assert_eq!(chunks.len(), 1);
        let stored = read_all(41, &chunks[0].to_value(&[1, 3]).unwrap());
        let expected: Vec<_> = (41..)
            .zip(batch)
            .map(|(sequence, observation)| StoredObservation {
                sequence,
                backwards: sequence == 42 || sequence == 44,
                observation,
            })
            .collect();
        assert_eq!(stored, expected);
    }

    #[test]
    fn data_items_in_any_order_round_trip() {
        // In poll order, out of it, and new ones now and then.
        let batch: Vec<_> = (0..600)
            .map(|i| {
                let item = match i {
                    _ if i % 37 == 0 => format!("new-{i}"),
                    _ if i < 300 => ["a", "b", "c", "d"][i % 4].to_owned(),
                    _ => ["a", "b", "c", "d"][(i * i) % 4].to_owned(),
                };
                observation(&item, i as i64, Value::Sample(i as f64))
            })
            .collect();
        let mut first = 1;
        let mut read = Vec::new();
        for chunk in encode_chunks(&batch).unwrap() {
            read.extend(read_all(first, &chunk.to_value(&[]).unwrap()));
            first += u64::from(chunk.len());
        }
        let read: Vec<_> = read.into_iter().map(|s| s.observation).collect();
        assert_eq!(read, batch);
    }

    #[test]
    fn a_sample_takes_a_few_bytes() {
        // Three data items, a millisecond apart, as a driver's poll returns them.
        let batch: Vec<_> = (0..1000)
            .map(|i| {
                let item = ["spindle_load", "x_position", "feed"][i % 3];
                observation(
                    item,
                    1_700_000_000_000_000_000 + i as i64 * 1_000_000,
                    Value::Sample(0.25),
                )
            })
            .collect();
        let chunks = encode_chunks(&batch).unwrap();
        let stored: usize = chunks.iter().map(|c| c.to_value(&[]).unwrap().len()).sum();
        // item + timestamp offset (at most 5 bytes within a second) + variant + f64
        assert!(stored <= 1000 * (1 + 5 + 1 + 8), "{stored} bytes");
    }

    #[test]
    fn a_large_batch_is_cut_into_bounded_chunks_in_order() {
        let batch = samples(10_000);
        let chunks = encode_chunks(&batch).unwrap();
        assert!(chunks.len() > 1);
        let mut first = 1;
        let mut stored = Vec::new();
        for chunk in &chunks {
            assert!(chunk.records.len() < MAX_CHUNK_BYTES + 32);
            assert!(chunk.len() <= MAX_CHUNK_OBSERVATIONS);
            stored.extend(read_all(first, &chunk.to_value(&[]).unwrap()));
            first += u64::from(chunk.len());
        }
        let observations: Vec<_> = stored.into_iter().map(|s| s.observation).collect();
        assert_eq!(observations, batch);

        let tiny: Vec<_> = (0..3000)
            .map(|_| observation("", 0, Value::Unavailable))
            .collect();
        let lens: Vec<_> = encode_chunks(&tiny)
            .unwrap()
            .iter()
            .map(ChunkBody::len)
            .collect();
        assert_eq!(lens, [1024, 1024, 952]);
    }

    #[test]
    fn a_reader_skips_to_a_sequence_and_knows_its_end() {
        let batch = samples(10);
        let chunks = encode_chunks(&batch).unwrap();
        let value = chunks[0].to_value(&[5]).unwrap();
        let mut reader = read_chunk(100, &value).unwrap();
        assert_eq!(reader.end(), 110);
        reader.skip_to(105).unwrap();
        let rest: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(rest.len(), 5);
        assert_eq!((rest[0].sequence, rest[0].backwards), (105, true));
        assert!(!rest[1].backwards);

        let mut past_the_end = read_chunk(100, &value).unwrap();
        past_the_end.skip_to(1000).unwrap();
        assert!(past_the_end.next().is_none());
    }

    #[test]
    fn a_reader_jumps_by_its_marks_to_any_sequence() {
        for len in [1, 15, 16, 17, 32, 33, 100] {
            let batch = samples(len);
            let chunks = encode_chunks(&batch).unwrap();
            let value = chunks[0].to_value(&[]).unwrap();
            let mut before = read_chunk(10, &value).unwrap();
            before.skip_to(3).unwrap();
            assert_eq!(before.count(), len);
            for skip in 0..=len + 1 {
                let mut reader = read_chunk(10, &value).unwrap();
                reader.skip_to(10 + skip as u64).unwrap();
                let rest: Vec<_> = reader.map(|stored| stored.unwrap().observation).collect();
                assert_eq!(rest, batch[skip.min(len)..], "{len} records, skip {skip}");
            }
        }
    }

    #[test]
    fn a_mark_past_the_records_is_an_error() {
        let batch = samples(40);
        let chunks = encode_chunks(&batch).unwrap();
        let mut body = ChunkBody {
            len: chunks[0].len,
            base_timestamp: 0,
            items: vec!["x"],
            records: chunks[0].records.clone(),
            marks: vec![1 << 20, 3],
        };
        let value = body.to_value(&[]).unwrap();
        let err = read_chunk(1, &value).unwrap().skip_to(20).err().unwrap();
        assert_eq!(
            err.to_string(),
            "the chunk header marks no valid start of record 16"
        );
        body.marks.clear();
        let value = body.to_value(&[]).unwrap();
        let err = read_chunk(1, &value).unwrap().skip_to(40).err().unwrap();
        assert_eq!(
            err.to_string(),
            "the chunk header marks no valid start of record 32"
        );
    }

    #[test]
    fn a_chunk_with_more_records_than_its_header_says_is_an_error() {
        let batch = samples(2);
        let chunks = encode_chunks(&batch).unwrap();
        let mut value = chunks[0].to_value(&[]).unwrap();
        value[1] = 1;
        let read: Result<Vec<_>, _> = read_chunk(1, &value).unwrap().collect();
        assert!(matches!(read, Err(CodecError::Trailing(_))), "{read:?}");
        let err = read_chunk(u64::MAX, &value).err().unwrap();
        assert!(
            matches!(err, CodecError::SequenceOverflow { .. }),
            "{err:?}"
        );
    }
}
